package txverify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// This file's encoder is independent of tssgate/internal/btc: it writes
// transactions and signature-hash preimages as hex strings, field by
// field, from BIP-143, BIP-341 and the legacy algorithm as the specs
// state them. The addresses were computed by a separate Python encoder
// (base58check, bech32/bech32m per BIP-173/350, CashAddr per the BCH
// spec) for these keys and scripts:
//
//	pk1 = 02 11*32, pk2 = 03 22*32, pk3 = 02 33*32
//	pkh = hash160(pk1); redeem (P2SH-P2WPKH) = 0014 hash160(pk2)
//	ms  = 2-of-3 multisig of pk1 pk2 pk3; p2tr key 44*32
//	dest = P2PKH of hash160(02 55*32); dest_wsh = P2WSH of sha256("dest")
const (
	tPKH       = "adfce54f529b2154e3c361bbe3f7d41db0635717"
	tPK2H      = "5fa71d913f0497f8218d2892ec3f50e5faac8430"
	tWPKHRdm   = "0014" + tPK2H
	tWPKHRdmH  = "01220800af91d2478c76cc8642216c65ea7e1776"
	tMS        = "5221021111111111111111111111111111111111111111111111111111111111111111210322222222222222222222222222222222222222222222222222222222222222222102333333333333333333333333333333333333333333333333333333333333333353ae"
	tMSH160    = "865e52f97cb308c3dadec9d7e7b5d93f1f035f3f"
	tMSSHA     = "30ec3200ba27b7b24575aa3acc291dbc0d8e22f2a30a8a2e4f07a47527942d0e"
	tXOnly     = "4444444444444444444444444444444444444444444444444444444444444444"
	tDestPKH   = "3b12e793e7686337b896ea47a5ec44dbf7697d66"
	tDestWSH   = "1d5e6a1edddf2cb59b7bbc0218e03c305de6c11485a2aa0d3bafc7466b4b8e3c"
	sighashAll = 1
)

// tChain is one UTXO chain of the tests: its token and addresses.
type tChain struct {
	token, chainID string
	coin           int
	forkID         bool
	addr           map[string]string // input kind (or "dest", "dest_wsh") -> address
}

var tChains = []tChain{
	{"BTC", "BTC", 0, false, map[string]string{"p2pkh": "1Grxrh4z458DEdd3VVS6D5ASSyt8ydPaLe", "p2sh": "3DwVU1AqBJdCQ2FgNcq8im1UYFGA4xVsPf", "dest": "16PMWqJ75ULz35k5Ceb3r87JPujKGWYRt3", "p2sh-p2wpkh": "31o1NGZDbD5LA7Rm8jqJUeJVrDJBEA5GHj", "p2wpkh": "bc1q4h7w2n6jnvs4fc7rvxa78a75rkcxx4cha6sptp", "p2wsh": "bc1qxrkryq96y7mmy3t44gavc2gahsxcughj5v9g5tj0q7j82fu5958qlfqzgn", "p2tr": "bc1pg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zq8ss0kf", "dest_wsh": "bc1qr40x58kamukttxmmhspp3cpuxpw7dsg5sk325rfm4lr5v66t3c7q8pdz3g"}},
	{"XTN", "XTN", 1, false, testnetAddrs},
	{"SIGNET_BTC", "SIGNET_BTC", 1, false, testnetAddrs},
	{"LTC", "LTC", 2, false, map[string]string{"p2pkh": "Lb5v7uNp8jNGVSKCfdRPV6ECfCFR8B4idg", "p2sh": "ML9dmtao8RUdCXXaUVpUYQFsrwrc4vNuDr", "dest": "LQcJn3bwA8b3HtSENnaM89B4c86bNhheN5", "p2sh-p2wpkh": "M819g9yBYKvkxchfEcpeJHYuAutdHLJTAc", "p2wpkh": "ltc1q4h7w2n6jnvs4fc7rvxa78a75rkcxx4chex29n3", "p2wsh": "ltc1qxrkryq96y7mmy3t44gavc2gahsxcughj5v9g5tj0q7j82fu5958qudwjjk", "p2tr": "ltc1pg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zqy57lvv", "dest_wsh": "ltc1qr40x58kamukttxmmhspp3cpuxpw7dsg5sk325rfm4lr5v66t3c7qy9rjtd"}},
	{"DOGE", "DOGE", 3, false, map[string]string{"p2pkh": "DM14Px1dMV2VmdoeE5RekqL3L7cSJMg8b4", "p2sh": "A4gkCrEjFNW6JPd9nkVYxtdrEpeCAZ6rcm", "dest": "DAXT46EkNtFGa5vfwEacPtGuH3Tcavf1TE"}},
	{"BCH", "BCH", 145, true, map[string]string{"p2pkh": "bitcoincash:qzklee2022djz48rcdsmhclh6swmqc6hzuey3883xq", "p2sh": "bitcoincash:pzr9u5he0jes3s76mmya0ea4myl37q6l8uwz5cppru", "dest": "bitcoincash:qqa39eunua5xxdacjm4y0f0vgndlw6tavc3spglxef"}},
}

var testnetAddrs = map[string]string{"p2pkh": "mwNv9k9xs6ZU1k6fD4QU2zNmJyUqwjLZQq", "p2sh": "2N5VhXk6rnm8YbotE3kT1LhzjkbUKrSvwwh", "dest": "mkuJotP5tVnEpCDgvDZRg3KdFuL2Ef33a6", "p2sh-p2wpkh": "2MsMDS1VFCfagMu4JosTB6bHm4ZWM6dmeiV", "p2wpkh": "tb1q4h7w2n6jnvs4fc7rvxa78a75rkcxx4chhutjsj", "p2wsh": "tb1qxrkryq96y7mmy3t44gavc2gahsxcughj5v9g5tj0q7j82fu5958qgpkdju", "p2tr": "tb1pg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zqscxqvx", "dest_wsh": "tb1qr40x58kamukttxmmhspp3cpuxpw7dsg5sk325rfm4lr5v66t3c7qsfmdt8"}

// kinds lists the input kinds each chain can spend.
func (c tChain) kinds() []string {
	if c.token == "DOGE" || c.token == "BCH" {
		return []string{"p2pkh", "p2sh"}
	}
	return []string{"p2pkh", "p2sh", "p2sh-p2wpkh", "p2wpkh", "p2wsh", "p2tr"}
}

// tSPK is the scriptPubKey of an input kind (or destination).
func tSPK(kind string) string {
	switch kind {
	case "p2pkh":
		return "76a914" + tPKH + "88ac"
	case "p2sh":
		return "a914" + tMSH160 + "87"
	case "p2sh-p2wpkh":
		return "a914" + tWPKHRdmH + "87"
	case "p2wpkh":
		return "0014" + tPKH
	case "p2wsh":
		return "0020" + tMSSHA
	case "p2tr":
		return "5120" + tXOnly
	case "dest":
		return "76a914" + tDestPKH + "88ac"
	case "dest_wsh":
		return "0020" + tDestWSH
	}
	panic(kind)
}

func tRedeem(kind string) string {
	switch kind {
	case "p2sh", "p2wsh":
		return tMS
	case "p2sh-p2wpkh":
		return tWPKHRdm
	}
	return ""
}

type tIn struct {
	txid   string // display order
	vout   uint32
	seq    uint32
	kind   string
	amount int64
}

type tOut struct {
	spk   string
	value int64
}

type tTx struct {
	version  uint32
	ins      []tIn
	outs     []tOut
	locktime uint32
}

func le32(v uint32) string {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	return hex.EncodeToString(b)
}
func le64(v int64) string {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(v))
	return hex.EncodeToString(b)
}

// varStr is a hex string prefixed with its byte length (scripts here are
// all shorter than 0xfd bytes).
func varStr(h string) string { return fmt.Sprintf("%02x", len(h)/2) + h }

func revHex(h string) string {
	b, _ := hex.DecodeString(h)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return hex.EncodeToString(b)
}

func dsha(h string) string {
	b, _ := hex.DecodeString(h)
	x := sha256.Sum256(b)
	y := sha256.Sum256(x[:])
	return hex.EncodeToString(y[:])
}

func ssha(h string) string {
	b, _ := hex.DecodeString(h)
	x := sha256.Sum256(b)
	return hex.EncodeToString(x[:])
}

func (t tTx) outpoint(i int) string { return revHex(t.ins[i].txid) + le32(t.ins[i].vout) }

func (t tTx) outputsHex() string {
	s := ""
	for _, o := range t.outs {
		s += le64(o.value) + varStr(o.spk)
	}
	return s
}

// hex is the legacy serialization, with script as input sigIdx's scriptSig
// (sigIdx -1: every scriptSig empty).
func (t tTx) hexWith(sigIdx int, script string) string {
	s := le32(t.version) + fmt.Sprintf("%02x", len(t.ins))
	for i := range t.ins {
		sig := ""
		if i == sigIdx {
			sig = script
		}
		s += t.outpoint(i) + varStr(sig) + le32(t.ins[i].seq)
	}
	return s + fmt.Sprintf("%02x", len(t.outs)) + t.outputsHex() + le32(t.locktime)
}

func (t tTx) unsigned() string { return t.hexWith(-1, "") }

func (t tTx) legacyDigest(i int, scriptCode string) string {
	return dsha(t.hexWith(i, scriptCode) + le32(sighashAll))
}

func (t tTx) bip143Digest(i int, scriptCode string, hashType uint32) string {
	prev, seq := "", ""
	for j := range t.ins {
		prev += t.outpoint(j)
		seq += le32(t.ins[j].seq)
	}
	pre := le32(t.version) + dsha(prev) + dsha(seq) + t.outpoint(i) + varStr(scriptCode) +
		le64(t.ins[i].amount) + le32(t.ins[i].seq) + dsha(t.outputsHex()) + le32(t.locktime) + le32(hashType)
	return dsha(pre)
}

// bip341Digest is the key-path digest for hash type 0 or 1.
func (t tTx) bip341Digest(i int, hashType byte) string {
	prev, amts, spks, seq := "", "", "", ""
	for j, in := range t.ins {
		prev += t.outpoint(j)
		amts += le64(in.amount)
		spks += varStr(tSPK(in.kind))
		seq += le32(in.seq)
	}
	msg := "00" + fmt.Sprintf("%02x", hashType) + le32(t.version) + le32(t.locktime) +
		ssha(prev) + ssha(amts) + ssha(spks) + ssha(seq) + ssha(t.outputsHex()) + "00" + le32(uint32(i))
	tag := ssha(hex.EncodeToString([]byte("TapSighash")))
	return ssha(tag + tag + msg)
}

// digest is what the node signs for input i on chain c.
func (t tTx) digest(c tChain, i int) string {
	in := t.ins[i]
	if c.forkID {
		code := tSPK(in.kind)
		if in.kind == "p2sh" {
			code = tMS
		}
		return t.bip143Digest(i, code, 0x41)
	}
	switch in.kind {
	case "p2pkh":
		return t.legacyDigest(i, tSPK(in.kind))
	case "p2sh":
		return t.legacyDigest(i, tMS)
	case "p2sh-p2wpkh":
		return t.bip143Digest(i, "76a914"+tPK2H+"88ac", sighashAll)
	case "p2wpkh":
		return t.bip143Digest(i, "76a914"+tPKH+"88ac", sighashAll)
	case "p2wsh":
		return t.bip143Digest(i, tMS, sighashAll)
	case "p2tr":
		return t.bip341Digest(i, 0)
	}
	panic(in.kind)
}

func sats(v int64) string { return decimal.FromBaseUnits(big.NewInt(v), 8).String() }

// tCase is a generated KEYSIGN: the transaction and Cobo's description.
type tCase struct {
	chain  tChain
	tx     tTx
	raw    string
	hashes []string
	utxos  []map[string]any
	dests  []map[string]any
	change []map[string]any
	paths  []string
}

// newCase builds a two-input transaction spending kind on c: a payment
// of 0.3 to c's dest address and change to the inputs' own address.
func newCase(c tChain, kind string) *tCase {
	h := sha256.Sum256([]byte(c.token + kind))
	tx := tTx{version: 2, locktime: 800000, ins: []tIn{
		{txid: hex.EncodeToString(h[:]), vout: 1, seq: 0xfffffffd, kind: kind, amount: 50_000_000},
		{txid: revHex(hex.EncodeToString(h[:])), vout: 0, seq: 0xffffffff, kind: kind, amount: 25_000_000},
	}, outs: []tOut{
		{spk: tSPK("dest"), value: 30_000_000},
		{spk: tSPK(kind), value: 44_990_000},
	}}
	tc := &tCase{chain: c, tx: tx}
	tc.refresh()
	tc.dests = []map[string]any{{"address": c.addr["dest"], "amount": "0.3", "script": nil}}
	tc.change = []map[string]any{{"address": c.addr[kind], "value": "0.4499"}}
	return tc
}

// refresh recomputes raw bytes, digests and selected_utxos from tx.
func (tc *tCase) refresh() {
	tc.raw = tc.tx.unsigned()
	tc.hashes = nil
	tc.utxos = nil
	for i, in := range tc.tx.ins {
		tc.hashes = append(tc.hashes, "0x"+tc.tx.digest(tc.chain, i))
		var redeem any
		if r := tRedeem(in.kind); r != "" {
			redeem = r
		}
		tc.utxos = append(tc.utxos, map[string]any{
			"tx_hash": in.txid, "vout_n": in.vout, "address": tc.chain.addr[in.kind],
			"value": sats(in.amount), "redeem_script": redeem, "revealed_script": nil,
		})
	}
}

func (tc *tCase) request(t testing.TB) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var dm, xm map[string]any
	mustUnmarshal(t, detail, &dm)
	mustUnmarshal(t, extra, &xm)
	hashes, paths := []any{}, []any{}
	for i, h := range tc.hashes {
		hashes = append(hashes, h)
		p := fmt.Sprintf("m/44/%d/0/0/%d", tc.chain.coin, i)
		if i < len(tc.paths) {
			p = tc.paths[i]
		}
		paths = append(paths, p)
	}
	dm["msg_hash_list"], dm["bip32_path_list"] = hashes, paths
	dm["signature_type"] = 1
	x := xm["transaction"].(map[string]any)
	x["token_id"], x["chain_id"] = tc.chain.token, tc.chain.chainID
	utxos := make([]any, len(tc.utxos))
	for i, u := range tc.utxos {
		utxos[i] = u
	}
	changes := make([]any, len(tc.change))
	for i, c := range tc.change {
		changes[i] = c
	}
	info := map[string]any{"used_nonce": nil, "selected_utxos": utxos, "raw_tx": "", "unsigned_raw_tx": tc.raw, "utxo_changes": changes}
	if len(tc.change) > 0 {
		info["utxo_change"] = tc.change[0]
	}
	x["raw_tx_info"] = info
	outs := make([]any, len(tc.dests))
	for i, d := range tc.dests {
		outs[i] = d
	}
	x["destination"] = map[string]any{"destination_type": "Address", "utxo_outputs": outs, "account_output": nil}
	return decodeRequest(t, protocol.V2, dm, xm)
}

func (tc *tCase) verify(t testing.TB) Result {
	t.Helper()
	return DefaultRegistry().Verify(tc.request(t))
}

var amountSignedKinds = map[string]bool{"p2sh-p2wpkh": true, "p2wpkh": true, "p2wsh": true, "p2tr": true}

// TestUTXOGenuine verifies a generated transaction for every chain and
// input type, in the legacy and the segwit-marker serialization, and
// checks every fact.
func TestUTXOGenuine(t *testing.T) {
	for _, c := range tChains {
		for _, kind := range c.kinds() {
			t.Run(c.token+"/"+kind, func(t *testing.T) {
				tc := newCase(c, kind)
				for _, form := range []string{"legacy", "marker"} {
					if form == "marker" {
						r := tc.tx.unsigned()
						// version, 00 01, body, one empty witness per input, locktime
						tc.raw = r[:8] + "0001" + r[8:len(r)-8] + "0000" + r[len(r)-8:]
					}
					res := tc.verify(t)
					wantVerified(t, res)
					f := res.Facts
					signed := amountSignedKinds[kind] || c.forkID
					wantType := "legacy"
					if amountSignedKinds[kind] {
						wantType = "segwit"
					}
					if f.Chain != ChainUTXO || f.TxType != wantType || f.LockTime == nil || *f.LockTime != 800000 || !f.RBF {
						t.Fatalf("%s: facts chain %s type %s locktime %v rbf %v", form, f.Chain, f.TxType, f.LockTime, f.RBF)
					}
					if res.TokenID != c.token || res.ChainID != c.chainID {
						t.Fatalf("token %s chain %s", res.TokenID, res.ChainID)
					}
					wantST := kind
					if len(f.Inputs) != 2 || f.Inputs[0].ScriptType != wantST || f.Inputs[0].AmountSigned != signed ||
						f.Inputs[0].Outpoint != tc.tx.ins[0].txid+":1" || f.Inputs[1].Outpoint != tc.tx.ins[1].txid+":0" ||
						f.Inputs[0].Amount.String() != "0.5" || f.Inputs[0].Address != c.addr[kind] {
						t.Fatalf("inputs %+v", f.Inputs)
					}
					if len(f.Outputs) != 2 || f.Outputs[0].Change || !f.Outputs[1].Change || f.Outputs[0].Address != c.addr["dest"] || f.Outputs[0].OpReturn != "" {
						t.Fatalf("outputs %+v", f.Outputs)
					}
					if len(f.Destinations) != 1 || f.Destinations[0].Address != c.addr["dest"] || f.Destinations[0].Amount.String() != "0.3" {
						t.Fatalf("destinations %+v", f.Destinations)
					}
					v := res.Verification()
					if signed {
						if f.Fee == nil || f.Fee.Int64() != 10_000 || !v.FeeKnown || v.Fee.String() != "0.0001" || !v.MaxFeeKnown {
							t.Fatalf("fee %v / %v %v", f.Fee, v.Fee, v.FeeKnown)
						}
					} else if f.Fee != nil || v.FeeKnown || v.MaxFeeKnown {
						t.Fatalf("fee %v known although no amount is signed", f.Fee)
					}
				}
			})
		}
	}
}

// TestUTXOTampers changes one thing in a genuine KEYSIGN and requires
// the failure to name the right field.
func TestUTXOTampers(t *testing.T) {
	type tamper struct {
		name   string
		edit   func(tc *tCase)
		field  string
		reason string
		when   func(c tChain, kind string) bool // nil: always
	}
	tampers := []tamper{
		{"output amount changed in the description", func(tc *tCase) { tc.dests[0]["amount"] = "0.30000001" }, "amount", "0.30000001", nil},
		{"output address changed in the description", func(tc *tCase) { tc.dests[0]["address"] = tc.chain.addr["p2pkh"]; tc.dests[0]["amount"] = "0.3" }, "destination", "", func(_ tChain, kind string) bool { return kind != "p2pkh" }},
		{"payment labelled as change", func(tc *tCase) {
			tc.change = append(tc.change, map[string]any{"address": tc.chain.addr["dest"], "value": "0.3"})
			tc.dests = []map[string]any{{"address": tc.chain.addr[tc.tx.ins[0].kind], "amount": "0"}}
		}, "destination", "does not list", nil},
		{"described change that is not an output", func(tc *tCase) { tc.change[0]["value"] = "0.45" }, "utxo_change", "not an output", nil},
		{"hash from another transaction", func(tc *tCase) {
			other := tc.tx
			other.locktime++
			tc.hashes[1] = "0x" + other.digest(tc.chain, 1)
		}, "msg_hash_list", "not a SIGHASH_ALL/DEFAULT digest", nil},
		{"hash of one input given twice", func(tc *tCase) { tc.hashes[1] = tc.hashes[0] }, "msg_hash_list", "repeats", nil},
		{"one input left unsigned", func(tc *tCase) { tc.hashes = tc.hashes[:1] }, "msg_hash_list", "every input must be signed", nil},
		{"missing selected_utxos entry", func(tc *tCase) { tc.utxos = tc.utxos[:1] }, "selected_utxos", "no selected_utxos entry", nil},
		{"extra selected_utxos entry", func(tc *tCase) {
			extra := map[string]any{}
			for k, v := range tc.utxos[0] {
				extra[k] = v
			}
			extra["vout_n"] = 7
			tc.utxos = append(tc.utxos, extra)
		}, "selected_utxos", "not spent by the transaction", nil},
		{"duplicate selected_utxos entry", func(tc *tCase) { tc.utxos = append(tc.utxos, tc.utxos[1]) }, "selected_utxos", "both describe", nil},
		{"wrong amount for a signed input", func(tc *tCase) { tc.utxos[0]["value"] = "0.50000001" }, "msg_hash_list", "", func(c tChain, kind string) bool { return amountSignedKinds[kind] || c.forkID }},
		{"truncated bytes", func(tc *tCase) { tc.raw = tc.raw[:len(tc.raw)-2] }, "unsigned_raw_tx", "truncated", nil},
		{"empty unsigned_raw_tx", func(tc *tCase) { tc.raw = "" }, "unsigned_raw_tx", "", nil},
		{"missing redeem_script", func(tc *tCase) { tc.utxos[0]["redeem_script"] = nil }, "selected_utxos", "redeem_script is absent", func(_ tChain, kind string) bool { return tRedeem(kind) != "" }},
		{"redeem_script that does not hash to the address", func(tc *tCase) { tc.utxos[0]["redeem_script"] = tMS[:len(tMS)-2] + "ad" }, "selected_utxos", "does not hash", func(_ tChain, kind string) bool { return tRedeem(kind) != "" }},
		{"redeem_script on an input that has none", func(tc *tCase) { tc.utxos[0]["redeem_script"] = tMS }, "selected_utxos", "has none", func(_ tChain, kind string) bool { return tRedeem(kind) == "" }},
		{"revealed_script (script path)", func(tc *tCase) { tc.utxos[0]["revealed_script"] = "0x51" }, "selected_utxos", "script-path", nil},
		{"another network's address", func(tc *tCase) {
			other := tChains[0]
			if tc.chain.token == "BTC" || tc.chain.token == "BCH" {
				other = tChains[3]
			}
			tc.utxos[0]["address"] = other.addr["p2pkh"]
		}, "selected_utxos", "address", nil},
		{"uppercase tx_hash", func(tc *tCase) { tc.utxos[0]["tx_hash"] = strings.ToUpper(tc.utxos[0]["tx_hash"].(string)) }, "selected_utxos", "lower-case", nil},
		{"value with nine decimals", func(tc *tCase) { tc.utxos[1]["value"] = "0.250000001" }, "selected_utxos", "whole number of satoshis", nil},
		{"burnt coins in an OP_RETURN", func(tc *tCase) {
			tc.tx.outs = append(tc.tx.outs, tOut{spk: "6a0401020304", value: 1})
			tc.tx.outs[1].value--
			tc.refresh()
		}, "destination", "OP_RETURN", nil},
		{"an undescribed extra payment", func(tc *tCase) {
			tc.tx.outs = append(tc.tx.outs, tOut{spk: tSPK("dest"), value: 1000})
			tc.tx.outs[1].value -= 1000
			tc.refresh()
			tc.change[0]["value"] = sats(tc.tx.outs[1].value)
		}, "destination", "does not list", nil},
		{"outputs above inputs", func(tc *tCase) {
			tc.tx.outs[1].value += 20_000
			tc.refresh()
			tc.change[0]["value"] = sats(tc.tx.outs[1].value)
		}, "selected_utxos", "less than the outputs", func(c tChain, kind string) bool { return amountSignedKinds[kind] || c.forkID }},
		{"v1-style token on a chain with no inputs signed as segwit digest", func(tc *tCase) {
			// a BIP-143 digest for a legacy input: the node would sign
			// what the chain does not check, and an amount nobody binds.
			tc.hashes[0] = "0x" + tc.tx.bip143Digest(0, tSPK("p2pkh"), sighashAll)
		}, "msg_hash_list", "", func(c tChain, kind string) bool { return kind == "p2pkh" && !c.forkID }},
	}
	for _, c := range tChains {
		for _, kind := range c.kinds() {
			for _, tp := range tampers {
				if tp.when != nil && !tp.when(c, kind) {
					continue
				}
				t.Run(c.token+"/"+kind+"/"+tp.name, func(t *testing.T) {
					tc := newCase(c, kind)
					tp.edit(tc)
					wantFailure(t, tc.verify(t), tp.field, tp.reason)
				})
			}
		}
	}
}

// TestUTXOUnsignedAmounts: on a legacy input the amount is not signed, so
// a wrong amount still verifies, and the fee stays unknown.
func TestUTXOUnsignedAmounts(t *testing.T) {
	for _, c := range tChains {
		if c.forkID {
			continue
		}
		tc := newCase(c, "p2pkh")
		tc.utxos[0]["value"] = "20"
		res := tc.verify(t)
		wantVerified(t, res)
		if res.Facts.Fee != nil || res.Verification().FeeKnown || res.Facts.Inputs[0].AmountSigned {
			t.Fatalf("%s: fee known on unsigned amounts", c.token)
		}
	}
}

// TestUTXOOtherHashTypes: a digest for SIGHASH_ALL|ANYONECANPAY or a
// BCH digest without FORKID matches nothing.
func TestUTXOOtherHashTypes(t *testing.T) {
	tc := newCase(tChains[0], "p2wpkh")
	tc.hashes[0] = "0x" + tc.tx.bip143Digest(0, "76a914"+tPKH+"88ac", 0x81)
	wantFailure(t, tc.verify(t), "msg_hash_list", "not a SIGHASH_ALL/DEFAULT digest")
	bch := newCase(tChains[5], "p2pkh")
	bch.hashes[0] = "0x" + bch.tx.bip143Digest(0, tSPK("p2pkh"), sighashAll)
	wantFailure(t, bch.verify(t), "msg_hash_list", "")
	tr := newCase(tChains[0], "p2tr")
	tr.hashes[1] = "0x" + tr.tx.bip341Digest(1, 1) // SIGHASH_ALL is accepted too
	wantVerified(t, tr.verify(t))
}

// TestUTXOSelfTransfer: a zero-amount destination to the wallet's own
// address (Cobo's self-transfer / RBF drop form) matches no output.
func TestUTXOSelfTransfer(t *testing.T) {
	tc := newCase(tChains[1], "p2wpkh")
	tc.tx.outs = tc.tx.outs[1:]
	tc.tx.outs[0].value = 74_990_000
	tc.refresh()
	tc.dests = []map[string]any{{"address": tc.chain.addr["p2wpkh"], "amount": "0"}}
	tc.change = []map[string]any{{"address": tc.chain.addr["p2wpkh"], "value": "0.7499"}}
	res := tc.verify(t)
	wantVerified(t, res)
	if len(res.Facts.Destinations) != 0 || res.Verification().Fee.String() != "0.0001" {
		t.Fatalf("destinations %+v", res.Facts.Destinations)
	}
	// A zero-amount destination to someone else is not ignored.
	tc.dests = []map[string]any{{"address": tc.chain.addr["dest"], "amount": "0"}}
	wantFailure(t, tc.verify(t), "destination")
}

// TestUTXOZeroOpReturn: a zero-value OP_RETURN is neither change nor a
// destination and carries its data as a fact.
func TestUTXOZeroOpReturn(t *testing.T) {
	tc := newCase(tChains[0], "p2tr")
	tc.tx.outs = append(tc.tx.outs, tOut{spk: "6a0401020304"})
	tc.refresh()
	res := tc.verify(t)
	wantVerified(t, res)
	o := res.Facts.Outputs[2]
	if o.OpReturn != "0x6a0401020304" || o.Change || o.Address != "" || len(res.Facts.Destinations) != 1 {
		t.Fatalf("outputs %+v", res.Facts.Outputs)
	}
}

// TestUTXOMultiPayment: several payments, one described per output,
// compared as a multiset whatever the order.
func TestUTXOMultiPayment(t *testing.T) {
	tc := newCase(tChains[0], "p2wpkh")
	tc.tx.outs = []tOut{{spk: tSPK("dest"), value: 10_000_000}, {spk: tSPK("dest_wsh"), value: 20_000_000}, {spk: tSPK("dest"), value: 10_000_000}, {spk: tSPK("p2wpkh"), value: 34_990_000}}
	tc.refresh()
	tc.change = []map[string]any{{"address": tc.chain.addr["p2wpkh"], "value": "0.3499"}}
	tc.dests = []map[string]any{
		{"address": tc.chain.addr["dest_wsh"], "amount": "0.2"},
		{"address": tc.chain.addr["dest"], "amount": "0.1"},
		{"address": tc.chain.addr["dest"], "amount": "0.1"},
	}
	res := tc.verify(t)
	wantVerified(t, res)
	if v := res.Verification(); len(v.Destinations) != 3 {
		t.Fatalf("destinations %+v", v.Destinations)
	}
	tc.dests[0]["address"] = strings.ToUpper(tc.chain.addr["dest_wsh"]) // compared canonically
	wantVerified(t, tc.verify(t))
	tc.dests = tc.dests[:2] // one of the two equal payments undescribed
	wantFailure(t, tc.verify(t), "destination", "does not list")
	tc.dests = append(tc.dests, map[string]any{"address": tc.chain.addr["dest"], "amount": "0.2"})
	wantFailure(t, tc.verify(t), "amount", "0.2")
}

// TestUTXOPSBT accepts a PSBT wrapping the unsigned transaction (hex and
// base64) whose witness_utxo agrees with selected_utxos, and refuses one
// that contradicts it.
func TestUTXOPSBT(t *testing.T) {
	tc := newCase(tChains[0], "p2wpkh")
	psbt := func(amount0 int64) string {
		u := tc.tx.unsigned()
		if len(u)/2 >= 0xfd {
			t.Fatal("test PSBT encoder handles only short transactions")
		}
		s := "70736274ff" + "01" + "00" + varStr(u) + "00"
		for i, in := range tc.tx.ins {
			amt := in.amount
			if i == 0 {
				amt = amount0
			}
			w := le64(amt) + varStr(tSPK(in.kind))
			s += "01" + "01" + varStr(w) + "00"
		}
		for range tc.tx.outs {
			s += "00"
		}
		return s
	}
	tc.raw = psbt(50_000_000)
	wantVerified(t, tc.verify(t))
	b, _ := hex.DecodeString(tc.raw)
	tc.raw = base64Std(b)
	wantVerified(t, tc.verify(t))
	tc.raw = psbt(60_000_000)
	wantFailure(t, tc.verify(t), "unsigned_raw_tx", "contradicts selected_utxos")
	tc.raw = "70736274ff00"
	wantFailure(t, tc.verify(t), "unsigned_raw_tx", "PSBT")
	tc.raw = "cHNidP8!"
	wantFailure(t, tc.verify(t), "unsigned_raw_tx", "base64")
}

// TestUTXORelabelled: UTXO coin types are verifiable, so a token without
// a decoder cannot sign on them.
func TestUTXORelabelled(t *testing.T) {
	tc := newCase(tChains[0], "p2wpkh")
	tc.chain.token, tc.chain.chainID = "XRP", "XRP"
	res := tc.verify(t)
	wantFailure(t, res, "bip32_path_list", "coin type 0")
	if res.Unsupported {
		t.Fatal("relabelled UTXO transaction reported unsupported")
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
