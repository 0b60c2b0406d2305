package btc

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// stakeUnsigned is the derived unsigned form of the Cobo stake record.
const stakeUnsigned = "0200000001e549d679837f1674271464d129c5cafd9eff596bd7c4c3af179ff27dcb4a85610000000000000000000122c4000000000000225120d6ff0e95cfb7fe71762b8185decc04ba9b2996ca550a520578c5a0ed75db169600000000"

// markerForm inserts the segwit marker and one empty witness per input
// into a legacy serialization, written by hand from BIP-144 (version,
// 00 01, body, one 00 per input, locktime).
func markerForm(legacy string, inputs int) string {
	return legacy[:8] + "0001" + legacy[8:len(legacy)-8] + strings.Repeat("00", inputs) + legacy[len(legacy)-8:]
}

func TestParseUnsignedTx(t *testing.T) {
	legacy := stakeUnsigned
	cases := []struct {
		name, hex, err string
	}{
		{"legacy form", legacy, ""},
		{"marker form with empty witness", markerForm(legacy, 1), ""},
		{"marker form with a witness item", legacy[:8] + "0001" + legacy[8:len(legacy)-8] + "0100" + legacy[len(legacy)-8:], "witness"},
		{"unknown flag", legacy[:8] + "0002" + legacy[8:], "flag"},
		{"trailing byte", legacy + "00", "after the transaction"},
		{"truncated", legacy[:len(legacy)-2], "truncated"},
		{"non-canonical input count", legacy[:8] + "fd0100" + legacy[10:], "non-canonical"},
		{"huge input count", legacy[:8] + "ffffffffffffffff00" + legacy[10:], "cannot fit"},
		{"no outputs", legacy[:8] + "01" + legacy[10:10+82] + "00" + "00000000", "no outputs"},
		{"value above 21M", legacy[:94] + "0140075af0750700" + legacy[110:], "21 million"},
	}
	want, _ := ParseUnsignedTx(mustHex(t, legacy))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, err := ParseUnsignedTx(mustHex(t, c.hex))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(tx.Serialize()) != legacy {
				t.Fatalf("re-serialization %x differs from the canonical form", tx.Serialize())
			}
			if tx.TxID() != "0746377e45e57834436ef938d6cbf9af1c2ba9a2209915341c59be4537e51ced" || tx.TxID() != want.TxID() {
				t.Fatalf("txid %s", tx.TxID())
			}
		})
	}
}

func TestParsePSBTRefusals(t *testing.T) {
	var v utxoVectors
	loadJSON(t, "utxo-vectors.json", &v)
	good := mustHex(t, v.Records[0].Keysign.PSBTHex)
	if _, err := ParsePSBT(good); err != nil {
		t.Fatal(err)
	}
	// Layout of the vector: magic(5) 01 00 5e <94-byte tx> 00 | input map | output map.
	txEnd := 5 + 3 + 94
	cases := []struct {
		name string
		b    []byte
		err  string
	}{
		{"no magic", good[1:], "magic"},
		{"trailing byte", append(bytes.Clone(good), 0), "after the last map"},
		{"truncated", good[:len(good)-1], "map"},
		{"no unsigned tx", append(append([]byte{}, good[:5]...), good[txEnd:]...), "UNSIGNED_TX"},
		{"duplicate global key", append(append(append([]byte{}, good[:txEnd]...), good[5:txEnd]...), good[txEnd:]...), "twice"},
		{"version 2", append(append(append([]byte{}, good[:txEnd]...), 0x01, 0xfb, 0x04, 2, 0, 0, 0), good[txEnd:]...), "version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePSBT(c.b)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

// TestParsePSBTDerivations: every BIP-32 derivation (global xpub, input
// plain and taproot, output plain and taproot) is returned with its map
// and path, fingerprint and leaf hashes dropped; one that does not parse
// refuses the PSBT.
func TestParsePSBTDerivations(t *testing.T) {
	const h = 1 << 31
	le := func(v uint32) string {
		return hex.EncodeToString([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
	}
	lenHex := func(x string) string { return hex.EncodeToString([]byte{byte(len(x) / 2)}) + x }
	entry := func(key, val string) string { return lenHex(key) + lenHex(val) }
	path := func(p ...uint32) string {
		s := "0badf00d"
		for _, i := range p {
			s += le(i)
		}
		return s
	}
	pub, xonly, leaf := "02"+strings.Repeat("11", 32), strings.Repeat("44", 32), strings.Repeat("cd", 32)
	build := func(global, input, output string) []byte {
		return mustHex(t, "70736274ff"+entry("00", stakeUnsigned)+global+"00"+input+"00"+output+"00")
	}
	p, err := ParsePSBT(build(
		entry("01"+strings.Repeat("ab", 78), path(48+h, h, h, 2+h)),
		entry("16"+xonly, "01"+leaf+path(86+h, h, h, 0, 5))+entry("06"+pub, path(84+h, 2+h, h, 0, 0)),
		entry("07"+xonly, "00"+path(86+h, 1+h, h, 1, 0))+entry("02"+pub, path(44, 3, 0, 1, 9)),
	))
	if err != nil {
		t.Fatal(err)
	}
	want := []Derivation{
		{"global", []uint32{48 + h, h, h, 2 + h}},
		{"input 0", []uint32{84 + h, 2 + h, h, 0, 0}}, // key 06… sorts before 16…
		{"input 0", []uint32{86 + h, h, h, 0, 5}},
		{"output 0", []uint32{44, 3, 0, 1, 9}},
		{"output 0", []uint32{86 + h, 1 + h, h, 1, 0}},
	}
	if len(p.Derivations) != len(want) {
		t.Fatalf("derivations %v, want %v", p.Derivations, want)
	}
	for i, d := range p.Derivations {
		if d.Where != want[i].Where || !slices.Equal(d.Path, want[i].Path) {
			t.Fatalf("derivation %d = %v, want %v", i, d, want[i])
		}
	}
	if q, err := ParsePSBT(build("", "", "")); err != nil || len(q.Derivations) != 0 {
		t.Fatalf("PSBT without derivations: %v, %v", q, err)
	}
	refusals := []struct {
		name                  string
		global, input, output string
	}{
		{"path not whole indexes", "", entry("06"+pub, path(84+h, h)+"00"), ""},
		{"no fingerprint", "", "", entry("02"+pub, "0bad")},
		{"taproot leaf count past the value", "", entry("16"+xonly, "02"+leaf+path(86+h, h)), ""},
		{"taproot leaf count missing", "", "", entry("07"+xonly, "")},
		{"global xpub truncated", entry("01"+strings.Repeat("ab", 78), "00"), "", ""},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			if _, err := ParsePSBT(build(r.global, r.input, r.output)); err == nil || !strings.Contains(err.Error(), "malformed BIP-32 derivation") {
				t.Fatalf("error %v, want a malformed derivation", err)
			}
		})
	}
}

func TestSigHashRefusals(t *testing.T) {
	tx, _ := ParseUnsignedTx(mustHex(t, stakeUnsigned))
	prev := []TxOut{{Value: 1, PkScript: tx.Outputs[0].PkScript}}
	if _, err := TaprootSigHash(tx, 0, prev, 0x04, nil); err == nil {
		t.Error("taproot hash type 4 accepted")
	}
	if _, err := TaprootSigHash(tx, 0, nil, 0, nil); err == nil {
		t.Error("taproot without prevouts accepted")
	}
	if _, err := TaprootSigHash(tx, 1, prev, 0, nil); err == nil {
		t.Error("input out of range accepted")
	}
	if _, err := BIP143SigHash(tx, 0, []byte{0xab}, 1, SigHashAll); err == nil {
		t.Error("OP_CODESEPARATOR accepted")
	}
	if _, err := LegacySigHashAll(tx, 0, []byte{0x4c}); err == nil {
		t.Error("truncated push accepted")
	}
	if _, err := BIP143SigHash(tx, 0, P2PKHScript(make([]byte, 20)), -1, SigHashAll); err == nil {
		t.Error("negative amount accepted")
	}
}
