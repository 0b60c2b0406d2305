//go:build boringcrypto && !openssl

package token

// Built with GOEXPERIMENT=boringcrypto: crypto/rsa calls BoringCrypto when
// it is linked in, which needs cgo on linux/amd64 or linux/arm64. Elsewhere
// (CGO_ENABLED=0, another platform) the experiment still builds but silently
// keeps Go's code, so this file asks crypto/boring instead of trusting the
// build tag.

import "crypto/boring"

// FastCrypto reports whether crypto/rsa runs on BoringCrypto in this binary
// (the fast-crypto build, README "Fast-crypto build").
func FastCrypto() bool { return boring.Enabled() }

// CryptoBackend names the implementation behind crypto/rsa in this binary,
// for `tssgate version`, the start-up line and error texts. A boringcrypto
// build in which BoringCrypto is not in use says so, because its operator
// asked for the fast build and did not get it.
func CryptoBackend() string {
	if boring.Enabled() {
		return "BoringCrypto"
	}
	return "Go standard library (built with GOEXPERIMENT=boringcrypto, but BoringCrypto is not linked in: it needs CGO_ENABLED=1 on linux/amd64 or linux/arm64)"
}
