//go:build openssl && cgo && !boringcrypto

package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"testing"
)

// attack6Key returns a fresh 2048-bit key.
func attack6Key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The cache is keyed by the *rsa.PrivateKey pointer, not by its value: a key
// whose fields are replaced after its first signature keeps signing with
// OpenSSL's copy of the old values, while the default build signs with the
// new ones. The two builds then answer differently for one key.
func TestAttack6OpenSSLKeyMutatedAfterCaching(t *testing.T) {
	k, other := attack6Key(t), attack6Key(t)
	d := sha256.Sum256([]byte("before"))
	if _, err := signDigest(k, d[:]); err != nil {
		t.Fatal(err)
	}
	*k = *other // same pointer, other key
	d = sha256.Sum256([]byte("after"))
	sig, err := signDigest(k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d[:], sig); err != nil {
		t.Fatalf("after the key's values changed, OpenSSL signed with the cached old key (crypto/rsa would sign with the new one): %v", err)
	}
}

// Many pointers to equal key values, signing concurrently while the
// collector frees entries: every signature must be the one crypto/rsa
// computes (no use after free of a freed EVP_PKEY, no entry of one pointer
// answering for another). Run with -race.
func TestAttack6OpenSSLConcurrentEqualKeysAndCleanup(t *testing.T) {
	base := attack6Key(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				k := new(rsa.PrivateKey)
				*k = *base
				d := sha256.Sum256([]byte(fmt.Sprintf("%d/%d", g, i)))
				got, err := signDigest(k, d[:])
				if err != nil {
					errs <- err
					return
				}
				want, err := rsa.SignPKCS1v15(nil, base, crypto.SHA256, d[:])
				if err != nil {
					errs <- err
					return
				}
				if string(got) != string(want) {
					errs <- fmt.Errorf("goroutine %d round %d: signature differs from crypto/rsa's", g, i)
					return
				}
				if i%5 == 0 {
					runtime.GC()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A key whose CRT exponent is wrong (Go signs through its own validated
// copy, OpenSSL through the marshalled values): OpenSSL must not emit a
// faulty CRT signature, which would reveal a prime factor (Bellcore), and
// must agree with crypto/rsa.
func TestAttack6OpenSSLInconsistentCRTValues(t *testing.T) {
	k := attack6Key(t)
	k.Precomputed.Dp = new(big.Int).Add(k.Precomputed.Dp, big.NewInt(2))
	d := sha256.Sum256([]byte("fault"))
	sig, err := signDigest(k, d[:])
	if err != nil {
		return // refusing is safe
	}
	if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d[:], sig); err != nil {
		s := new(big.Int).SetBytes(sig)
		m := new(big.Int).Exp(s, big.NewInt(int64(k.E)), k.N)
		em := new(big.Int).SetBytes(encodePKCS1v15ForTest(k.Size(), d[:]))
		g := new(big.Int).GCD(nil, nil, new(big.Int).Sub(m, em), k.N)
		t.Fatalf("OpenSSL emitted a faulty CRT signature; gcd with N has %d bits (a prime factor when about 1024)", g.BitLen())
	}
	// OpenSSL's signature is correct; crypto/rsa refuses such a key. Only
	// the fault is an attack here.
}

// encodePKCS1v15ForTest builds EMSA-PKCS1-v1_5 for SHA-256 (RFC 8017 9.2)
// independently of crypto/rsa.
func encodePKCS1v15ForTest(size int, digest []byte) []byte {
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	em := make([]byte, size)
	em[1] = 1
	t := append(prefix, digest...)
	for i := 2; i < size-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[size-len(t):], t)
	return em
}

// A private key with no primes (N, E, D only) that passes checkKey: the
// default build returns an error from crypto/rsa; the OpenSSL build must not
// panic in x509.MarshalPKCS1PrivateKey while holding opensslMu.
func TestAttack6OpenSSLKeyWithoutPrimes(t *testing.T) {
	full := attack6Key(t)
	k := &rsa.PrivateKey{PublicKey: full.PublicKey, D: full.D}
	d := sha256.Sum256([]byte("no primes"))
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("signDigest panicked on a key without primes: %v", r)
			}
		}()
		_, err = signDigest(k, d[:])
	}()
	if !opensslMu.TryLock() {
		t.Fatal("opensslMu left locked: every later reply signature would hang")
	}
	opensslMu.Unlock()
	_ = err
}
