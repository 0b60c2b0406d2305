package btc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	//lint:ignore SA1019 RIPEMD-160 is part of Bitcoin's HASH160; its deprecation warns against new designs, not against interoperating with this one.
	"golang.org/x/crypto/ripemd160"
)

// ScriptType classifies a scriptPubKey.
type ScriptType string

// The scriptPubKey templates this package recognises. Anything else is
// ScriptNonStandard.
const (
	ScriptP2PKH       ScriptType = "p2pkh"
	ScriptP2SH        ScriptType = "p2sh"
	ScriptP2WPKH      ScriptType = "p2wpkh"
	ScriptP2WSH       ScriptType = "p2wsh"
	ScriptP2TR        ScriptType = "p2tr"
	ScriptNullData    ScriptType = "nulldata" // OP_RETURN
	ScriptNonStandard ScriptType = "nonstandard"
)

// Classify returns the type of a scriptPubKey and its hash or program:
// the 20-byte key or script hash (P2PKH, P2SH, P2WPKH), the 32-byte
// script hash (P2WSH) or x-only output key (P2TR); nil otherwise. Witness
// versions 2 to 16 are ScriptNonStandard: nothing can spend them yet, and
// a verifier should not guess.
func Classify(pk []byte) (ScriptType, []byte) {
	switch {
	case len(pk) == 25 && pk[0] == 0x76 && pk[1] == 0xa9 && pk[2] == 0x14 && pk[23] == 0x88 && pk[24] == 0xac:
		return ScriptP2PKH, pk[3:23]
	case len(pk) == 23 && pk[0] == 0xa9 && pk[1] == 0x14 && pk[22] == 0x87:
		return ScriptP2SH, pk[2:22]
	case len(pk) == 22 && pk[0] == 0x00 && pk[1] == 0x14:
		return ScriptP2WPKH, pk[2:]
	case len(pk) == 34 && pk[0] == 0x00 && pk[1] == 0x20:
		return ScriptP2WSH, pk[2:]
	case len(pk) == 34 && pk[0] == 0x51 && pk[1] == 0x20:
		return ScriptP2TR, pk[2:]
	case len(pk) >= 1 && pk[0] == 0x6a:
		return ScriptNullData, nil
	}
	return ScriptNonStandard, nil
}

// IsWitnessProgram reports whether s has BIP-141's witness program form:
// a version opcode (OP_0, OP_1..OP_16) followed by one direct push of 2
// to 40 bytes, and nothing else. Where segwit is not in force (Dogecoin,
// Bitcoin Cash) such a script, as a P2SH redeem script, runs as plain
// script and leaves a true value on the stack, so the output needs no
// signature: a verifier must not treat any digest as binding it.
func IsWitnessProgram(s []byte) bool {
	if len(s) < 4 || len(s) > 42 {
		return false
	}
	if s[0] != 0x00 && (s[0] < 0x51 || s[0] > 0x60) {
		return false
	}
	return int(s[1]) == len(s)-2
}

// Hash160 is RIPEMD-160 of SHA-256.
func Hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(s[:])
	return r.Sum(nil)
}

// P2PKHScript returns OP_DUP OP_HASH160 <pkh> OP_EQUALVERIFY OP_CHECKSIG,
// which is also BIP-143's scriptCode for a P2WPKH input.
func P2PKHScript(pkh []byte) []byte {
	return append(append([]byte{0x76, 0xa9, 0x14}, pkh...), 0x88, 0xac)
}

// P2SHScript returns OP_HASH160 <h> OP_EQUAL.
func P2SHScript(h []byte) []byte { return append(append([]byte{0xa9, 0x14}, h...), 0x87) }

// WitnessScript returns the scriptPubKey of witness version v (0..16)
// with program p.
func WitnessScript(v byte, p []byte) []byte {
	op := byte(0)
	if v > 0 {
		op = 0x50 + v
	}
	return append([]byte{op, byte(len(p))}, p...)
}

// Op is one parsed script element: an opcode, or a push of Data.
type Op struct {
	Code byte   // the opcode (for pushes, the push opcode)
	Push bool   // a data push (OP_0, direct pushes, OP_PUSHDATA1/2/4)
	Data []byte // the pushed bytes; nil unless Push
}

// ParseScript splits a script into opcodes and pushes. A push that runs
// past the end is an error; opcodes are not otherwise interpreted.
func ParseScript(s []byte) ([]Op, error) {
	var ops []Op
	for i := 0; i < len(s); {
		c := s[i]
		i++
		var n int
		switch {
		case c == 0x00:
			ops = append(ops, Op{Code: c, Push: true, Data: []byte{}})
			continue
		case c <= 0x4b:
			n = int(c)
		case c == 0x4c:
			if i+1 > len(s) {
				return nil, errors.New("truncated OP_PUSHDATA1")
			}
			n = int(s[i])
			i++
		case c == 0x4d:
			if i+2 > len(s) {
				return nil, errors.New("truncated OP_PUSHDATA2")
			}
			n = int(binary.LittleEndian.Uint16(s[i:]))
			i += 2
		case c == 0x4e:
			if i+4 > len(s) {
				return nil, errors.New("truncated OP_PUSHDATA4")
			}
			m := binary.LittleEndian.Uint32(s[i:])
			i += 4
			if uint64(m) > uint64(len(s)) {
				return nil, errors.New("OP_PUSHDATA4 runs past the end")
			}
			n = int(m)
		default:
			ops = append(ops, Op{Code: c})
			continue
		}
		if n > len(s)-i {
			return nil, fmt.Errorf("push of %d bytes runs past the end", n)
		}
		ops = append(ops, Op{Code: c, Push: true, Data: bytes.Clone(s[i : i+n])})
		i += n
	}
	return ops, nil
}
