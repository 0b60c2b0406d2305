package btc

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Signature hash types.
const (
	SigHashDefault      = 0x00 // BIP-341 only: like ALL, 64-byte signatures
	SigHashAll          = 0x01
	SigHashNone         = 0x02
	SigHashSingle       = 0x03
	SigHashForkID       = 0x40 // BCH (UAHF): BIP-143 digest for every input
	SigHashAnyoneCanPay = 0x80

	// SigHashAllForkID is what BCH wallets sign with: ALL | FORKID, fork
	// id 0, so the digest's final field is 41000000.
	SigHashAllForkID = SigHashAll | SigHashForkID
)

// opCodeSeparator is refused in legacy and segwit v0 script codes: its
// effect on the script code depends on where execution is, which a
// verifier of unsigned transactions cannot know.
const opCodeSeparator = 0xab

// SigHasher computes signature hashes for one transaction, caching the
// parts shared by every input (BIP-143's hashPrevouts, hashSequence and
// hashOutputs; BIP-341's single-SHA-256 equivalents), so that hashing all
// n inputs costs O(n) rather than O(n^2) for the segwit algorithms. It
// does not modify the transaction; the transaction must not change while
// the hasher is in use. Not safe for concurrent use.
type SigHasher struct {
	tx       *Tx
	prevouts []TxOut // every input's spent output, for BIP-341; may be nil

	v0     bool
	v0Prev [32]byte
	v0Seq  [32]byte
	v0Outs [32]byte

	v1     bool
	v1Prev [32]byte
	v1Amts [32]byte
	v1Spks [32]byte
	v1Seq  [32]byte
	v1Outs [32]byte
}

// NewSigHasher returns a hasher for tx. prevouts, one per input in input
// order, are needed only by Taproot; pass nil otherwise.
func NewSigHasher(tx *Tx, prevouts []TxOut) *SigHasher {
	return &SigHasher{tx: tx, prevouts: prevouts}
}

// LegacySigHashAll is the original (pre-segwit) SignatureHash for
// SIGHASH_ALL: the transaction with every scriptSig emptied except input
// idx's, which becomes scriptCode (the spent scriptPubKey, or the redeem
// script for P2SH), then the 4-byte hash type, double SHA-256. It commits
// to no input amount. Other hash types are not offered. The result is in
// the byte order ECDSA signs (as msg_hash_list carries it).
func LegacySigHashAll(tx *Tx, idx int, scriptCode []byte) ([32]byte, error) {
	return NewSigHasher(tx, nil).Legacy(idx, scriptCode)
}

// Legacy is LegacySigHashAll using h's transaction. It refuses an index
// out of range and a scriptCode that does not parse or holds
// OP_CODESEPARATOR.
func (h *SigHasher) Legacy(idx int, scriptCode []byte) ([32]byte, error) {
	t := h.tx
	if idx < 0 || idx >= len(t.Inputs) {
		return [32]byte{}, fmt.Errorf("input %d out of range (%d inputs)", idx, len(t.Inputs))
	}
	if err := checkScriptCode(scriptCode); err != nil {
		return [32]byte{}, err
	}
	var w bytes.Buffer
	putU32(&w, t.Version)
	putCompact(&w, uint64(len(t.Inputs)))
	for i, in := range t.Inputs {
		w.Write(in.PrevOut.Hash[:])
		putU32(&w, in.PrevOut.Index)
		if i == idx {
			putVarBytes(&w, scriptCode)
		} else {
			w.WriteByte(0)
		}
		putU32(&w, in.Sequence)
	}
	putCompact(&w, uint64(len(t.Outputs)))
	for _, o := range t.Outputs {
		putU64(&w, uint64(o.Value))
		putVarBytes(&w, o.PkScript)
	}
	putU32(&w, t.LockTime)
	putU32(&w, SigHashAll)
	return DoubleSHA256(w.Bytes()), nil
}

// BIP143SigHash is the segwit v0 signature hash (BIP-143) of input idx
// spending amount satoshis under scriptCode (for P2WPKH the P2PKH script
// of the key hash, see P2PKHScript; for P2WSH the witness script; both
// without a length prefix). hashType is the full 32-bit value appended to
// the preimage: SigHashAll for Bitcoin and Litecoin, SigHashAllForkID for
// BCH (whose UAHF digest is this algorithm with fork id 0). NONE, SINGLE
// and ANYONECANPAY follow BIP-143. Issue 12's BIP-322 "simple" signatures
// use this with SigHashAll.
func BIP143SigHash(tx *Tx, idx int, scriptCode []byte, amount int64, hashType uint32) ([32]byte, error) {
	return NewSigHasher(tx, nil).WitnessV0(idx, scriptCode, amount, hashType)
}

// WitnessV0 is BIP143SigHash using h's cached midstate.
func (h *SigHasher) WitnessV0(idx int, scriptCode []byte, amount int64, hashType uint32) ([32]byte, error) {
	t := h.tx
	if idx < 0 || idx >= len(t.Inputs) {
		return [32]byte{}, fmt.Errorf("input %d out of range (%d inputs)", idx, len(t.Inputs))
	}
	if amount < 0 || amount > MaxMoney {
		return [32]byte{}, fmt.Errorf("amount %d outside 0..21e14 satoshis", amount)
	}
	base := hashType & 0x1f
	acp := hashType&SigHashAnyoneCanPay != 0
	if base != SigHashAll && base != SigHashNone && base != SigHashSingle {
		return [32]byte{}, fmt.Errorf("unknown hash type %#x", hashType)
	}
	if err := checkScriptCode(scriptCode); err != nil {
		return [32]byte{}, err
	}
	if !h.v0 {
		var p, s, o bytes.Buffer
		for _, in := range t.Inputs {
			p.Write(in.PrevOut.Hash[:])
			putU32(&p, in.PrevOut.Index)
			putU32(&s, in.Sequence)
		}
		for _, out := range t.Outputs {
			putU64(&o, uint64(out.Value))
			putVarBytes(&o, out.PkScript)
		}
		h.v0Prev, h.v0Seq, h.v0Outs = DoubleSHA256(p.Bytes()), DoubleSHA256(s.Bytes()), DoubleSHA256(o.Bytes())
		h.v0 = true
	}
	var zero, prev, seq, outs [32]byte
	if !acp {
		prev = h.v0Prev
		if base == SigHashAll {
			seq = h.v0Seq
		}
	}
	switch {
	case base == SigHashAll:
		outs = h.v0Outs
	case base == SigHashSingle && idx < len(t.Outputs):
		var o bytes.Buffer
		putU64(&o, uint64(t.Outputs[idx].Value))
		putVarBytes(&o, t.Outputs[idx].PkScript)
		outs = DoubleSHA256(o.Bytes())
	default:
		outs = zero
	}
	in := t.Inputs[idx]
	var w bytes.Buffer
	putU32(&w, t.Version)
	w.Write(prev[:])
	w.Write(seq[:])
	w.Write(in.PrevOut.Hash[:])
	putU32(&w, in.PrevOut.Index)
	putVarBytes(&w, scriptCode)
	putU64(&w, uint64(amount))
	putU32(&w, in.Sequence)
	w.Write(outs[:])
	putU32(&w, t.LockTime)
	putU32(&w, hashType)
	return DoubleSHA256(w.Bytes()), nil
}

// TaprootSigHash is the BIP-341 signature hash of input idx with
// hashType (SigHashDefault, ALL, NONE, SINGLE, each optionally with
// ANYONECANPAY). prevouts are every input's spent output, in input order:
// BIP-341 commits to all their amounts and scriptPubKeys. leafHash nil
// gives the key-path digest (ext_flag 0); otherwise the BIP-342
// script-path digest for that tapleaf hash (ext_flag 1, key version 0, no
// OP_CODESEPARATOR executed). Annexes are not supported. Issue 12's
// BIP-322 taproot signatures use this with SigHashDefault.
func TaprootSigHash(tx *Tx, idx int, prevouts []TxOut, hashType byte, leafHash *[32]byte) ([32]byte, error) {
	return NewSigHasher(tx, prevouts).Taproot(idx, hashType, leafHash)
}

// Taproot is TaprootSigHash using h's prevouts and cached midstate.
func (h *SigHasher) Taproot(idx int, hashType byte, leafHash *[32]byte) ([32]byte, error) {
	t := h.tx
	if idx < 0 || idx >= len(t.Inputs) {
		return [32]byte{}, fmt.Errorf("input %d out of range (%d inputs)", idx, len(t.Inputs))
	}
	if len(h.prevouts) != len(t.Inputs) {
		return [32]byte{}, fmt.Errorf("taproot needs every input's spent output: %d given for %d inputs", len(h.prevouts), len(t.Inputs))
	}
	switch hashType {
	case 0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83:
	default:
		return [32]byte{}, fmt.Errorf("invalid taproot hash type %#x", hashType)
	}
	base := hashType & 0x03
	acp := hashType&SigHashAnyoneCanPay != 0
	if base == SigHashSingle && idx >= len(t.Outputs) {
		return [32]byte{}, errors.New("SIGHASH_SINGLE without a matching output")
	}
	if !h.v1 {
		var p, a, s, q, o bytes.Buffer
		for i, in := range t.Inputs {
			p.Write(in.PrevOut.Hash[:])
			putU32(&p, in.PrevOut.Index)
			putU64(&a, uint64(h.prevouts[i].Value))
			putVarBytes(&s, h.prevouts[i].PkScript)
			putU32(&q, in.Sequence)
		}
		for _, out := range t.Outputs {
			putU64(&o, uint64(out.Value))
			putVarBytes(&o, out.PkScript)
		}
		h.v1Prev, h.v1Amts, h.v1Spks = sha256.Sum256(p.Bytes()), sha256.Sum256(a.Bytes()), sha256.Sum256(s.Bytes())
		h.v1Seq, h.v1Outs = sha256.Sum256(q.Bytes()), sha256.Sum256(o.Bytes())
		h.v1 = true
	}
	var w bytes.Buffer
	w.WriteByte(0x00) // epoch
	w.WriteByte(hashType)
	putU32(&w, t.Version)
	putU32(&w, t.LockTime)
	if !acp {
		w.Write(h.v1Prev[:])
		w.Write(h.v1Amts[:])
		w.Write(h.v1Spks[:])
		w.Write(h.v1Seq[:])
	}
	if base != SigHashNone && base != SigHashSingle {
		w.Write(h.v1Outs[:])
	}
	var spend byte
	if leafHash != nil {
		spend = 2
	}
	w.WriteByte(spend)
	if acp {
		in := t.Inputs[idx]
		w.Write(in.PrevOut.Hash[:])
		putU32(&w, in.PrevOut.Index)
		putU64(&w, uint64(h.prevouts[idx].Value))
		putVarBytes(&w, h.prevouts[idx].PkScript)
		putU32(&w, in.Sequence)
	} else {
		putU32(&w, uint32(idx))
	}
	if base == SigHashSingle {
		var o bytes.Buffer
		putU64(&o, uint64(t.Outputs[idx].Value))
		putVarBytes(&o, t.Outputs[idx].PkScript)
		so := sha256.Sum256(o.Bytes())
		w.Write(so[:])
	}
	if leafHash != nil {
		w.Write(leafHash[:])
		w.WriteByte(0x00)                       // key_version
		w.Write([]byte{0xff, 0xff, 0xff, 0xff}) // codesep_pos: none
	}
	return TaggedHash("TapSighash", w.Bytes()), nil
}

// TaggedHash is BIP-340's SHA256(SHA256(tag) || SHA256(tag) || msg).
func TaggedHash(tag string, msg []byte) [32]byte {
	th := sha256.Sum256([]byte(tag))
	s := sha256.New()
	s.Write(th[:])
	s.Write(th[:])
	s.Write(msg)
	var out [32]byte
	s.Sum(out[:0])
	return out
}

// TapLeafHash is BIP-341's tapleaf hash of a script with leaf version
// 0xc0 (tapscript).
func TapLeafHash(script []byte) [32]byte {
	var w bytes.Buffer
	w.WriteByte(0xc0)
	putVarBytes(&w, script)
	return TaggedHash("TapLeaf", w.Bytes())
}

// checkScriptCode requires a script code to parse as a sequence of
// opcodes and pushes and to hold no OP_CODESEPARATOR.
func checkScriptCode(s []byte) error {
	ops, err := ParseScript(s)
	if err != nil {
		return fmt.Errorf("script code: %v", err)
	}
	for _, op := range ops {
		if !op.Push && op.Code == opCodeSeparator {
			return errors.New("script code holds OP_CODESEPARATOR, which is not supported")
		}
	}
	return nil
}
