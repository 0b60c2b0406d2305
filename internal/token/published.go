package token

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// publishedKeys are RSA keys whose private halves anyone can download:
// Cobo publishes both key pairs of its callback server templates (the
// files callback-server-pri.pem and tss-node-callback-pri.pem). Keys are
// named by the SHA-256 of their SubjectPublicKeyInfo DER
// (`openssl pkey -pubin -outform DER | sha256sum`).
var publishedKeys = map[string]string{
	"890eed7e3777e94bb3463df82ade9668c7eaf7affdc81eb2c3d1b82977027884": "Cobo's template callback server key (callback-server-pub.key)",
	"3dd07fe029c879103ce93b64f58e5614a9d0eeb3a1200ca3ea616be841f67246": "Cobo's template TSS Node callback key (tss-node-callback-pub.key)",
}

// PublishedKey reports whether pub is a key whose private half is
// published, and which. A TSS Node key that is one would let anyone sign
// requests tssgate accepts; a server key that is one would let anyone
// forge tssgate's replies. serve refuses both.
func PublishedKey(pub *rsa.PublicKey) (string, bool) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(der)
	name, ok := publishedKeys[hex.EncodeToString(sum[:])]
	return name, ok
}
