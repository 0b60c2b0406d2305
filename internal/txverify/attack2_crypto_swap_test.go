package txverify

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"testing"
)

// Held: the library swap (golang.org/x/crypto/sha3, filippo.io/edwards25519)
// changed no result. legacyOnCurve is the pre-swap hand-written check
// (git show ce0e086^:internal/txverify/curve25519.go); onCurve must agree
// with it on random keys and on every non-canonical edge the Solana
// runtime's lenient decoding accepts, and Keccak-256 must be Ethereum's
// legacy Keccak (not FIPS SHA3-256).
func legacyOnCurve(key [32]byte) bool {
	p := new(big.Int).Lsh(big.NewInt(1), 255)
	p.Sub(p, big.NewInt(19))
	inv := new(big.Int).ModInverse(big.NewInt(121666), p)
	d := new(big.Int).Mul(big.NewInt(-121665), inv)
	d.Mod(d, p)
	var be [32]byte
	for i := range key {
		be[31-i] = key[i]
	}
	be[0] &= 0x7f
	y := new(big.Int).SetBytes(be[:])
	y.Mod(y, p)
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, p)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(d, y2)
	v.Add(v, big.NewInt(1))
	uv := u.Mul(u, v)
	uv.Mod(uv, p)
	return big.Jacobi(uv, p) >= 0
}

func TestAttack2OnCurveMatchesLegacy(t *testing.T) {
	check := func(k [32]byte) {
		t.Helper()
		if got, want := onCurve(k), legacyOnCurve(k); got != want {
			t.Fatalf("onCurve(%x) = %v, the pre-swap check said %v", k, got, want)
		}
	}
	var k [32]byte
	for i := 0; i < 20000; i++ {
		if _, err := rand.Read(k[:]); err != nil {
			t.Fatal(err)
		}
		check(k)
		k[31] ^= 0x80 // the sign bit alone
		check(k)
	}
	// y in [p, 2^255) (not reduced), each with and without the sign bit,
	// and small y.
	for delta := 0; delta < 19; delta++ {
		var e [32]byte
		e[0] = byte(0xed + delta)
		for i := 1; i < 31; i++ {
			e[i] = 0xff
		}
		e[31] = 0x7f
		check(e)
		e[31] |= 0x80
		check(e)
	}
	for y := 0; y < 256; y++ {
		var e [32]byte
		e[0] = byte(y)
		check(e)
		e[31] = 0x80
		check(e)
	}
}

func TestAttack2KeccakIsLegacyKeccak(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
		"abc":                       "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
		"transfer(address,uint256)": "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b",
	} {
		got := keccak256([]byte(in))
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("keccak256(%q) = %x, want %s", in, got, want)
		}
	}
}
