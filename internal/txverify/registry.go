package txverify

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"tssgate/internal/text"
)

// The chains a Token can name; each selects a decoder.
const (
	ChainEVM    = "evm"    // Ethereum and EVM chains: RLP legacy (EIP-155), EIP-2930, EIP-1559
	ChainTRON   = "tron"   // TRON: protobuf Transaction.raw
	ChainSolana = "solana" // Solana: legacy and v0 messages
	ChainUTXO   = "utxo"   // Bitcoin-family UTXO chains; Token.Network names which
)

// maxTokenDecimals bounds Token.Decimals: ERC-20, TRC-20 and SPL decimals
// are all uint8.
const maxTokenDecimals = 255

// Token is one registry entry: what a Cobo token_id means on chain.
//
// Contract is empty for the chain's native coin (ETH, TRX, SOL); otherwise
// it is the ERC-20 contract (0x + 40 hex digits, any case; stored lower-case),
// the TRC-20 contract (base58check T... address) or the SPL mint (base58).
// Decimals converts the chain's base units (wei, sun, lamports, token base
// units) to the token units Cobo's descriptions use.
//
// ChainID is Cobo's chain_id for the token ("ETH", "SETH", "TRON", "SOL").
// Every entry names one: a v2 description whose chain_id is not exactly
// this string (absent, empty, another case, spaces, a look-alike) is a
// disagreement, and a verified transaction reports this spelling to
// policy, so a rule on tx.chain_id sees one value per chain. v1
// descriptions carry no chain_id; theirs is the entry's.
//
// Each entry is one asset: no two entries may share a chain, EVM chain id
// and contract (for a native coin: the chain and EVM chain id), or one
// asset would verify under two token_ids and escape rules keyed on one.
//
// EVMChainID is the EIP-155 chain id every transaction for this token must
// carry. It is required for ChainEVM entries: without it a transaction for
// one EVM chain could be presented under another chain's token_id, and
// policy limits kept per token would count it against the wrong asset. It
// must be nil for other chains.
type Token struct {
	TokenID    string   // Cobo token_id, matched exactly
	Chain      string   // ChainEVM, ChainTRON or ChainSolana
	ChainID    string   // Cobo chain_id; required
	Contract   string   // token contract or mint; "" for the native coin
	Decimals   int32    // token decimals, 0..255
	EVMChainID *big.Int // EIP-155 chain id; required for ChainEVM, nil otherwise
	// Network is the UTXO network ("btc", "testnet", "signet", "ltc",
	// "doge", "bch"): its address encodings and signature hashes. Required
	// for ChainUTXO (whose entries are the native coin, 8 decimals), ""
	// otherwise.
	Network string
}

// Native reports whether t is the chain's native coin rather than a token
// contract.
func (t Token) Native() bool { return t.Contract == "" }

func (t Token) clone() Token {
	if t.EVMChainID != nil {
		t.EVMChainID = new(big.Int).Set(t.EVMChainID)
	}
	return t
}

// assetKey identifies what a token is on chain, independent of its Cobo
// name: chain, EVM chain id and contract (lower-case for EVM).
func assetKey(chain string, evmChainID *big.Int, contract string) string {
	if chain == ChainUTXO {
		// UTXO entries are native coins; contract carries the network.
		return chain + "|" + contract
	}
	id := ""
	if evmChainID != nil {
		id = evmChainID.String()
	}
	return chain + "|" + id + "|" + contract
}

// Registry maps Cobo token_id values to a decoder (the token's chain) and
// the token facts verification compares against. A Registry is immutable
// once built and safe for concurrent use; With returns a new one.
type Registry struct {
	byID    map[string]Token // key: upper-cased TokenID, so variants collide
	byAsset map[string]Token // key: assetKey; one entry per asset
	abis    abiSet           // configured contract ABIs (WithABIs)
}

// builtinTokens are DefaultRegistry's entries: the token_ids Cobo's own Go
// template supports (PROTOCOL.md 4.5) plus Sepolia ETH and USDC.
func builtinTokens() []Token {
	one, sepolia := big.NewInt(1), big.NewInt(11155111)
	return []Token{
		{TokenID: "ETH", Chain: ChainEVM, ChainID: "ETH", Decimals: 18, EVMChainID: one},
		{TokenID: "SETH", Chain: ChainEVM, ChainID: "SETH", Decimals: 18, EVMChainID: sepolia},
		{TokenID: "ETH_USDT", Chain: ChainEVM, ChainID: "ETH", Contract: "0xdac17f958d2ee523a2206206994597c13d831ec7", Decimals: 6, EVMChainID: one},
		{TokenID: "ETH_USDC", Chain: ChainEVM, ChainID: "ETH", Contract: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", Decimals: 6, EVMChainID: one},
		{TokenID: "TRON", Chain: ChainTRON, ChainID: "TRON", Decimals: 6},
		{TokenID: "TRON_USDT", Chain: ChainTRON, ChainID: "TRON", Contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Decimals: 6},
		{TokenID: "SOL", Chain: ChainSolana, ChainID: "SOL", Decimals: 9},
		{TokenID: "SOL_USDC", Chain: ChainSolana, ChainID: "SOL", Contract: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", Decimals: 6},
		// UTXO chains (PROTOCOL.md 11.7). Only XTN and SIGNET_BTC are seen
		// in Cobo records; the others follow Cobo's token naming and must
		// be confirmed with Cobo's supported-chains API.
		{TokenID: "BTC", Chain: ChainUTXO, ChainID: "BTC", Decimals: utxoDecimals, Network: "btc"},
		{TokenID: "XTN", Chain: ChainUTXO, ChainID: "XTN", Decimals: utxoDecimals, Network: "testnet"},
		{TokenID: "SIGNET_BTC", Chain: ChainUTXO, ChainID: "SIGNET_BTC", Decimals: utxoDecimals, Network: "signet"},
		{TokenID: "LTC", Chain: ChainUTXO, ChainID: "LTC", Decimals: utxoDecimals, Network: "ltc"},
		{TokenID: "DOGE", Chain: ChainUTXO, ChainID: "DOGE", Decimals: utxoDecimals, Network: "doge"},
		{TokenID: "BCH", Chain: ChainUTXO, ChainID: "BCH", Decimals: utxoDecimals, Network: "bch"},
	}
}

var defaultRegistry = func() *Registry {
	r, err := NewRegistry(builtinTokens()...)
	if err != nil {
		panic("txverify: built-in token table is invalid: " + err.Error())
	}
	return r
}()

// DefaultRegistry returns the built-in registry: ETH, SETH (Sepolia),
// ETH_USDT, ETH_USDC, TRON, TRON_USDT, SOL and SOL_USDC. It is shared and
// immutable.
func DefaultRegistry() *Registry { return defaultRegistry }

// NewRegistry builds a registry holding exactly tokens, without the
// built-in entries. It returns an error, naming the token, for an invalid
// entry (see Token), a token_id given twice (in any case), or a second
// entry for an asset another entry already covers (naming both).
func NewRegistry(tokens ...Token) (*Registry, error) {
	r := &Registry{byID: map[string]Token{}, byAsset: map[string]Token{}}
	return r.with(tokens)
}

// With returns a new registry holding r's entries and tokens. r is
// unchanged. An entry whose token_id r already has is an error rather than
// an override, so a configuration file cannot silently redefine a built-in
// token such as ETH_USDT; build from NewRegistry to replace entries. So is
// an entry for an asset r already covers (USDT's contract under another
// token_id, a second native coin on EVM chain 1). Errors name the token,
// and for an alias the entry it duplicates.
func (r *Registry) With(tokens ...Token) (*Registry, error) {
	out := &Registry{byID: make(map[string]Token, len(r.byID)+len(tokens)), byAsset: make(map[string]Token, len(r.byAsset)+len(tokens)), abis: r.abis}
	for k, v := range r.byID {
		out.byID[k] = v
	}
	for k, v := range r.byAsset {
		out.byAsset[k] = v
	}
	return out.with(tokens)
}

func (r *Registry) with(tokens []Token) (*Registry, error) {
	for _, t := range tokens {
		t, err := validToken(t)
		if err != nil {
			return nil, err
		}
		key := strings.ToUpper(t.TokenID)
		if prev, dup := r.byID[key]; dup {
			return nil, fmt.Errorf("txverify: token %q: token_id is already registered (as %q)", t.TokenID, prev.TokenID)
		}
		ak := assetKey(t.Chain, t.EVMChainID, t.Contract)
		if t.Chain == ChainUTXO {
			ak = assetKey(t.Chain, nil, t.Network)
		}
		if prev, ok := r.byAsset[ak]; ok {
			return nil, fmt.Errorf("txverify: token %q: same asset as %q (%s); one asset must have one token_id, or rules keyed on one would miss the other", t.TokenID, prev.TokenID, describeAsset(t))
		}
		r.byAsset[ak] = t
		r.byID[key] = t
	}
	return r, nil
}

// validToken checks t and returns it normalized (chain lower-case, EVM
// contract lower-case, its own copy of EVMChainID).
func validToken(t Token) (Token, error) {
	fail := func(format string, args ...any) (Token, error) {
		return Token{}, fmt.Errorf("txverify: token %q: %s", t.TokenID, fmt.Sprintf(format, args...))
	}
	if t.TokenID == "" || strings.TrimSpace(t.TokenID) != t.TokenID || strings.ContainsAny(t.TokenID, " \t\r\n") {
		return fail("token_id must be non-empty without spaces")
	}
	if t.Decimals < 0 || t.Decimals > maxTokenDecimals {
		return fail("decimals %d outside 0..%d", t.Decimals, maxTokenDecimals)
	}
	if !text.PrintableASCII(t.TokenID) {
		return fail("token_id must be printable ASCII")
	}
	if t.ChainID == "" {
		return fail("chain_id is required (Cobo's chain_id, e.g. ETH)")
	}
	if !text.PrintableASCII(t.ChainID) {
		return fail("chain_id %q must be printable ASCII without spaces", t.ChainID)
	}
	t = t.clone()
	t.Chain = strings.ToLower(t.Chain)
	switch t.Chain {
	case ChainEVM:
		if t.Network != "" {
			return fail("network is only for utxo tokens")
		}
		if t.EVMChainID == nil || t.EVMChainID.Sign() <= 0 {
			return fail("evm tokens need a positive evm_chain_id")
		}
		if t.Contract != "" {
			if _, ok := parseEVMAddress(t.Contract); !ok {
				return fail("contract %q is not a 0x-prefixed 20-byte hex address", t.Contract)
			}
			t.Contract = strings.ToLower(t.Contract)
		}
	case ChainUTXO:
		if _, ok := utxoNetwork(t.Network); !ok {
			return fail("utxo tokens need a network: btc, testnet, signet, ltc, doge or bch")
		}
		if _, ok := utxoCoinTypes[t.Network]; !ok {
			// A network without a coin type could never bind its token_id
			// (checkUTXOPaths); refuse it at configuration time.
			return fail("utxo network %q has no coin type", t.Network)
		}
		if t.EVMChainID != nil || t.Contract != "" || t.Decimals != utxoDecimals {
			return fail("utxo tokens are the native coin: no contract, no evm_chain_id, 8 decimals")
		}
	case ChainTRON, ChainSolana:
		if t.Network != "" {
			return fail("network is only for utxo tokens")
		}
		if t.EVMChainID != nil {
			return fail("evm_chain_id is only for evm tokens")
		}
		if t.Contract == "" {
			break
		}
		if t.Chain == ChainTRON {
			if _, ok := parseTronAddress(t.Contract); !ok {
				return fail("contract %q is not a TRON base58check address", t.Contract)
			}
		} else if _, ok := parseSolanaKey(t.Contract); !ok {
			return fail("mint %q is not a base58 32-byte Solana address", t.Contract)
		}
	default:
		return fail("chain %q is not one of evm, tron, solana, utxo", t.Chain)
	}
	return t, nil
}

// Lookup returns the entry for tokenID, which must be spelled exactly as
// in the table: "eth" finds nothing, so that no variant spelling reaches a
// policy as a verified token.
func (r *Registry) Lookup(tokenID string) (Token, bool) {
	t, ok := r.byID[strings.ToUpper(tokenID)]
	if !ok || t.TokenID != tokenID {
		return Token{}, false
	}
	return t.clone(), true
}

// lookupVariant returns the entry tokenID is a variant spelling of (other
// case, surrounding spaces). Verification refuses such a token_id rather
// than treating it as one without a decoder.
func (r *Registry) lookupVariant(tokenID string) (Token, bool) {
	t, ok := r.byID[strings.ToUpper(strings.TrimSpace(tokenID))]
	return t, ok
}

// describeAsset says what asset t is, for an alias error.
func describeAsset(t Token) string {
	where := t.Chain
	if t.EVMChainID != nil {
		where += " chain " + t.EVMChainID.String()
	}
	if t.Native() {
		return "the native coin of " + where
	}
	return "contract " + t.Contract + " on " + where
}

// Tokens returns every entry, sorted by token_id.
func (r *Registry) Tokens() []Token {
	out := make([]Token, 0, len(r.byID))
	for _, t := range r.byID {
		out = append(out, t.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TokenID < out[j].TokenID })
	return out
}

// decimalsFor returns the decimals of an asset for the facts: the native
// coin's are fixed by each chain's protocol unless the registry says
// otherwise; a token contract's come only from the registry.
func (r *Registry) decimalsFor(chain string, evmChainID *big.Int, contract string) (int32, bool) {
	if t, ok := r.byAsset[assetKey(chain, evmChainID, contract)]; ok {
		return t.Decimals, true
	}
	if contract != "" {
		return 0, false
	}
	switch chain {
	case ChainEVM:
		return 18, true // wei
	case ChainTRON:
		return 6, true // sun
	case ChainSolana:
		return 9, true // lamports
	case ChainUTXO:
		return utxoDecimals, true // satoshis
	}
	return 0, false
}
