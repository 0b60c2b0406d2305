package token

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// signedClaims has the field order of the TSS Node's own claims struct
// ({PackageData []byte; jwt.RegisteredClaims}), so tokens look exactly like
// the node's: encoding/json writes []byte as StdEncoding base64 with padding,
// and the embedded registered claims contribute iss and exp (the others are
// empty and omitted).
type signedClaims struct {
	PackageData []byte `json:"package_data"`
	jwt.RegisteredClaims
}

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
	claims := signedClaims{
		PackageData: payload,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.Issuer,
			ExpiresAt: jwt.NewNumericDate(now().Add(ttl)),
		},
	}
	// SignedString's steps, with the signature from signDigest, so that a
	// fast-crypto build signs in its own library.
	input, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SigningString()
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	digest := sha256.Sum256([]byte(input))
	sig, err := signDigest(key, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
