package txverify

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// otherCoinTypes are coin types a path for chain coin c might wrongly
// carry: every other UTXO chain's and the account chains'.
func otherCoinTypes(c int) []int {
	var out []int
	for _, x := range []int{0, 1, 2, 3, 145, 60, 195, 501} {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// pathKind is the input kind the path tests spend on c: a segwit one
// where the chain has segwit, else legacy.
func pathKind(c tChain) string {
	if c.token == "DOGE" || c.token == "BCH" {
		return "p2pkh"
	}
	return "p2wpkh"
}

// TestUTXOPathCoinType: for every UTXO token, a KEYSIGN verifies only
// when every bip32_path_list entry derives under the token's own coin
// type (any hardened spelling, purposes 44, 48, 49, 84, 86), and is
// refused, naming bip32_path_list, for another coin type in any entry, a
// purpose that does not put the coin type second, a path with no coin
// type, or a malformed path.
func TestUTXOPathCoinType(t *testing.T) {
	type pathCase struct {
		name  string
		paths func(coin int) []string
		want  []string // reason fragments; nil: verifies
	}
	same := func(format string) func(int) []string {
		return func(coin int) []string {
			return []string{fmt.Sprintf(format, coin, 0), fmt.Sprintf(format, coin, 1)}
		}
	}
	cases := []pathCase{
		{"coin type unhardened (Cobo's spelling)", same("m/44/%d/0/0/%d"), nil},
		{"hardened with '", same("m/44'/%d'/0'/0/%d"), nil},
		{"hardened with h, no m/", same("44h/%dh/0h/0/%d"), nil},
		{"hardened purpose, unhardened coin type", same("m/84'/%d/0/0/%d"), nil},
		{"BIP-49", same("m/49'/%d'/0'/0/%d"), nil},
		{"BIP-84", same("m/84'/%d'/0'/1/%d"), nil},
		{"BIP-86", same("m/86'/%d'/0'/0/%d"), nil},
		{"BIP-48 multisig", same("m/48'/%d'/0'/2'/0/%d"), nil},
		{"account level only", func(coin int) []string { return []string{fmt.Sprintf("m/44/%d", coin), fmt.Sprintf("m/44/%d/1", coin)} }, nil},
		{"purpose 45 (cosigner index second)", same("m/45/%d/0/%d"), []string{"purpose 45"}},
		{"purpose 0", same("m/0/%d/0/0/%d"), []string{"purpose 0"}},
		{"purpose 60 (an account chain's coin type first)", same("m/60/%d/0/0/%d"), []string{"purpose 60"}},
		{"only a purpose", func(int) []string { return []string{"m/44", "m/44'"} }, []string{"no coin type level"}},
		{"malformed: empty component", same("m/44/%d//0/%d"), []string{"not a BIP-32 path"}},
		{"malformed: coin type with a leading zero", func(coin int) []string {
			return []string{fmt.Sprintf("m/44/0%d/0/0/0", coin), fmt.Sprintf("m/44/%d/0/0/1", coin)}
		}, []string{"entry 0", "not a BIP-32 path"}},
		{"malformed: coin type 2^31 spelled out", func(coin int) []string {
			return []string{fmt.Sprintf("m/44/%d/0/0/0", coin+1<<31), fmt.Sprintf("m/44/%d/0/0/1", coin)}
		}, []string{"entry 0", "not a BIP-32 path"}},
		{"malformed: two hardened markers", same("m/44/%d''/0/0/%d"), []string{"not a BIP-32 path"}},
	}
	for _, c := range tChains {
		all := slices.Clone(cases)
		for _, o := range otherCoinTypes(c.coin) {
			own := c.coin
			frag := []string{fmt.Sprintf("coin type %d key", o), fmt.Sprintf("token_id %s keys derive under coin type %d", c.token, own)}
			pair := func(a, b string) func(int) []string { return func(int) []string { return []string{a, b} } }
			all = append(all,
				pathCase{fmt.Sprintf("coin type %d in every path", o),
					pair(fmt.Sprintf("m/44/%d/0/0/0", o), fmt.Sprintf("m/44/%d/0/0/1", o)), append([]string{"entry 0"}, frag...)},
				pathCase{fmt.Sprintf("coin type %d hardened", o),
					pair(fmt.Sprintf("m/84'/%d'/0'/0/0", o), fmt.Sprintf("m/84'/%d'/0'/0/1", o)), append([]string{"entry 0"}, frag...)},
				pathCase{fmt.Sprintf("own coin type, then coin type %d", o),
					pair(fmt.Sprintf("m/44/%d/0/0/0", own), fmt.Sprintf("m/44/%dh/0/0/1", o)), append([]string{"entry 1"}, frag...)},
				pathCase{fmt.Sprintf("coin type %d, then own coin type", o),
					pair(fmt.Sprintf("m/48'/%d'/0'/2'/0/0", o), fmt.Sprintf("m/48'/%d'/0'/2'/0/1", own)), append([]string{"entry 0"}, frag...)},
			)
		}
		for _, pc := range all {
			t.Run(c.token+"/"+pc.name, func(t *testing.T) {
				tc := newCase(c, pathKind(c))
				tc.paths = pc.paths(c.coin)
				res := tc.verify(t)
				if pc.want == nil {
					wantVerified(t, res)
					if res.TokenID != c.token {
						t.Fatalf("verified as %s", res.TokenID)
					}
					return
				}
				wantFailure(t, res, "bip32_path_list", pc.want...)
				if res.Unsupported {
					t.Fatal("refused path reported as unsupported")
				}
			})
		}
	}
}

// TestUTXOPathListMissing: a UTXO KEYSIGN without a path for every digest
// never verifies; the token's binding has nothing to stand on.
func TestUTXOPathListMissing(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"no bip32_path_list", nil, "is empty"},
		{"one path for two digests", []string{"m/44/0/0/0/0"}, "1 paths for 2"},
		{"an empty path", []string{"m/44/0/0/0/0", ""}, "empty path"},
		{"the master key", []string{"m/44/0/0/0/0", "m"}, "master key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newCase(tChains[0], "p2wpkh")
			req := tc.request(t)
			req.KeySign.BIP32Paths = tt.paths
			wantFailure(t, DefaultRegistry().Verify(req), "bip32_path_list", tt.want)
		})
	}
}

// TestUTXOPSBTDerivationCoinType: a PSBT's BIP-32 derivations (global
// xpub, input and output, plain and taproot) must carry the token's own
// coin type as bip32_path_list does; a malformed one refuses the PSBT.
func TestUTXOPSBTDerivationCoinType(t *testing.T) {
	const h = 1 << 31
	deriv := func(path ...uint32) string {
		s := "d34db33f" // master fingerprint
		for _, i := range path {
			s += le32(i)
		}
		return s
	}
	entry := func(key, val string) string { return varStr(key) + varStr(val) }
	pub := "02" + strings.Repeat("11", 32)
	xonly := strings.Repeat("44", 32)
	xpub := strings.Repeat("ab", 78)
	leaf := strings.Repeat("cd", 32)
	for _, c := range []tChain{tChains[0], tChains[3]} { // BTC, LTC
		own, wrong := uint32(c.coin), uint32(2)
		if c.coin == 2 {
			wrong = 0
		}
		tests := []struct {
			name string
			at   []psbtPlace
			want []string // nil: verifies
		}{
			{"no derivations", nil, nil},
			{"own coin type everywhere", []psbtPlace{
				{"global", entry("01"+xpub, deriv(84+h, own+h, h))},
				{"input", entry("06"+pub, deriv(84+h, own+h, h, 0, 0))},
				{"input", entry("16"+xonly, "01"+leaf+deriv(86+h, own+h, h, 0, 0))},
				{"output", entry("02"+pub, deriv(44, own, 0, 1, 0))},
				{"output", entry("07"+xonly, "00"+deriv(86+h, own+h, h, 1, 0))},
			}, nil},
			{"global xpub on another coin type", []psbtPlace{{"global", entry("01"+xpub, deriv(48+h, wrong+h, h, 2+h))}}, []string{"PSBT global", fmt.Sprintf("coin type %d key", wrong)}},
			{"input derivation on another coin type", []psbtPlace{{"input", entry("06"+pub, deriv(84+h, wrong+h, h, 0, 0))}}, []string{"PSBT input 0", fmt.Sprintf("m/84'/%d'/0'/0/0", wrong)}},
			{"input taproot derivation on another coin type", []psbtPlace{{"input", entry("16"+xonly, "00"+deriv(86+h, wrong, 0, 0, 0))}}, []string{"PSBT input 0", fmt.Sprintf("coin type %d key", wrong)}},
			{"output derivation on another coin type", []psbtPlace{{"output", entry("02"+pub, deriv(44, wrong, 0, 1, 0))}}, []string{"PSBT output 1", fmt.Sprintf("coin type %d key", wrong)}},
			{"output taproot derivation on another coin type", []psbtPlace{{"output", entry("07"+xonly, "01"+leaf+deriv(86+h, wrong+h, h, 1, 0))}}, []string{"PSBT output 1", fmt.Sprintf("coin type %d key", wrong)}},
			{"own and another coin type", []psbtPlace{
				{"input", entry("06"+pub, deriv(84+h, own+h, h, 0, 0))},
				{"input", entry("06"+"03"+strings.Repeat("22", 32), deriv(84+h, wrong+h, h, 0, 1))},
			}, []string{"PSBT input 0", fmt.Sprintf("coin type %d key", wrong)}},
			{"master key (fingerprint only)", []psbtPlace{{"global", entry("01"+xpub, deriv())}}, []string{"PSBT global", "no coin type level"}},
			{"purpose without coin type level", []psbtPlace{{"input", entry("06"+pub, deriv(45+h, own, 0, 0))}}, []string{"purpose 45"}},
		}
		for _, tt := range tests {
			t.Run(c.token+"/"+tt.name, func(t *testing.T) {
				tc := newCase(c, "p2wpkh")
				tc.raw = testPSBT(t, tc, tt.at...)
				res := tc.verify(t)
				if tt.want == nil {
					wantVerified(t, res)
					return
				}
				wantFailure(t, res, "unsigned_raw_tx", tt.want...)
			})
		}
	}
	t.Run("malformed derivation", func(t *testing.T) {
		for name, val := range map[string]string{
			"path not whole indexes":  deriv(84+h, h, h) + "00",
			"truncated fingerprint":   "d34d",
			"taproot leaf count lies": "05" + leaf + deriv(86+h, h, h),
		} {
			tc := newCase(tChains[0], "p2wpkh")
			key := "06" + pub
			if strings.HasPrefix(name, "taproot") {
				key = "16" + xonly
			}
			tc.raw = testPSBT(t, tc, psbtPlace{"input", entry(key, val)})
			wantFailure(t, tc.verify(t), "unsigned_raw_tx", "malformed BIP-32 derivation")
		}
	})
}

// psbtPlace is one PSBT map entry for testPSBT: where is "global",
// "input" or "output".
type psbtPlace struct{ where, entry string }

// testPSBT wraps tc's unsigned transaction in a hex PSBT, adding each
// entry (hex, key and value with their lengths) to the global map, input
// 0's map or output 1's (the change) map as its where says.
func testPSBT(t *testing.T, tc *tCase, at ...psbtPlace) string {
	t.Helper()
	u := tc.tx.unsigned()
	if len(u)/2 >= 0xfd {
		t.Fatal("test PSBT encoder handles only short transactions")
	}
	extra := func(where string) string {
		s := ""
		for _, a := range at {
			if a.where == where {
				s += a.entry
			}
		}
		return s
	}
	s := "70736274ff" + "01" + "00" + varStr(u) + extra("global") + "00"
	for i := range tc.tx.ins {
		if i == 0 {
			s += extra("input")
		}
		s += "00"
	}
	for i := range tc.tx.outs {
		if i == 1 {
			s += extra("output")
		}
		s += "00"
	}
	return s
}
