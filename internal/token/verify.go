package token

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

var (
	// ErrInvalid is wrapped by every token failure: bad or truncated
	// signature, a signature from no configured key, an algorithm other than
	// RS256, expired, not yet valid, issued in the future, missing exp,
	// malformed, missing, oversized, or no key configured. Callers map it to
	// status 20 (invalid token).
	ErrInvalid = errors.New("invalid token")

	// ErrPayload is wrapped when the token verified but its package_data
	// claim is missing, empty, not a JSON string, or not standard padded
	// base64 (RFC 4648 StdEncoding: '+/' alphabet, '=' padding; URL-safe,
	// unpadded and line-wrapped forms are rejected). Callers map it to status
	// 10 (invalid request).
	ErrPayload = errors.New("invalid package_data")
)

// Reasons wrapped with ErrInvalid or ErrPayload. They go on the wire in the
// reply's error field, so they are fixed strings that reveal nothing beyond
// what the sender already knows.
const (
	reasonMissing     = "missing token"
	reasonTooLarge    = "token too large"
	reasonNoKeys      = "no TSS Node public key configured"
	reasonMalformed   = "malformed"
	reasonBadSig      = "signature does not verify with any configured TSS Node key"
	reasonExpRequired = "exp claim required"
	reasonExpired     = "expired"
	reasonExpTooFar   = "exp too far in the future"
	reasonNotYet      = "not valid yet"
	reasonFutureIat   = "issued in the future"
	reasonClaims      = "invalid claims"
	reasonCrit        = "unsupported critical header (crit)"

	reasonPayloadMissing  = "missing"
	reasonPayloadEmpty    = "empty"
	reasonPayloadNotStr   = "not a JSON string"
	reasonPayloadNotStd64 = "not standard padded base64"
)

// MaxTokenLen is the longest token Verify will look at. The HTTP layer caps the
// body well below this; the check here keeps the package safe on its own.
const MaxTokenLen = 1 << 20

// onlyAlg is the one signing algorithm of the protocol (PROTOCOL.md 2.1).
const onlyAlg = "RS256"

// DefaultMaxLifetime is the longest a request token may still have to live
// when it arrives, when Verifier.MaxLifetime is zero. A TSS Node sets exp a
// few minutes ahead (token_expire_minutes, default 2); a token valid for
// much longer is either misconfigured or minted to be replayed later.
const DefaultMaxLifetime = 15 * time.Minute

// Verifier checks TSS Node request tokens. The zero Leeway means no clock-skew
// allowance, as in Cobo's templates; the zero MaxLifetime means
// DefaultMaxLifetime; a nil Now means time.Now. A Verifier holds no mutable
// state, so one value may serve concurrent requests as long as its fields are
// not changed meanwhile.
type Verifier struct {
	// Keys are the TSS Node public keys a request may be signed with.
	Keys *KeySet
	// Source, when set, replaces Keys: each Verify loads the set once, so a
	// reload that stores a new set swaps every key at once, and a request
	// never sees half of an old set and half of a new one.
	Source *atomic.Pointer[KeySet]
	// Leeway widens the exp, nbf and iat checks to absorb clock skew.
	Leeway time.Duration
	// MaxLifetime bounds how far ahead of now (plus Leeway) exp may be: a
	// token whose exp is later is refused. Zero means DefaultMaxLifetime;
	// there is no "unbounded".
	MaxLifetime time.Duration
	// Now is the clock; tests freeze it.
	Now func() time.Time
}

// KeySet returns the key set Verify uses now: Source's when set, else Keys.
func (v *Verifier) KeySet() *KeySet {
	if v == nil {
		return nil
	}
	if v.Source != nil {
		return v.Source.Load()
	}
	return v.Keys
}

// Verified is what an authentic, currently valid token carries.
type Verified struct {
	// PackageData is the base64-decoded package_data claim: the CallbackRequest
	// JSON, not yet parsed.
	PackageData []byte
	// KeyName is the name of the configured key whose signature verified.
	KeyName string
	// Issuer is the iss claim, informational only: the protocol gives it no
	// meaning and it is not checked.
	Issuer string
	// ExpiresAt is the exp claim.
	ExpiresAt time.Time
}

// parsedHook, when set (by tests), is called once per token parse (the
// part before any key is tried), so a test can assert that a token is
// parsed once however many keys there are.
var parsedHook func()

// Verify authenticates raw (surrounding whitespace ignored) and returns its
// decoded package_data.
//
// Order of checks, chosen so that an unauthenticated sender learns as
// little as possible and decides as little as possible of the work done
// before its token is authenticated:
//  1. size and presence; at least one key configured;
//  2. structure, header and signature, read once: three segments, the
//     header base64url JSON with alg exactly RS256 and no crit, the
//     signature base64url;
//  3. the signature: the signing input is hashed once and the RS256
//     (PKCS #1 v1.5, SHA-256) signature checked against each configured key
//     in order, so a token from an unknown key costs one parse of its
//     header and one hash however many keys are configured, plus one cheap
//     public-key operation per key. The claims segment is not even
//     base64-decoded yet, so a forged token reports a bad signature
//     whatever its claims hold, malformed ones included;
//  4. claims, only once a key has verified the signature: the claims
//     segment base64url, a strict JSON object with well-typed registered
//     claims ("malformed" otherwise); then exp required and in the future,
//     not more than MaxLifetime ahead, nbf and iat (when present) not in
//     the future, all with Leeway. An expired token from an unknown key
//     therefore reports a bad signature, not "expired";
//  5. package_data: a JSON string holding standard padded base64.
//
// Every error wraps exactly one of ErrInvalid (steps 1-4) or ErrPayload (step
// 5), with a short, stable reason such as "invalid token: expired". Errors
// of steps 4 and 5 also carry the name of the key that verified the token
// (FailedKey).
func (v *Verifier) Verify(raw string) (*Verified, error) {
	raw = strings.TrimSpace(raw)
	keys := v.KeySet()
	switch {
	case raw == "":
		return nil, invalid(reasonMissing)
	case len(raw) > MaxTokenLen:
		return nil, invalid(reasonTooLarge)
	case keys.Len() == 0:
		return nil, invalid(reasonNoKeys)
	}

	nowFn := v.Now
	if nowFn == nil {
		nowFn = time.Now
	}
	var tok parsedToken
	reason := tok.parse(raw)
	if parsedHook != nil {
		parsedHook()
	}
	if reason != "" {
		return nil, invalid(reason)
	}
	digest := hashString(tok.signingInput)
	var key *NamedKey
	for i := range keys.keys {
		if rsa.VerifyPKCS1v15(keys.keys[i].Key, crypto.SHA256, digest[:], tok.signature) == nil {
			key = &keys.keys[i]
			break
		}
	}
	if key == nil {
		return nil, invalid(reasonBadSig)
	}
	if !tok.parseClaims() {
		return nil, &keyedError{key.Name, invalid(reasonMalformed)}
	}

	c := &tok.claims
	now := nowFn()
	if reason := c.timeProblem(now, v.Leeway); reason != "" {
		return nil, &keyedError{key.Name, invalid(reason)}
	}
	maxLife := v.MaxLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxLifetime
	}
	if c.exp.After(now.Add(maxLife + v.Leeway)) {
		return nil, &keyedError{key.Name, invalid(fmt.Sprintf("%s (more than %s ahead)", reasonExpTooFar, maxLife))}
	}
	var data []byte
	var err error
	if c.packageDataPlain {
		data, err = decodeStd64(c.packageData[1 : len(c.packageData)-1])
	} else {
		data, err = decodePackageData(c.packageData)
	}
	if err != nil {
		return nil, &keyedError{key.Name, err}
	}
	return &Verified{PackageData: data, KeyName: key.Name, Issuer: c.issuer, ExpiresAt: c.exp}, nil
}

// timeProblem applies golang-jwt's validator as the old code configured it
// (exp required, iat checked, Leeway): exp is expired unless now is before
// exp+leeway; nbf and iat are in the future when now is before them minus
// leeway. Several faults report the most basic, in the order exp missing,
// expired, not valid yet, issued in the future.
func (c *requestClaims) timeProblem(now time.Time, leeway time.Duration) string {
	switch {
	case !c.hasExp:
		return reasonExpRequired
	case !now.Before(c.exp.Add(leeway)):
		return reasonExpired
	case c.hasNbf && now.Before(c.nbf.Add(-leeway)):
		return reasonNotYet
	case c.hasIat && now.Before(c.iat.Add(-leeway)):
		return reasonFutureIat
	}
	return ""
}

// hashString is SHA-256 of s, fed through a small stack buffer: converting
// a 10 KB token to []byte for the hash would copy it to the heap.
func hashString(s string) (sum [sha256.Size]byte) {
	h := sha256.New()
	var buf [1024]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	h.Sum(sum[:0])
	return sum
}

// printableAlg renders the attacker-chosen alg header for an error message:
// a short alphanumeric name as is (e.g. HS256), anything else quoted and cut.
func printableAlg(a headerAlg) string {
	switch a.kind {
	case algMissing:
		return "(missing)"
	case algNotString:
		return "(not a string)"
	}
	s := string(a.name)
	if s == "" {
		return `""`
	}
	if len(s) <= 16 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == "" {
		return s
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return fmt.Sprintf("%q", s)
}

// decodePackageData checks that raw (the package_data member's JSON value,
// nil when absent) is a JSON string holding standard padded base64 and
// returns the decoded bytes. It is stricter than the Go TSS Node's own
// decoder in one respect: embedded CR/LF, which encoding/base64 skips
// silently, are refused, since no conforming sender produces them.
func decodePackageData(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, payloadErr(reasonPayloadMissing)
	}
	if raw[0] != '"' {
		return nil, payloadErr(reasonPayloadNotStr)
	}
	if inner, ok := plainString(raw); ok {
		return decodeStd64(inner)
	}
	// Escapes: a JSON string still, decoded the slow way (and then
	// refused below unless it decodes to base64).
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		return nil, payloadErr(reasonPayloadNotStr)
	}
	// Only an escape can spell CR or LF here (raw JSON strings cannot hold
	// them), and encoding/base64 would skip them.
	if strings.ContainsAny(str, "\r\n") {
		return nil, payloadErr(reasonPayloadNotStd64)
	}
	return decodeStd64([]byte(str))
}

// decodeStd64 decodes the string package_data holds, which has no CR or LF
// (decodePackageData checks): not empty, strict standard padded base64.
func decodeStd64(s []byte) ([]byte, error) {
	if len(s) == 0 {
		return nil, payloadErr(reasonPayloadEmpty)
	}
	enc := base64.StdEncoding.Strict()
	data := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(data, s)
	if err != nil {
		return nil, payloadErr(reasonPayloadNotStd64)
	}
	return data[:n], nil
}

// plainString returns the contents of raw (not a copy) when it is a JSON
// string made only of standard base64's characters (as every TSS Node
// writes package_data): such a string means exactly its bytes, with no
// escape to decode, so the JSON decoder is not needed.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if !base64Char[c] {
			return nil, false
		}
	}
	return inner, true
}

// base64Char reports the characters of standard base64 and its padding.
var base64Char = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, reason)
}

func payloadErr(reason string) error {
	return fmt.Errorf("%w: %s", ErrPayload, reason)
}
