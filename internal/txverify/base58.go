package txverify

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/big"
)

// Base58 with the Bitcoin alphabet, as Solana (plain) and TRON (with a
// 4-byte double-SHA-256 checksum, "base58check") use it. Every leading zero
// byte is one leading '1'. Decoding is exact: any character outside the
// alphabet is an error, and decode(encode(b)) == b.

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

var errBase58 = errors.New("not base58")

// base58Encode encodes b.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// Repeated division of a base-256 number by 58, in place; the inputs are
	// addresses and keys (at most a few dozen bytes), so quadratic is fine.
	num := bytes.Clone(b[zeros:])
	out := make([]byte, 0, len(b)*138/100+1)
	for len(num) > 0 {
		rem := 0
		next := num[:0]
		for _, c := range num {
			acc := rem*256 + int(c)
			q := acc / 58
			rem = acc % 58
			if len(next) > 0 || q != 0 {
				next = append(next, byte(q))
			}
		}
		out = append(out, base58Alphabet[rem])
		num = next
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// base58Decode decodes s. It is only used on short strings (addresses), and
// refuses anything longer than 128 characters.
func base58Decode(s string) ([]byte, error) {
	if s == "" || len(s) > 128 {
		return nil, errBase58
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	n := new(big.Int)
	b58 := big.NewInt(58)
	for i := zeros; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return nil, errBase58
		}
		n.Mul(n, b58)
		n.Add(n, big.NewInt(int64(v)))
	}
	out := make([]byte, zeros, zeros+len(s))
	return append(out, n.Bytes()...), nil
}

func base58Checksum(payload []byte) []byte {
	h1 := sha256.Sum256(payload)
	h2 := sha256.Sum256(h1[:])
	return h2[:4]
}

// base58CheckEncode appends the checksum to payload and encodes it.
func base58CheckEncode(payload []byte) string {
	full := append(bytes.Clone(payload), base58Checksum(payload)...)
	return base58Encode(full)
}

// base58CheckDecode decodes s and verifies and strips its checksum.
func base58CheckDecode(s string) ([]byte, error) {
	full, err := base58Decode(s)
	if err != nil {
		return nil, err
	}
	if len(full) < 5 {
		return nil, errors.New("base58check: too short")
	}
	payload, sum := full[:len(full)-4], full[len(full)-4:]
	if !bytes.Equal(sum, base58Checksum(payload)) {
		return nil, errors.New("base58check: bad checksum")
	}
	return payload, nil
}
