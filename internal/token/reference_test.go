package token

// The reference implementation: Verify and Sign as they were written on
// golang-jwt before the lean parser and builder replaced them (copied from
// verify.go and sign.go at that commit, names prefixed with ref). The
// differential tests run both and require the same outcome, so the lean code
// is checked against an independent reading of the token, not against
// itself.

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// refRequestClaims is the reference's claims struct.
type refRequestClaims struct {
	PackageData json.RawMessage `json:"package_data"`
	jwt.RegisteredClaims
}

// referenceVerify is Verifier.Verify on golang-jwt's parser and validator.
func referenceVerify(v *Verifier, raw string) (*Verified, error) {
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

	now := v.Now
	if now == nil {
		now = time.Now
	}
	parser := jwt.NewParser(jwt.WithStrictDecoding())
	var claims refRequestClaims
	tok, parts, err := parser.ParseUnverified(raw, &claims)
	if reason := refHeaderProblem(tok); reason != "" {
		return nil, invalid(reason)
	}
	if err != nil {
		return nil, invalid(refClaimsReason(err))
	}
	if tok.Method != jwt.SigningMethodRS256 || len(parts) != 3 {
		return nil, invalid(reasonMalformed)
	}
	h := sha256.New()
	h.Write([]byte(parts[0]))
	h.Write([]byte{'.'})
	h.Write([]byte(parts[1]))
	digest := h.Sum(nil)
	var key *NamedKey
	for i := range keys.keys {
		if rsa.VerifyPKCS1v15(keys.keys[i].Key, crypto.SHA256, digest, tok.Signature) == nil {
			key = &keys.keys[i]
			break
		}
	}
	if key == nil {
		return nil, invalid(reasonBadSig)
	}

	validator := jwt.NewValidator(
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(now),
	)
	if err := validator.Validate(claims); err != nil {
		return nil, &keyedError{key.Name, invalid(refClaimsReason(err))}
	}
	maxLife := v.MaxLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxLifetime
	}
	if claims.ExpiresAt == nil {
		return nil, &keyedError{key.Name, invalid(reasonExpRequired)}
	}
	if claims.ExpiresAt.After(now().Add(maxLife + v.Leeway)) {
		return nil, &keyedError{key.Name, invalid(fmt.Sprintf("%s (more than %s ahead)", reasonExpTooFar, maxLife))}
	}
	data, err := refDecodePackageData(claims.PackageData)
	if err != nil {
		return nil, &keyedError{key.Name, err}
	}
	return &Verified{PackageData: data, KeyName: key.Name, Issuer: claims.Issuer, ExpiresAt: claims.ExpiresAt.Time}, nil
}

func refHeaderProblem(tok *jwt.Token) string {
	if tok == nil || tok.Header == nil {
		return ""
	}
	alg, _ := tok.Header["alg"].(string)
	if alg != onlyAlg {
		return fmt.Sprintf("signing method %s not allowed (only %s)", refPrintableAlg(tok.Header["alg"]), onlyAlg)
	}
	if _, ok := tok.Header["crit"]; ok {
		return reasonCrit
	}
	return ""
}

func refPrintableAlg(v any) string {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return "(missing)"
		}
		return "(not a string)"
	}
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

func refClaimsReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable):
		return reasonMalformed
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return reasonExpRequired
	case errors.Is(err, jwt.ErrTokenExpired):
		return reasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return reasonNotYet
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return reasonFutureIat
	default:
		return reasonClaims
	}
}

func refDecodePackageData(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return nil, payloadErr(reasonPayloadMissing)
	}
	if raw[0] != '"' {
		return nil, payloadErr(reasonPayloadNotStr)
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		return nil, payloadErr(reasonPayloadNotStr)
	}
	s := []byte(str)
	if len(s) == 0 {
		return nil, payloadErr(reasonPayloadEmpty)
	}
	if bytes.ContainsAny(s, "\r\n") {
		return nil, payloadErr(reasonPayloadNotStd64)
	}
	enc := base64.StdEncoding.Strict()
	data := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(data, s)
	if err != nil {
		return nil, payloadErr(reasonPayloadNotStd64)
	}
	return data[:n], nil
}

// refSignedClaims is the reference's reply claims struct.
type refSignedClaims struct {
	PackageData []byte `json:"package_data"`
	jwt.RegisteredClaims
}

// referenceSign is Signer.Sign on golang-jwt's SigningString, signed with
// crypto/rsa directly (PKCS #1 v1.5 is deterministic, so any correct
// signer gives the same bytes).
func referenceSign(s *Signer, payload []byte) (string, error) {
	key := s.SigningKey()
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	claims := refSignedClaims{
		PackageData: payload,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.Issuer,
			ExpiresAt: jwt.NewNumericDate(now().Add(ttl)),
		},
	}
	input, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SigningString()
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
