package btc

import (
	"bytes"
	"encoding/hex"
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
