package txverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"tssgate/internal/btc"
	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// UTXO transactions (Bitcoin, its testnet and signet, Litecoin, Dogecoin,
// Bitcoin Cash), PROTOCOL.md section 11. unsigned_raw_tx is the unsigned
// network serialization (legacy, or with the segwit marker and empty
// witnesses) or a BIP-174 PSBT (hex or base64). Every input must have
// exactly one selected_utxos entry, matched by outpoint; its address gives
// the spent scriptPubKey, its value the amount, its redeem_script the
// P2SH/P2WSH script. Each input's digest is recomputed by its type
// (legacy SIGHASH_ALL, BIP-143 SIGHASH_ALL, BIP-341 SIGHASH_DEFAULT or
// ALL, BCH's BIP-143 with ALL|FORKID), and msg_hash_list must be exactly
// those digests, one per input. Outputs paying any scriptPubKey of an
// input's change class are change (see utxoInput.own); every other output
// is a destination, and every destination must be described, once.
// The digests commit to no chain, so token_id is bound only through the
// key paths: each must carry the token's coin type (checkUTXOPaths).

// utxoDecimals is every supported UTXO chain's coin precision (satoshis).
const utxoDecimals = 8

// utxoNetworks maps a Token.Network to its address and signing rules.
func utxoNetwork(name string) (*btc.Network, bool) { return btc.NetworkByName(name) }

// utxoInput is one input as verification establishes it.
type utxoInput struct {
	prevScript []byte
	amount     int64 // satoshis
	typ        string
	signed     bool     // the digest commits to amount
	digests    [][]byte // acceptable digests (taproot: DEFAULT and ALL)
	address    string   // canonical
	// own is the input's change class: every scriptPubKey that an accepted
	// description could name for this input's digest (same algorithm,
	// same script code). Legacy and BIP-143 digests commit to the script
	// code, not the spent scriptPubKey, so change decided by prevScript
	// alone would follow Cobo's choice of spelling; decided by the class
	// it follows the signed bytes. P2WPKH(h) and P2SH-P2WPKH(h) are one
	// class; the other spellings of those codes (P2WSH or P2SH of the
	// P2PKH script, P2SH-P2WSH) are refused as inputs and so are not
	// change either: tssgate would never sign their spending, so paying
	// them is paying away, and a policy must see it.
	own [][]byte
}

// verifyUTXO verifies a UTXO KEYSIGN for tok; paths are bip32_path_list
// as checkSigningLists parsed it.
func verifyUTXO(c *claim, tok Token, paths [][]uint32) Result {
	net, ok := utxoNetwork(tok.Network)
	if !ok { // unreachable: the registry validates networks
		return fail("token_id", "token_id %s has unknown UTXO network %q", tok.TokenID, tok.Network).result(nil)
	}
	if c.version == protocol.V1 || c.utxo == nil {
		return fail("request", "UTXO transactions are verified only from v2 KEYSIGNs, which carry raw_tx_info.selected_utxos").result(nil)
	}
	tx, psbt, f := parseUTXORaw(c.rawTxs[0])
	if f != nil {
		return f.result(nil)
	}
	facts := &Facts{Chain: ChainUTXO, TxType: "legacy", Method: "utxo_transfer"}
	lt := tx.LockTime
	facts.LockTime = &lt
	inputs, f := utxoInputs(c, net, tx, psbt)
	if f != nil {
		return f.result(facts)
	}
	for i, in := range tx.Inputs {
		if in.Sequence < 0xfffffffe {
			facts.RBF = true
		}
		if inputs[i].typ != string(btc.ScriptP2PKH) && inputs[i].typ != string(btc.ScriptP2SH) {
			facts.TxType = "segwit"
		}
		facts.Inputs = append(facts.Inputs, protocol.UTXOInput{
			Outpoint:     in.PrevOut.String(),
			Address:      inputs[i].address,
			Amount:       decimal.FromBaseUnits(big.NewInt(inputs[i].amount), utxoDecimals),
			ScriptType:   inputs[i].typ,
			AmountSigned: inputs[i].signed,
		})
	}
	hashes, f := matchUTXOHashes(c.msgHashes, tx, inputs)
	facts.Hashes = hashes
	if f != nil {
		return f.result(facts)
	}
	if f := utxoOutputs(c, net, tx, inputs, facts); f != nil {
		return f.result(facts)
	}
	if f := checkUTXOFee(tx, inputs, facts); f != nil {
		return f.result(facts)
	}
	// Last, so that a refused relabelling still reports what the bytes
	// do: the facts show which outputs the other coin's key would spend.
	if f := checkUTXOPaths(tok, c.paths, paths, psbt); f != nil {
		return f.result(facts)
	}
	return Result{Verified: true, Facts: facts, TokenID: tok.TokenID, ChainID: tok.ChainID}
}

// checkUTXOPaths requires every key path the request names to derive
// under tok's own coin type (utxoCoinTypes), below a purpose that puts the
// coin type at the second level (purposeCoinType): each bip32_path_list
// entry, which the node derives the signing key from, and each BIP-32
// derivation in a PSBT (psbt may be nil). A Bitcoin-family digest commits
// to no chain: the same bytes and digests are a valid spend on Bitcoin,
// Litecoin and (legacy inputs) Dogecoin, and only the address spelling
// and token_id in the description say which. The key decides whose coins
// move, so its path is the only place the request binds token_id (a
// known limit: XTN and SIGNET_BTC share coin type 1 and cannot be told
// apart). The failure names bip32_path_list or, for a PSBT derivation,
// unsigned_raw_tx.
func checkUTXOPaths(tok Token, raw []string, paths [][]uint32, psbt *btc.PSBT) *failure {
	want, ok := utxoCoinTypes[tok.Network]
	if !ok { // unreachable: the registry requires a coin type per network
		return fail("token_id", "token_id %s has UTXO network %q without a coin type", tok.TokenID, tok.Network)
	}
	if len(paths) == 0 { // unreachable: checkSigningLists requires one per hash
		return fail("bip32_path_list", "is empty; token_id %s is bound only through its paths' coin type", tok.TokenID)
	}
	// bad says what is wrong with path p, "" for nothing; reasons are
	// built only on failure, as a transaction may have many inputs.
	bad := func(p []uint32) string {
		got, err := purposeCoinType(p)
		if err != nil {
			return fmt.Sprintf("%v, so it does not show a token_id %s key (coin type %d)", err, tok.TokenID, want)
		}
		if got != want {
			return fmt.Sprintf("derives a coin type %d key, but token_id %s keys derive under coin type %d: a UTXO digest commits to no chain, so this would sign another coin's spend under %s", got, tok.TokenID, want, tok.TokenID)
		}
		return ""
	}
	for i, p := range paths {
		if r := bad(p); r != "" {
			return fail("bip32_path_list", "entry %d (%q) %s", i, short(raw[i]), r)
		}
	}
	if psbt == nil {
		return nil
	}
	for _, d := range psbt.Derivations {
		if r := bad(d.Path); r != "" {
			return fail("unsigned_raw_tx", "PSBT %s BIP-32 derivation %s %s", d.Where, formatBIP32Path(d.Path), r)
		}
	}
	return nil
}

// parseUTXORaw reads unsigned_raw_tx: a base64 PSBT, or hex (optional 0x)
// of a PSBT or of an unsigned transaction.
func parseUTXORaw(raw string) (*btc.Tx, *btc.PSBT, *failure) {
	s := raw
	if strings.HasPrefix(s, btc.PSBTBase64Prefix) {
		if len(s) > maxRawTxHex {
			return nil, nil, fail("unsigned_raw_tx", "%d base64 characters, more than %d", len(s), maxRawTxHex)
		}
		p, err := btc.DecodePSBTBase64(s)
		if err != nil {
			return nil, nil, fail("unsigned_raw_tx", "not a valid PSBT: %v", err)
		}
		return p.Tx, p, nil
	}
	b, err := decodeHex(s)
	if err != nil {
		return nil, nil, fail("unsigned_raw_tx", "%v", err)
	}
	if btc.IsPSBT(b) {
		p, err := btc.ParsePSBT(b)
		if err != nil {
			return nil, nil, fail("unsigned_raw_tx", "not a valid PSBT: %v", err)
		}
		return p.Tx, p, nil
	}
	tx, err := btc.ParseUnsignedTx(b)
	if err != nil {
		return nil, nil, fail("unsigned_raw_tx", "not a valid unsigned UTXO transaction: %v", err)
	}
	return tx, nil, nil
}

// utxoInputs matches selected_utxos to the inputs by outpoint and works
// out each input's spent script, amount, type and digests.
func utxoInputs(c *claim, net *btc.Network, tx *btc.Tx, psbt *btc.PSBT) ([]utxoInput, *failure) {
	sel := c.utxo.SelectedUTXOs
	byOutpoint := make(map[btc.OutPoint]int, len(sel))
	for j, u := range sel {
		h, err := btc.ParseDisplayHash(u.TxHash)
		if err != nil {
			return nil, fail("selected_utxos", "entry %d: tx_hash: %v", j, err)
		}
		if u.VoutN < 0 || u.VoutN > 0xffffffff {
			return nil, fail("selected_utxos", "entry %d: vout_n %d is not a 32-bit output index", j, u.VoutN)
		}
		op := btc.OutPoint{Hash: h, Index: uint32(u.VoutN)}
		if k, dup := byOutpoint[op]; dup {
			return nil, fail("selected_utxos", "entries %d and %d both describe %s", k, j, op)
		}
		byOutpoint[op] = j
	}
	used := make([]bool, len(sel))
	inputs := make([]utxoInput, len(tx.Inputs))
	seen := make(map[btc.OutPoint]int, len(tx.Inputs))
	for i, in := range tx.Inputs {
		if k, dup := seen[in.PrevOut]; dup {
			return nil, fail("unsigned_raw_tx", "inputs %d and %d both spend %s", k, i, in.PrevOut)
		}
		seen[in.PrevOut] = i
		j, ok := byOutpoint[in.PrevOut]
		if !ok {
			return nil, fail("selected_utxos", "input %d spends %s, which no selected_utxos entry describes", i, in.PrevOut)
		}
		used[j] = true
		u := sel[j]
		where := fmt.Sprintf("selected_utxos[%d]", j)
		if !u.Value.Set {
			return nil, fail("selected_utxos", "%s (%s): value is missing", where, in.PrevOut)
		}
		units, exact := u.Value.Value.BaseUnits(utxoDecimals)
		if !exact || units.Sign() < 0 || !units.IsInt64() || units.Int64() > btc.MaxMoney {
			return nil, fail("selected_utxos", "%s (%s): value %s is not a whole number of satoshis between 0 and 21 million coins", where, in.PrevOut, u.Value)
		}
		script, err := btc.DecodeAddress(net, u.Address)
		if err != nil {
			return nil, fail("selected_utxos", "%s (%s): address: %v", where, in.PrevOut, err)
		}
		canon, err := btc.EncodeAddress(net, script)
		if err != nil {
			return nil, fail("selected_utxos", "%s (%s): address: %v", where, in.PrevOut, err)
		}
		inputs[i] = utxoInput{prevScript: script, amount: units.Int64(), address: canon}
		if psbt != nil {
			if f := checkPSBTInput(psbt, i, in.PrevOut, script, units.Int64()); f != nil {
				return nil, f
			}
		}
		if u.RevealedScript != "" {
			return nil, fail("selected_utxos", "%s (%s) is a taproot script-path spend (revealed_script is set): the spent output's script is not in the request (selected_utxos.address is the wallet's address, not the spent output), so its digest cannot be recomputed", where, in.PrevOut)
		}
	}
	for j, ok := range used {
		if !ok {
			return nil, fail("selected_utxos", "entry %d (%s:%d) is not spent by the transaction", j, short(sel[j].TxHash), sel[j].VoutN)
		}
	}
	prevouts := make([]btc.TxOut, len(inputs))
	for i, in := range inputs {
		prevouts[i] = btc.TxOut{Value: in.amount, PkScript: in.prevScript}
	}
	h := btc.NewSigHasher(tx, prevouts)
	for i := range inputs {
		j := byOutpoint[tx.Inputs[i].PrevOut]
		if f := utxoDigest(h, net, i, &inputs[i], sel[j], j, tx.Inputs[i].PrevOut); f != nil {
			return nil, f
		}
	}
	return inputs, nil
}

// checkPSBTInput refuses a PSBT whose spent-output claims contradict
// selected_utxos.
func checkPSBTInput(p *btc.PSBT, i int, op btc.OutPoint, script []byte, amount int64) *failure {
	in := p.Inputs[i]
	if w := in.WitnessUTXO; w != nil && (w.Value != amount || !bytes.Equal(w.PkScript, script)) {
		return fail("unsigned_raw_tx", "PSBT input %d's witness_utxo (%d sat, script %x) contradicts selected_utxos for %s (%d sat, script %x)", i, w.Value, w.PkScript, op, amount, script)
	}
	if nw := in.NonWitnessUTXO; nw != nil {
		o := nw.Outputs[op.Index]
		if o.Value != amount || !bytes.Equal(o.PkScript, script) {
			return fail("unsigned_raw_tx", "PSBT input %d's non_witness_utxo output (%d sat, script %x) contradicts selected_utxos for %s (%d sat, script %x)", i, o.Value, o.PkScript, op, amount, script)
		}
	}
	return nil
}

// utxoDigest classifies input i's spent script and computes the digests
// the node may sign for it.
func utxoDigest(h *btc.SigHasher, net *btc.Network, i int, in *utxoInput, u protocol.V2SelectedUTXO, j int, op btc.OutPoint) *failure {
	// Built only on failure: the hot path verifies many inputs.
	where := lazyWhere{j, op}
	redeem, err := optionalHex(u.RedeemScript)
	if err != nil {
		return fail("selected_utxos", "%s: redeem_script: %v", where, err)
	}
	typ, prog := btc.Classify(in.prevScript)
	in.own = [][]byte{in.prevScript}
	needRedeem := typ == btc.ScriptP2SH || typ == btc.ScriptP2WSH
	if redeem == nil && needRedeem {
		return fail("selected_utxos", "%s: redeem_script is absent, and the %s input's script cannot be recomputed without it", where, typ)
	}
	if redeem != nil && !needRedeem {
		return fail("selected_utxos", "%s: redeem_script is set, but the spent output is %s, which has none", where, typ)
	}
	if (typ == btc.ScriptP2WPKH || typ == btc.ScriptP2WSH || typ == btc.ScriptP2TR) && !net.Segwit() {
		// Unreachable: DecodeAddress gives no witness script on such a chain.
		return fail("selected_utxos", "%s: %s has no segwit, so a %s output is spent without a signature", where, net.Name, typ)
	}
	var (
		d   [32]byte
		alt *[32]byte
	)
	forkID := net.CashAddr != ""
	bip143 := func(scriptCode []byte) ([32]byte, error) {
		ht := uint32(btc.SigHashAll)
		if forkID {
			ht = btc.SigHashAllForkID
		}
		return h.WitnessV0(i, scriptCode, in.amount, ht)
	}
	switch typ {
	case btc.ScriptP2PKH:
		in.typ = string(btc.ScriptP2PKH)
		if forkID {
			d, err = bip143(in.prevScript)
			in.signed = true
		} else {
			d, err = h.Legacy(i, in.prevScript)
		}
	case btc.ScriptP2SH:
		if !bytes.Equal(btc.Hash160(redeem), prog) {
			return fail("selected_utxos", "%s: redeem_script does not hash to the P2SH address", where)
		}
		rt, rprog := btc.Classify(redeem)
		switch {
		case rt == btc.ScriptP2PKH:
			return fail("selected_utxos", "%s: redeem_script is the P2PKH script of key hash %x; its digest is the one the P2PKH output of that key signs, so the bytes cannot tell which of the two is spent, and no wallet uses this wrapping", where, rprog)
		case btc.IsWitnessProgram(redeem) && (forkID || !net.Segwit()):
			return fail("selected_utxos", "%s: redeem_script %x is a witness program; %s has no segwit, so the output is spent without any signature and no digest commits to it", where, redeem, net.Name)
		case forkID:
			in.typ = string(btc.ScriptP2SH)
			d, err = bip143(redeem)
			in.signed = true
		case rt == btc.ScriptP2WPKH:
			in.typ = "p2sh-p2wpkh"
			d, err = h.WitnessV0(i, btc.P2PKHScript(rprog), in.amount, btc.SigHashAll)
			in.signed = true
			in.own = append(in.own, redeem)
		case btc.IsWitnessProgram(redeem):
			// P2SH-P2WSH, P2SH-P2TR, and future witness versions (which
			// segwit spends without any signature today).
			return fail("selected_utxos", "%s: a P2SH-wrapped witness program (%x) other than P2WPKH is not supported", where, redeem)
		default:
			in.typ = string(btc.ScriptP2SH)
			d, err = h.Legacy(i, redeem)
		}
	case btc.ScriptP2WPKH:
		in.typ = string(typ)
		d, err = h.WitnessV0(i, btc.P2PKHScript(prog), in.amount, btc.SigHashAll)
		in.signed = true
		in.own = append(in.own, btc.P2SHScript(btc.Hash160(in.prevScript)))
	case btc.ScriptP2WSH:
		if s := sha256.Sum256(redeem); !bytes.Equal(s[:], prog) {
			return fail("selected_utxos", "%s: redeem_script does not hash to the P2WSH address", where)
		}
		if rt, rprog := btc.Classify(redeem); rt == btc.ScriptP2PKH {
			return fail("selected_utxos", "%s: redeem_script (the witness script) is the P2PKH script of key hash %x; its digest is the one the P2WPKH output of that key signs, so the bytes cannot tell which is spent, and no wallet uses this wrapping", where, rprog)
		}
		in.typ = string(typ)
		d, err = h.WitnessV0(i, redeem, in.amount, btc.SigHashAll)
		in.signed = true
	case btc.ScriptP2TR:
		in.typ = string(typ)
		d, err = h.Taproot(i, btc.SigHashDefault, nil)
		if err == nil {
			var all [32]byte
			all, err = h.Taproot(i, btc.SigHashAll, nil)
			alt = &all
		}
		in.signed = true
	default:
		return fail("selected_utxos", "%s: the spent output's script type cannot be signed for here", where)
	}
	if err != nil {
		return fail("selected_utxos", "%s: %v", where, err)
	}
	in.digests = [][]byte{d[:]}
	if alt != nil {
		in.digests = append(in.digests, alt[:])
	}
	return nil
}

// lazyWhere names a selected_utxos entry and its outpoint in a reason.
type lazyWhere struct {
	j  int
	op btc.OutPoint
}

func (w lazyWhere) String() string { return fmt.Sprintf("selected_utxos[%d] (%s)", w.j, w.op) }

// optionalHex decodes an optional hex field ("" or null: nil).
func optionalHex(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return decodeHex(s)
}

// matchUTXOHashes requires msg_hash_list to hold exactly one digest per
// input, each of that input's acceptable digests, and nothing else. It
// returns the digests found, in input order.
func matchUTXOHashes(msgHashes []string, tx *btc.Tx, inputs []utxoInput) ([]string, *failure) {
	want := make(map[string]int, 2*len(inputs))
	for i, in := range inputs {
		for _, d := range in.digests {
			want[hex.EncodeToString(d)] = i
		}
	}
	got := make([]string, len(inputs))
	for k, h := range msgHashes {
		n := normHex(h)
		i, ok := want[n]
		if !ok {
			return nil, fail("msg_hash_list", "entry %d (%s) is not a SIGHASH_ALL/DEFAULT digest of any input of the transaction", k, shortHex(n))
		}
		if got[i] != "" {
			return nil, fail("msg_hash_list", "entry %d signs input %d (%s) a second time", k, i, tx.Inputs[i].PrevOut)
		}
		got[i] = n
	}
	for i, g := range got {
		if g == "" {
			return got, fail("msg_hash_list", "has no digest for input %d (%s); every input must be signed by this request", i, tx.Inputs[i].PrevOut)
		}
	}
	return got, nil
}

// utxoOutputs derives the outputs, change and destinations, and compares
// them with the description.
func utxoOutputs(c *claim, net *btc.Network, tx *btc.Tx, inputs []utxoInput, facts *Facts) *failure {
	own := func(script []byte) bool {
		for _, in := range inputs {
			for _, s := range in.own {
				if bytes.Equal(s, script) {
					return true
				}
			}
		}
		return false
	}
	type payment struct {
		script []byte
		amount int64
	}
	var pays, changeOuts []payment
	for i, o := range tx.Outputs {
		amt := decimal.FromBaseUnits(big.NewInt(o.Value), utxoDecimals)
		typ, _ := btc.Classify(o.PkScript)
		if typ == btc.ScriptNullData {
			facts.Outputs = append(facts.Outputs, protocol.UTXOOutput{Amount: amt, OpReturn: "0x" + hex.EncodeToString(o.PkScript)})
			if o.Value != 0 {
				return fail("destination", "output %d burns %s coins in an OP_RETURN", i, amt)
			}
			continue
		}
		addr, err := btc.EncodeAddress(net, o.PkScript)
		if err != nil {
			return fail("destination", "output %d: %v", i, err)
		}
		change := own(o.PkScript)
		facts.Outputs = append(facts.Outputs, protocol.UTXOOutput{Address: addr, Amount: amt, Change: change})
		if change {
			changeOuts = append(changeOuts, payment{o.PkScript, o.Value})
		} else {
			pays = append(pays, payment{o.PkScript, o.Value})
			facts.Destinations = append(facts.Destinations, destination(addr, big.NewInt(o.Value), utxoDecimals, true))
		}
	}
	// Described change must be an output with that exact amount; whether
	// it is change is decided above, by the bytes.
	changes := c.utxo.UTXOChanges
	if ch := c.utxo.UTXOChange; ch != nil && (ch.Address != "" || ch.Value.Set) {
		found := len(changes) == 0
		for _, x := range changes {
			if x.Address == ch.Address && x.Value.Set == ch.Value.Set && x.Value.Value.Cmp(ch.Value.Value) == 0 {
				found = true
			}
		}
		if !found {
			return fail("utxo_change", "utxo_change (%s %s) is not among utxo_changes", short(ch.Address), ch.Value)
		}
		if len(changes) == 0 {
			changes = []protocol.V2UTXOChange{*ch}
		}
	}
	for k, ch := range changes {
		script, err := btc.DecodeAddress(net, ch.Address)
		if err != nil {
			return fail("utxo_change", "entry %d: %v", k, err)
		}
		units, exact := ch.Value.Value.BaseUnits(utxoDecimals)
		if !ch.Value.Set || !exact {
			return fail("utxo_change", "entry %d: value %s is not a whole number of satoshis", k, ch.Value)
		}
		match := false
		for _, o := range tx.Outputs {
			if bytes.Equal(o.PkScript, script) && big.NewInt(o.Value).Cmp(units) == 0 {
				match = true
			}
		}
		if !match {
			return fail("utxo_change", "entry %d (%s %s) is not an output of the transaction", k, short(ch.Address), ch.Value)
		}
	}
	// The description's destinations, less zero-amount entries to an
	// input's own address (Cobo's form for self-transfers and RBF drops),
	// must cover the payments as a multiset. An entry may also name a
	// change output (a transfer to another address of the wallet's key,
	// which Cobo lists as a destination): the facts do not follow it, as a
	// script is change or not by the bytes alone, so the two kinds never
	// compete for one entry.
	if c.destType != "Address" {
		return unsupportedDestinationType(c)
	}
	remaining := append([]payment(nil), pays...)
	remainingChange := append([]payment(nil), changeOuts...)
	for k, d := range c.dests {
		script, err := btc.DecodeAddress(net, d.Address)
		if err != nil {
			return fail("destination", "entry %d: %v", k, err)
		}
		if d.Amount.IsZero() && own(script) {
			continue
		}
		units, exact := d.Amount.BaseUnits(utxoDecimals)
		if !exact || !units.IsInt64() {
			return fail("amount", "destination %d (%s): amount %s is not a whole number of satoshis", k, short(d.Address), d.Amount)
		}
		find := func(ps []payment) int {
			for j, p := range ps {
				if bytes.Equal(p.script, script) && p.amount == units.Int64() {
					return j
				}
			}
			return -1
		}
		if own(script) {
			j := find(remainingChange)
			if j < 0 {
				return fail("destination", "description pays %s %s, which is not an output of the transaction", short(d.Address), d.Amount)
			}
			remainingChange = append(remainingChange[:j], remainingChange[j+1:]...)
			continue
		}
		found := find(remaining)
		if found < 0 {
			for _, p := range remaining {
				if bytes.Equal(p.script, script) {
					return fail("amount", "description pays %s %s, the transaction pays that address %s", short(d.Address), d.Amount, decimal.FromBaseUnits(big.NewInt(p.amount), utxoDecimals))
				}
			}
			return fail("destination", "description pays %s %s, which is not a non-change output of the transaction", short(d.Address), d.Amount)
		}
		remaining = append(remaining[:found], remaining[found+1:]...)
	}
	if len(remaining) > 0 {
		p := remaining[0]
		addr, _ := btc.EncodeAddress(net, p.script)
		return fail("destination", "the transaction pays %s %s, which the description does not list", addr, decimal.FromBaseUnits(big.NewInt(p.amount), utxoDecimals))
	}
	return nil
}

// checkUTXOFee sets the fee when every input's amount is signed.
func checkUTXOFee(tx *btc.Tx, inputs []utxoInput, facts *Facts) *failure {
	in, out := new(big.Int), new(big.Int)
	for _, i := range inputs {
		if !i.signed {
			return nil
		}
		in.Add(in, big.NewInt(i.amount))
	}
	for _, o := range tx.Outputs {
		out.Add(out, big.NewInt(o.Value))
	}
	fee := in.Sub(in, out)
	if fee.Sign() < 0 {
		return fail("selected_utxos", "the inputs (%s) are less than the outputs (%s)", decimal.FromBaseUnits(new(big.Int).Add(fee, out), utxoDecimals), decimal.FromBaseUnits(out, utxoDecimals))
	}
	facts.Fee = fee
	facts.MaxFee = new(big.Int).Set(fee)
	return nil
}
