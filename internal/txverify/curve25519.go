package txverify

import (
	"crypto/sha256"
	"errors"
	"math/big"
)

// Solana program-derived addresses (PDAs) and associated token accounts.
// A PDA is a SHA-256 over seeds, bump, program ID and a marker that is NOT
// a valid Ed25519 public key, so that no private key can sign for it. The
// on-curve test follows the usual decompression rule (the one the Solana
// runtime applies): clear the sign bit, read y little-endian and reduce it
// modulo p, and accept when x^2 = (y^2 - 1) / (d y^2 + 1) has a solution,
// that is when (y^2 - 1)(d y^2 + 1) is zero or a square mod p. v = d y^2 + 1
// is never zero because -1/d is not a square, so the Jacobi symbol of the
// product decides, with no square root needed.

var (
	edP = func() *big.Int { // 2^255 - 19
		p := new(big.Int).Lsh(big.NewInt(1), 255)
		return p.Sub(p, big.NewInt(19))
	}()
	edD = func() *big.Int { // -121665 / 121666 mod p
		inv := new(big.Int).ModInverse(big.NewInt(121666), edP)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, edP)
	}()
)

// onCurve reports whether the 32 bytes are the compressed encoding of a
// point on edwards25519.
func onCurve(key [32]byte) bool {
	var be [32]byte
	for i := range key {
		be[31-i] = key[i]
	}
	be[0] &= 0x7f // the sign bit of x
	y := new(big.Int).SetBytes(be[:])
	y.Mod(y, edP)
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, edP)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(edD, y2)
	v.Add(v, big.NewInt(1))
	uv := u.Mul(u, v)
	uv.Mod(uv, edP)
	return big.Jacobi(uv, edP) >= 0
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
