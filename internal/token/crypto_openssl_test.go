//go:build openssl && cgo && !boringcrypto

package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"
	"weak"
)

// RSASSA-PKCS1-v1_5 is deterministic: OpenSSL's signature must be the very
// bytes crypto/rsa computes, for every key size tssgate accepts in
// practice, so the OpenSSL build answers exactly as the default build.
func TestOpenSSLSignsAsCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072, 4096} {
		t.Run(fmt.Sprintf("%d bits", bits), func(t *testing.T) {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				digest := sha256.Sum256([]byte(fmt.Sprintf("message %d", i)))
				got, err := signDigest(k, digest[:])
				if err != nil {
					t.Fatal(err)
				}
				want, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Fatalf("OpenSSL's signature differs from crypto/rsa's")
				}
			}
		})
	}
}

func TestOpenSSLRefusesBadDigests(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 20, 31, 33, 64} {
		if _, err := signDigest(k, make([]byte, n)); err == nil {
			t.Errorf("signed a %d-byte digest", n)
		}
	}
}

// A key that is no longer used leaves the cache, and OpenSSL's copy is
// freed: keys replaced by reloads do not accumulate.
func TestOpenSSLKeyCacheForgetsDeadKeys(t *testing.T) {
	cached := func(wp weak.Pointer[rsa.PrivateKey]) bool {
		opensslMu.Lock()
		defer opensslMu.Unlock()
		return opensslKeys[wp] != nil
	}
	wp := func() weak.Pointer[rsa.PrivateKey] {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte("x"))
		if _, err := signDigest(k, d[:]); err != nil {
			t.Fatal(err)
		}
		wp := weak.Make(k)
		if !cached(wp) {
			t.Fatal("the key is not cached after signing")
		}
		return wp
	}()
	deadline := time.Now().Add(10 * time.Second)
	for cached(wp) {
		if time.Now().After(deadline) {
			t.Fatal("the key is still cached 10 s after it became garbage")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
