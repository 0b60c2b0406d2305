package txverify

import (
	"crypto/sha3"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func TestKeccak256KnownAnswers(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", "abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		// The ERC-20 selectors are the first 4 bytes of these hashes.
		{"transfer selector", "transfer(address,uint256)", "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"},
		{"approve selector", "approve(address,uint256)", "095ea7b334ae44009aa867bfb386f5c3b4b443ac6f0ee573fa91c4608fbadfba"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keccak256([]byte(tt.in))
			if h := hex.EncodeToString(got[:]); h != tt.want {
				t.Errorf("keccak256(%q) = %s, want %s", tt.in, h, tt.want)
			}
		})
	}
}

// TestSpongeMatchesSHA3 checks the permutation and the sponge against the
// standard library: with the SHA-3 padding byte the sponge must be SHA3-256,
// for every length around the block boundaries.
func TestSpongeMatchesSHA3(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 3*keccakRate+1; n++ {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.UintN(256))
		}
		if got, want := sponge256(msg, 0x06), sha3.Sum256(msg); got != want {
			t.Fatalf("len %d: sponge %x, sha3 %x", n, got, want)
		}
	}
}

func BenchmarkKeccak256(b *testing.B) {
	msg := make([]byte, 110)
	for b.Loop() {
		keccak256(msg)
	}
}
