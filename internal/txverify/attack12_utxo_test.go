package txverify

import (
	"testing"
)

// TestAttack12UTXOBitcoinSpendRelabelledAsAnotherCoin: a Bitcoin-family
// sighash commits to no chain. The same unsigned transaction, the same
// outpoints and the same digests are a valid spend on Bitcoin, Litecoin
// and (legacy inputs) Dogecoin; only the description's address spelling
// and token_id say which. A description that takes a genuine BTC spend,
// re-spells its addresses for Litecoin (same scripts) and calls it LTC,
// while bip32_path_list still derives the Bitcoin key (coin type 0),
// verifies: tx.token_id and tx.chain_id read "LTC", destinations read
// ltc1…/L… addresses, and BTC rules, allow-lists and limits never see a
// transaction whose signatures spend bitcoin. The token-without-decoder
// path already refuses a path whose coin type belongs to a verified chain
// (checkNotRelabelled); a verified UTXO token's paths are not checked
// against its own coin type.
//
// The transaction and digests come from this package's independent hex
// encoder (utxo_test.go), the addresses from its separately computed table.
func TestAttack12UTXOBitcoinSpendRelabelledAsAnotherCoin(t *testing.T) {
	byToken := map[string]tChain{}
	for _, c := range tChains {
		byToken[c.token] = c
	}
	tests := []struct {
		name, as, kind string
	}{
		{name: "BTC segwit spend described as LTC", as: "LTC", kind: "p2wpkh"},
		{name: "BTC taproot spend described as LTC", as: "LTC", kind: "p2tr"},
		{name: "BTC legacy spend described as LTC", as: "LTC", kind: "p2pkh"},
		{name: "BTC legacy spend described as DOGE", as: "DOGE", kind: "p2pkh"},
		{name: "BTC multisig spend described as DOGE", as: "DOGE", kind: "p2sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			btcCase := newCase(byToken["BTC"], tt.kind)
			genuine := btcCase.verify(t)
			wantVerified(t, genuine)

			// The same transaction and digests; the description re-spelt
			// for the other coin, the paths still Bitcoin's (coin type 0).
			other := byToken[tt.as]
			other.coin = byToken["BTC"].coin
			tc := newCase(byToken["BTC"], tt.kind)
			tc.chain = other
			tc.refresh()
			tc.dests = []map[string]any{{"address": other.addr["dest"], "amount": "0.3", "script": nil}}
			tc.change = []map[string]any{{"address": other.addr[tt.kind], "value": "0.4499"}}
			if tc.raw != btcCase.raw || tc.hashes[0] != btcCase.hashes[0] || tc.hashes[1] != btcCase.hashes[1] {
				t.Fatal("test setup: the relabelled case must sign the very bytes and digests of the BTC case")
			}
			res := tc.verify(t)
			if res.Verified {
				t.Errorf("the digests of a BTC spend, signed under the Bitcoin path %s, verified as token_id %s (chain_id %s, paying %s): BTC policy never sees it",
					"m/44/0/0/0/0", res.TokenID, res.ChainID, res.Facts.Destinations[0].Address)
			}
		})
	}
}
