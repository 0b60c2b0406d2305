package token

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// now is the frozen clock of the forged-token table.
var now = time.Unix(1_700_000_000, 0)

const leeway = 30 * time.Second

// samplePayload base64-encodes (standard alphabet) with both '+' and '/' and
// with '=' padding, so URL-safe and unpadded variants differ from it.
var samplePayload = []byte(`{"request_id":"r-1","request_type":0,"note":"???>>>~~~"}`)

func TestSamplePayloadExercisesTheAlphabet(t *testing.T) {
	std := base64.StdEncoding.EncodeToString(samplePayload)
	if !strings.ContainsAny(std, "+/") || !strings.HasSuffix(std, "=") {
		t.Fatalf("sample payload encodes as %s: need '+' or '/' and '=' padding", std)
	}
}

func TestVerifyForgedAndBrokenTokens(t *testing.T) {
	nodeKey := loadPriv(t, nodePrivFile)
	serverKey := loadPriv(t, serverPrivFile)
	nodePubPEM := readFile(t, nodePubFile)
	v := &Verifier{Keys: keySet(t, NamedKey{Name: "node-1", Key: &nodeKey.PublicKey}), Leeway: leeway, Now: fixedClock(now)}

	std := base64.StdEncoding.EncodeToString(samplePayload)
	claims := func(mods ...func(map[string]any)) map[string]any {
		c := map[string]any{"package_data": std, "iss": "TSS_NODE", "exp": now.Add(time.Minute).Unix()}
		for _, m := range mods {
			m(c)
		}
		return c
	}
	set := func(k string, val any) func(map[string]any) { return func(c map[string]any) { c[k] = val } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }
	header := func(alg string) map[string]any { return map[string]any{"alg": alg, "typ": "JWT"} }

	valid := forge(t, rs256Header(), claims(), nodeKey)
	sig := strings.Split(valid, ".")[2]
	// Change one character in the middle of the signature: still canonical
	// base64url, different bytes.
	mid := []byte(sig)
	if i := len(mid) / 2; mid[i] == 'A' {
		mid[i] = 'B'
	} else {
		mid[i] = 'A'
	}

	tests := []struct {
		name    string
		token   string
		wantErr error // nil: accepted
		wantMsg string
	}{
		{name: "valid", token: valid},
		{name: "valid with surrounding whitespace", token: "\r\n\t " + valid + " \n"},
		{name: "no typ header (jjwt style)", token: forge(t, map[string]any{"alg": "RS256"}, claims(), nodeKey)},
		// kid is not part of the protocol and is ignored: the signature must
		// still verify with a configured key, which is what authenticates.
		{name: "unknown kid is ignored", token: forge(t, map[string]any{"alg": "RS256", "kid": "nope"}, claims(), nodeKey)},
		{name: "expired within leeway", token: forge(t, rs256Header(), claims(set("exp", now.Add(-leeway+time.Second).Unix())), nodeKey)},
		{name: "nbf and iat in the past", token: forge(t, rs256Header(), claims(set("nbf", now.Unix()-5), set("iat", now.Unix()-5)), nodeKey)},
		{name: "nbf within leeway", token: forge(t, rs256Header(), claims(set("nbf", now.Add(leeway-time.Second).Unix())), nodeKey)},

		{name: "alg none, unsigned", token: forge(t, header("none"), claims(), nil), wantErr: ErrInvalid, wantMsg: "invalid token: signing method none not allowed (only RS256)"},
		{name: "alg none with a real RS256 signature", token: replaceSegment(t, valid, 0, b64url([]byte(`{"alg":"none","typ":"JWT"}`))), wantErr: ErrInvalid, wantMsg: "invalid token: signing method none not allowed (only RS256)"},
		{name: "HS256 keyed with the PEM public key", token: forge(t, header("HS256"), claims(), nodePubPEM), wantErr: ErrInvalid, wantMsg: "invalid token: signing method HS256 not allowed (only RS256)"},
		{name: "HS384 keyed with the PEM public key", token: forge(t, header("HS384"), claims(), nodePubPEM), wantErr: ErrInvalid, wantMsg: "invalid token: signing method HS384 not allowed (only RS256)"},
		{name: "HS512 keyed with the PEM public key", token: forge(t, header("HS512"), claims(), nodePubPEM), wantErr: ErrInvalid, wantMsg: "invalid token: signing method HS512 not allowed (only RS256)"},
		{name: "RS384 with the right key", token: forge(t, header("RS384"), claims(), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: signing method RS384 not allowed (only RS256)"},
		{name: "RS512 with the right key", token: forge(t, header("RS512"), claims(), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: signing method RS512 not allowed (only RS256)"},
		{name: "PS256 with the right key", token: forge(t, header("PS256"), claims(), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: signing method PS256 not allowed (only RS256)"},
		{name: "ES256", token: forge(t, header("ES256"), claims(), genECDSA()), wantErr: ErrInvalid, wantMsg: "invalid token: signing method ES256 not allowed (only RS256)"},
		{name: "EdDSA", token: forge(t, header("EdDSA"), claims(), genEd25519()), wantErr: ErrInvalid, wantMsg: "invalid token: signing method EdDSA not allowed (only RS256)"},
		{name: "alg lower case", token: replaceSegment(t, valid, 0, b64url([]byte(`{"alg":"rs256","typ":"JWT"}`))), wantErr: ErrInvalid, wantMsg: "invalid token: signing method rs256 not allowed (only RS256)"},
		{name: "alg missing", token: replaceSegment(t, valid, 0, b64url([]byte(`{"typ":"JWT"}`))), wantErr: ErrInvalid, wantMsg: "invalid token: signing method (missing) not allowed (only RS256)"},
		{name: "alg not a string", token: replaceSegment(t, valid, 0, b64url([]byte(`{"alg":256}`))), wantErr: ErrInvalid, wantMsg: "invalid token: signing method (not a string) not allowed (only RS256)"},
		{name: "alg with odd characters is quoted and cut", token: replaceSegment(t, valid, 0, b64url([]byte(`{"alg":"RS256\n<script>alert(1)</script>"}`))), wantErr: ErrInvalid, wantMsg: `invalid token: signing method "RS256\n<script>al" not allowed (only RS256)`},
		{name: "crit header", token: forge(t, map[string]any{"alg": "RS256", "crit": []string{"exp"}}, claims(), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: unsupported critical header (crit)"},

		{name: "wrong RSA key", token: forge(t, rs256Header(), claims(), serverKey), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "tampered payload", token: replaceSegment(t, valid, 1, b64url(mustJSON(t, claims(set("iss", "EVIL"))))), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "tampered signature", token: replaceSegment(t, valid, 2, string(mid)), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "truncated signature", token: replaceSegment(t, valid, 2, sig[:len(sig)-10]), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "empty signature", token: replaceSegment(t, valid, 2, ""), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "non-canonical signature base64", token: replaceSegment(t, valid, 2, sig[:len(sig)-1]+nonCanonicalLast(t, sig)), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		// Claims are judged only after a signature verified: a stranger must
		// not learn whether its claims would have passed.
		{name: "expired and signed by an unknown key", token: forge(t, rs256Header(), claims(set("exp", now.Add(-time.Hour).Unix())), serverKey), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "no exp and signed by an unknown key", token: forge(t, rs256Header(), claims(del("exp")), serverKey), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},

		{name: "missing exp", token: forge(t, rs256Header(), claims(del("exp")), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: exp claim required"},
		{name: "expired beyond leeway", token: forge(t, rs256Header(), claims(set("exp", now.Add(-leeway).Unix())), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: expired"},
		{name: "nbf in the future", token: forge(t, rs256Header(), claims(set("nbf", now.Add(leeway+time.Second).Unix())), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: not valid yet"},
		{name: "iat in the future", token: forge(t, rs256Header(), claims(set("iat", now.Add(leeway+time.Second).Unix())), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: issued in the future"},
		{name: "expired and iat in the future reports expired", token: forge(t, rs256Header(), claims(set("exp", now.Add(-time.Hour).Unix()), set("iat", now.Add(time.Hour).Unix())), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: expired"},
		{name: "exp not a number", token: forge(t, rs256Header(), claims(set("exp", "tomorrow")), nodeKey), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},

		{name: "not a JWT", token: "abc", wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "two parts only", token: strings.Join(strings.Split(valid, ".")[:2], "."), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "four parts", token: valid + ".x", wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "bad base64 in header", token: replaceSegment(t, valid, 0, "!!!"), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "header not JSON", token: replaceSegment(t, valid, 0, b64url([]byte("RS256"))), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		// Replacing the claims breaks the signature, and claims are read
		// only after a key verified it: a forged token's broken claims
		// report a bad signature (before verify-first they reported
		// "malformed"). The node's own broken claims are malformed.
		{name: "claims not JSON, forged", token: replaceSegment(t, valid, 1, b64url([]byte("{"))), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "claims not base64, forged", token: replaceSegment(t, valid, 1, "!!!"), wantErr: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "claims not JSON, node-signed", token: diffToken(t, `{"alg":"RS256"}`, "{", nodeKey, false), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "claims not base64, node-signed", token: diffToken(t, b64url([]byte(`{"alg":"RS256"}`)), "!!!", nodeKey, true), wantErr: ErrInvalid, wantMsg: "invalid token: malformed"},
		{name: "empty string", token: "", wantErr: ErrInvalid, wantMsg: "invalid token: missing token"},
		{name: "whitespace only", token: " \n\t", wantErr: ErrInvalid, wantMsg: "invalid token: missing token"},
		{name: "larger than 1 MiB", token: strings.Repeat("a", MaxTokenLen+1), wantErr: ErrInvalid, wantMsg: "invalid token: token too large"},

		{name: "package_data missing", token: forge(t, rs256Header(), claims(del("package_data")), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: missing"},
		{name: "package_data null", token: forge(t, rs256Header(), claims(set("package_data", nil)), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not a JSON string"},
		{name: "package_data a number", token: forge(t, rs256Header(), claims(set("package_data", 42)), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not a JSON string"},
		{name: "package_data an object", token: forge(t, rs256Header(), claims(set("package_data", map[string]any{"request_id": "x"})), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not a JSON string"},
		{name: "package_data empty", token: forge(t, rs256Header(), claims(set("package_data", "")), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: empty"},
		{name: "package_data URL-safe base64", token: forge(t, rs256Header(), claims(set("package_data", base64.URLEncoding.EncodeToString(samplePayload))), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not standard padded base64"},
		{name: "package_data unpadded", token: forge(t, rs256Header(), claims(set("package_data", base64.RawStdEncoding.EncodeToString(samplePayload))), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not standard padded base64"},
		{name: "package_data line-wrapped", token: forge(t, rs256Header(), claims(set("package_data", std[:8]+"\n"+std[8:])), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not standard padded base64"},
		{name: "package_data not base64", token: forge(t, rs256Header(), claims(set("package_data", "{\"request_id\":1}")), nodeKey), wantErr: ErrPayload, wantMsg: "invalid package_data: not standard padded base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !bytes.Equal(got.PackageData, samplePayload) {
					t.Fatalf("PackageData = %q, want %q", got.PackageData, samplePayload)
				}
				if got.KeyName != "node-1" {
					t.Fatalf("KeyName = %q", got.KeyName)
				}
				return
			}
			if got != nil {
				t.Fatalf("Verify returned %+v along with an error", got)
			}
			assertErr(t, err, tc.wantErr, tc.wantMsg)
		})
	}
}

// assertErr checks that err wraps want and only want of the two sentinels,
// and that its text is exactly msg.
func assertErr(t *testing.T, err, want error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify succeeded, want %q", msg)
	}
	other := ErrPayload
	if want == ErrPayload {
		other = ErrInvalid
	}
	if !errors.Is(err, want) || errors.Is(err, other) {
		t.Fatalf("err = %v: want it to wrap %v and not %v", err, want, other)
	}
	if err.Error() != msg {
		t.Fatalf("err = %q, want %q", err.Error(), msg)
	}
}

// nonCanonicalLast returns a replacement for the last base64url character of
// a 256-byte signature that decodes to the same bytes under a lenient decoder
// (a 342-character segment uses only 4 bits of its last character).
func nonCanonicalLast(t *testing.T, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 != 2 {
		t.Fatalf("segment length %d: expected 2 spare bits per group", len(seg))
	}
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return string(alphabet[i|1])
}

func TestVerifyWithoutKeys(t *testing.T) {
	tok := forge(t, rs256Header(), map[string]any{"package_data": "eA==", "exp": now.Add(time.Minute).Unix()}, loadPriv(t, nodePrivFile))
	tests := []struct {
		name string
		v    *Verifier
	}{
		{name: "nil verifier", v: nil},
		{name: "nil key set", v: &Verifier{Now: fixedClock(now)}},
		{name: "empty key set", v: &Verifier{Keys: keySet(t), Now: fixedClock(now)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.v.Verify(tok)
			if got != nil {
				t.Fatal("verified without a key")
			}
			assertErr(t, err, ErrInvalid, "invalid token: no TSS Node public key configured")
		})
	}
}

func TestVerifySeedJWT(t *testing.T) {
	seed := string(readFile(t, "testdata/seed-v1-example.jwt"))
	wantData := readFile(t, "testdata/seed-v1-package-data.json")
	nodePub := loadPub(t, nodePubFile)
	serverPub := loadPub(t, serverPubFile)
	beforeExp := fixedClock(time.Date(2023, 6, 21, 4, 20, 0, 0, time.UTC)) // exp is 04:23:30, within the default max lifetime

	t.Run("verifies before exp", func(t *testing.T) {
		v := &Verifier{Keys: keySet(t, NamedKey{Name: "cobo-checker", Key: nodePub}), Now: beforeExp}
		got, err := v.Verify(seed) // the file ends in a newline: trimming is exercised too
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !bytes.Equal(got.PackageData, wantData) {
			t.Fatalf("PackageData =\n%s\nwant\n%s", got.PackageData, wantData)
		}
		want := Verified{PackageData: wantData, KeyName: "cobo-checker", Issuer: "TEST_CHECKER", ExpiresAt: time.Unix(1687321410, 0)}
		if got.KeyName != want.KeyName || got.Issuer != want.Issuer || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("expired at real time", func(t *testing.T) {
		v := &Verifier{Keys: keySet(t, NamedKey{Name: "cobo-checker", Key: nodePub}), Leeway: time.Minute}
		_, err := v.Verify(seed)
		assertErr(t, err, ErrInvalid, "invalid token: expired")
	})
	t.Run("callback server key does not verify it", func(t *testing.T) {
		v := &Verifier{Keys: keySet(t, NamedKey{Name: "server", Key: serverPub}), Now: beforeExp}
		_, err := v.Verify(seed)
		assertErr(t, err, ErrInvalid, "invalid token: signature does not verify with any configured TSS Node key")
	})
}

func TestVerifyMultipleKeys(t *testing.T) {
	oldKey := genRSA2048()
	newKey := loadPriv(t, nodePrivFile)
	stranger := loadPriv(t, serverPrivFile)
	sign := func(k *rsa.PrivateKey, exp time.Time) string {
		return forge(t, rs256Header(), map[string]any{"package_data": base64.StdEncoding.EncodeToString(samplePayload), "exp": exp.Unix()}, k)
	}
	fresh := now.Add(time.Minute)
	old := NamedKey{Name: "node-2024", Key: &oldKey.PublicKey}
	cur := NamedKey{Name: "node-2025", Key: &newKey.PublicKey}

	tests := []struct {
		name     string
		keys     []NamedKey
		token    string
		wantKey  string // "" means an error is expected
		wantMsg  string
		wantSent error
	}{
		{name: "first key verifies", keys: []NamedKey{old, cur}, token: sign(oldKey, fresh), wantKey: "node-2024"},
		{name: "second key verifies", keys: []NamedKey{old, cur}, token: sign(newKey, fresh), wantKey: "node-2025"},
		{name: "before rotation, new key unknown", keys: []NamedKey{old}, token: sign(newKey, fresh), wantSent: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "after rotation, old key retired", keys: []NamedKey{cur}, token: sign(oldKey, fresh), wantSent: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		{name: "no key verifies", keys: []NamedKey{old, cur}, token: sign(stranger, fresh), wantSent: ErrInvalid, wantMsg: "invalid token: signature does not verify with any configured TSS Node key"},
		// A claim failure under the second key is reported as such, not
		// masked as "no key verified".
		{name: "expired under the second key", keys: []NamedKey{old, cur}, token: sign(newKey, now.Add(-time.Hour)), wantSent: ErrInvalid, wantMsg: "invalid token: expired"},
		{name: "bad package_data under the second key", keys: []NamedKey{old, cur}, token: forge(t, rs256Header(), map[string]any{"package_data": 1, "exp": fresh.Unix()}, newKey), wantSent: ErrPayload, wantMsg: "invalid package_data: not a JSON string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Keys: keySet(t, tc.keys...), Now: fixedClock(now)}
			got, err := v.Verify(tc.token)
			if tc.wantKey == "" {
				assertErr(t, err, tc.wantSent, tc.wantMsg)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.KeyName != tc.wantKey {
				t.Fatalf("KeyName = %q, want %q", got.KeyName, tc.wantKey)
			}
		})
	}
}

func TestNewKeySet(t *testing.T) {
	a := &genRSA2048().PublicKey
	b := loadPub(t, nodePubFile)
	bCopy := loadPub(t, nodePubFile)
	small := &genRSA1024().PublicKey
	tests := []struct {
		name    string
		keys    []NamedKey
		wantErr string
	}{
		{name: "empty set", keys: nil},
		{name: "two keys", keys: []NamedKey{{"a", a}, {"b", b}}},
		{name: "empty name", keys: []NamedKey{{"", a}}, wantErr: "key set: key 0 has an empty name"},
		{name: "duplicate name", keys: []NamedKey{{"a", a}, {"a", b}}, wantErr: `key set: duplicate key name "a"`},
		{name: "nil key", keys: []NamedKey{{"a", nil}}, wantErr: `key set: key "a" is nil`},
		{name: "key without modulus", keys: []NamedKey{{"a", &rsa.PublicKey{E: 65537}}}, wantErr: `key set: key "a" is nil`},
		{name: "same key twice", keys: []NamedKey{{"b", b}, {"b2", bCopy}}, wantErr: `key set: keys "b" and "b2" are the same key`},
		{name: "short key", keys: []NamedKey{{"s", small}}, wantErr: `key set: key "s": RSA key is 1024 bits, need at least 2048`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewKeySet(tc.keys...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != len(tc.keys) {
				t.Fatalf("Len = %d, want %d", s.Len(), len(tc.keys))
			}
			names := s.Names()
			for i, k := range tc.keys {
				if names[i] != k.Name {
					t.Fatalf("Names = %v", names)
				}
			}
		})
	}

	t.Run("nil set", func(t *testing.T) {
		var s *KeySet
		if s.Len() != 0 || s.Names() != nil {
			t.Fatal("nil set is not empty")
		}
	})
	t.Run("immutable", func(t *testing.T) {
		mine := loadPub(t, nodePubFile)
		s := keySet(t, NamedKey{"n", mine})
		s.Names()[0] = "changed"
		mine.N.SetInt64(3) // the caller scribbles over its key afterwards
		if s.Names()[0] != "n" {
			t.Fatal("Names exposed internal state")
		}
		tok := forge(t, rs256Header(), map[string]any{"package_data": "eA==", "exp": now.Add(time.Minute).Unix()}, loadPriv(t, nodePrivFile))
		if _, err := (&Verifier{Keys: s, Now: fixedClock(now)}).Verify(tok); err != nil {
			t.Fatalf("set changed with its caller's key: %v", err)
		}
	})
}

func TestVerifyConcurrent(t *testing.T) {
	key := loadPriv(t, nodePrivFile)
	v := &Verifier{Keys: keySet(t, NamedKey{"n", &key.PublicKey}), Now: fixedClock(now)}
	s := &Signer{Key: key, Now: fixedClock(now)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := []byte{byte('a' + i)}
			tok, err := s.Sign(payload)
			if err != nil {
				errs <- err
				return
			}
			got, err := v.Verify(tok)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got.PackageData, payload) {
				errs <- errors.New("payload mixed up between goroutines")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzVerify feeds arbitrary strings to Verify. Whatever it accepts must be an
// RS256 token that independently verifies with the known key and whose
// package_data decodes to what Verify returned; whatever it rejects must wrap
// exactly one sentinel.
func FuzzVerify(f *testing.F) {
	nodeKey := loadPriv(f, nodePrivFile)
	seedNow := time.Date(2023, 6, 21, 4, 0, 0, 0, time.UTC)
	v := &Verifier{Keys: keySet(f, NamedKey{"node", &nodeKey.PublicKey}), Now: fixedClock(seedNow)}
	signer := &Signer{Key: nodeKey, Issuer: "TSS_NODE", Now: fixedClock(seedNow)}

	seed := string(readFile(f, "testdata/seed-v1-example.jwt"))
	valid, err := signer.Sign(samplePayload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add(replaceSegment(f, valid, 0, b64url([]byte(`{"alg":"none"}`))))
	f.Add(forge(f, map[string]any{"alg": "HS256"}, map[string]any{"package_data": "eA==", "exp": seedNow.Add(time.Minute).Unix()}, readFile(f, nodePubFile)))
	f.Add(forge(f, rs256Header(), map[string]any{"package_data": 7, "exp": seedNow.Add(time.Minute).Unix()}, nodeKey))
	f.Add("abc")
	f.Add("..")
	f.Add("")

	f.Fuzz(func(t *testing.T, raw string) {
		got, err := v.Verify(raw)
		if err != nil {
			if got != nil {
				t.Fatal("result returned with an error")
			}
			if errors.Is(err, ErrInvalid) == errors.Is(err, ErrPayload) {
				t.Fatalf("error %q wraps neither or both sentinels", err)
			}
			return
		}
		parts := strings.Split(strings.TrimSpace(raw), ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token with %d parts", len(parts))
		}
		var header map[string]any
		if err := json.Unmarshal(mustDecodeURL(t, parts[0]), &header); err != nil || header["alg"] != "RS256" {
			t.Fatalf("accepted header %s", mustDecodeURL(t, parts[0]))
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(&nodeKey.PublicKey, crypto.SHA256, digest[:], mustDecodeURL(t, parts[2])); err != nil {
			t.Fatalf("accepted a token whose signature does not verify: %v", err)
		}
		var claims struct {
			PackageData string `json:"package_data"`
		}
		if err := json.Unmarshal(mustDecodeURL(t, parts[1]), &claims); err != nil {
			t.Fatalf("accepted claims that do not parse: %v", err)
		}
		data, err := base64.StdEncoding.DecodeString(claims.PackageData)
		if err != nil || !bytes.Equal(data, got.PackageData) {
			t.Fatalf("PackageData %q does not match the claim %q", got.PackageData, claims.PackageData)
		}
	})
}

func mustDecodeURL(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("accepted a segment that is not base64url: %v", err)
	}
	return b
}

// The plain-string shortcut of decodePackageData must read exactly what
// the JSON decoder reads, and decline whatever it cannot read alone.
func TestPlainStringMatchesJSON(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		plain bool
	}{
		{"base64", `"eyJhIjoxfQ=="`, true},
		{"empty", `""`, true},
		{"escaped slash", `"ab\/cd"`, false},
		{"unicode escape", `"\u0041QID"`, false},
		{"space", `"ab cd"`, false},
		{"not a string", `123`, false},
		{"url alphabet", `"ab-_"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := plainString(json.RawMessage(tc.raw))
			if ok != tc.plain {
				t.Fatalf("plainString(%s) ok = %v, want %v", tc.raw, ok, tc.plain)
			}
			if !ok {
				return
			}
			var want string
			if err := json.Unmarshal([]byte(tc.raw), &want); err != nil || string(got) != want {
				t.Fatalf("plainString(%s) = %q, encoding/json reads %q (%v)", tc.raw, got, want, err)
			}
		})
	}
}
