package txverify

import "golang.org/x/crypto/sha3"

// keccak256 is Ethereum's Keccak-256 of msg: the Keccak sponge with the
// original padding byte 0x01, not FIPS 202's SHA3-256 (domain byte 0x06),
// which is all the standard library's crypto/sha3 offers. The legacy
// constructor of golang.org/x/crypto/sha3 is the maintained implementation
// of exactly this variant, so the project does not carry its own permutation.
func keccak256(msg []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(msg) // a hash.Hash never returns an error from Write
	var out [32]byte
	h.Sum(out[:0])
	return out
}
