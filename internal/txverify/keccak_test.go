package txverify

import (
	"encoding/hex"
	"testing"
)

// counting returns n bytes 0, 1, 2, ... (mod 256): inputs that straddle the
// 136-byte Keccak-256 block, where a padding mistake would show.
func counting(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestKeccak256KnownAnswers pins the Keccak-256 the EVM verifier and the
// ABI selectors depend on. The short vectors are the published ones; the
// block-boundary vectors were recorded from the project's former
// hand-written sponge, which its tests checked against crypto/sha3 by
// switching the padding byte, so they are an independent implementation's
// answers for the library used now.
func TestKeccak256KnownAnswers(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", []byte("abc"), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		{"quick brown fox", []byte("The quick brown fox jumps over the lazy dog"), "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
		// The ERC-20 selectors are the first 4 bytes of these hashes.
		{"transfer selector", []byte("transfer(address,uint256)"), "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b"},
		{"approve selector", []byte("approve(address,uint256)"), "095ea7b334ae44009aa867bfb386f5c3b4b443ac6f0ee573fa91c4608fbadfba"},
		{"one byte short of a block", counting(135), "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"},
		{"exactly one block", counting(136), "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"},
		{"one byte over a block", counting(137), "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"},
		{"exactly two blocks", counting(272), "fdf2ec49e749960d3c8521a0219af8d03e30e2b3bf19bd16150ee0eaf133d66e"},
		{"into a third block", counting(300), "a679e749a6af300c36e7ff2255d220864eab27b382f9cfdc5aa4d13563ba36ff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keccak256(tt.in)
			if h := hex.EncodeToString(got[:]); h != tt.want {
				t.Errorf("keccak256(%d bytes) = %s, want %s", len(tt.in), h, tt.want)
			}
		})
	}
}

func BenchmarkKeccak256(b *testing.B) {
	msg := make([]byte, 110)
	for b.Loop() {
		keccak256(msg)
	}
}
