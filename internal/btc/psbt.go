package btc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
)

// PSBT is the part of a BIP-174 version 0 PSBT a verifier reads: the
// unsigned transaction, per input the spent-output claims, and every
// BIP-32 derivation it names. All claims are the creator's word, like
// Cobo's selected_utxos; a verifier must check them against whatever else
// it trusts.
type PSBT struct {
	Tx *Tx
	// Inputs has one entry per Tx input.
	Inputs []PSBTInput
	// Derivations are the key paths the PSBT names, in map order (global,
	// then each input, then each output) and, within a map, in key order.
	Derivations []Derivation
}

// Derivation is one BIP-32 key path a PSBT names: a PSBT_GLOBAL_XPUB,
// PSBT_IN_BIP32_DERIVATION, PSBT_IN_TAP_BIP32_DERIVATION,
// PSBT_OUT_BIP32_DERIVATION or PSBT_OUT_TAP_BIP32_DERIVATION entry.
type Derivation struct {
	// Where names the map: "global", "input 0", "output 1".
	Where string
	// Path holds the indexes as serialized, hardened ones with 2^31 set;
	// the master fingerprint before them is dropped.
	Path []uint32
}

// PSBT key types that carry a BIP-32 derivation (BIP-174, BIP-371).
const (
	psbtGlobalXpub       = 0x01
	psbtInDerivation     = 0x06
	psbtInTapDerivation  = 0x16
	psbtOutDerivation    = 0x02
	psbtOutTapDerivation = 0x07
)

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
// output. Every BIP-32 derivation (global xpub, input and output, plain
// and taproot) must be a fingerprint and whole path indexes, and is
// returned in Derivations, so that a verifier can check the paths. Other
// keys (partial signatures, scripts, proprietary keys) are skipped:
// nothing here relies on them.
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
	if err := p.addDerivations(global, "global", psbtGlobalXpub, 0); err != nil {
		return nil, err
	}
	for i := range tx.Inputs {
		where := fmt.Sprintf("input %d", i)
		m, err := readPSBTMap(r, where)
		if err != nil {
			return nil, err
		}
		if err := p.addDerivations(m, where, psbtInDerivation, psbtInTapDerivation); err != nil {
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
		where := fmt.Sprintf("output %d", i)
		m, err := readPSBTMap(r, where)
		if err != nil {
			return nil, err
		}
		if err := p.addDerivations(m, where, psbtOutDerivation, psbtOutTapDerivation); err != nil {
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

// addDerivations appends the derivations of map m (where names it): the
// entries whose key type is plain (fingerprint and path) or tap (leaf
// hashes, fingerprint and path; 0 for none), with key data. A value that
// does not parse is an error: a path the verifier cannot read is not one
// it may ignore.
func (p *PSBT) addDerivations(m map[string][]byte, where string, plain, tap byte) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		if len(k) > 1 && (k[0] == plain || (tap != 0 && k[0] == tap)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := &reader{b: m[k]}
		if k[0] == tap {
			n := r.count(32)
			r.bytes(32 * n)
		}
		r.bytes(4) // master key fingerprint
		if r.err != nil || len(r.b)%4 != 0 {
			return fmt.Errorf("PSBT %s map: malformed BIP-32 derivation (key type %#02x)", where, k[0])
		}
		path := make([]uint32, 0, len(r.b)/4)
		for len(r.b) > 0 {
			path = append(path, r.u32())
		}
		p.Derivations = append(p.Derivations, Derivation{Where: where, Path: path})
	}
	return nil
}

// readPSBTMap reads key-value pairs up to the 0x00 separator and returns
// them keyed by the whole key (type byte and key data), after checking
// for duplicates.
func readPSBTMap(r *reader, where string) (map[string][]byte, error) {
	out := map[string][]byte{}
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
		if _, dup := out[string(key)]; dup {
			return nil, fmt.Errorf("PSBT %s map: key %x appears twice", where, clipBytes(key))
		}
		out[string(key)] = val
		switch {
		case len(key) == 1: // no key data to check
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
