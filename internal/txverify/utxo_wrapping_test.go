package txverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// fix11 (attack 4 follow-up): the spellings of one script code that would
// let a description choose the input's facts are refused, witness
// programs are refused where segwit is not in force, and change is
// decided by the input's change class. Transactions, digests and
// addresses come from the independent encoders of attack4_utxo_test.go.

func TestUTXOAmbiguousAndUnsignedWrappingsRefused(t *testing.T) {
	h := bytes.Repeat([]byte{0x42}, 20)
	code := a4p2pkh(h)
	wsh := sha256.Sum256(code)
	w0 := a4v0(h)
	wsh0 := a4v0(bytes.Repeat([]byte{0x24}, 32))
	v2 := append([]byte{0x52, 0x10}, bytes.Repeat([]byte{0x33}, 16)...)
	cases := []struct {
		name, token string
		coin        int
		p2pkhV      byte // destination's version byte
		inAddr      string
		redeem      []byte
		digest      func(a4Tx) []byte
		reason      string
	}{
		{"BTC P2WSH of a P2PKH script", "BTC", 0, 0x00, a4bech32("bc", wsh[:]), code,
			func(tx a4Tx) []byte { return tx.bip143(code) }, "is the P2PKH script of key hash"},
		{"BTC P2SH of a P2PKH script", "BTC", 0, 0x00, a4base58check(0x05, a4hash160(code)), code,
			func(tx a4Tx) []byte { return tx.legacy(code) }, "is the P2PKH script of key hash"},
		{"BCH P2SH of a P2PKH script", "BCH", 145, 0x00, a4base58check(0x05, a4hash160(code)), code,
			func(tx a4Tx) []byte { return tx.bip143ht(code, 0x41) }, "is the P2PKH script of key hash"},
		{"DOGE P2SH of a v0 key-hash program", "DOGE", 3, 0x1e, a4base58check(0x16, a4hash160(w0)), w0,
			func(tx a4Tx) []byte { return tx.bip143(code) }, "is a witness program; doge has no segwit"},
		{"DOGE P2SH of a v0 script-hash program", "DOGE", 3, 0x1e, a4base58check(0x16, a4hash160(wsh0)), wsh0,
			func(tx a4Tx) []byte { return tx.legacy(wsh0) }, "is a witness program; doge has no segwit"},
		{"BCH P2SH of a v0 key-hash program", "BCH", 145, 0x00, a4base58check(0x05, a4hash160(w0)), w0,
			func(tx a4Tx) []byte { return tx.bip143ht(w0, 0x41) }, "is a witness program; bch has no segwit"},
		{"BCH P2SH of a v2 program", "BCH", 145, 0x00, a4base58check(0x05, a4hash160(v2)), v2,
			func(tx a4Tx) []byte { return tx.bip143ht(v2, 0x41) }, "is a witness program; bch has no segwit"},
		{"BTC P2SH of a v2 program (spendable without a signature)", "BTC", 0, 0x00, a4base58check(0x05, a4hash160(v2)), v2,
			func(tx a4Tx) []byte { return tx.legacy(v2) }, "P2SH-wrapped witness program"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := a4Tx{vout: 1, amount: 200_000_000}
			copy(tx.prevHash[:], a4dsha([]byte(c.name)))
			dest := bytes.Repeat([]byte{0x55}, 20)
			tx.outs = [][2]any{{a4p2pkh(dest), int64(150_000_000)}}
			res := DefaultRegistry().Verify(a4Request(t, tx, c.digest(tx), a4Desc{
				token: c.token, chain: c.token, coin: c.coin, inAddr: c.inAddr, redeem: hex.EncodeToString(c.redeem),
				dests: [][2]string{{a4base58check(c.p2pkhV, dest), "1.5"}},
			}))
			if res.Verified {
				t.Fatalf("verified: %+v", res.Facts.Inputs)
			}
			if res.Field != "selected_utxos" || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("refused as %s: %s; want selected_utxos: ...%s...", res.Field, res.Reason, c.reason)
			}
		})
	}
}

func TestUTXOChangeByWrappingClass(t *testing.T) {
	h := bytes.Repeat([]byte{0x77}, 20)
	code := a4p2pkh(h)
	w0 := a4v0(h)
	nested := a4p2sh(a4hash160(w0))
	wsh := sha256.Sum256(code)
	native := a4bech32("bc", h)
	nestedAddr := a4base58check(0x05, a4hash160(w0))
	dest := bytes.Repeat([]byte{0x55}, 20)
	destAddr := a4base58check(0x00, dest)
	cases := []struct {
		name           string
		inAddr, redeem string
		second         []byte // the second output's script
		secondAddr     string
		dests, changes [][2]string
		wantChange     bool   // second output is change
		wantRefused    string // reason fragment; "" when it must verify
	}{
		{name: "P2WPKH input pays its P2SH-P2WPKH spelling, described as change",
			inAddr: native, second: nested, secondAddr: nestedAddr,
			dests: [][2]string{{destAddr, "0.3"}}, changes: [][2]string{{nestedAddr, "0.6999"}}, wantChange: true},
		{name: "P2WPKH input pays its P2SH-P2WPKH spelling, described as a destination",
			inAddr: native, second: nested, secondAddr: nestedAddr,
			dests: [][2]string{{destAddr, "0.3"}, {nestedAddr, "0.6999"}}, wantChange: true},
		{name: "P2SH-P2WPKH input pays its P2WPKH spelling",
			inAddr: nestedAddr, redeem: hex.EncodeToString(w0), second: w0, secondAddr: native,
			dests: [][2]string{{destAddr, "0.3"}}, changes: [][2]string{{native, "0.6999"}}, wantChange: true},
		{name: "P2WPKH input pays P2WSH of its P2PKH script: not change (never spendable through tssgate)",
			inAddr: native, second: a4v0(wsh[:]), secondAddr: a4bech32("bc", wsh[:]),
			dests: [][2]string{{destAddr, "0.3"}, {a4bech32("bc", wsh[:]), "0.6999"}}},
		{name: "P2WSH-of-P2PKH payment left out of the description",
			inAddr: native, second: a4v0(wsh[:]), secondAddr: a4bech32("bc", wsh[:]),
			dests: [][2]string{{destAddr, "0.3"}}, changes: [][2]string{{a4bech32("bc", wsh[:]), "0.6999"}},
			wantRefused: "which the description does not list"},
		{name: "change spelling described as a destination at another amount",
			inAddr: native, second: nested, secondAddr: nestedAddr,
			dests:       [][2]string{{destAddr, "0.3"}, {nestedAddr, "0.7"}},
			wantRefused: "is not an output of the transaction"},
		{name: "real payment left out while the change is described",
			inAddr: native, second: nested, secondAddr: nestedAddr,
			dests: [][2]string{{nestedAddr, "0.6999"}}, wantRefused: "which the description does not list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := a4Tx{vout: 0, amount: 100_000_000}
			copy(tx.prevHash[:], a4dsha([]byte(c.name)))
			tx.outs = [][2]any{{a4p2pkh(dest), int64(30_000_000)}, {c.second, int64(69_990_000)}}
			res := DefaultRegistry().Verify(a4Request(t, tx, tx.bip143(code), a4Desc{
				token: "BTC", chain: "BTC", coin: 0, inAddr: c.inAddr, redeem: c.redeem,
				dests: c.dests, changes: c.changes,
			}))
			if c.wantRefused != "" {
				if res.Verified || !strings.Contains(res.Reason, c.wantRefused) {
					t.Fatalf("verified=%v %s: %s; want refused: ...%s...", res.Verified, res.Field, res.Reason, c.wantRefused)
				}
				return
			}
			if !res.Verified {
				t.Fatalf("not verified: %s: %s", res.Field, res.Reason)
			}
			f := res.Facts
			if f.Outputs[0].Change || f.Outputs[1].Change != c.wantChange || f.Outputs[1].Address != c.secondAddr {
				t.Errorf("outputs %+v, want output 1 (%s) change=%v", f.Outputs, c.secondAddr, c.wantChange)
			}
			wantDests := 1
			if !c.wantChange {
				wantDests = 2
			}
			if len(f.Destinations) != wantDests || f.Destinations[0].Address != destAddr {
				t.Errorf("destinations %+v, want %d starting with %s", f.Destinations, wantDests, destAddr)
			}
			if f.Fee == nil || f.Fee.Int64() != 10_000 {
				t.Errorf("fee %v, want 10000 sat", f.Fee)
			}
		})
	}
}
