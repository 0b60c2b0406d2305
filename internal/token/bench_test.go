package token

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// largePayload is about the size of a full v2 KEYSIGN CallbackRequest
// (request_detail plus the transaction in extra_info): 6 KB of JSON, so
// package_data is about 8 KB of base64 and the token about 11 KB.
var largePayload = func() []byte {
	var b strings.Builder
	b.WriteString(`{"request_id":"8f14e45f-ceea-467f-a9e0-5b7c3d2a9e61","request_type":2,"request_detail":"{\"tss_node_id\":\"coboAbcdef\",\"request_id\":\"8f14e45f\",\"sign_type\":1,\"msg_hash_list\":[\"0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b\"]}","extra_info":"{\"transaction\":{\"raw_tx\":\"0x`)
	for b.Len() < 6<<10-8 {
		b.WriteString("02f8b20180843b9aca00850c92a69c0083030d4094a0b86991c6218b36c1d19d4a2e9eb0ce3606eb4880b844a9059cbb")
	}
	b.WriteString(`\"}}"}`)
	return []byte(b.String())
}()

func BenchmarkSignLarge(b *testing.B) {
	s := &Signer{Key: loadPriv(b, serverPrivFile), Issuer: "callback-server"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(largePayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLarge(b *testing.B) {
	key := loadPriv(b, nodePrivFile)
	tok, err := (&Signer{Key: key, Issuer: "TSS_NODE", TTL: 2 * time.Minute}).Sign(largePayload)
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Keys: keySet(b, NamedKey{"node", &key.PublicKey})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// The NoRSA benchmarks measure what Verify and Sign spend besides the
// public- and private-key operations (which BenchmarkRSAFloor measures),
// for the lean code and for the golang-jwt reference, in one binary.

func largeToken(b *testing.B) string {
	b.Helper()
	tok, err := (&Signer{Key: loadPriv(b, nodePrivFile), Issuer: "TSS_NODE"}).Sign(largePayload)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

func BenchmarkVerifyLargeNoRSA(b *testing.B) {
	raw := largeToken(b)
	b.ReportAllocs()
	for b.Loop() {
		var tok parsedToken
		if reason := tok.parse(raw); reason != "" {
			b.Fatal(reason)
		}
		_ = hashString(tok.signingInput)
		if !tok.parseClaims() {
			b.Fatal("claims")
		}
		if tok.claims.timeProblem(time.Now(), 0) != "" {
			b.Fatal("claims")
		}
		if _, err := decodeStd64(tok.claims.packageData[1 : len(tok.claims.packageData)-1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReferenceVerifyLargeNoRSA(b *testing.B) {
	raw := largeToken(b)
	b.ReportAllocs()
	for b.Loop() {
		var claims refRequestClaims
		_, parts, err := jwt.NewParser(jwt.WithStrictDecoding()).ParseUnverified(raw, &claims)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		h.Write([]byte(parts[0]))
		h.Write([]byte{'.'})
		h.Write([]byte(parts[1]))
		_ = h.Sum(nil)
		if err := jwt.NewValidator(jwt.WithExpirationRequired(), jwt.WithIssuedAt()).Validate(claims); err != nil {
			b.Fatal(err)
		}
		if _, err := refDecodePackageData(claims.PackageData); err != nil {
			b.Fatal(err)
		}
	}
}

// fakeSig stands in for a 2048-bit signature.
var fakeSig = make([]byte, 256)

func BenchmarkSignLargeNoRSA(b *testing.B) {
	exp := time.Now().Add(DefaultTTL).Unix()
	b.ReportAllocs()
	for b.Loop() {
		claims, err := replyClaims(largePayload, "callback-server", exp)
		if err != nil {
			b.Fatal(err)
		}
		var tok strings.Builder
		_ = writeSigningInput(&tok, claims, len(fakeSig))
		tok.WriteByte('.')
		writeBase64URL(&tok, fakeSig)
		_ = tok.String()
	}
}

func BenchmarkReferenceSignLargeNoRSA(b *testing.B) {
	exp := jwt.NewNumericDate(time.Now().Add(DefaultTTL))
	b.ReportAllocs()
	for b.Loop() {
		claims := refSignedClaims{PackageData: largePayload, RegisteredClaims: jwt.RegisteredClaims{Issuer: "callback-server", ExpiresAt: exp}}
		input, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SigningString()
		if err != nil {
			b.Fatal(err)
		}
		_ = sha256.Sum256([]byte(input))
		_ = input + "." + base64.RawURLEncoding.EncodeToString(fakeSig)
	}
}
