package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run in both builds (CI runs the package again with
// GOEXPERIMENT=boringcrypto): each proves that a key either works in the
// build under test or is refused when it is loaded, never in between.

// oddModulus returns an odd number of exactly bits bits: enough for the
// load-time checks, which never factor a key.
func oddModulus(bits int) *big.Int {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return n.Add(n, big.NewInt(12345)) // odd, bit length unchanged
}

// Requirement 4 (fast-crypto build): key shapes Go's crypto/rsa or
// BoringCrypto would refuse only when used are refused at load in both
// builds, with a message naming the problem. On the code before the
// fast-crypto build, all of these loaded.
func TestKeyShapesRefusedAtLoad(t *testing.T) {
	real := genRSA2048().PublicKey
	tests := []struct {
		name    string
		key     rsa.PublicKey
		wantErr string
	}{
		// BoringSSL refuses public keys over 16384 bits in every
		// operation; crypto/rsa turns that into ErrVerification.
		{"modulus over 16384 bits", rsa.PublicKey{N: oddModulus(16392), E: 65537}, "RSA key is 16392 bits, at most 16384 are supported"},
		{"even modulus", rsa.PublicKey{N: new(big.Int).Add(real.N, big.NewInt(1)), E: 65537}, "RSA key modulus is even"},
		{"even exponent", rsa.PublicKey{N: real.N, E: 65536}, "RSA key public exponent 65536 is not supported"},
		{"exponent 1", rsa.PublicKey{N: real.N, E: 1}, "RSA key public exponent 1 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePublicKey(spki(t, &tt.key)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePublicKey: err = %v, want %q", err, tt.wantErr)
			}
			if _, err := NewKeySet(NamedKey{Name: "node", Key: &tt.key}); err == nil || !strings.Contains(err.Error(), `key "node": `+tt.wantErr) {
				t.Errorf("NewKeySet: err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// multiPrimeKey is a public key of exactly bits bits whose modulus is a
// product of 64-bit primes, with the private exponent, so tests can sign for
// a 16384-bit modulus without generating two 8192-bit primes. Verification
// never looks at how the modulus factors.
func multiPrimeKey(bits int) (*rsa.PublicKey, *big.Int) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		n, lambda := big.NewInt(1), big.NewInt(1)
		for n.BitLen() < bits {
			size := min(64, bits-n.BitLen())
			if size < 16 {
				break // cannot land on bits exactly: start again
			}
			p, err := rand.Prime(rand.Reader, size)
			if err != nil {
				panic(err)
			}
			pm1 := new(big.Int).Sub(p, one)
			if new(big.Int).GCD(nil, nil, pm1, e).Cmp(one) != 0 || new(big.Int).Mul(n, p).BitLen() > bits {
				continue
			}
			n.Mul(n, p)
			g := new(big.Int).GCD(nil, nil, lambda, pm1)
			lambda.Mul(lambda, pm1).Div(lambda, g)
		}
		d := new(big.Int).ModInverse(e, lambda)
		if n.BitLen() == bits && d != nil {
			return &rsa.PublicKey{N: n, E: 65537}, d
		}
	}
}

// rawRS256 signs signingInput by hand (EMSA-PKCS1-v1_5 with SHA-256, then
// m^d mod n), independently of crypto/rsa and the JWT library.
func rawRS256(tb testing.TB, pub *rsa.PublicKey, d *big.Int, signingInput string) string {
	tb.Helper()
	digestInfo, err := hex.DecodeString("3031300d060960864801650304020105000420")
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.Sum256([]byte(signingInput))
	t := append(digestInfo, h[:]...)
	k := (pub.N.BitLen() + 7) / 8
	em := make([]byte, k)
	em[1] = 0x01
	for i := 2; i < k-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-len(t):], t)
	sig := new(big.Int).Exp(new(big.Int).SetBytes(em), d, pub.N).FillBytes(make([]byte, k))
	return base64.RawURLEncoding.EncodeToString(sig)
}

var maxKey = sync.OnceValues(func() (*rsa.PublicKey, *big.Int) { return multiPrimeKey(MaxKeyBits) })

// Requirement 4: the largest key tssgate accepts verifies in this build, so
// MaxKeyBits is no larger than what BoringCrypto can use (at 16392 bits the
// BoringCrypto build failed this verification; see TestKeyShapesRefusedAtLoad).
func TestLargestAcceptedKeyVerifies(t *testing.T) {
	pub, d := maxKey()
	if _, err := ParsePublicKey(spki(t, pub)); err != nil {
		t.Fatalf("a %d-bit key: %v", MaxKeyBits, err)
	}
	claims := map[string]any{"package_data": base64.StdEncoding.EncodeToString(samplePayload), "exp": now.Add(time.Minute).Unix()}
	signing := b64url(mustJSON(t, rs256Header())) + "." + b64url(mustJSON(t, claims))
	tok := signing + "." + rawRS256(t, pub, d, signing)
	v := &Verifier{Keys: keySet(t, NamedKey{Name: "big", Key: pub}), Now: fixedClock(now)}
	got, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify with a %d-bit key (%s): %v", MaxKeyBits, CryptoBackend(), err)
	}
	if got.KeyName != "big" {
		t.Fatalf("verified by %q", got.KeyName)
	}
	// The same token with one signature bit flipped must not verify.
	sig := []byte(tok[strings.LastIndexByte(tok, '.')+1:])
	sig[len(sig)/2] ^= 0x01
	if _, err := v.Verify(signing + "." + string(sig)); err == nil {
		t.Fatal("a corrupted signature verified")
	}
}

// Requirement 4: every key size keygen writes, and Cobo's template keys,
// sign and verify end to end in the build under test (the BoringCrypto build
// generates 2048, 3072 and 4096-bit keys with BoringCrypto itself).
func TestKeySizesSignAndVerify(t *testing.T) {
	type pair struct {
		priv, pub string
	}
	tests := []struct {
		name string
		keys func(t *testing.T) pair
	}{
		{"cobo template node key", func(*testing.T) pair { return pair{nodePrivFile, nodePubFile} }},
		{"cobo template server key", func(*testing.T) pair { return pair{serverPrivFile, serverPubFile} }},
	}
	for _, bits := range []int{2048, 3072, 4096} {
		tests = append(tests, struct {
			name string
			keys func(t *testing.T) pair
		}{name: "generated " + strconv.Itoa(bits), keys: func(t *testing.T) pair {
			t.Helper()
			dir := t.TempDir()
			priv, pub, err := GenerateKeyPair(dir, bits, "k.pem", "k.pub")
			if err != nil {
				t.Fatal(err)
			}
			return pair{priv, pub}
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.keys(t)
			priv, pub := loadPriv(t, p.priv), loadPub(t, p.pub)
			tok, err := (&Signer{Key: priv, Now: fixedClock(now)}).Sign(samplePayload)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Keys: keySet(t, NamedKey{Name: "k", Key: pub}), Now: fixedClock(now)}
			if _, err := v.Verify(tok); err != nil {
				t.Fatalf("%s: %v", CryptoBackend(), err)
			}
			other := &Verifier{Keys: keySet(t, NamedKey{Name: "other", Key: &genRSA2048().PublicKey}), Now: fixedClock(now)}
			if _, err := other.Verify(tok); err == nil {
				t.Fatal("verified under an unrelated key")
			}
		})
	}
}

// Requirement 4: CheckSigningKey (run by every private key load) refuses a
// key whose signatures do not verify, whichever implementation signs.
func TestCheckSigningKey(t *testing.T) {
	good := genRSA2048()
	broken := *good
	broken.D = new(big.Int).Add(good.D, big.NewInt(2)) // signs, but wrongly
	broken.Precomputed = rsa.PrecomputedValues{}       // so no CRT value hides the change
	tests := []struct {
		name    string
		key     *rsa.PrivateKey
		wantErr string // "" means no error
	}{
		{"generated", good, ""},
		{"cobo template", loadPriv(t, serverPrivFile), ""},
		{"nil", nil, "no key"},
		{"wrong private exponent", &broken, "self-test"},
		{"short", genRSA1024(), "RSA key is 1024 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSigningKey(tt.key)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckSigningKey: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// CryptoBackend and FastCrypto agree, and the name is one an operator can
// read in `tssgate version`.
func TestCryptoBackendNamesTheBuild(t *testing.T) {
	name := CryptoBackend()
	if FastCrypto() != (name == "BoringCrypto" || strings.HasPrefix(name, "OpenSSL ")) {
		t.Fatalf("FastCrypto() = %v but CryptoBackend() = %q", FastCrypto(), name)
	}
	if !FastCrypto() && !strings.HasPrefix(name, "Go standard library") {
		t.Fatalf("CryptoBackend() = %q", name)
	}
}
