//go:build openssl && cgo && !boringcrypto

package token

// Built with -tags openssl (and cgo): reply tokens are signed by the
// system's OpenSSL libcrypto (EVP_PKEY_sign, RSASSA-PKCS1-v1_5 with
// SHA-256), which signs a 2048-bit key about twice as fast as Go's
// constant-time code here. Everything else, request verification
// included, stays Go's: verification is a small public-key operation,
// and keeping it in Go keeps one implementation on the path that
// decides what is trusted.

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// tssgate_load parses a PKCS #1 RSAPrivateKey (DER).
static EVP_PKEY *tssgate_load(const unsigned char *der, long len) {
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
	if (k == NULL || p != der + len) {
		EVP_PKEY_free(k);
		ERR_clear_error();
		return NULL;
	}
	return k;
}

// tssgate_sign signs a SHA-256 digest; it returns 0, or an OpenSSL error
// code (1 when OpenSSL left none), and leaves this thread's error queue
// empty either way, since the next cgo call may run on another thread.
static unsigned long tssgate_sign(EVP_PKEY *k, const unsigned char *digest, size_t dlen, unsigned char *sig, size_t *siglen) {
	unsigned long err = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	if (ctx == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) != 1) {
		err = ERR_peek_last_error();
		if (err == 0) {
			err = 1;
		}
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

static void tssgate_error(unsigned long code, char *buf, size_t len) {
	ERR_error_string_n(code, buf, len);
}

static const char *tssgate_version(void) {
	return OpenSSL_version(OPENSSL_VERSION);
}
*/
import "C"

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"unsafe"
	"weak"
)

// FastCrypto reports whether reply signing runs on a fast native library
// in this binary (the fast-crypto builds, README "Fast-crypto build"):
// true in the OpenSSL build.
func FastCrypto() bool { return true }

// CryptoBackend names the implementation behind RSA in this binary, for
// `tssgate version`, the start-up line and error texts.
func CryptoBackend() string {
	return C.GoString(C.tssgate_version()) + " (reply signing; verification by the Go standard library)"
}

// opensslKey is a private key as OpenSSL holds it, with the values it was
// converted from. OpenSSL's copy is freed when the opensslKey is garbage,
// never while a signature holds it.
type opensslKey struct {
	pkey *C.EVP_PKEY
	n, d *big.Int
	e    int
}

// matches reports whether k still has the values ok was converted from:
// a key changed in place is converted again, so that this build signs
// with the key's values as crypto/rsa would.
func (ok *opensslKey) matches(k *rsa.PrivateKey) bool {
	return ok.e == k.E && ok.n.Cmp(k.N) == 0 && ok.d.Cmp(k.D) == 0
}

var (
	opensslMu   sync.Mutex
	opensslKeys = map[weak.Pointer[rsa.PrivateKey]]*opensslKey{}
)

// newOpensslKey converts k for OpenSSL.
func newOpensslKey(k *rsa.PrivateKey) (*opensslKey, error) {
	if k.N == nil || k.D == nil || len(k.Primes) < 2 {
		// x509.MarshalPKCS1PrivateKey needs the primes (it panics
		// without them); crypto/rsa refuses such a key too.
		return nil, errors.New("OpenSSL signing: the RSA private key lacks its modulus, exponent or primes")
	}
	der := x509.MarshalPKCS1PrivateKey(k)
	pkey := C.tssgate_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if pkey == nil {
		return nil, errors.New("OpenSSL refused the RSA private key")
	}
	ok := &opensslKey{pkey: pkey, n: new(big.Int).Set(k.N), d: new(big.Int).Set(k.D), e: k.E}
	runtime.AddCleanup(ok, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, pkey)
	return ok, nil
}

// opensslKeyOf returns k converted for OpenSSL, once per key (again if its
// values changed): the cache entry is dropped when k is garbage (a key
// replaced by a reload), so the cache holds only keys still in use.
func opensslKeyOf(k *rsa.PrivateKey) (*opensslKey, error) {
	wp := weak.Make(k)
	opensslMu.Lock()
	defer opensslMu.Unlock()
	cached, had := opensslKeys[wp]
	if had && cached.matches(k) {
		return cached, nil
	}
	ok, err := newOpensslKey(k)
	if err != nil {
		return nil, err
	}
	opensslKeys[wp] = ok
	if !had {
		runtime.AddCleanup(k, func(wp weak.Pointer[rsa.PrivateKey]) {
			opensslMu.Lock()
			defer opensslMu.Unlock()
			delete(opensslKeys, wp)
		}, wp)
	}
	return ok, nil
}

// signDigest signs a SHA-256 digest with k (RSASSA-PKCS1-v1_5) in OpenSSL.
// The signature is as long as the modulus, as crypto/rsa's is.
func signDigest(k *rsa.PrivateKey, digest []byte) ([]byte, error) {
	if len(digest) != 32 {
		return nil, fmt.Errorf("signing: digest of %d bytes, want a SHA-256 digest", len(digest))
	}
	ok, err := opensslKeyOf(k)
	if err != nil {
		return nil, err
	}
	sig := make([]byte, k.Size())
	n := C.size_t(len(sig))
	if code := C.tssgate_sign(ok.pkey, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), &n); code != 0 {
		var buf [256]C.char
		C.tssgate_error(code, &buf[0], C.size_t(len(buf)))
		return nil, fmt.Errorf("OpenSSL signing failed: %s", C.GoString(&buf[0]))
	}
	// OpenSSL's copy of the key lives as long as ok does.
	runtime.KeepAlive(ok)
	if int(n) != len(sig) {
		return nil, fmt.Errorf("OpenSSL signing returned %d bytes for a %d-byte modulus", n, len(sig))
	}
	return sig, nil
}
