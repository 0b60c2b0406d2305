//go:build openssl && (!cgo || boringcrypto)

package token

import (
	"crypto/rsa"
	"errors"
)

// The openssl build tag selects the OpenSSL signer, which needs cgo and
// excludes BoringCrypto. Rather than fall back silently to another
// implementation than the one asked for, such a build does not compile:
// the undefined name below is the error message. (The functions are here
// so that it is the only error.)
var _ = theOpenSSLBuildNeedsCGOEnabled1AndNoGOEXPERIMENTBoringcrypto

// FastCrypto is never reached: this build does not compile.
func FastCrypto() bool { return false }

// CryptoBackend is never reached: this build does not compile.
func CryptoBackend() string { return "" }

func signDigest(*rsa.PrivateKey, []byte) ([]byte, error) {
	return nil, errors.New("not built")
}
