//go:build !boringcrypto && !openssl

package token

// Built without GOEXPERIMENT=boringcrypto: crypto/rsa is Go's own code.

// FastCrypto reports whether crypto/rsa runs on BoringCrypto in this binary
// (the fast-crypto build, README "Fast-crypto build"). It is false in the
// default, pure-Go build.
func FastCrypto() bool { return false }

// CryptoBackend names the implementation behind crypto/rsa in this binary,
// for `tssgate version`, the start-up line and error texts, so an operator
// can tell which build is running without reading build flags.
func CryptoBackend() string { return "Go standard library" }
