package token

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultTTL is the reply lifetime when Signer.TTL is zero: the 2 minutes of
// Cobo's token_expire_minutes default (PROTOCOL.md 2.4).
const DefaultTTL = 2 * time.Minute

// Signer signs reply tokens (and, in the simulator, request tokens) the way
// Cobo's Go components do: header {"alg":"RS256","typ":"JWT"}, claims in the
// order package_data, iss, exp. A zero TTL means DefaultTTL; a nil Now means
// time.Now. A Signer holds no mutable state and may be used concurrently.
type Signer struct {
	// Key is the signing key; it must be at least MinKeyBits long.
	Key *rsa.PrivateKey
	// Source, when set, replaces Key: each Sign loads the key once, so a
	// reload that stores a new key switches replies to it atomically.
	Source *atomic.Pointer[rsa.PrivateKey]
	// Issuer is the iss claim (Cobo's templates use the service name,
	// "callback-server" by default). Empty omits the claim.
	Issuer string
	// TTL is how long the token stays valid after Now.
	TTL time.Duration
	// Now is the clock; tests freeze it.
	Now func() time.Time
}

// SigningKey returns the key Sign uses now: Source's when set, else Key.
func (s *Signer) SigningKey() *rsa.PrivateKey {
	if s == nil {
		return nil
	}
	if s.Source != nil {
		return s.Source.Load()
	}
	return s.Key
}

// replyHeader is the base64url of {"alg":"RS256","typ":"JWT"}, the header
// Cobo's Go components write (golang-jwt marshals its header map with the
// keys sorted).
const replyHeader = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"

// The claims are written as golang-jwt wrote the TSS Node's own claims
// struct ({PackageData []byte; jwt.RegisteredClaims}) through
// encoding/json: package_data as standard padded base64, then iss (omitted
// when empty) and exp in whole seconds; the other registered claims are
// empty and were omitted.
const (
	claimsOpen = `{"package_data":"`
	claimsIss  = `","iss":`
	claimsExp  = `,"exp":`
	// claimsExpNoIss follows package_data when there is no iss.
	claimsExpNoIss = `","exp":`
)

// Sign returns a compact RS256 JWT whose package_data is payload, iss is
// s.Issuer and exp is Now+TTL in whole seconds. RS256 (PKCS#1 v1.5) is
// deterministic, so equal inputs give byte-identical tokens.
//
// It returns an error, and no token, for a missing or short key, an empty
// payload (no protocol message is empty, so it can only be a caller bug) or a
// negative TTL (which would produce a token that is already expired).
func (s *Signer) Sign(payload []byte) (string, error) {
	key := s.SigningKey()
	if key == nil || key.N == nil {
		return "", errors.New("signing token: no private key")
	}
	if err := checkKey(&key.PublicKey); err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	if len(payload) == 0 {
		return "", errors.New("signing token: empty payload")
	}
	ttl := s.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		return "", fmt.Errorf("signing token: negative TTL %v", ttl)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// NumericDate truncated to its default precision of one second.
	exp := now().Add(ttl).Truncate(time.Second).Unix()
	return signCompact(key, payload, s.Issuer, exp)
}

// signCompact writes the token into buffers whose sizes are known in
// advance: the claims JSON, staged once, and the token itself, whose
// signing input is hashed as it is written.
func signCompact(key *rsa.PrivateKey, payload []byte, issuer string, exp int64) (string, error) {
	claims, err := replyClaims(payload, issuer, exp)
	if err != nil {
		return "", err
	}
	var tok strings.Builder
	digest := writeSigningInput(&tok, claims, key.Size())
	sig, err := signDigest(key, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	tok.WriteByte('.')
	writeBase64URL(&tok, sig)
	return tok.String(), nil
}

// replyClaims is the claims JSON, in one buffer of exactly its length.
func replyClaims(payload []byte, issuer string, exp int64) ([]byte, error) {
	var expBuf [20]byte
	expText := strconv.AppendInt(expBuf[:0], exp, 10)
	var issJSON []byte // iss as encoding/json quotes it, when it needs escaping
	issLen := 0
	if issuer != "" {
		if plainJSONString(issuer) {
			issLen = len(issuer) + 2
		} else {
			var err error
			if issJSON, err = json.Marshal(issuer); err != nil {
				return nil, fmt.Errorf("signing token: %w", err)
			}
			issLen = len(issJSON)
		}
	}
	pdLen := base64.StdEncoding.EncodedLen(len(payload))
	claimsLen := len(claimsOpen) + pdLen + len(claimsExpNoIss) + len(expText) + 1
	if issuer != "" {
		claimsLen += len(claimsIss) + issLen + len(claimsExp) - len(claimsExpNoIss)
	}

	claims := make([]byte, claimsLen)
	w := copy(claims, claimsOpen)
	base64.StdEncoding.Encode(claims[w:], payload)
	w += pdLen
	if issuer != "" {
		w += copy(claims[w:], claimsIss)
		if issJSON != nil {
			w += copy(claims[w:], issJSON)
		} else {
			claims[w] = '"'
			w++
			w += copy(claims[w:], issuer)
			claims[w] = '"'
			w++
		}
		w += copy(claims[w:], claimsExp)
	} else {
		w += copy(claims[w:], claimsExpNoIss)
	}
	w += copy(claims[w:], expText)
	claims[w] = '}'
	return claims, nil
}

// writeSigningInput sizes tok for the whole token (sigLen is the
// signature's length), writes the header and the encoded claims into it and
// returns the SHA-256 of what it wrote, hashed as it was written.
func writeSigningInput(tok *strings.Builder, claims []byte, sigLen int) (digest [sha256.Size]byte) {
	enc := base64.RawURLEncoding
	tok.Grow(len(replyHeader) + 1 + enc.EncodedLen(len(claims)) + 1 + enc.EncodedLen(sigLen))
	h := sha256.New()
	tok.WriteString(replyHeader)
	h.Write(replyHeaderDot)
	tok.WriteByte('.')
	var chunk [1024]byte
	for src := claims; len(src) > 0; {
		n := min(len(src), b64ChunkIn)
		m := enc.EncodedLen(n)
		enc.Encode(chunk[:m], src[:n])
		tok.Write(chunk[:m])
		h.Write(chunk[:m])
		src = src[n:]
	}
	h.Sum(digest[:0])
	return digest
}

// b64ChunkIn is how many bytes the encoders take at a time: a multiple of 3,
// so that only the last chunk can end in a partial group, and 1024
// characters encoded.
const b64ChunkIn = 768

// writeBase64URL appends the unpadded base64url of src to tok through a
// stack buffer.
func writeBase64URL(tok *strings.Builder, src []byte) {
	enc := base64.RawURLEncoding
	var chunk [1024]byte
	for len(src) > 0 {
		n := min(len(src), b64ChunkIn)
		m := enc.EncodedLen(n)
		enc.Encode(chunk[:m], src[:n])
		tok.Write(chunk[:m])
		src = src[n:]
	}
}

// replyHeaderDot is the start of every signing input, as bytes for the hash.
var replyHeaderDot = []byte(replyHeader + ".")

// plainJSONString reports whether encoding/json writes s as itself between
// quotes: printable ASCII other than the quote, the backslash and the
// characters it escapes for HTML (<, >, &). Anything else (DEL included,
// which it would in fact leave alone) takes encoding/json itself.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
