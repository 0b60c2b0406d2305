// Package btc holds the Bitcoin-family primitives tssgate needs to check
// what a UTXO KEYSIGN signs: strict parsing of unsigned transactions (the
// legacy serialization, or the segwit-marker form with empty witnesses,
// which common parsers refuse) and of BIP-174 v0 PSBTs; the signature
// hashes (legacy SignatureHash, BIP-143 segwit v0 including BCH's FORKID
// variant, BIP-341 taproot); scriptPubKey classification; and address
// codecs (base58check, bech32, bech32m, CashAddr) per network.
//
// Everything here is written against the published specifications and
// checked against their official test vectors (BIP-143, BIP-341 and the
// CashAddr spec); it imports only the standard library and
// golang.org/x/crypto/ripemd160 (for HASH160).
//
// Trust model: every input is untrusted. Parsers are strict (canonical
// CompactSize integers, no trailing bytes, bounded counts) and return an
// error naming what is wrong; nothing panics on any input.
package btc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"tssgate/internal/text"
)

// MaxTxSize bounds a transaction's serialization: Bitcoin's consensus
// block weight (4,000,000) limits a transaction's base size to 1,000,000
// bytes.
const MaxTxSize = 1_000_000

// OutPoint names one output of an earlier transaction. Hash is in
// serialized (internal) byte order; DisplayHash gives the reversed form
// explorers and RPCs print.
type OutPoint struct {
	Hash  [32]byte
	Index uint32
}

// DisplayHash returns the txid in display (RPC) byte order, lower-case hex.
func (o OutPoint) DisplayHash() string {
	var r [32]byte
	for i := range r {
		r[i] = o.Hash[31-i]
	}
	return hex.EncodeToString(r[:])
}

// String returns "txid:vout", txid in display order.
func (o OutPoint) String() string { return fmt.Sprintf("%s:%d", o.DisplayHash(), o.Index) }

// ParseDisplayHash reads a 64-digit txid in display byte order (as
// selected_utxos.tx_hash carries it) into serialized order. Upper-case
// digits are refused so that one outpoint has one spelling.
func ParseDisplayHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("txid %q is not 64 hex digits", clip(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil || hex.EncodeToString(b) != s {
		return h, fmt.Errorf("txid %q is not lower-case hex", clip(s))
	}
	for i := range h {
		h[i] = b[31-i]
	}
	return h, nil
}

// TxIn is one input. ScriptSig and Witness are kept as read; no signature
// hash covers them.
type TxIn struct {
	PrevOut   OutPoint
	ScriptSig []byte
	Sequence  uint32
	Witness   [][]byte
}

// TxOut is one output: an amount in satoshis and its scriptPubKey.
type TxOut struct {
	Value    int64
	PkScript []byte
}

// Tx is a decoded transaction.
type Tx struct {
	Version  uint32
	Inputs   []TxIn
	Outputs  []TxOut
	LockTime uint32
}

// HasWitness reports whether any input carries witness data.
func (t *Tx) HasWitness() bool {
	for _, in := range t.Inputs {
		if len(in.Witness) > 0 {
			return true
		}
	}
	return false
}

// MaxMoney is 21 million coins in satoshis: consensus refuses any output
// above it (and any sum above it).
const MaxMoney = 21_000_000 * 100_000_000

// ParseUnsignedTx decodes an unsigned transaction: the legacy
// serialization, or the BIP-144 form with the 0x00 0x01 marker whose
// witnesses are all empty (non-canonical, and refused by Bitcoin Core's
// decoder, but what some builders emit). A non-empty witness, zero inputs
// or outputs, a non-canonical CompactSize, an output value above MaxMoney,
// or trailing bytes is an error. The result never carries witness data,
// so Serialize gives the canonical legacy form.
func ParseUnsignedTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxSize {
		return nil, fmt.Errorf("transaction is %d bytes, more than %d", len(b), MaxTxSize)
	}
	r := &reader{b: b}
	t := &Tx{}
	t.Version = r.u32()
	segwit := false
	if r.err == nil && len(r.b) >= 2 && r.b[0] == 0x00 {
		if r.b[1] != 0x01 {
			return nil, errors.New("transaction has zero inputs or an unknown segwit flag")
		}
		r.b = r.b[2:]
		segwit = true
	}
	if err := r.inputsOutputs(t); err != nil {
		return nil, err
	}
	if segwit {
		for i := range t.Inputs {
			n := r.count(1)
			if r.err == nil && n != 0 {
				return nil, fmt.Errorf("input %d has a witness of %d items; an unsigned transaction has none", i, n)
			}
		}
	}
	t.LockTime = r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the transaction", len(r.b))
	}
	return t, nil
}

// inputsOutputs reads a transaction's inputs and outputs into t: at least
// one of each, every output value at most MaxMoney. A read past the end
// is left in r.err for the caller.
func (r *reader) inputsOutputs(t *Tx) error {
	nIn := r.count(41) // outpoint 36 + script length 1 + sequence 4
	if r.err == nil && nIn == 0 {
		return errors.New("transaction has no inputs")
	}
	t.Inputs = make([]TxIn, nIn)
	for i := range t.Inputs {
		in := &t.Inputs[i]
		copy(in.PrevOut.Hash[:], r.bytes(32))
		in.PrevOut.Index = r.u32()
		in.ScriptSig = r.varBytes()
		in.Sequence = r.u32()
	}
	nOut := r.count(9)
	if r.err == nil && nOut == 0 {
		return errors.New("transaction has no outputs")
	}
	t.Outputs = make([]TxOut, nOut)
	for i := range t.Outputs {
		v := r.u64()
		if r.err == nil && v > MaxMoney {
			return fmt.Errorf("output %d value %d is above the 21 million coin limit", i, v)
		}
		t.Outputs[i] = TxOut{Value: int64(v), PkScript: r.varBytes()}
	}
	return nil
}

// Serialize returns the legacy serialization (no marker, no witnesses):
// what the txid hashes and what the legacy signature hash starts from.
func (t *Tx) Serialize() []byte {
	var w bytes.Buffer
	w.Grow(10 + 41*len(t.Inputs) + 34*len(t.Outputs))
	putU32(&w, t.Version)
	putCompact(&w, uint64(len(t.Inputs)))
	for _, in := range t.Inputs {
		w.Write(in.PrevOut.Hash[:])
		putU32(&w, in.PrevOut.Index)
		putVarBytes(&w, in.ScriptSig)
		putU32(&w, in.Sequence)
	}
	putCompact(&w, uint64(len(t.Outputs)))
	for _, o := range t.Outputs {
		putU64(&w, uint64(o.Value))
		putVarBytes(&w, o.PkScript)
	}
	putU32(&w, t.LockTime)
	return w.Bytes()
}

// TxID returns the transaction id in display order (lower-case hex):
// double SHA-256 of the legacy serialization, reversed.
func (t *Tx) TxID() string {
	h := DoubleSHA256(t.Serialize())
	return OutPoint{Hash: h}.DisplayHash()
}

// DoubleSHA256 is SHA-256 applied twice, Bitcoin's hash256.
func DoubleSHA256(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}

// reader reads little-endian Bitcoin serialization; the first error sticks
// and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated: need %d bytes, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// compact reads a CompactSize integer, refusing non-minimal encodings as
// Bitcoin Core does.
func (r *reader) compact() uint64 {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	var v, min uint64
	switch b[0] {
	case 0xfd:
		x := r.bytes(2)
		if x == nil {
			return 0
		}
		v, min = uint64(binary.LittleEndian.Uint16(x)), 0xfd
	case 0xfe:
		x := r.bytes(4)
		if x == nil {
			return 0
		}
		v, min = uint64(binary.LittleEndian.Uint32(x)), 1<<16
	case 0xff:
		x := r.bytes(8)
		if x == nil {
			return 0
		}
		v, min = binary.LittleEndian.Uint64(x), 1<<32
	default:
		return uint64(b[0])
	}
	if v < min {
		r.fail("non-canonical CompactSize %d", v)
		return 0
	}
	return v
}

// count reads a CompactSize element count, bounded by what the remaining
// bytes could hold at minSize bytes per element, so that a forged count
// cannot allocate.
func (r *reader) count(minSize int) int {
	n := r.compact()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/minSize) {
		r.fail("truncated: %d elements cannot fit in %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) varBytes() []byte {
	n := r.compact()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("truncated: need %d bytes, %d left", n, len(r.b))
		return nil
	}
	return r.bytes(int(n))
}

func putU32(w *bytes.Buffer, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.Write(b[:])
}

func putU64(w *bytes.Buffer, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	w.Write(b[:])
}

func putCompact(w *bytes.Buffer, v uint64) {
	switch {
	case v < 0xfd:
		w.WriteByte(byte(v))
	case v <= 0xffff:
		w.WriteByte(0xfd)
		w.WriteByte(byte(v))
		w.WriteByte(byte(v >> 8))
	case v <= 0xffffffff:
		w.WriteByte(0xfe)
		putU32(w, uint32(v))
	default:
		w.WriteByte(0xff)
		putU64(w, v)
	}
}

func putVarBytes(w *bytes.Buffer, b []byte) {
	putCompact(w, uint64(len(b)))
	w.Write(b)
}

// clip makes attacker text fit for an error message.
func clip(s string) string { return text.Clean(s, 80) }
