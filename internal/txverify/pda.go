package txverify

import (
	"crypto/sha256"
	"errors"

	"filippo.io/edwards25519"
)

// Solana program-derived addresses (PDAs) and associated token accounts.
// A PDA is a SHA-256 over seeds, bump, program ID and a marker that is NOT
// a valid Ed25519 public key, so that no private key can sign for it. "Valid"
// is the Solana runtime's rule: the 32 bytes decompress to a point on
// edwards25519, with the lenient decoding most of the ecosystem uses (y read
// modulo p, an x of zero with the sign bit set accepted). filippo.io's
// edwards25519 Point.SetBytes decodes by exactly that rule, so a point that
// decodes is on the curve.

// onCurve reports whether the 32 bytes are the compressed encoding of a
// point on edwards25519.
func onCurve(key [32]byte) bool {
	_, err := new(edwards25519.Point).SetBytes(key[:])
	return err == nil
}

const pdaMarker = "ProgramDerivedAddress"

var errNoPDA = errors.New("no off-curve program address for these seeds")

// findProgramAddress returns the first bump from 255 down whose address is
// off the curve, and that address.
func findProgramAddress(seeds [][]byte, program [32]byte) ([32]byte, byte, error) {
	for bump := 255; bump >= 0; bump-- {
		h := sha256.New()
		for _, s := range seeds {
			h.Write(s)
		}
		h.Write([]byte{byte(bump)})
		h.Write(program[:])
		h.Write([]byte(pdaMarker))
		var addr [32]byte
		h.Sum(addr[:0])
		if !onCurve(addr) {
			return addr, byte(bump), nil
		}
	}
	return [32]byte{}, 0, errNoPDA
}

// associatedTokenAddress is the associated token account of owner for mint
// under tokenProgram (SPL Token or Token-2022).
func associatedTokenAddress(owner, tokenProgram, mint [32]byte) ([32]byte, error) {
	addr, _, err := findProgramAddress([][]byte{owner[:], tokenProgram[:], mint[:]}, solATAProgram)
	return addr, err
}
