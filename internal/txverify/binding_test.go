package txverify

import (
	"math/big"
	"strings"
	"testing"
)

// Regression tests for issue 8: facts with more than one spelling for the
// same signed bytes. Each builds one genuine vector's request and varies
// only the spelling.

// ethVector is the ETH legacy transfer vector, faithfully described.
func ethVector(t *testing.T) desc {
	t.Helper()
	v := loadVectors(t)["eth_legacy_transfer"]
	return desc{
		tokenID: "ETH", chainID: "ETH", address: v.Destination, amount: "0.0001",
		rawTx: v.UnsignedRawTx, msgHashes: []string{v.MsgHash},
	}
}

// wantNotAcceptable fails unless res is a failure on field that policy
// can never make optional (not Unsupported).
func wantNotAcceptable(t *testing.T, res Result, field string, fragments ...string) {
	t.Helper()
	wantFailure(t, res, field, fragments...)
	if res.Unsupported || res.Verification().Unsupported {
		t.Fatalf("failure %q is Unsupported, so verify: optional would accept it", res.Reason)
	}
}

// Finding 3: chain_id is bound exactly to the table entry, and the entry's
// spelling is what verification reports, for v1 too.
func TestVerifyChainIDSpelling(t *testing.T) {
	tests := []struct {
		name    string
		chainID string
		ok      bool
	}{
		{name: "as in the table", chainID: "ETH", ok: true},
		{name: "lower case", chainID: "eth"},
		{name: "mixed case", chainID: "Eth"},
		{name: "leading space", chainID: " ETH"},
		{name: "trailing newline", chainID: "ETH\n"},
		{name: "empty", chainID: emptyChainID},
		{name: "absent", chainID: noChainID},
		{name: "Cyrillic look-alike", chainID: "\u0415TH"},
		{name: "another chain", chainID: "SETH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ethVector(t)
			d.chainID = tt.chainID
			res := DefaultRegistry().Verify(v2Request(t, d))
			if !tt.ok {
				wantNotAcceptable(t, res, "chain_id", "token_id ETH is on ETH")
				if v := res.Verification(); v.Token != "" || v.CoboChainID != "" {
					t.Errorf("unverified result names entry %q %q", v.Token, v.CoboChainID)
				}
				return
			}
			wantVerified(t, res)
			if v := res.Verification(); v.Token != "ETH" || v.CoboChainID != "ETH" || v.ChainID != "1" {
				t.Errorf("verification token %q chain %q evm chain %q", v.Token, v.CoboChainID, v.ChainID)
			}
		})
	}
	t.Run("v1 gets the entry's chain_id", func(t *testing.T) {
		res := DefaultRegistry().Verify(v1Request(t, nil))
		wantVerified(t, res)
		if v := res.Verification(); v.Token != "ETH" || v.CoboChainID != "ETH" {
			t.Errorf("verification token %q chain %q", v.Token, v.CoboChainID)
		}
	})
}

// The token_id lookup is exact; a variant spelling of a known token is a
// failure, not a token without a decoder.
func TestVerifyTokenIDSpelling(t *testing.T) {
	for _, id := range []string{"eth", "Eth", " ETH", "ETH "} {
		t.Run(id, func(t *testing.T) {
			d := ethVector(t)
			d.tokenID = id
			d.paths = []string{"m/44/144/0/0/0"} // not even the path gives it away
			wantNotAcceptable(t, DefaultRegistry().Verify(v2Request(t, d)), "token_id", "must be spelled ETH")
		})
	}
}

// Finding 5: a token_id without a decoder is Unsupported only when every
// path parses and none signs for a coin type txverify decodes, however the
// path is spelled.
func TestVerifyRelabelledTransaction(t *testing.T) {
	tests := []struct {
		name        string
		paths       []string // nil: no bip32_path_list entries
		unsupported bool
		field       string
		reason      string
	}{
		{name: "XRP path", paths: []string{"m/44/144/0/0/0"}, unsupported: true},
		{name: "XRP path, hardened, no m/", paths: []string{"84'/144'/0'/0/0"}, unsupported: true},
		{name: "ETH path", paths: []string{"m/44/60/0/0/0"}, field: "bip32_path_list", reason: "coin type 60"},
		{name: "ETH path without m/", paths: []string{"44/60/0/0/0"}, field: "bip32_path_list", reason: "coin type 60"},
		{name: "ETH path hardened", paths: []string{"m/44'/60'/0'/0/0"}, field: "bip32_path_list", reason: "coin type 60"},
		{name: "ETH path h-hardened", paths: []string{"44h/60h/0h/0/0"}, field: "bip32_path_list", reason: "coin type 60"},
		{name: "TRON path", paths: []string{"m/44/195/0/0/0"}, field: "bip32_path_list", reason: "coin type 195"},
		{name: "Solana path", paths: []string{"m/44'/501'/0'/0'"}, field: "bip32_path_list", reason: "coin type 501"},
		{name: "ETH coin type in hex", paths: []string{"m/44/0x3c/0/0/0"}, field: "bip32_path_list", reason: "not a BIP-32 path"},
		{name: "path with a space", paths: []string{"m/44/60 /0/0/0"}, field: "bip32_path_list", reason: "not a BIP-32 path"},
		{name: "no coin type", paths: []string{"m/44"}, field: "bip32_path_list", reason: "names no coin type"},
		{name: "empty path", paths: []string{""}, field: "bip32_path_list", reason: "empty path"},
		{name: "empty bip32_path_list", paths: []string{}, field: "bip32_path_list", reason: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ethVector(t)
			d.tokenID, d.chainID, d.paths = "XRP", "XRP", tt.paths
			res := DefaultRegistry().Verify(v2Request(t, d))
			if tt.unsupported {
				wantFailure(t, res, "token_id", "unsupported token_id XRP")
				if !res.Unsupported || !res.Verification().Unsupported {
					t.Fatalf("not Unsupported: %+v", res)
				}
				return
			}
			wantNotAcceptable(t, res, tt.field, tt.reason)
		})
	}
	t.Run("no bip32_path_list key", func(t *testing.T) {
		req := v2Request(t, func() desc { d := ethVector(t); d.tokenID, d.chainID = "XRP", "XRP"; return d }())
		req.KeySign.BIP32Paths = nil
		wantNotAcceptable(t, DefaultRegistry().Verify(req), "bip32_path_list", "is empty")
	})
	t.Run("a decodable token on a malformed path", func(t *testing.T) {
		d := ethVector(t)
		d.paths = []string{"m/44/60/0/0/0/"}
		wantNotAcceptable(t, DefaultRegistry().Verify(v2Request(t, d)), "bip32_path_list", "component 6")
	})
}

// Finding 7: every msg_hash_list entry at most once, one path per entry,
// and as many entries as the bytes need signatures.
func TestVerifySigningListCounts(t *testing.T) {
	many := func(h string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = h
		}
		return out
	}
	paths := func(n int, coin string) []string { return many("m/44/"+coin+"/0/0/0", n) }
	tests := []struct {
		name    string
		tokenID string
		hashes  func(h string) []string
		paths   []string
		field   string
		reason  string
	}{
		{name: "7000 copies of the hash", tokenID: "ETH", hashes: func(h string) []string { return many(h, 7000) }, paths: paths(7000, "60"), field: "msg_hash_list", reason: "entry 1 repeats entry 0"},
		{name: "the hash in two spellings", tokenID: "ETH", hashes: func(h string) []string { return []string{h, strings.ToUpper(normHex(h))} }, paths: paths(2, "60"), field: "msg_hash_list", reason: "repeats"},
		{name: "7000 copies under a token without a decoder", tokenID: "XRP", hashes: func(h string) []string { return many(h, 7000) }, paths: paths(7000, "0"), field: "msg_hash_list", reason: "repeats"},
		{name: "fewer paths than hashes", tokenID: "XRP", hashes: func(h string) []string { return []string{h, "0x" + strings.Repeat("ab", 32)} }, paths: paths(1, "0"), field: "bip32_path_list", reason: "1 paths for 2"},
		{name: "more paths than hashes", tokenID: "ETH", hashes: func(h string) []string { return []string{h} }, paths: paths(2, "60"), field: "bip32_path_list", reason: "2 paths for 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ethVector(t)
			d.tokenID, d.msgHashes, d.paths = tt.tokenID, tt.hashes(d.msgHashes[0]), tt.paths
			if tt.tokenID == "XRP" {
				d.chainID = "XRP"
			}
			wantNotAcceptable(t, DefaultRegistry().Verify(v2Request(t, d)), tt.field, tt.reason)
		})
	}
	t.Run("hash count below what the bytes sign", func(t *testing.T) {
		// No supported chain signs more than one value today; the rule is
		// checked directly.
		if f := checkHashes([]string{"aa"}, []string{"aa", "bb"}); f == nil || !strings.Contains(f.reason, "has 1 entries, the transaction needs 2 signatures") {
			t.Fatalf("checkHashes = %+v", f)
		}
	})
}

// Finding 4: one asset, one entry.
func TestRegistryRefusesAliases(t *testing.T) {
	arb := Token{TokenID: "ARB_ETH", Chain: ChainEVM, ChainID: "ARB_ETH", Decimals: 18, EVMChainID: big.NewInt(42161)}
	tests := []struct {
		name   string
		tokens []Token
		first  string // the entry already covering the asset
	}{
		{"USDT contract under another token_id", []Token{{TokenID: "USDT_ERC20", Chain: ChainEVM, ChainID: "ETH", Contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7", Decimals: 6, EVMChainID: big.NewInt(1)}}, "ETH_USDT"},
		{"a second native coin on chain 1", []Token{{TokenID: "ETH_MAINNET", Chain: ChainEVM, ChainID: "ETH", Decimals: 18, EVMChainID: big.NewInt(1)}}, "ETH"},
		{"a second native coin on chain 1 under another chain_id", []Token{{TokenID: "ETH2", Chain: ChainEVM, ChainID: "ETH2", Decimals: 18, EVMChainID: big.NewInt(1)}}, "ETH"},
		{"a second TRX", []Token{{TokenID: "TRX", Chain: ChainTRON, ChainID: "TRON", Decimals: 6}}, "TRON"},
		{"TRON USDT again", []Token{{TokenID: "USDT_TRC20", Chain: ChainTRON, ChainID: "TRON", Contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Decimals: 6}}, "TRON_USDT"},
		{"a second SOL", []Token{{TokenID: "SOLANA", Chain: ChainSolana, ChainID: "SOL", Decimals: 9}}, "SOL"},
		{"USDC mint again", []Token{{TokenID: "USDC_SPL", Chain: ChainSolana, ChainID: "SOL", Contract: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", Decimals: 6}}, "SOL_USDC"},
		{"twice in one call", []Token{arb, {TokenID: "ARBITRUM_ETH", Chain: ChainEVM, ChainID: "ARB_ETH", Decimals: 18, EVMChainID: big.NewInt(42161)}}, "ARB_ETH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DefaultRegistry().With(tt.tokens...)
			if err == nil {
				t.Fatal("accepted")
			}
			alias := tt.tokens[len(tt.tokens)-1].TokenID
			if !strings.Contains(err.Error(), `token "`+alias+`": same asset as "`+tt.first+`"`) {
				t.Errorf("error %q does not name both %s and %s", err, alias, tt.first)
			}
		})
	}
	// The same native coin on another EVM chain is another asset.
	if _, err := DefaultRegistry().With(arb); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRegistry(builtinTokens()...); err != nil {
		t.Fatalf("the built-in table: %v", err)
	}
}
