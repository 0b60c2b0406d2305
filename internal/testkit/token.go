package testkit

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

// FormField is the form field a TSS Node posts its token in (PROTOCOL.md
// section 1). It is written here again, not imported, so that a test built
// with testkit checks the protocol package's spelling instead of sharing it.
const FormField = "TSS_JWT_MSG"

// NodeIssuer is the iss claim RequestClaims sets, as Cobo's TSS Node does.
const NodeIssuer = "tss-node"

// NodeToken builds a compact RS256 JWT over claims, signed with key: the
// header is {"alg":"RS256","typ":"JWT"}, each part unpadded base64url, the
// signature RSASSA-PKCS1-v1_5 over SHA-256 of "header.claims" (RFC 7515).
// Claims are encoded with encoding/json, so numbers stay numbers.
func NodeToken(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	if err != nil {
		t.Fatalf("testkit: encoding the JWT header: %v", err)
	}
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("testkit: encoding the JWT claims: %v", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatalf("testkit: signing the JWT: %v", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// RequestClaims are the claims a TSS Node sends with a callback request:
// package_data (standard padded base64 of the CallbackRequest JSON, as
// given), iss NodeIssuer and exp two minutes from now (the node's
// token_expire_minutes default). Tests may change or add claims before
// signing.
func RequestClaims(packageData []byte) map[string]any {
	return map[string]any{
		"package_data": base64.StdEncoding.EncodeToString(packageData),
		"iss":          NodeIssuer,
		"exp":          time.Now().Add(2 * time.Minute).Unix(),
	}
}

// RequestToken is a request token as a TSS Node sends it: RequestClaims
// over packageData, signed with key (normally CoboKeys(t).Node).
func RequestToken(t testing.TB, key *rsa.PrivateKey, packageData []byte) string {
	t.Helper()
	return NodeToken(t, key, RequestClaims(packageData))
}

// FormBody is the application/x-www-form-urlencoded body carrying jwt in
// FormField, as a TSS Node posts it.
func FormBody(jwt string) string { return url.Values{FormField: {jwt}}.Encode() }
