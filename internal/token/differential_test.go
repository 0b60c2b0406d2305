package token

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// diffNow is the frozen clock of the differential tests; exp values in
// their claims are around it.
var diffNow = time.Unix(1_700_000_000, 0)

// diffPD is package_data holding samplePayload.
var diffPD = base64.StdEncoding.EncodeToString(samplePayload)

const diffHeader = `{"alg":"RS256","typ":"JWT"}`

// diffClaims is a valid claims set with extra members spliced in after
// package_data (extra must start with a comma when not empty).
func diffClaims(extra string) string {
	return `{"package_data":"` + diffPD + `","iss":"TSS_NODE","exp":1700000060` + extra + `}`
}

// diffToken signs header and claims (JSON texts) with key; a nil key
// leaves the signature empty. raw uses header and claims as the segments
// themselves instead of encoding them.
func diffToken(tb testing.TB, header, claims string, key *rsa.PrivateKey, raw bool) string {
	tb.Helper()
	in := b64url([]byte(header)) + "." + b64url([]byte(claims))
	if raw {
		in = header + "." + claims
	}
	if key == nil {
		return in + "."
	}
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	if err != nil {
		tb.Fatal(err)
	}
	return in + "." + b64url(sig)
}

// diffVerifier has the node key and a stranger's key is not in it.
func diffVerifier(tb testing.TB) (*Verifier, *rsa.PrivateKey) {
	tb.Helper()
	node := loadPriv(tb, nodePrivFile)
	return &Verifier{Keys: keySet(tb, NamedKey{Name: "node", Key: &node.PublicKey}), Leeway: leeway, Now: fixedClock(diffNow)}, node
}

// stricterCase names the documented input classes the lean parser refuses
// although golang-jwt's parser read them (package doc, "Stricter than
// golang-jwt"), judged independently of the code under test with
// encoding/json; "" when raw is in none of them. inClaims says the class
// was found in the claims set (the header is looked at first), which
// Verify reads only after a key has verified the signature.
func stricterCase(raw string) (why string, inClaims bool) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return "", false
	}
	for i, seg := range parts[:2] {
		b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
		if err != nil || !json.Valid(b) {
			continue
		}
		if !utf8.Valid(b) {
			return "invalid UTF-8", i == 1
		}
		if string(bytes.TrimSpace(b)) == "null" && i == 1 {
			return "claims null", true
		}
		keys, values := topLevelMembers(b)
		seen := map[string]bool{}
		for j, k := range keys {
			if seen[k] {
				return "duplicate member", i == 1
			}
			seen[k] = true
			if i == 0 {
				continue
			}
			for _, r := range registeredClaims {
				if k != r && strings.EqualFold(k, r) {
					return "case variant of a registered claim", true
				}
			}
			if k == "exp" || k == "nbf" || k == "iat" {
				v := bytes.TrimSpace(values[j])
				if len(v) > 0 && v[0] == '"' {
					return "NumericDate in a string", true
				}
				if f, err := strconv.ParseFloat(string(v), 64); err == nil && (f < -62135596800 || f > 253402300799) {
					return "NumericDate outside the years 1 to 9999", true
				}
			}
		}
	}
	return "", false
}

// topLevelMembers lists the member names and raw values of a JSON object
// in order, duplicates included (nil for anything else).
func topLevelMembers(b []byte) (keys []string, values []json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, nil
		}
		keys = append(keys, tok.(string))
		values = append(values, v)
	}
	return keys, values
}

// checkAgainstReference runs Verify and referenceVerify on raw and fails t
// unless they agree: same acceptance, same sentinel, same message, same
// failed key, same Verified fields. There is one exception, the order of
// checks: Verify reads the claims only after a key has verified the
// signature, where golang-jwt read them first. So when the header and
// signature are fine (headerAndSignatureRead) and the claims are refused,
// by the reference as malformed or by a documented stricter rule, Verify
// must answer what independentSigner says that order gives
// (afterSignature): a bad signature when no configured key verifies the
// token, else "malformed" naming the key that does; the reference's own
// answer, unkeyed "malformed", is then no longer right. A stricter rule
// that applies to the header (or to claims behind a header the reference
// also refuses) must give the reference's answer or "malformed".
func checkAgainstReference(t *testing.T, v *Verifier, raw string) {
	t.Helper()
	got, err := v.Verify(raw)
	want, wantErr := referenceVerify(v, raw)
	if err != nil && got != nil {
		t.Fatalf("Verify returned %+v with error %v", got, err)
	}
	if err != nil && errors.Is(err, ErrInvalid) == errors.Is(err, ErrPayload) {
		t.Fatalf("error %q wraps neither or both sentinels", err)
	}
	why, inClaims := stricterCase(raw)
	refMalformed := wantErr != nil && wantErr.Error() == "invalid token: "+reasonMalformed && FailedKey(wantErr) == ""
	if (why == "" && refMalformed || why != "" && inClaims) && headerAndSignatureRead(raw) {
		msg, key := afterSignature(independentSigner(v, raw))
		if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != msg || FailedKey(err) != key {
			t.Fatalf("claims refused (%s): Verify = %v (key %q), want %q (key %q); reference: %v", cmp.Or(why, "reference: malformed"), err, FailedKey(err), msg, key, wantErr)
		}
		return
	}
	if why != "" {
		if err == nil {
			t.Fatalf("%s: Verify accepted", why)
		}
		if wantErr != nil && sameError(err, wantErr) {
			return
		}
		if !errors.Is(err, ErrInvalid) || err.Error() != "invalid token: "+reasonMalformed || FailedKey(err) != "" {
			t.Fatalf("%s: Verify = %v (key %q), want malformed (reference: %v)", why, err, FailedKey(err), wantErr)
		}
		return
	}
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("Verify err = %v, reference err = %v", err, wantErr)
	case err != nil:
		if !sameError(err, wantErr) {
			t.Fatalf("Verify err = %q (key %q), reference err = %q (key %q)", err, FailedKey(err), wantErr, FailedKey(wantErr))
		}
	default:
		if !bytes.Equal(got.PackageData, want.PackageData) || got.KeyName != want.KeyName || got.Issuer != want.Issuer ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || got.ExpiresAt.Location() != want.ExpiresAt.Location() {
			t.Fatalf("Verify = %+v, reference = %+v", got, want)
		}
	}
}

// sameError reports whether two Verify errors are the same answer: message,
// sentinel and failed key.
func sameError(a, b error) bool {
	return a.Error() == b.Error() && errors.Is(a, ErrPayload) == errors.Is(b, ErrPayload) &&
		errors.Is(a, ErrInvalid) == errors.Is(b, ErrInvalid) && FailedKey(a) == FailedKey(b)
}

// independentSigner reads raw without the code under test: whether its
// signature segment is canonical unpadded base64url (as golang-jwt's strict
// decoding required) and, if so, the name of the first configured key
// under which crypto/rsa verifies it as PKCS #1 v1.5 over SHA-256 of the
// first two segments as sent ("" when none does).
func independentSigner(v *Verifier, raw string) (key string, sigDecodes bool) {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return "", false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return "", false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	keys := v.KeySet()
	for i := range keys.Len() {
		if rsa.VerifyPKCS1v15(keys.keys[i].Key, crypto.SHA256, digest[:], sig) == nil {
			return keys.keys[i].Name, true
		}
	}
	return "", true
}

// afterSignature is what Verify must answer for a token whose header is
// acceptable and whose claims are refused, given independentSigner's
// reading: malformed when the signature segment does not decode (it is
// read before any key is tried), a bad signature when no key verifies it
// (the claims are never read), and "malformed" naming the key when one
// does.
func afterSignature(key string, sigDecodes bool) (msg, failedKey string) {
	switch {
	case !sigDecodes:
		return "invalid token: " + reasonMalformed, ""
	case key == "":
		return "invalid token: " + reasonBadSig, ""
	}
	return "invalid token: " + reasonMalformed, key
}

// headerAndSignatureRead reports whether golang-jwt finds nothing wrong
// with raw but (perhaps) its claims: with the claims segment replaced by a
// valid claims set, its parser reads the token (three segments, header,
// algorithm, signature segment) without error and the reference's header
// check passes. When it does and the reference still calls raw malformed,
// its objection is to the claims.
func headerAndSignatureRead(raw string) bool {
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return false
	}
	swapped := parts[0] + "." + b64url([]byte(diffClaims(""))) + "." + parts[2]
	var claims refRequestClaims
	tok, _, err := jwt.NewParser(jwt.WithStrictDecoding()).ParseUnverified(swapped, &claims)
	return err == nil && refHeaderProblem(tok) == "" && tok.Method == jwt.SigningMethodRS256
}

// diffCase is a header and claims pair signed by a chosen key.
type diffCase struct {
	name           string
	header, claims string
	signer         string // "node" (default), "stranger", "none" (empty signature) or "raw" (segments as given, node-signed)
}

// diffCases covers every header and claims variation of verify_test.go and
// the corners of the JSON and NumericDate readings.
var diffCases = func() []diffCase {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cs := []diffCase{
		{name: "valid", header: diffHeader, claims: diffClaims("")},
		{name: "no typ", header: `{"alg":"RS256"}`, claims: diffClaims("")},
		{name: "kid ignored", header: `{"alg":"RS256","kid":"nope"}`, claims: diffClaims("")},
		{name: "header whitespace", header: " \t\r\n{ \"alg\" : \"RS256\" } \n", claims: diffClaims("")},
		{name: "alg escaped", header: `{"alg":"RS\u0032\u0035\u0036"}`, claims: diffClaims("")},
		{name: "alg none unsigned", header: `{"alg":"none","typ":"JWT"}`, claims: diffClaims(""), signer: "none"},
		{name: "alg none signed", header: `{"alg":"none"}`, claims: diffClaims("")},
		{name: "alg HS256", header: `{"alg":"HS256","typ":"JWT"}`, claims: diffClaims("")},
		{name: "alg RS384", header: `{"alg":"RS384"}`, claims: diffClaims("")},
		{name: "alg lower case", header: `{"alg":"rs256"}`, claims: diffClaims("")},
		{name: "alg missing", header: `{"typ":"JWT"}`, claims: diffClaims("")},
		{name: "alg null", header: `{"alg":null}`, claims: diffClaims("")},
		{name: "alg number", header: `{"alg":256}`, claims: diffClaims("")},
		{name: "alg array", header: `{"alg":["RS256"]}`, claims: diffClaims("")},
		{name: "alg out of float range", header: `{"alg":1e400}`, claims: diffClaims("")},
		{name: "alg array out of float range", header: `{"alg":[1e400]}`, claims: diffClaims("")},
		{name: "alg odd characters", header: `{"alg":"RS256\n<script>alert(1)</script>"}`, claims: diffClaims("")},
		{name: "alg empty", header: `{"alg":""}`, claims: diffClaims("")},
		{name: "alg long alnum", header: `{"alg":"ABCDEFGHIJKLMNOPQ"}`, claims: diffClaims("")},
		{name: "alg unicode cut", header: `{"alg":"ééééééééé"}`, claims: diffClaims("")},
		{name: "header number out of range", header: `{"alg":"RS256","x":1e400}`, claims: diffClaims("")},
		{name: "header number out of range, bad alg", header: `{"alg":"HS256","x":[1e400]}`, claims: diffClaims("")},
		{name: "header number underflow", header: `{"alg":"RS256","x":1e-400}`, claims: diffClaims("")},
		{name: "crit", header: `{"alg":"RS256","crit":["exp"]}`, claims: diffClaims("")},
		{name: "crit null", header: `{"alg":"RS256","crit":null}`, claims: diffClaims("")},
		{name: "crit with bad claims", header: `{"alg":"RS256","crit":1}`, claims: `{`},
		{name: "bad alg with bad claims", header: `{"alg":"HS256"}`, claims: `nope`},
		{name: "header null", header: `null`, claims: diffClaims("")},
		{name: "header array", header: `[1]`, claims: diffClaims("")},
		{name: "header string", header: `"RS256"`, claims: diffClaims("")},
		{name: "header empty object", header: `{}`, claims: diffClaims("")},
		{name: "header trailing data", header: `{"alg":"RS256"}x`, claims: diffClaims("")},
		{name: "header two objects", header: `{"alg":"RS256"}{}`, claims: diffClaims("")},
		{name: "header BOM", header: "\ufeff{\"alg\":\"RS256\"}", claims: diffClaims("")},
		{name: "header not JSON", header: `RS256`, claims: diffClaims("")},
		{name: "header nested", header: `{"alg":"RS256","x":{"y":[1,2,{"z":null}],"w":true}}`, claims: diffClaims("")},
		{name: "header duplicate alg", header: `{"alg":"HS256","alg":"RS256"}`, claims: diffClaims("")},
		{name: "header duplicate escaped", header: `{"alg":"RS256","\u0061lg":"HS256"}`, claims: diffClaims("")},
		{name: "header invalid UTF-8", header: "{\"alg\":\"RS256\",\"typ\":\"\xff\"}", claims: diffClaims("")},
		{name: "header alg invalid UTF-8", header: "{\"alg\":\"\xffRS\"}", claims: diffClaims("")},

		{name: "stranger", header: diffHeader, claims: diffClaims(""), signer: "stranger"},
		{name: "stranger expired", header: diffHeader, claims: `{"package_data":"eA==","exp":1}`, signer: "stranger"},
		{name: "empty signature", header: diffHeader, claims: diffClaims(""), signer: "none"},
		// Forged tokens whose claims the reference refused first: now a bad
		// signature, their claims never read.
		{name: "stranger claims not JSON", header: diffHeader, claims: `{`, signer: "stranger"},
		{name: "stranger claims array", header: diffHeader, claims: `[]`, signer: "stranger"},
		{name: "stranger exp not a number", header: diffHeader, claims: `{"package_data":"eA==","exp":true}`, signer: "stranger"},
		{name: "stranger claims null", header: diffHeader, claims: `null`, signer: "stranger"},
		{name: "stranger duplicate claim", header: diffHeader, claims: diffClaims(`,"exp":1`), signer: "stranger"},
		{name: "empty signature, claims not JSON", header: diffHeader, claims: `nope`, signer: "none"},
		{name: "stranger bad header, bad claims", header: `{"alg":"RS256","x":1e400}`, claims: `{`, signer: "stranger"},

		{name: "claims null", header: diffHeader, claims: `null`},
		{name: "claims array", header: diffHeader, claims: `[]`},
		{name: "claims string", header: diffHeader, claims: `"x"`},
		{name: "claims empty", header: diffHeader, claims: `{}`},
		{name: "claims not JSON", header: diffHeader, claims: `{`},
		{name: "claims trailing comma", header: diffHeader, claims: `{"exp":1700000060,}`},
		{name: "claims trailing data", header: diffHeader, claims: diffClaims("") + `]`},
		{name: "claims whitespace", header: diffHeader, claims: "\n " + diffClaims("") + " \t"},

		{name: "exp missing", header: diffHeader, claims: `{"package_data":"` + diffPD + `"}`},
		{name: "exp null", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":null}`},
		{name: "exp expired beyond leeway", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1699999970}`},
		{name: "exp within leeway", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1699999971}`},
		{name: "exp fraction at the leeway edge", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1699999970.9}`},
		{name: "exp 1e9", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1e9}`},
		{name: "exp 1.7e9 exponent", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1.70000006E+9}`},
		{name: "exp negative exponent", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":17000000600e-1}`},
		{name: "exp 1.5", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1.5}`},
		{name: "exp -0", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":-0}`},
		{name: "exp -0.0e0", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":-0.0e0}`},
		{name: "exp nanoseconds", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1700000060.999999999}`},
		{name: "exp rounds up to the next second", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1699999969.999999999}`},
		{name: "exp long literal", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1700000060.` + strings.Repeat("9", 400) + `}`},
		{name: "exp huge", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1e300}`},
		{name: "exp out of float range", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1e400}`},
		{name: "exp underflow", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1e-400}`},
		{name: "nbf at the end of year 9999", header: diffHeader, claims: diffClaims(`,"nbf":253402300799`)},
		{name: "iat at the start of year 1", header: diffHeader, claims: diffClaims(`,"iat":-62135596800`)},
		{name: "exp just below 2^63", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":9223372036854774784}`},
		{name: "exp 2^63", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":9223372036854775808}`},
		{name: "exp -2^63", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":-9223372036854775808}`},
		{name: "exp far ahead", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1800000000}`},
		{name: "exp just within max lifetime", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1700000930}`},
		{name: "exp just beyond max lifetime", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1700000931}`},
		{name: "exp string number", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":"1700000060"}`},
		{name: "exp string word", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":"tomorrow"}`},
		{name: "exp true", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":true}`},
		{name: "exp object", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":{}}`},
		{name: "exp array", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":[1700000060]}`},
		{name: "exp leading zero", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":01700000060}`},
		{name: "exp plus sign", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":+1700000060}`},
		{name: "exp dot without digits", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1700000060.}`},
		{name: "exp duplicate", header: diffHeader, claims: diffClaims(`,"exp":1`)},
		{name: "exp escaped duplicate", header: diffHeader, claims: diffClaims(`,"\u0065xp":1`)},
		{name: "exp upper case", header: diffHeader, claims: `{"package_data":"` + diffPD + `","EXP":1700000060}`},
		{name: "nbf past", header: diffHeader, claims: diffClaims(`,"nbf":1699999995,"iat":1699999995`)},
		{name: "nbf within leeway", header: diffHeader, claims: diffClaims(`,"nbf":1700000029`)},
		{name: "nbf at leeway", header: diffHeader, claims: diffClaims(`,"nbf":1700000030`)},
		{name: "nbf fraction past leeway", header: diffHeader, claims: diffClaims(`,"nbf":1700000030.5`)},
		{name: "nbf future", header: diffHeader, claims: diffClaims(`,"nbf":1700000031`)},
		{name: "nbf null", header: diffHeader, claims: diffClaims(`,"nbf":null`)},
		{name: "nbf huge", header: diffHeader, claims: diffClaims(`,"nbf":1e300`)},
		{name: "nbf string", header: diffHeader, claims: diffClaims(`,"nbf":"1"`)},
		{name: "iat future", header: diffHeader, claims: diffClaims(`,"iat":1700000031`)},
		{name: "iat at leeway", header: diffHeader, claims: diffClaims(`,"iat":1700000030`)},
		{name: "iat bool", header: diffHeader, claims: diffClaims(`,"iat":false`)},
		{name: "expired and iat future", header: diffHeader, claims: `{"package_data":"` + diffPD + `","exp":1,"iat":1800000000}`},
		{name: "nbf and iat future", header: diffHeader, claims: diffClaims(`,"nbf":1800000000,"iat":1800000000`)},
		{name: "no exp and nbf future", header: diffHeader, claims: `{"package_data":"` + diffPD + `","nbf":1800000000}`},

		{name: "iss null", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":null,"exp":1700000060}`},
		{name: "iss number", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":5,"exp":1700000060}`},
		{name: "iss escapes", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":"a\u003cb\n\"\\\/\ud83d\ude00","exp":1700000060}`},
		{name: "iss lone surrogate", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":"\ud800x","exp":1700000060}`},
		{name: "iss unicode", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":"nœud\u2028","exp":1700000060}`},
		{name: "iss bad escape", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":"\x","exp":1700000060}`},
		{name: "iss short unicode escape", header: diffHeader, claims: `{"package_data":"` + diffPD + `","iss":"\u12","exp":1700000060}`},
		{name: "iss control character", header: diffHeader, claims: "{\"package_data\":\"" + diffPD + "\",\"iss\":\"a\tb\",\"exp\":1700000060}"},
		{name: "iss invalid UTF-8", header: diffHeader, claims: "{\"package_data\":\"" + diffPD + "\",\"iss\":\"\xc3(\",\"exp\":1700000060}"},
		{name: "iss UTF-8 surrogate", header: diffHeader, claims: "{\"package_data\":\"" + diffPD + "\",\"iss\":\"\xed\xa0\x80\",\"exp\":1700000060}"},
		{name: "iss upper case", header: diffHeader, claims: diffClaims(`,"ISS":"x"`)},
		{name: "sub long s", header: diffHeader, claims: diffClaims(`,"ſub":"x"`)},
		{name: "sub string", header: diffHeader, claims: diffClaims(`,"sub":"x","jti":"y"`)},
		{name: "sub number", header: diffHeader, claims: diffClaims(`,"sub":1`)},
		{name: "jti null", header: diffHeader, claims: diffClaims(`,"jti":null`)},
		{name: "jti object", header: diffHeader, claims: diffClaims(`,"jti":{}`)},
		{name: "aud string", header: diffHeader, claims: diffClaims(`,"aud":"x"`)},
		{name: "aud array", header: diffHeader, claims: diffClaims(`,"aud":["a","b\u0041"]`)},
		{name: "aud empty array", header: diffHeader, claims: diffClaims(`,"aud":[ ]`)},
		{name: "aud null", header: diffHeader, claims: diffClaims(`,"aud":null`)},
		{name: "aud number", header: diffHeader, claims: diffClaims(`,"aud":1`)},
		{name: "aud array with number", header: diffHeader, claims: diffClaims(`,"aud":["a",1]`)},
		{name: "aud array with null", header: diffHeader, claims: diffClaims(`,"aud":[null]`)},
		{name: "aud nested array", header: diffHeader, claims: diffClaims(`,"aud":[["a"]]`)},
		{name: "aud bool", header: diffHeader, claims: diffClaims(`,"aud":true`)},
		{name: "aud trailing comma", header: diffHeader, claims: diffClaims(`,"aud":["a",]`)},

		{name: "unknown members", header: diffHeader, claims: diffClaims(`,"x":{"a":[1,-2.5e-3,true,false,null,"s\u0000"]},"y":[],"z":{}`)},
		{name: "unknown number out of range", header: diffHeader, claims: diffClaims(`,"x":1e400`)},
		{name: "unknown duplicate", header: diffHeader, claims: diffClaims(`,"x":1,"x":2`)},
		{name: "unknown nested duplicate", header: diffHeader, claims: diffClaims(`,"x":{"a":1,"a":2}`)},
		{name: "unknown invalid UTF-8", header: diffHeader, claims: diffClaims(",\"x\":\"\xff\"")},
		{name: "unknown key invalid UTF-8", header: diffHeader, claims: diffClaims(",\"\xfe\":1")},
		{name: "unknown bad literal", header: diffHeader, claims: diffClaims(`,"x":nul`)},
		{name: "unknown unclosed", header: diffHeader, claims: diffClaims(`,"x":[1,2`)},
		{name: "unknown missing colon", header: diffHeader, claims: diffClaims(`,"x" 1`)},
		{name: "unknown mismatched brackets", header: diffHeader, claims: diffClaims(`,"x":[1}`)},
		{name: "nesting at the limit", header: diffHeader, claims: diffClaims(`,"x":` + deep(9999))},
		{name: "nesting beyond the limit", header: diffHeader, claims: diffClaims(`,"x":` + deep(10000))},
		{name: "header nesting at the limit", header: `{"alg":"RS256","x":` + deep(9999) + `}`, claims: diffClaims("")},
		{name: "header nesting beyond the limit", header: `{"alg":"RS256","x":` + deep(10000) + `}`, claims: diffClaims("")},

		{name: "package_data missing", header: diffHeader, claims: `{"exp":1700000060}`},
		{name: "package_data null", header: diffHeader, claims: `{"package_data":null,"exp":1700000060}`},
		{name: "package_data number", header: diffHeader, claims: `{"package_data":42,"exp":1700000060}`},
		{name: "package_data number out of range", header: diffHeader, claims: `{"package_data":1e400,"exp":1700000060}`},
		{name: "package_data object", header: diffHeader, claims: `{"package_data":{"request_id":"x"},"exp":1700000060}`},
		{name: "package_data array", header: diffHeader, claims: `{"package_data":["eA=="],"exp":1700000060}`},
		{name: "package_data empty", header: diffHeader, claims: `{"package_data":"","exp":1700000060}`},
		{name: "package_data URL-safe", header: diffHeader, claims: `{"package_data":"` + base64.URLEncoding.EncodeToString(samplePayload) + `","exp":1700000060}`},
		{name: "package_data unpadded", header: diffHeader, claims: `{"package_data":"` + base64.RawStdEncoding.EncodeToString(samplePayload) + `","exp":1700000060}`},
		{name: "package_data line-wrapped", header: diffHeader, claims: `{"package_data":"` + diffPD[:8] + `\n` + diffPD[8:] + `","exp":1700000060}`},
		{name: "package_data CR escaped", header: diffHeader, claims: `{"package_data":"` + diffPD[:8] + `\r` + diffPD[8:] + `","exp":1700000060}`},
		{name: "package_data not base64", header: diffHeader, claims: `{"package_data":"{\"request_id\":1}","exp":1700000060}`},
		{name: "package_data escaped slash", header: diffHeader, claims: `{"package_data":"` + strings.ReplaceAll(diffPD, "/", `\/`) + `","exp":1700000060}`},
		{name: "package_data unicode escapes", header: diffHeader, claims: `{"package_data":"\u0065\u0041==","exp":1700000060}`},
		{name: "package_data escaped padding", header: diffHeader, claims: `{"package_data":"eA\u003d\u003d","exp":1700000060}`},
		{name: "package_data non-canonical", header: diffHeader, claims: `{"package_data":"eB==","exp":1700000060}`},
		{name: "package_data space", header: diffHeader, claims: `{"package_data":"eA= =","exp":1700000060}`},
		{name: "package_data invalid UTF-8", header: diffHeader, claims: "{\"package_data\":\"eA==\xff\",\"exp\":1700000060}"},
		{name: "package_data unterminated", header: diffHeader, claims: `{"package_data":"eA==`},
		{name: "package_data duplicate", header: diffHeader, claims: diffClaims(`,"package_data":"eA=="`)},
		{name: "package_data case variant", header: diffHeader, claims: `{"Package_Data":"` + diffPD + `","exp":1700000060}`},
		{name: "package_data kelvin sign", header: diffHeader, claims: `{"pac` + "\u212a" + `age_data":"` + diffPD + `","exp":1700000060}`},
		{name: "package_data after exp", header: diffHeader, claims: `{"exp":1700000060,"package_data":"` + diffPD + `"}`},

		{name: "raw valid", header: b64url([]byte(diffHeader)), claims: b64url([]byte(diffClaims(""))), signer: "raw"},
		{name: "raw newline in claims segment", header: b64url([]byte(diffHeader)), claims: b64url([]byte(diffClaims("")))[:20] + "\n" + b64url([]byte(diffClaims("")))[20:], signer: "raw"},
		{name: "raw padded header", header: base64.URLEncoding.EncodeToString([]byte(diffHeader + " ")), claims: b64url([]byte(diffClaims(""))), signer: "raw"},
		{name: "raw std alphabet", header: b64url([]byte(diffHeader)), claims: base64.RawStdEncoding.EncodeToString([]byte(diffClaims(`,"x":"???>>>"`))), signer: "raw"},
		{name: "raw non-canonical claims segment", header: b64url([]byte(diffHeader)), claims: nonCanonicalSeg(b64url([]byte(diffClaims(`,"x":12`)))), signer: "raw"},
		{name: "raw non-canonical header", header: b64url([]byte(diffHeader))[:len(b64url([]byte(diffHeader)))-1] + "L", claims: b64url([]byte(diffClaims(""))), signer: "raw"},
		{name: "raw empty header", header: "", claims: b64url([]byte(diffClaims(""))), signer: "raw"},
		{name: "raw empty claims", header: b64url([]byte(diffHeader)), claims: "", signer: "raw"},
		{name: "raw dots", header: "", claims: "", signer: "raw"},
		{name: "raw extra dot", header: b64url([]byte(diffHeader)), claims: b64url([]byte(diffClaims(""))) + ".x", signer: "raw"},
		{name: "raw bad character", header: b64url([]byte(diffHeader)), claims: "e!" + b64url([]byte(diffClaims("")))[2:], signer: "raw"},
	}
	return cs
}()

// nonCanonicalSeg changes the last character of an unpadded base64url
// segment so that the bits it does not use are no longer zero: a lenient
// decoder reads the same bytes, a strict one refuses it.
func nonCanonicalSeg(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 < 2 {
		panic(fmt.Sprintf("segment of %d characters has no unused bits", len(seg)))
	}
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[i|1])
}

// token builds the case's token.
func (c diffCase) token(tb testing.TB, node, stranger *rsa.PrivateKey) string {
	tb.Helper()
	switch c.signer {
	case "stranger":
		return diffToken(tb, c.header, c.claims, stranger, false)
	case "none":
		return diffToken(tb, c.header, c.claims, nil, false)
	case "raw":
		return diffToken(tb, c.header, c.claims, node, true)
	}
	return diffToken(tb, c.header, c.claims, node, false)
}

func TestVerifyAgreesWithReference(t *testing.T) {
	v, node := diffVerifier(t)
	stranger := loadPriv(t, serverPrivFile)
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			checkAgainstReference(t, v, tc.token(t, node, stranger))
		})
	}
	t.Run("no keys", func(t *testing.T) {
		checkAgainstReference(t, &Verifier{Now: fixedClock(diffNow)}, diffToken(t, diffHeader, diffClaims(""), node, false))
	})
	t.Run("not a JWT", func(t *testing.T) { checkAgainstReference(t, v, "abc") })
	t.Run("surrounding whitespace", func(t *testing.T) {
		checkAgainstReference(t, v, " \n"+diffToken(t, diffHeader, diffClaims(""), node, false)+"\t")
	})
}

// The documented stricter cases, each with what the reference made of it,
// so this list and the package documentation stay true. Signed by the
// node, Verify refuses them as malformed: a header case before any key is
// tried, a claims case once the node's key has verified the token (so the
// error names it). Signed by a stranger, a claims case is a bad signature
// like any forged token, its claims never decoded, which is also what the
// reference said (it read these claims without complaint).
func TestVerifyStricterThanReference(t *testing.T) {
	v, node := diffVerifier(t)
	stranger := loadPriv(t, serverPrivFile)
	tests := []struct {
		name           string
		header, claims string
		why            string // stricterCase's class
		refErr         string // the reference's error, "" if it accepted
	}{
		{"duplicate claim", diffHeader, diffClaims(`,"exp":1700000061`), "duplicate member", ""},
		{"duplicate unknown member", diffHeader, diffClaims(`,"x":1,"x":2`), "duplicate member", ""},
		{"duplicate header member", `{"alg":"RS256","typ":"JWT","typ":"x"}`, diffClaims(""), "duplicate member", ""},
		{"case variant of exp", diffHeader, diffClaims(`,"Nbf":1800000000`), "case variant of a registered claim", "invalid token: not valid yet"},
		{"case variant by Unicode folding", diffHeader, diffClaims(`,"ſub":"x"`), "case variant of a registered claim", ""},
		{"exp in a string", diffHeader, `{"package_data":"` + diffPD + `","exp":"1700000060"}`, "NumericDate in a string", ""},
		{"exp of 2^63 seconds", diffHeader, `{"package_data":"` + diffPD + `","exp":1e19}`, "NumericDate outside the years 1 to 9999", "invalid token: expired"},
		{"nbf of 2^63 seconds", diffHeader, diffClaims(`,"nbf":1e19`), "NumericDate outside the years 1 to 9999", ""},
		{"nbf a second after year 9999", diffHeader, diffClaims(`,"nbf":253402300800`), "NumericDate outside the years 1 to 9999", "invalid token: not valid yet"},
		{"iat a second before year 1", diffHeader, diffClaims(`,"iat":-62135596801`), "NumericDate outside the years 1 to 9999", ""},
		{"nbf where time.Unix wrapped", diffHeader, diffClaims(`,"nbf":9223372036854774784`), "NumericDate outside the years 1 to 9999", ""},
		{"invalid UTF-8 in iss", diffHeader, "{\"package_data\":\"" + diffPD + "\",\"iss\":\"\xff\",\"exp\":1700000060}", "invalid UTF-8", ""},
		{"invalid UTF-8 in the header", "{\"alg\":\"RS256\",\"typ\":\"\xff\"}", diffClaims(""), "invalid UTF-8", ""},
		{"claims null", diffHeader, `null`, "claims null", "invalid token: exp claim required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := diffToken(t, tt.header, tt.claims, node, false)
			why, inClaims := stricterCase(tok)
			if why != tt.why {
				t.Fatalf("stricterCase = %q, want %q", why, tt.why)
			}
			_, refErr := referenceVerify(v, tok)
			if (refErr == nil) != (tt.refErr == "") || refErr != nil && refErr.Error() != tt.refErr {
				t.Fatalf("reference: %v, want %q", refErr, tt.refErr)
			}
			wantKey := ""
			if inClaims {
				wantKey = "node"
			}
			parses, claimReads := countParses(t), countClaimReads(t)
			_, err := v.Verify(tok)
			assertErr(t, err, ErrInvalid, "invalid token: malformed")
			if FailedKey(err) != wantKey || *parses != 1 {
				t.Fatalf("failed key %q, %d parses; want key %q, 1 parse", FailedKey(err), *parses, wantKey)
			}
			if inClaims != (*claimReads == 1) {
				t.Fatalf("claims read %d times (fault in the claims: %v)", *claimReads, inClaims)
			}
			if !inClaims {
				return
			}

			forged := diffToken(t, tt.header, tt.claims, stranger, false)
			_, refErr = referenceVerify(v, forged)
			_, err = v.Verify(forged)
			assertErr(t, err, ErrInvalid, "invalid token: "+reasonBadSig)
			if refErr == nil || !sameError(err, refErr) {
				t.Fatalf("forged: Verify = %v, reference = %v", err, refErr)
			}
			if *claimReads != 1 {
				t.Fatalf("a forged token's claims were read (%d reads in all)", *claimReads)
			}
		})
	}
}

// FuzzVerifyAgreesWithReference signs fuzzed header and claims texts (or,
// in mode 3, uses them as the segments themselves) and requires Verify and
// the golang-jwt reference to agree on the token.
func FuzzVerifyAgreesWithReference(f *testing.F) {
	v, node := diffVerifier(f)
	stranger := loadPriv(f, serverPrivFile)
	modes := map[string]uint8{"": 0, "node": 0, "stranger": 1, "none": 2, "raw": 3}
	for _, c := range diffCases {
		if len(c.header)+len(c.claims) < 4096 {
			f.Add(c.header, c.claims, modes[c.signer])
		}
	}
	f.Fuzz(func(t *testing.T, header, claims string, mode uint8) {
		var tok string
		switch mode % 4 {
		case 0:
			tok = diffToken(t, header, claims, node, false)
		case 1:
			tok = diffToken(t, header, claims, stranger, false)
		case 2:
			tok = diffToken(t, header, claims, nil, false)
		case 3:
			tok = diffToken(t, header, claims, node, true)
		}
		checkAgainstReference(t, v, tok)
	})
}
