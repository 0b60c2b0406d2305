package btc

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzParseUnsignedTx checks that parsing never panics and that whatever
// parses re-serializes to a canonical form that parses to the same
// transaction (so one set of bytes has one meaning).
func FuzzParseUnsignedTx(f *testing.F) {
	for _, s := range []string{stakeUnsigned, markerForm(stakeUnsigned, 1)} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := ParseUnsignedTx(b)
		if err != nil {
			return
		}
		ser := tx.Serialize()
		again, err := ParseUnsignedTx(ser)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v", err)
		}
		if !bytes.Equal(again.Serialize(), ser) || again.TxID() != tx.TxID() {
			t.Fatal("canonical form is not stable")
		}
		prev := make([]TxOut, len(tx.Inputs))
		h := NewSigHasher(tx, prev)
		for i := range tx.Inputs {
			_, _ = h.Legacy(i, nil)
			_, _ = h.WitnessV0(i, nil, 0, SigHashAll)
			_, _ = h.Taproot(i, SigHashDefault, nil)
		}
	})
}

// FuzzParsePSBT checks that PSBT parsing never panics and that an
// accepted PSBT's transaction and claims are internally consistent.
func FuzzParsePSBT(f *testing.F) {
	b, _ := hex.DecodeString("70736274ff01005e0200000001e549d679837f1674271464d129c5cafd9eff596bd7c4c3af179ff27dcb4a85610000000000000000000122c4000000000000225120d6ff0e95cfb7fe71762b8185decc04ba9b2996ca550a520578c5a0ed75db1696000000000001012bccc9000000000000225120d6ff0e95cfb7fe71762b8185decc04ba9b2996ca550a520578c5a0ed75db16960000")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePSBT(b)
		if err != nil {
			return
		}
		if len(p.Inputs) != len(p.Tx.Inputs) {
			t.Fatal("input maps do not match inputs")
		}
		for i, in := range p.Inputs {
			if in.NonWitnessUTXO != nil && DoubleSHA256(in.NonWitnessUTXO.Serialize()) != p.Tx.Inputs[i].PrevOut.Hash {
				t.Fatal("non-witness utxo is not the spent transaction")
			}
		}
	})
}

// FuzzDecodeAddress checks that an accepted address re-encodes to a
// canonical address with the same script.
func FuzzDecodeAddress(f *testing.F) {
	f.Add("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 0)
	f.Add("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", 5)
	f.Add("1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", 0)
	nets := []*Network{Mainnet, Testnet, Signet, Litecoin, Dogecoin, BitcoinCash}
	f.Fuzz(func(t *testing.T, s string, n int) {
		net := nets[(n%len(nets)+len(nets))%len(nets)]
		pk, err := DecodeAddress(net, s)
		if err != nil {
			return
		}
		canon, err := EncodeAddress(net, pk)
		if err != nil {
			t.Fatalf("decoded %q to %x which has no address: %v", s, pk, err)
		}
		pk2, err := DecodeAddress(net, canon)
		if err != nil || !bytes.Equal(pk, pk2) {
			t.Fatalf("canonical %q does not decode back: %v", canon, err)
		}
	})
}
