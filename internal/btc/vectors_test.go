package btc

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// utxoVectors is the part of testdata/utxo-vectors.json these tests read.
type utxoVectors struct {
	BIP143 []struct {
		Name        string `json:"name"`
		UnsignedTx  string `json:"unsigned_tx"`
		InputIndex  int    `json:"input_index"`
		PrevScript  string `json:"prevout_script_pubkey"`
		PrevValue   int64  `json:"prevout_value_sat"`
		Redeem      string `json:"redeem_script"`
		ScriptCode  string `json:"script_code"`
		SighashType uint32 `json:"sighash_type"`
		Sighash     string `json:"sighash"`
	} `json:"bip143"`
	BIP341 []struct {
		Name  string `json:"name"`
		RawTx string `json:"raw_unsigned_tx"`
		Utxos []struct {
			Script string `json:"scriptPubKey"`
			Amount int64  `json:"amountSats"`
		} `json:"utxos_spent"`
		Index    int    `json:"txin_index"`
		HashType byte   `json:"hash_type"`
		Sighash  string `json:"sighash"`
	} `json:"bip341_keypath"`
	Addresses []struct {
		Name     string `json:"name"`
		CashAddr string `json:"cashaddr"`
		Legacy   string `json:"legacy"`
		Script   string `json:"script_pubkey"`
		Pubkey   string `json:"pubkey"`
		Cobo     string `json:"cobo_p2tr_testnet"`
	} `json:"addresses"`
	Records []struct {
		Name    string `json:"name"`
		Keysign struct {
			Unsigned   string   `json:"unsigned_raw_tx"`
			PSBTHex    string   `json:"unsigned_psbt_hex"`
			PSBTBase64 string   `json:"unsigned_psbt_base64"`
			Hashes     []string `json:"msg_hash_list"`
		} `json:"keysign"`
		Inputs []struct {
			PrevValue     int64  `json:"prevout_value_sat"`
			PrevScript    string `json:"prevout_script_pubkey"`
			WalletScript  string `json:"selected_utxos_address_script_pubkey"`
			Revealed      string `json:"revealed_script"`
			LeafHash      string `json:"tapleaf_hash"`
			Sighash       string `json:"sighash"`
			SighashWallet string `json:"sighash_with_selected_utxos_address"`
		} `json:"inputs"`
	} `json:"cobo_records"`
}

func TestBIP143Vectors(t *testing.T) {
	var v utxoVectors
	loadJSON(t, "utxo-vectors.json", &v)
	if len(v.BIP143) != 3 {
		t.Fatalf("want 3 BIP-143 vectors, got %d", len(v.BIP143))
	}
	for _, c := range v.BIP143 {
		t.Run(c.Name, func(t *testing.T) {
			tx, err := ParseUnsignedTx(mustHex(t, c.UnsignedTx))
			if err != nil {
				t.Fatal(err)
			}
			var got [32]byte
			if c.ScriptCode == "" { // the legacy input of the example
				got, err = LegacySigHashAll(tx, c.InputIndex, mustHex(t, c.PrevScript))
			} else {
				// The vector's script code carries its length prefix.
				sc := mustHex(t, c.ScriptCode)[1:]
				typ, prog := Classify(mustHex(t, c.PrevScript))
				switch typ {
				case ScriptP2WPKH:
				case ScriptP2SH:
					redeem := mustHex(t, c.Redeem)
					if hex.EncodeToString(Hash160(redeem)) != hex.EncodeToString(prog) {
						t.Fatal("redeem script does not hash to the P2SH program")
					}
					_, prog = Classify(redeem)
				default:
					t.Fatalf("unexpected prevout type %s", typ)
				}
				if want := P2PKHScript(prog); hex.EncodeToString(want) != hex.EncodeToString(sc) {
					t.Fatalf("P2PKHScript = %x, vector script code %x", want, sc)
				}
				got, err = BIP143SigHash(tx, c.InputIndex, sc, c.PrevValue, c.SighashType)
			}
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != c.Sighash {
				t.Fatalf("sighash %x, want %s", got, c.Sighash)
			}
			if c.ScriptCode != "" {
				// The amount is committed: one satoshi more changes it.
				other, _ := BIP143SigHash(tx, c.InputIndex, mustHex(t, c.ScriptCode)[1:], c.PrevValue+1, c.SighashType)
				if other == got {
					t.Fatal("BIP-143 digest does not depend on the amount")
				}
			}
		})
	}
}

// TestBIP341WalletVectors runs every keyPathSpending input of the
// official BIP-341 wallet vectors (all hash types, including
// ANYONECANPAY, NONE and SINGLE), checking the sighash.
func TestBIP341WalletVectors(t *testing.T) {
	var v struct {
		ScriptPubKey []struct {
			Expected struct {
				ScriptPubKey string `json:"scriptPubKey"`
				Address      string `json:"bip350Address"`
			} `json:"expected"`
		} `json:"scriptPubKey"`
		KeyPath []struct {
			Given struct {
				RawTx string `json:"rawUnsignedTx"`
				Utxos []struct {
					Script string `json:"scriptPubKey"`
					Amount int64  `json:"amountSats"`
				} `json:"utxosSpent"`
			} `json:"given"`
			Inputs []struct {
				Given struct {
					Index    int  `json:"txinIndex"`
					HashType byte `json:"hashType"`
				} `json:"given"`
				Intermediary struct {
					SigHash string `json:"sigHash"`
				} `json:"intermediary"`
			} `json:"inputSpending"`
		} `json:"keyPathSpending"`
	}
	loadJSON(t, "bip341-wallet-test-vectors.json", &v)
	kp := v.KeyPath[0]
	tx, err := ParseUnsignedTx(mustHex(t, kp.Given.RawTx))
	if err != nil {
		t.Fatal(err)
	}
	prevouts := make([]TxOut, len(kp.Given.Utxos))
	for i, u := range kp.Given.Utxos {
		prevouts[i] = TxOut{Value: u.Amount, PkScript: mustHex(t, u.Script)}
	}
	if len(kp.Inputs) != 7 {
		t.Fatalf("want 7 input cases, got %d", len(kp.Inputs))
	}
	h := NewSigHasher(tx, prevouts)
	for _, in := range kp.Inputs {
		got, err := h.Taproot(in.Given.Index, in.Given.HashType, nil)
		if err != nil {
			t.Fatalf("input %d: %v", in.Given.Index, err)
		}
		if hex.EncodeToString(got[:]) != in.Intermediary.SigHash {
			t.Errorf("input %d hash type %#x: sighash %x, want %s", in.Given.Index, in.Given.HashType, got, in.Intermediary.SigHash)
		}
	}
	for i, s := range v.ScriptPubKey {
		addr, err := EncodeAddress(Mainnet, mustHex(t, s.Expected.ScriptPubKey))
		if err != nil || addr != s.Expected.Address {
			t.Errorf("scriptPubKey %d: address %q (%v), want %s", i, addr, err, s.Expected.Address)
		}
		pk, err := DecodeAddress(Mainnet, strings.ToUpper(s.Expected.Address))
		if err != nil || hex.EncodeToString(pk) != s.Expected.ScriptPubKey {
			t.Errorf("scriptPubKey %d: decode of the upper-case address = %x (%v)", i, pk, err)
		}
	}
}

// TestCoboSignetRecords recomputes the digests of the two real Cobo
// signet records: the key-path stake, and the script-path unstake, whose
// digest is only reproduced with the real prevout script, not with the
// wallet address Cobo lists.
func TestCoboSignetRecords(t *testing.T) {
	var v utxoVectors
	loadJSON(t, "utxo-vectors.json", &v)
	for _, r := range v.Records {
		t.Run(r.Name, func(t *testing.T) {
			tx, err := ParseUnsignedTx(mustHex(t, r.Keysign.Unsigned))
			if err != nil {
				t.Fatal(err)
			}
			in := r.Inputs[0]
			prev := []TxOut{{Value: in.PrevValue, PkScript: mustHex(t, in.PrevScript)}}
			var leaf *[32]byte
			if in.Revealed != "" {
				l := TapLeafHash(mustHex(t, in.Revealed))
				if hex.EncodeToString(l[:]) != in.LeafHash {
					t.Fatalf("tapleaf hash %x, want %s", l, in.LeafHash)
				}
				leaf = &l
			}
			got, err := TaprootSigHash(tx, 0, prev, SigHashDefault, leaf)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != in.Sighash || "0x"+in.Sighash != r.Keysign.Hashes[0] {
				t.Fatalf("sighash %x, want %s (msg_hash_list %v)", got, in.Sighash, r.Keysign.Hashes)
			}
			if in.WalletScript != "" {
				wrong := []TxOut{{Value: in.PrevValue, PkScript: mustHex(t, in.WalletScript)}}
				got, err := TaprootSigHash(tx, 0, wrong, SigHashDefault, leaf)
				if err != nil || hex.EncodeToString(got[:]) != in.SighashWallet {
					t.Fatalf("wallet-address digest %x (%v), want %s", got, err, in.SighashWallet)
				}
			}
			if r.Keysign.PSBTHex != "" {
				p, err := ParsePSBT(mustHex(t, r.Keysign.PSBTHex))
				if err != nil {
					t.Fatal(err)
				}
				q, err := DecodePSBTBase64(r.Keysign.PSBTBase64)
				if err != nil {
					t.Fatal(err)
				}
				if p.Tx.TxID() != tx.TxID() || q.Tx.TxID() != tx.TxID() {
					t.Fatal("PSBT holds another transaction")
				}
				w := p.Inputs[0].WitnessUTXO
				if w == nil || w.Value != in.PrevValue || hex.EncodeToString(w.PkScript) != in.PrevScript {
					t.Fatalf("PSBT witness utxo %+v", w)
				}
			}
		})
	}
}

func TestAddressVectors(t *testing.T) {
	var v utxoVectors
	loadJSON(t, "utxo-vectors.json", &v)
	for _, a := range v.Addresses {
		t.Run(a.Name, func(t *testing.T) {
			if a.CashAddr != "" {
				for _, in := range []string{a.CashAddr, strings.TrimPrefix(a.CashAddr, "bitcoincash:"), strings.ToUpper(a.CashAddr), a.Legacy} {
					pk, err := DecodeAddress(BitcoinCash, in)
					if err != nil || hex.EncodeToString(pk) != a.Script {
						t.Fatalf("decode %s: %x, %v", in, pk, err)
					}
				}
				if got, _ := EncodeAddress(BitcoinCash, mustHex(t, a.Script)); got != a.CashAddr {
					t.Fatalf("encode: %s, want %s", got, a.CashAddr)
				}
				if got, _ := EncodeAddress(Mainnet, mustHex(t, a.Script)); got != a.Legacy {
					t.Fatalf("encode legacy: %s, want %s", got, a.Legacy)
				}
				mixed := "bitcoincash:Q" + a.CashAddr[len("bitcoincash:q"):]
				if _, err := DecodeAddress(BitcoinCash, mixed); err == nil {
					t.Fatal("mixed-case CashAddr accepted")
				}
				return
			}
			pub := mustHex(t, a.Pubkey)
			got, err := EncodeAddress(Testnet, WitnessScript(1, pub[1:]))
			if err != nil || got != a.Cobo {
				t.Fatalf("untweaked P2TR %s (%v), want %s", got, err, a.Cobo)
			}
		})
	}
}

// TestAddressCodecs covers the BIP-173/BIP-350 examples and each
// network's base58 versions, refusing other networks' addresses.
func TestAddressCodecs(t *testing.T) {
	cases := []struct {
		name   string
		net    *Network
		addr   string
		script string // "" = must be refused
		canon  string // canonical re-encoding when it differs from addr
	}{
		// BIP-173 / BIP-350 test vectors (bitcoin/bips@7fe0b034).
		{"bip173 p2wpkh upper", Mainnet, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"bip173 p2wsh testnet", Testnet, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", ""},
		{"bip350 v1 mainnet", Mainnet, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", ""},
		{"bip350 v0 with bech32m checksum", Mainnet, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "", ""},
		{"bip350 v1 with bech32 checksum", Mainnet, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "", ""},
		{"bip173 mixed case", Testnet, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "", ""},
		{"testnet address on mainnet", Mainnet, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "", ""},
		{"mainnet p2pkh", Mainnet, "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "76a91476a04053bda0a88bda5177b86a15c3b29f55987388ac", ""},
		{"mainnet p2pkh on testnet", Testnet, "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "", ""},
		{"mainnet p2pkh bad checksum", Mainnet, "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggv", "", ""},
		{"ltc legacy p2sh version 5 canonicalised", Litecoin, "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "a91476a04053bda0a88bda5177b86a15c3b29f55987387", "MJiPwX84iBe4WnFDwsYGgtnz1XonPhUqhf"}, // re-encoding computed with an independent Python base58check
		{"bech32 on doge", Dogecoin, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "", ""},
		{"cashaddr wrong prefix", BitcoinCash, "bchtest:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pk, err := DecodeAddress(c.net, c.addr)
			if c.script == "" {
				if err == nil {
					t.Fatalf("accepted, script %x", pk)
				}
				return
			}
			if err != nil || hex.EncodeToString(pk) != c.script {
				t.Fatalf("decode: %x, %v; want %s", pk, err, c.script)
			}
			want := c.canon
			if want == "" {
				want = c.addr
			}
			if got, err := EncodeAddress(c.net, pk); err != nil || got != want {
				t.Fatalf("encode: %q, %v; want %s", got, err, want)
			}
		})
	}
}
