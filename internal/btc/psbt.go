package btc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// PSBT is the part of a BIP-174 version 0 PSBT a verifier reads: the
// unsigned transaction and, per input, the spent-output claims. Both
// claims are the creator's word, like Cobo's selected_utxos; a verifier
// must check them against whatever else it trusts.
type PSBT struct {
	Tx *Tx
	// Inputs has one entry per Tx input.
	Inputs []PSBTInput
}

// PSBTInput holds one input's PSBT_IN_WITNESS_UTXO and
// PSBT_IN_NON_WITNESS_UTXO, nil when absent.
type PSBTInput struct {
	WitnessUTXO    *TxOut
	NonWitnessUTXO *Tx
}

// psbtMagic is "psbt" followed by 0xff.
var psbtMagic = []byte{0x70, 0x73, 0x62, 0x74, 0xff}

// IsPSBT reports whether b starts with the PSBT magic.
func IsPSBT(b []byte) bool { return bytes.HasPrefix(b, psbtMagic) }

// PSBTBase64Prefix is how a base64 PSBT starts.
const PSBTBase64Prefix = "cHNidP8"

// DecodePSBTBase64 decodes standard, padded base64 and parses the PSBT.
func DecodePSBTBase64(s string) (*PSBT, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("PSBT base64: %v", err)
	}
	return ParsePSBT(b)
}

// ParsePSBT parses a version 0 PSBT. It requires the magic, exactly one
// PSBT_GLOBAL_UNSIGNED_TX (with empty scriptSigs and witnesses, as BIP-174
// requires), a PSBT_GLOBAL_VERSION of 0 if present, one input map per
// input and one output map per output, no duplicate key in any map, and
// nothing after the last map. A PSBT_IN_NON_WITNESS_UTXO must be the
// transaction the input spends (its txid equals the outpoint's) and hold
// the output it names; a PSBT_IN_WITNESS_UTXO must be a well-formed
// output. Other keys (partial signatures, derivation paths, proprietary
// keys) are skipped: nothing here relies on them.
func ParsePSBT(b []byte) (*PSBT, error) {
	if len(b) > 4*MaxTxSize {
		return nil, fmt.Errorf("PSBT is %d bytes, more than %d", len(b), 4*MaxTxSize)
	}
	if !IsPSBT(b) {
		return nil, errors.New("PSBT: missing magic 70736274ff")
	}
	r := &reader{b: b[len(psbtMagic):]}
	global, err := readPSBTMap(r, "global")
	if err != nil {
		return nil, err
	}
	rawTx, ok := global[string([]byte{0x00})]
	if !ok {
		return nil, errors.New("PSBT: no PSBT_GLOBAL_UNSIGNED_TX")
	}
	if v, ok := global[string([]byte{0xfb})]; ok {
		if len(v) != 4 || v[0] != 0 || v[1] != 0 || v[2] != 0 || v[3] != 0 {
			return nil, fmt.Errorf("PSBT: version %x is not 0", v)
		}
	}
	tx, err := ParseUnsignedTx(rawTx)
	if err != nil {
		return nil, fmt.Errorf("PSBT_GLOBAL_UNSIGNED_TX: %v", err)
	}
	if len(rawTx) >= 6 && rawTx[4] == 0x00 {
		return nil, errors.New("PSBT_GLOBAL_UNSIGNED_TX must use the non-witness serialization")
	}
	for i, in := range tx.Inputs {
		if len(in.ScriptSig) != 0 {
			return nil, fmt.Errorf("PSBT_GLOBAL_UNSIGNED_TX input %d has a scriptSig; BIP-174 requires it empty", i)
		}
	}
	p := &PSBT{Tx: tx, Inputs: make([]PSBTInput, len(tx.Inputs))}
	for i := range tx.Inputs {
		m, err := readPSBTMap(r, fmt.Sprintf("input %d", i))
		if err != nil {
			return nil, err
		}
		if v, ok := m[string([]byte{0x01})]; ok {
			or := &reader{b: v}
			out := TxOut{}
			val := or.u64()
			out.PkScript = or.varBytes()
			if or.err != nil || len(or.b) != 0 || val > MaxMoney {
				return nil, fmt.Errorf("PSBT input %d: malformed PSBT_IN_WITNESS_UTXO", i)
			}
			out.Value = int64(val)
			p.Inputs[i].WitnessUTXO = &out
		}
		if v, ok := m[string([]byte{0x00})]; ok {
			prev, err := ParseTx(v)
			if err != nil {
				return nil, fmt.Errorf("PSBT input %d: PSBT_IN_NON_WITNESS_UTXO: %v", i, err)
			}
			op := tx.Inputs[i].PrevOut
			if DoubleSHA256(prev.Serialize()) != op.Hash {
				return nil, fmt.Errorf("PSBT input %d: PSBT_IN_NON_WITNESS_UTXO is transaction %s, the input spends %s", i, prev.TxID(), op.DisplayHash())
			}
			if int(op.Index) >= len(prev.Outputs) || op.Index > 1<<20 {
				return nil, fmt.Errorf("PSBT input %d: PSBT_IN_NON_WITNESS_UTXO has no output %d", i, op.Index)
			}
			p.Inputs[i].NonWitnessUTXO = prev
		}
	}
	for i := range tx.Outputs {
		if _, err := readPSBTMap(r, fmt.Sprintf("output %d", i)); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("PSBT: %v", r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("PSBT: %d bytes after the last map", len(r.b))
	}
	return p, nil
}

// readPSBTMap reads key-value pairs up to the 0x00 separator. Keys are
// returned whole (type byte and key data) only for single-byte keys; the
// rest are checked for duplicates and dropped.
func readPSBTMap(r *reader, where string) (map[string][]byte, error) {
	out := map[string][]byte{}
	seen := map[string]bool{}
	for {
		kl := r.compact()
		if r.err != nil {
			return nil, fmt.Errorf("PSBT %s map: %v", where, r.err)
		}
		if kl == 0 {
			return out, nil
		}
		if kl > uint64(len(r.b)) {
			return nil, fmt.Errorf("PSBT %s map: key of %d bytes is truncated", where, kl)
		}
		key := r.bytes(int(kl))
		val := r.varBytes()
		if r.err != nil {
			return nil, fmt.Errorf("PSBT %s map: %v", where, r.err)
		}
		if seen[string(key)] {
			return nil, fmt.Errorf("PSBT %s map: key %x appears twice", where, clipBytes(key))
		}
		seen[string(key)] = true
		switch {
		case len(key) == 1:
			out[string(key)] = val
		case key[0] <= 0x01 && where != "global":
			// 0x00 and 0x01 input keys carry no key data; with it they are
			// malformed and a parser that read them differently would see
			// other UTXOs.
			return nil, fmt.Errorf("PSBT %s map: key type %#02x with key data", where, key[0])
		case key[0] == 0x00 && where == "global":
			return nil, fmt.Errorf("PSBT global map: PSBT_GLOBAL_UNSIGNED_TX with key data")
		}
	}
}

// ParseTx decodes a complete (possibly signed) transaction in either
// serialization, for PSBT_IN_NON_WITNESS_UTXO. Witnesses are read and
// kept; the same strictness as ParseUnsignedTx applies otherwise.
func ParseTx(b []byte) (*Tx, error) {
	if len(b) > 4*MaxTxSize {
		return nil, fmt.Errorf("transaction is %d bytes, more than %d", len(b), 4*MaxTxSize)
	}
	if len(b) < 6 || b[4] != 0x00 {
		return ParseUnsignedTx(b)
	}
	if b[5] != 0x01 {
		return nil, errors.New("unknown segwit flag")
	}
	// Re-read with witnesses: parse the body without them, then the
	// witness section.
	r := &reader{b: b}
	t := &Tx{Version: r.u32()}
	r.bytes(2)
	if err := r.inputsOutputs(t); err != nil {
		return nil, err
	}
	empty := true
	for i := range t.Inputs {
		n := r.count(1)
		items := make([][]byte, n)
		for j := range items {
			items[j] = r.varBytes()
		}
		t.Inputs[i].Witness = items
		if n > 0 {
			empty = false
		}
	}
	t.LockTime = r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the transaction", len(r.b))
	}
	if empty {
		return nil, errors.New("segwit marker with no witness data")
	}
	return t, nil
}
