//go:build boringcrypto

package token

import (
	"crypto"
	"crypto/boring"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// Why MaxKeyBits is 16384: with BoringCrypto linked in, crypto/rsa refuses to
// verify even a correct signature under a larger public key (and reports it
// as an ordinary verification failure), while the same signature under a
// 16384-bit key verifies. If BoringCrypto ever lifts its limit, this test
// says so and MaxKeyBits may follow.
func TestBoringCryptoModulusLimit(t *testing.T) {
	if !boring.Enabled() {
		t.Skip("built with GOEXPERIMENT=boringcrypto but BoringCrypto is not linked in (CGO_ENABLED=0?)")
	}
	tests := []struct {
		name     string
		bits     int
		verifies bool
	}{
		{"MaxKeyBits", MaxKeyBits, true},
		{"MaxKeyBits plus one byte", MaxKeyBits + 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, d := multiPrimeKey(tt.bits)
			const msg = "header.claims"
			sig, err := base64.RawURLEncoding.DecodeString(rawRS256(t, pub, d, msg))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256([]byte(msg))
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
			if got := err == nil; got != tt.verifies {
				t.Fatalf("%d-bit key: verify err = %v, want verifies=%v", tt.bits, err, tt.verifies)
			}
		})
	}
}
