package txverify

import (
	"encoding/binary"
	"math/bits"
)

// Keccak-256 as Ethereum uses it: the Keccak sponge of FIPS 202 with rate
// 1088 bits and the original multi-rate padding (first pad byte 0x01), not
// the SHA3-256 domain byte 0x06. The standard library ships only SHA-3, so
// the permutation is written here; the round constants and rotation offsets
// are derived at start-up from their definitions in FIPS 202 (3.2.2, 3.2.5)
// instead of being typed in, and the tests check the sponge against
// crypto/sha3 by switching the padding byte.

const keccakRate = 136 // bytes absorbed per permutation for a 256-bit output

var (
	keccakRC  [24]uint64 // iota round constants
	keccakRot [25]int    // rho offsets, indexed x + 5y
	keccakPi  [25]int    // pi: destination lane of lane x + 5y
)

func init() {
	// rc(t) of FIPS 202 algorithm 5: an LFSR over GF(2) with polynomial
	// x^8 + x^6 + x^5 + x^4 + 1.
	lfsr := byte(1)
	rcBit := func() uint64 {
		out := uint64(lfsr & 1)
		hi := lfsr & 0x80
		lfsr <<= 1
		if hi != 0 {
			lfsr ^= 0x71
		}
		return out
	}
	for round := range keccakRC {
		for j := 0; j < 7; j++ {
			if rcBit() != 0 {
				keccakRC[round] |= 1 << ((1 << j) - 1)
			}
		}
	}
	// rho: lane (x, y) walks (1, 0) -> (y, 2x+3y) with offsets (t+1)(t+2)/2.
	x, y := 1, 0
	for t := 0; t < 24; t++ {
		keccakRot[x+5*y] = ((t + 1) * (t + 2) / 2) % 64
		x, y = y, (2*x+3*y)%5
	}
	// pi: A'[x, y] = A[x+3y, x], i.e. lane (x, y) moves to (y, 2x+3y).
	for x := 0; x < 5; x++ {
		for y := 0; y < 5; y++ {
			keccakPi[x+5*y] = y + 5*((2*x+3*y)%5)
		}
	}
}

// keccakF1600 applies the 24-round Keccak-f[1600] permutation to a.
func keccakF1600(a *[25]uint64) {
	var c [5]uint64
	var b [25]uint64
	for round := 0; round < 24; round++ {
		// theta
		for x := 0; x < 5; x++ {
			c[x] = a[x] ^ a[x+5] ^ a[x+10] ^ a[x+15] ^ a[x+20]
		}
		for x := 0; x < 5; x++ {
			d := c[(x+4)%5] ^ bits.RotateLeft64(c[(x+1)%5], 1)
			for y := 0; y < 25; y += 5 {
				a[x+y] ^= d
			}
		}
		// rho and pi
		for i := 0; i < 25; i++ {
			b[keccakPi[i]] = bits.RotateLeft64(a[i], keccakRot[i])
		}
		// chi
		for y := 0; y < 25; y += 5 {
			for x := 0; x < 5; x++ {
				a[x+y] = b[x+y] ^ (^b[(x+1)%5+y] & b[(x+2)%5+y])
			}
		}
		// iota
		a[0] ^= keccakRC[round]
	}
}

// sponge256 absorbs msg with padding byte pad (0x01 Keccak, 0x06 SHA-3) and
// squeezes 32 bytes.
func sponge256(msg []byte, pad byte) [32]byte {
	var a [25]uint64
	for len(msg) >= keccakRate {
		for i := 0; i < keccakRate/8; i++ {
			a[i] ^= binary.LittleEndian.Uint64(msg[8*i:])
		}
		keccakF1600(&a)
		msg = msg[keccakRate:]
	}
	var last [keccakRate]byte
	copy(last[:], msg)
	last[len(msg)] ^= pad
	last[keccakRate-1] ^= 0x80
	for i := 0; i < keccakRate/8; i++ {
		a[i] ^= binary.LittleEndian.Uint64(last[8*i:])
	}
	keccakF1600(&a)
	var out [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(out[8*i:], a[i])
	}
	return out
}

// keccak256 is Ethereum's Keccak-256 of msg.
func keccak256(msg []byte) [32]byte { return sponge256(msg, 0x01) }
