//go:build !openssl

package token

import (
	"crypto"
	"crypto/rsa"
)

// signDigest signs a SHA-256 digest with k (RSASSA-PKCS1-v1_5), through
// crypto/rsa: Go's own code, or BoringCrypto in that build.
func signDigest(k *rsa.PrivateKey, digest []byte) ([]byte, error) {
	return rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest)
}
