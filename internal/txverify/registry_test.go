package txverify

import (
	"math/big"
	"strings"
	"testing"
)

func TestDefaultRegistry(t *testing.T) {
	want := map[string]struct {
		chain    string
		contract string
		decimals int32
		evmChain int64
	}{
		"ETH":        {ChainEVM, "", 18, 1},
		"SETH":       {ChainEVM, "", 18, 11155111},
		"ETH_USDT":   {ChainEVM, "0xdac17f958d2ee523a2206206994597c13d831ec7", 6, 1},
		"ETH_USDC":   {ChainEVM, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6, 1},
		"TRON":       {ChainTRON, "", 6, 0},
		"TRON_USDT":  {ChainTRON, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", 6, 0},
		"SOL":        {ChainSolana, "", 9, 0},
		"SOL_USDC":   {ChainSolana, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6, 0},
		"BTC":        {ChainUTXO, "", 8, 0},
		"XTN":        {ChainUTXO, "", 8, 0},
		"SIGNET_BTC": {ChainUTXO, "", 8, 0},
		"LTC":        {ChainUTXO, "", 8, 0},
		"DOGE":       {ChainUTXO, "", 8, 0},
		"BCH":        {ChainUTXO, "", 8, 0},
	}
	toks := DefaultRegistry().Tokens()
	if len(toks) != len(want) {
		t.Fatalf("%d tokens, want %d", len(toks), len(want))
	}
	for i, tok := range toks {
		if i > 0 && toks[i-1].TokenID >= tok.TokenID {
			t.Errorf("Tokens not sorted at %s", tok.TokenID)
		}
		w, ok := want[tok.TokenID]
		if !ok {
			t.Errorf("unexpected token %s", tok.TokenID)
			continue
		}
		var evm int64
		if tok.EVMChainID != nil {
			evm = tok.EVMChainID.Int64()
		}
		if tok.Chain != w.chain || tok.Contract != w.contract || tok.Decimals != w.decimals || evm != w.evmChain || tok.Native() != (w.contract == "") {
			t.Errorf("%s = %+v", tok.TokenID, tok)
		}
	}
	if tok, ok := DefaultRegistry().Lookup("ETH_USDT"); !ok || tok.TokenID != "ETH_USDT" || tok.ChainID != "ETH" {
		t.Errorf("Lookup(ETH_USDT) = %+v, %v", tok, ok)
	}
	// Lookup is exact: a variant spelling is not the token (verification
	// refuses it by name rather than treating it as unknown).
	for _, id := range []string{"eth_usdt", "Eth_Usdt", " ETH_USDT"} {
		if tok, ok := DefaultRegistry().Lookup(id); ok {
			t.Errorf("Lookup(%q) = %+v", id, tok)
		}
	}
	if _, ok := DefaultRegistry().Lookup("XRP"); ok {
		t.Error("Lookup(XRP) found something")
	}
}

func TestRegistryWithRejects(t *testing.T) {
	evm := func(id string) Token {
		return Token{TokenID: id, Chain: ChainEVM, ChainID: "OP_ETH", Decimals: 18, EVMChainID: big.NewInt(10)}
	}
	tests := []struct {
		name   string
		tokens []Token
		reason string
	}{
		{"empty token_id", []Token{evm("")}, "token_id must be non-empty"},
		{"spaces in token_id", []Token{evm("OP ETH")}, "without spaces"},
		{"unknown chain", []Token{{TokenID: "XRP", Chain: "bitcoin", ChainID: "XRP", Decimals: 8}}, `chain "bitcoin"`},
		{"evm without chain id", []Token{{TokenID: "OP_ETH", Chain: ChainEVM, ChainID: "OP_ETH", Decimals: 18}}, "evm_chain_id"},
		{"evm chain id 0", []Token{{TokenID: "OP_ETH", Chain: ChainEVM, ChainID: "OP_ETH", Decimals: 18, EVMChainID: new(big.Int)}}, "evm_chain_id"},
		{"bad evm contract", []Token{{TokenID: "OP_USDC", Chain: ChainEVM, ChainID: "OP_ETH", Decimals: 6, EVMChainID: big.NewInt(10), Contract: "0x0b2c"}}, "not a 0x-prefixed"},
		{"bad tron contract", []Token{{TokenID: "TRON_X", Chain: ChainTRON, ChainID: "TRON", Decimals: 6, Contract: "0xdac17f958d2ee523a2206206994597c13d831ec7"}}, "TRON base58check"},
		{"bad solana mint", []Token{{TokenID: "SOL_X", Chain: ChainSolana, ChainID: "SOL", Decimals: 6, Contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}}, "base58 32-byte"},
		{"evm chain id on tron", []Token{{TokenID: "TRON_X", Chain: ChainTRON, ChainID: "TRON", Decimals: 6, EVMChainID: big.NewInt(1)}}, "only for evm"},
		{"negative decimals", []Token{{TokenID: "SOL_X", Chain: ChainSolana, ChainID: "SOL", Decimals: -1}}, "decimals -1"},
		{"too many decimals", []Token{{TokenID: "SOL_X", Chain: ChainSolana, ChainID: "SOL", Decimals: 256}}, "decimals 256"},
		{"redefines a built-in", []Token{{TokenID: "eth_usdt", Chain: ChainEVM, ChainID: "ETH", Decimals: 6, EVMChainID: big.NewInt(1), Contract: "0x1111111111111111111111111111111111111111"}}, "already registered"},
		{"twice in one call", []Token{evm("OP_ETH"), evm("op_eth")}, "already registered"},
		{"no chain_id", []Token{{TokenID: "OP_ETH", Chain: ChainEVM, Decimals: 18, EVMChainID: big.NewInt(10)}}, "chain_id is required"},
		{"chain_id with a space", []Token{{TokenID: "OP_ETH", Chain: ChainEVM, ChainID: " OP_ETH", Decimals: 18, EVMChainID: big.NewInt(10)}}, "printable ASCII"},
		{"chain_id with a look-alike letter", []Token{{TokenID: "OP_ETH", Chain: ChainEVM, ChainID: "OP_ЕTH", Decimals: 18, EVMChainID: big.NewInt(10)}}, "printable ASCII"},
		{"token_id with a look-alike letter", []Token{{TokenID: "ЕTH2", Chain: ChainEVM, ChainID: "OP_ETH", Decimals: 18, EVMChainID: big.NewInt(10)}}, "printable ASCII"},
		{"same asset, other decimals", []Token{{TokenID: "USDT_ALIAS", Chain: ChainEVM, ChainID: "ETH", Decimals: 18, EVMChainID: big.NewInt(1), Contract: "0xDAC17F958D2EE523A2206206994597C13D831EC7"}}, "same asset as"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DefaultRegistry().With(tt.tokens...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
			if name := tt.tokens[len(tt.tokens)-1].TokenID; !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Errorf("error %q does not name token %q", err, name)
			}
		})
	}
}

func TestRegistryIsImmutable(t *testing.T) {
	id := big.NewInt(42161)
	reg, err := DefaultRegistry().With(Token{TokenID: "ARB_ETH", Chain: "EVM", ChainID: "ARBITRUM_ETH", Decimals: 18, EVMChainID: id})
	if err != nil {
		t.Fatal(err)
	}
	id.SetInt64(1) // the caller's big.Int must not alias the entry
	tok, ok := reg.Lookup("ARB_ETH")
	if !ok || tok.EVMChainID.Int64() != 42161 || tok.Chain != ChainEVM {
		t.Fatalf("Lookup = %+v, %v", tok, ok)
	}
	tok.EVMChainID.SetInt64(7)
	if again, _ := reg.Lookup("ARB_ETH"); again.EVMChainID.Int64() != 42161 {
		t.Fatal("a Lookup result aliases the entry")
	}
	if _, ok := DefaultRegistry().Lookup("ARB_ETH"); ok {
		t.Fatal("With changed the default registry")
	}
}

// TestRegistryL2Token verifies a user-configured ERC-20 on another EVM
// chain, and that the same bytes cannot pass as the mainnet token.
func TestRegistryL2Token(t *testing.T) {
	const arbUSDC = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"
	reg, err := DefaultRegistry().With(
		Token{TokenID: "ARBITRUM_ETH", Chain: ChainEVM, ChainID: "ARBITRUM_ETH", Decimals: 18, EVMChainID: big.NewInt(42161)},
		Token{TokenID: "ARBITRUM_USDCOIN", Chain: ChainEVM, ChainID: "ARBITRUM_ETH", Contract: strings.ToUpper(arbUSDC[:2]) + arbUSDC[2:], Decimals: 6, EVMChainID: big.NewInt(42161)},
	)
	if err != nil {
		t.Fatal(err)
	}
	spec := evmSpec{typ: 2, chainID: 42161, nonce: 3, gas: 80000, tip: big.NewInt(0), fee: big.NewInt(gwei / 10), to: arbUSDC,
		data: erc20("a9059cbb", addr(bob), big.NewInt(12_340_000).Bytes())}
	d := desc{tokenID: "ARBITRUM_USDCOIN", chainID: "ARBITRUM_ETH", address: bob, amount: "12.34", rawTx: spec.hexTx(), msgHashes: []string{spec.hash()}}
	res := reg.Verify(v2Request(t, d))
	wantVerified(t, res)
	if f := res.Facts; f.TokenContract != arbUSDC || f.ChainID.Int64() != 42161 || f.Destinations[0].Amount.String() != "12.34" {
		t.Errorf("facts %+v %+v", f, f.Destinations[0])
	}

	d.tokenID, d.chainID = "ETH_USDC", "ETH"
	wantFailure(t, reg.Verify(v2Request(t, d)), "chain_id", "42161")

	// The mainnet USDC contract called on Arbitrum is not Arbitrum USDC.
	spec.to = usdc
	d = desc{tokenID: "ARBITRUM_USDCOIN", chainID: "ARBITRUM_ETH", address: bob, amount: "12.34", rawTx: spec.hexTx(), msgHashes: []string{spec.hash()}}
	wantFailure(t, reg.Verify(v2Request(t, d)), "token", usdc)
}
