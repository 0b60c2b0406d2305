// Package txverify checks what a KEYSIGN really signs. Cobo describes the
// transaction (token_id, destination, amount); the TSS Node signs the
// entries of msg_hash_list. This package decodes the unsigned transaction
// Cobo sends beside the description (v2 raw_tx_info.unsigned_raw_tx, v1
// raw_tx), recomputes what the chain signs, requires every msg_hash_list
// entry to be among those values (each once, as many as the bytes need
// signatures, one strictly parsed bip32_path_list entry per hash), derives
// the facts of the transaction from its bytes, and compares them with the
// description (PROTOCOL.md 4.4, 4.5, 8.3, 9 items 8 and 9, 11.3).
//
// Every fact a verified Result reports has one spelling for the same
// signed bytes: the token_id and Cobo chain_id of the registry entry (a v2
// chain_id must equal the entry's exactly), one registry entry per asset,
// lower-case EVM addresses, and for Solana SPL transfers the owner wallet
// (proven by associated token account derivation) rather than the token
// account. A description that could only be verified under another
// spelling is a failure, so that a blocklist or limit keyed on one
// spelling cannot be dodged with another.
//
// Which token_ids count as "no decoder" (Result.Unsupported, the only
// failure a policy may accept) is decided here too: a request with
// malformed paths or hashes, or whose paths sign for a coin type this
// package decodes (VerifiableCoinTypes), is never Unsupported.
//
// Supported: EVM chains (legacy EIP-155, EIP-2930, EIP-1559; native
// transfers, ERC-20 transfers, other contract calls with known token
// methods classified), TRON (TransferContract, TriggerSmartContract: TRC-20
// transfers and other calls, classified the same way), and Solana
// (legacy and v0 messages; System transfer, SPL Token and Token-2022
// Transfer/TransferChecked, associated token account creation; ComputeBudget
// and Memo instructions are ignored). A Registry maps Cobo token_id values
// to a chain and token facts; users extend it.
//
// UTXO chains (BTC, XTN testnet, SIGNET_BTC, LTC, DOGE, BCH; utxo.go)
// are verified input by input from v2 raw_tx_info: the unsigned
// transaction (raw, or a PSBT) and selected_utxos, with the digests
// computed by tssgate/internal/btc. Their digests commit to no chain, so
// a UTXO token_id is bound only through the key paths' coin type (every
// bip32_path_list entry and PSBT derivation must carry the token's own;
// XTN and SIGNET_BTC share one). Taproot script-path spends are never
// verified: the spent script is not in the request (PROTOCOL.md 11.5).
//
// Message signing (Transaction type MessageSign; message.go, eip712.go)
// verifies only when the single msg_hash_list entry is the digest
// recomputed from the described message: EIP-191, EIP-712 typed data
// (with permit recognition), BIP-137, BIP-322 "simple" and ADR-036. Bare
// hashes (Raw_Message_Signature, BTC_EIP_191_Signature) and unknown
// message types are always refused, never "unsupported".
//
// Contract calls (abidecode.go, abiregistry.go) are decoded for policy
// against a configured or built-in ABI with a general strict decoder
// (exact canonical re-encoding), with the allowances they grant; Cobo's
// calldata_info must agree with the decoded call.
//
// Trust and failure model: everything in the request is untrusted. Verify
// never panics (a recovered panic is a failure), and every failure, from
// malformed hex to an amount that differs by one base unit, is a Result with
// Verified false and a Reason naming the field. Decoders are strict: they
// accept only canonical encodings (RLP, compact-u16, base64, and the ABI
// of every known token-moving or allowance-granting method in calldata,
// see abi.go) and refuse
// unknown protobuf fields, signed transactions, trailing bytes, and
// instructions whose effect they cannot establish. Facts may be present on
// a failed Result (the bytes decoded but disagreed); callers must only act
// on Facts when Verified is true.
//
// It imports the standard library, tssgate/internal/protocol,
// tssgate/internal/btc,
// tssgate/internal/decimal and tssgate/internal/text, plus two maintained
// cryptography modules where a hand-written version would be a liability:
// golang.org/x/crypto/sha3 for Ethereum's legacy Keccak-256 and
// filippo.io/edwards25519 for the on-curve check of Solana program-derived
// addresses. The small, strict RLP, base58 and protobuf readers are written
// here, because their strictness (canonical encodings only) is the point.
package txverify

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
	"tssgate/internal/text"
)

// Result is what verification established about one KEYSIGN.
type Result struct {
	// Unsupported is true only when the token_id has no entry in the
	// registry (no decoder exists for it, so nothing about the bytes could
	// be checked) and the request is otherwise well formed: its
	// bip32_path_list parses, has one path per msg_hash_list entry, holds
	// no duplicate hash, and signs for no coin type this package decodes
	// (VerifiableCoinTypes). A policy may deliberately accept that (verify:
	// optional); every other failure is a disagreement and must never be
	// accepted.
	Unsupported bool

	// Verified is true only when the unsigned transaction decoded, every
	// msg_hash_list entry is produced by it, and Cobo's description (token,
	// chain, destination, amount, and calldata for contract calls) agrees
	// with its bytes.
	Verified bool

	// Field names what failed when Verified is false: "request",
	// "bip32_path_list", "token_id", "chain_id", "destination_type",
	// "unsigned_raw_tx", "msg_hash_list", "token", "method", "destination",
	// "amount", "value", "calldata", "calldata_info", "instruction" or
	// "internal"; for message signing also "message", "structured_data",
	// "raw_structured_data", "message_bip137", "message_bip322",
	// "message_cosmos_adr36" or "source". Empty when verified.
	Field string

	// Reason says why verification failed, starting with Field, e.g.
	// "destination: description says 0xabc..., transaction pays 0xdef...".
	// Empty when Verified is true.
	Reason string

	// TokenID and ChainID are the token_id and Cobo chain_id of the
	// registry entry the bytes verified against, spelled as in the table;
	// "" unless Verified. Policy reads these rather than the description,
	// so that one asset has one spelling (a v1 request, which carries no
	// chain_id, gets the entry's).
	TokenID, ChainID string

	// Facts are the decoded transaction, or nil when nothing decoded.
	// They are set on some failures too; trust them only when Verified.
	Facts *Facts
}

// Facts are what the unsigned transaction's bytes say.
type Facts struct {
	Chain  string // ChainEVM, ChainTRON, ChainSolana or ChainUTXO; for a signed message the key's family (also "cosmos")
	TxType string // "legacy", "eip2930", "eip1559", "tron" or "solana" / "solana_v0"

	// Method classifies the transaction: "native_transfer",
	// "contract_call" (calldata with no known token method), "contract_creation"
	// (EVM), "contract_type_<n>" (an unsupported TRON contract); for EVM and
	// TRON calldata that is exactly the canonical ABI encoding of a known
	// token method (ERC-20, ERC-721, ERC-1155; TRC-20, TRC-721):
	// "token_transfer" (transfer), "token_transfer_from" (ERC-20 or
	// ERC-721 transferFrom), "approve" (ERC-20 or ERC-721),
	// "increase_allowance", "decrease_allowance", "permit" (EIP-2612 or
	// DAI-style), "set_approval_for_all" (ERC-721 or ERC-1155),
	// "nft_safe_transfer_from" (ERC-721 safeTransferFrom, with or without
	// data), "erc1155_safe_transfer_from", "erc1155_safe_batch_transfer_from"
	// (a known selector whose arguments are not canonical never verifies);
	// "system_transfer", "spl_transfer",
	// "spl_transfer_checked" (Solana), "multiple_transfers" (Solana, more
	// than one transfer instruction), "none" (Solana, nothing but ignored
	// instructions) or "other" (Solana, an instruction this package does
	// not interpret).
	Method string

	// Selector is the 4-byte function selector of an EVM or TRON contract
	// call, lower-case hex without 0x; "" when there is no calldata or it is
	// shorter than 4 bytes.
	Selector string

	// Data is the EVM or TRON calldata, lower-case hex without 0x.
	Data string

	// Contract is the contract an EVM transaction with calldata or a TRON
	// TriggerSmartContract calls; "" otherwise.
	Contract string

	// TokenContract is the called contract of an EVM or TRON call to a
	// known token method (any Method above from token_transfer to
	// erc1155_safe_batch_transfer_from), or the SPL mint of a Solana token
	// transfer when the bytes establish it (TransferChecked names it; for a
	// plain Transfer it is set once the destination proves to be the
	// associated token account for the registry's mint). "" otherwise.
	TokenContract string

	// Destinations are the recipients the bytes pay. Addresses are
	// lower-case 0x hex (EVM), base58check T... (TRON) or base58 (Solana).
	// For a contract call the destination is the called contract with the
	// native value sent to it; so is it for every token method except a
	// token_transfer or token_transfer_from on a contract in the registry,
	// whose destination is the token recipient (only such a contract's
	// decimals are known). For an SPL transfer, Address is the owner
	// wallet, set only once the bytes prove it (the description named an
	// owner whose associated token account is the credited account) and ""
	// until then; TokenAccount always holds the credited token account. A
	// token account's owner is account state, not part of the bytes, so the
	// token account itself is never reported as the recipient: a blocklist
	// or limit keyed on owners would miss it.
	Destinations []Destination

	// From is the sender when the bytes name one: the TRON owner_address,
	// the Solana transfer's source (System) or authority (SPL). Unsigned
	// EVM transactions do not name their sender.
	From string

	// TokenFrom is the account a token_transfer_from takes tokens from.
	TokenFrom string

	// Spender and Allowance describe an approve: who may spend, and how many
	// base units (2^256-1 is the usual "unlimited").
	Spender   string
	Allowance *big.Int

	Nonce   *uint64  // EVM nonce
	ChainID *big.Int // EVM chain id (EIP-155 or the typed transaction's)

	GasLimit             *uint64  // EVM gas limit
	GasPrice             *big.Int // EVM legacy and EIP-2930 gas price, wei
	MaxFeePerGas         *big.Int // EIP-1559, wei
	MaxPriorityFeePerGas *big.Int // EIP-1559, wei
	ComputeUnitLimit     *uint32  // Solana SetComputeUnitLimit
	ComputeUnitPrice     *uint64  // Solana SetComputeUnitPrice, micro-lamports per unit

	// MaxFee bounds the network fee the transaction can spend, in the
	// native coin's base units: EVM gas limit x (max fee per) gas price;
	// Solana 5000 lamports per signature plus the priority fee at the
	// compute unit limit (or, when none is set, the default limit of
	// 200,000 units per non-ComputeBudget instruction and 3,000 per
	// ComputeBudget one, capped at 1.4M).
	// Nil on TRON: fee_limit bounds only the energy fee, and bandwidth and
	// memo fees come on top at chain-set prices.
	MaxFee *big.Int

	// Programs are the Solana program IDs the message invokes, in order,
	// including ignored ones.
	Programs []string

	// UTXO chains: the inputs as selected_utxos describes them (bound
	// where AmountSigned), every output with its bound change flag, the
	// locktime, whether any input signals replace-by-fee, and the fee in
	// satoshis (nil unless every input's amount is signed; MaxFee is then
	// the same value).
	Inputs   []protocol.UTXOInput
	Outputs  []protocol.UTXOOutput
	LockTime *uint32
	RBF      bool
	Fee      *big.Int

	// Hashes are what the chain signs, lower-case hex without 0x: the
	// Keccak-256 (EVM) or SHA-256 (TRON) hash, the serialized message
	// itself (Solana, EdDSA), or a signed message's digest.
	Hashes []string

	// Message is the signed message of a MessageSign KEYSIGN (Method
	// "sign_message"); nil for transactions.
	Message *protocol.MessageFacts

	// Call is the decoded calldata of a contract call; nil without one.
	Call *protocol.CallFacts
}

// Destination is one recipient decoded from the bytes.
type Destination struct {
	Address      string          // recipient (see Facts.Destinations); "" for an SPL transfer whose owner is unproven
	TokenAccount string          // Solana SPL: the credited token account; "" elsewhere
	BaseUnits    *big.Int        // amount in the asset's smallest unit
	Amount       decimal.Decimal // BaseUnits in token units, when AmountKnown
	AmountKnown  bool            // the asset's decimals are known (native coin, or a registry contract)
}

// failure is a verification failure: the field and the full reason.
type failure struct {
	field, reason string
}

func fail(field, format string, args ...any) *failure {
	return &failure{field: field, reason: field + ": " + fmt.Sprintf(format, args...)}
}

func (f *failure) result(facts *Facts) Result {
	return Result{Field: f.field, Reason: f.reason, Facts: facts}
}

// maxRawTxHex bounds unsigned_raw_tx (hex characters). The largest
// transactions any supported chain accepts are far smaller (EVM pools cap a
// transaction at 128 KiB, Solana at 1232 bytes).
const maxRawTxHex = 1 << 20

// claim is Cobo's description of a KEYSIGN, version-independent.
type claim struct {
	version   protocol.Version
	tokenID   string
	chainID   string
	destType  string
	dests     []protocol.Destination
	calldata  string // EVM_Contract / TRON_Contract calldata, as sent
	rawTxs    []string
	msgHashes []string
	paths     []string              // bip32_path_list, one per msg_hash_list entry
	utxo      *protocol.V2RawTxInfo // v2 raw_tx_info, for UTXO chains

	txType   string                             // transaction type (MessageSign, ContractCall, …)
	dest     *protocol.V2TransactionDestination // v2 destination as sent; nil for v1
	signer   string                             // v2 source.address: who signs a message (described)
	callInfo *protocol.V2CalldataInfo           // v2 calldata_info: Cobo's decoding (described)
}

// Verify checks one KEYSIGN request against r. Other request types, a
// KEYSIGN without a transaction description, a token_id r does not know
// ("token_id: unsupported token_id X"), and every disagreement between the
// description, msg_hash_list and the unsigned bytes give Verified false
// with a Reason. It never panics and returns no error: a nil request or
// registry is a failure too.
func (r *Registry) Verify(req *protocol.Request) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = fail("internal", "verifier failed: %v", p).result(nil)
		}
	}()
	if r == nil {
		return fail("internal", "no token registry").result(nil)
	}
	c, f := claimOf(req)
	if f != nil {
		return f.result(nil)
	}
	return r.verify(c)
}

// claimOf reads the description and hashes from a decoded request.
func claimOf(req *protocol.Request) (*claim, *failure) {
	switch {
	case req == nil:
		return nil, fail("request", "no request")
	case req.Type != protocol.TypeKeySign || req.KeySign == nil:
		return nil, fail("request", "%s is not a KEYSIGN", req.Type)
	case req.KeySign.Tx == nil:
		return nil, fail("request", "KEYSIGN carries no transaction description (extra_info.transaction)")
	}
	tx := req.KeySign.Tx
	c := &claim{
		tokenID:   tx.TokenID,
		chainID:   tx.ChainID,
		destType:  tx.DestinationType,
		dests:     tx.Destinations,
		rawTxs:    tx.UnsignedRawTxs,
		msgHashes: req.KeySign.MsgHashes,
		paths:     req.KeySign.BIP32Paths,
		version:   req.Version,
	}
	switch w := req.Wire.(type) {
	case *protocol.V2KeySign:
		if t := w.Extra.Transaction; t != nil {
			c.calldata = t.Destination.Calldata
			c.utxo = &t.RawTxInfo
			c.txType = t.Type
			c.dest = &t.Destination
			c.signer = t.Source.Address
			c.callInfo = t.Destination.CalldataInfo
		}
	case *protocol.V1KeySign:
		// The normalized model drops empty raw_tx entries; an empty one is
		// still a malformed request, not something to skip.
		for i, rt := range w.Extra.RawTx {
			if rt.RawTx == "" {
				return nil, fail("unsigned_raw_tx", "raw_tx[%d].raw_tx is empty", i)
			}
		}
	}
	return c, nil
}

func (r *Registry) verify(c *claim) Result {
	// The signing lists are checked first, for every token: a request
	// whose paths or hashes are malformed is never "unsupported", so that
	// verify: optional cannot accept it.
	paths, f := checkSigningLists(c)
	if f != nil {
		return f.result(nil)
	}
	if isMessageClaim(c) {
		return r.verifyMessage(c)
	}
	if c.tokenID == "" {
		return fail("token_id", "description has no token_id").result(nil)
	}
	tok, ok := r.Lookup(c.tokenID)
	if !ok {
		if variant, ok := r.lookupVariant(c.tokenID); ok {
			// Policies and limits match token_id exactly; a variant
			// spelling that verified, or that passed as "no decoder",
			// would slip past a rule written for "ETH".
			return fail("token_id", "token_id %s must be spelled %s", short(c.tokenID), variant.TokenID).result(nil)
		}
		if f := checkNotRelabelled(c.tokenID, c.paths, paths); f != nil {
			return f.result(nil)
		}
		res := fail("token_id", "unsupported token_id %s", short(c.tokenID)).result(nil)
		res.Unsupported = true
		return res
	}
	if c.version != protocol.V1 && c.chainID != tok.ChainID {
		// Exact: policies match chain_id as a string, so "eth", " ETH" or
		// a look-alike must not verify as ETH. v1 carries no chain_id.
		if c.chainID == "" {
			return fail("chain_id", "description has no chain_id; token_id %s is on %s", tok.TokenID, tok.ChainID).result(nil)
		}
		return fail("chain_id", "description says chain_id %q, token_id %s is on %s", short(c.chainID), tok.TokenID, tok.ChainID).result(nil)
	}
	switch len(c.rawTxs) {
	case 0:
		return fail("unsigned_raw_tx", "description carries no unsigned transaction").result(nil)
	case 1:
	default:
		return fail("unsigned_raw_tx", "description carries %d unsigned transactions; one per KEYSIGN is supported", len(c.rawTxs)).result(nil)
	}
	if tok.Chain == ChainUTXO {
		return verifyUTXO(c, tok, paths)
	}
	raw, err := decodeHex(c.rawTxs[0])
	if err != nil {
		return fail("unsigned_raw_tx", "%v", err).result(nil)
	}
	var (
		facts *Facts
		check func() *failure
	)
	switch tok.Chain {
	case ChainEVM:
		t, err := decodeEVM(raw)
		if err != nil {
			return fail("unsigned_raw_tx", "not a valid unsigned EVM transaction: %v", err).result(nil)
		}
		facts = t.facts(r)
		check = func() *failure { return compareEVM(r, c, tok, t, facts) }
	case ChainTRON:
		t, err := decodeTRON(raw)
		if err != nil {
			return fail("unsigned_raw_tx", "not a valid TRON transaction: %v", err).result(nil)
		}
		facts = t.facts(r)
		check = func() *failure { return compareTRON(r, c, tok, t, facts) }
	case ChainSolana:
		t, err := decodeSolana(raw)
		if err != nil {
			return fail("unsigned_raw_tx", "not a valid Solana transaction: %v", err).result(nil)
		}
		facts = t.facts(r)
		check = func() *failure { return compareSolana(c, tok, t, facts) }
	default: // unreachable: the registry validates chains
		return fail("token_id", "token_id %s has unknown chain %q", tok.TokenID, tok.Chain).result(nil)
	}
	if f := checkHashes(c.msgHashes, facts.Hashes); f != nil {
		return f.result(facts)
	}
	if f := check(); f != nil {
		return f.result(facts)
	}
	if facts.Contract != "" {
		call, f := r.callFacts(c, facts)
		if f != nil {
			return f.result(facts)
		}
		facts.Call = call
	} else if i := c.callInfo; i != nil && (i.Method.Selector != "" || i.Method.Sig != "" || i.Method.Name != "") {
		// Cobo describes a call the bytes do not make.
		return fail("calldata_info", "describes method %s, but the transaction calls no contract", short(i.Method.Name+" "+i.Method.Sig)).result(facts)
	}
	return Result{Verified: true, Facts: facts, TokenID: tok.TokenID, ChainID: tok.ChainID}
}

// checkSigningLists checks bip32_path_list and msg_hash_list as the TSS
// Node will use them: at least one path, every path parses strictly, one
// path per hash, and no hash twice (after normalizing 0x and case). It
// returns the parsed paths.
func checkSigningLists(c *claim) ([][]uint32, *failure) {
	if len(c.msgHashes) == 0 {
		return nil, fail("msg_hash_list", "is empty")
	}
	if len(c.paths) == 0 {
		return nil, fail("bip32_path_list", "is empty; every msg_hash_list entry needs its derivation path")
	}
	if len(c.paths) != len(c.msgHashes) {
		return nil, fail("bip32_path_list", "has %d paths for %d msg_hash_list entries; they must be one per entry", len(c.paths), len(c.msgHashes))
	}
	parsed := make([][]uint32, len(c.paths))
	for i, p := range c.paths {
		idx, err := ParseBIP32Path(p)
		if err != nil {
			return nil, fail("bip32_path_list", "entry %d (%q) is not a BIP-32 path: %v", i, short(p), err)
		}
		parsed[i] = idx
	}
	seen := make(map[string]int, len(c.msgHashes))
	for i, h := range c.msgHashes {
		n := normHex(h)
		if j, dup := seen[n]; dup {
			return nil, fail("msg_hash_list", "entry %d repeats entry %d (%s); every hash is signed at most once", i, j, shortHex(n))
		}
		seen[n] = i
	}
	return parsed, nil
}

// checkNotRelabelled refuses a token_id without a decoder whose paths sign
// for a coin type this package decodes (or name no coin type at all): such
// a request is a decodable transaction under another label, and must not
// pass as "nothing could be checked".
func checkNotRelabelled(tokenID string, raw []string, paths [][]uint32) *failure {
	for i, p := range paths {
		coin, ok := coinType(p)
		if !ok {
			return fail("bip32_path_list", "entry %d (%q) names no coin type, so token_id %s, which has no decoder, cannot be told apart from a chain tssgate verifies", i, short(raw[i]), short(tokenID))
		}
		if chain, ok := verifiableCoinTypes[coin]; ok {
			return fail("bip32_path_list", "token_id %s has no decoder, but derivation path %s signs for coin type %d (%s), a chain tssgate verifies; refusing a relabelled transaction", short(tokenID), short(raw[i]), coin, chain)
		}
	}
	return nil
}

// checkHashes requires every msg_hash_list entry, with 0x and case
// normalized, to be one of computed, and as many entries as the bytes need
// signatures (checkSigningLists has excluded duplicates), so the node signs
// exactly what the transaction needs.
func checkHashes(msgHashes, computed []string) *failure {
	if len(msgHashes) == 0 {
		return fail("msg_hash_list", "is empty")
	}
	for i, h := range msgHashes {
		n := normHex(h)
		found := false
		for _, c := range computed {
			if n == c {
				found = true
				break
			}
		}
		if !found {
			return fail("msg_hash_list", "entry %d (%s) is not produced by the transaction, which signs %s", i, shortHex(h), shortHex(strings.Join(computed, ", ")))
		}
	}
	if len(msgHashes) != len(computed) {
		return fail("msg_hash_list", "has %d entries, the transaction needs %d signatures", len(msgHashes), len(computed))
	}
	return nil
}

// decodeHex reads hex with an optional 0x or 0X prefix. Unlike Cobo's
// template, which silently yields empty or partial bytes, empty, odd-length
// or non-hex input is an error.
func decodeHex(s string) ([]byte, error) {
	if len(s) > maxRawTxHex {
		return nil, fmt.Errorf("%d hex characters, more than %d", len(s), maxRawTxHex)
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" {
		return nil, fmt.Errorf("empty")
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d)", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid hex: %v", err)
	}
	return b, nil
}

// normHex strips a 0x or 0X prefix and lower-cases.
func normHex(s string) string {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	return strings.ToLower(s)
}

// short makes attacker text fit for a reason: descriptions and hashes are
// attacker sized and may hold any bytes, replies and logs should hold
// neither (text.Clean: valid UTF-8, control characters escaped, cut on a
// character boundary).
func short(s string) string { return text.Clean(s, 93) }

// shortHex truncates a long hex string (a Solana message) keeping both
// ends, where two near-identical values differ.
func shortHex(s string) string {
	const head, tail = 48, 24
	if len(s) <= head+tail+3 {
		return s
	}
	return fmt.Sprintf("%s...%s (%d chars)", s[:head], s[len(s)-tail:], len(s))
}

// destination builds a Destination, scaling units when decimals are known.
func destination(addr string, units *big.Int, decimals int32, known bool) Destination {
	d := Destination{Address: addr, BaseUnits: new(big.Int).Set(units), AmountKnown: known}
	if known {
		d.Amount = decimal.FromBaseUnits(units, decimals)
	}
	return d
}

// oneDestination returns the description's single address destination,
// for destination types that name one (Address, EVM_Contract,
// TRON_Contract). Wallet destinations and multi-output descriptions fail.
func oneDestination(c *claim, chainName string) (protocol.Destination, *failure) {
	switch len(c.dests) {
	case 0:
		return protocol.Destination{}, fail("destination", "description has no destination")
	case 1:
	default:
		return protocol.Destination{}, fail("destination", "description lists %d outputs; a %s transaction pays one", len(c.dests), chainName)
	}
	d := c.dests[0]
	if d.Address == "" {
		return d, fail("destination", "description names a Cobo wallet (%s), not an address; the address the transaction pays cannot be checked against it", c.destType)
	}
	return d, nil
}

// checkAmount compares the description's token-unit amount with base units
// from the bytes at decimals.
func checkAmount(field string, desc decimal.Decimal, units *big.Int, decimals int32, unit string) *failure {
	if desc.Cmp(decimal.FromBaseUnits(units, decimals)) == 0 {
		return nil
	}
	return fail(field, "description says %s %s, transaction moves %s %s (%s base units)", desc, unit, decimal.FromBaseUnits(units, decimals), unit, units)
}

// unsupportedDestinationType is the failure for destination types no
// chain here verifies.
func unsupportedDestinationType(c *claim) *failure {
	switch c.destType {
	case "CustodialWallet", "ExchangeWallet":
		return fail("destination", "description names a Cobo wallet (%s), not an address; the address the transaction pays cannot be checked against it", c.destType)
	case "":
		return fail("destination_type", "description has no destination_type")
	}
	return fail("destination_type", "%s descriptions cannot be verified for this chain", short(c.destType))
}

// nativeDecimals are the decimals of each chain family's native coin, in
// which fees are paid: wei, sun, lamports.
var nativeDecimals = map[string]int32{ChainEVM: 18, ChainTRON: 6, ChainSolana: 9, ChainUTXO: utxoDecimals}

// Verification converts r into the neutral form the server attaches to the
// request for policy (protocol imports no chain code). Facts are carried as
// far as decoding got; decoded destinations are included only when every
// amount is known in token units, so that no rule ever reads an unknown
// amount as zero.
func (r Result) Verification() *protocol.Verification {
	v := &protocol.Verification{Verified: r.Verified, Unsupported: r.Unsupported && !r.Verified, Reason: r.Reason}
	if r.Verified {
		v.Token, v.CoboChainID = r.TokenID, r.ChainID
	}
	f := r.Facts
	if f == nil {
		return v
	}
	v.Chain, v.TxType, v.Method, v.Selector, v.TokenContract = f.Chain, f.TxType, f.Method, f.Selector, f.TokenContract
	if f.Nonce != nil {
		n := *f.Nonce
		v.Nonce = &n
	}
	if f.ChainID != nil {
		v.ChainID = f.ChainID.String()
	}
	if dec, ok := nativeDecimals[f.Chain]; ok && f.MaxFee != nil && f.MaxFee.Sign() >= 0 {
		v.MaxFee, v.MaxFeeKnown = decimal.FromBaseUnits(f.MaxFee, dec), true
	}
	v.Inputs, v.Outputs, v.RBF = f.Inputs, f.Outputs, f.RBF
	if f.LockTime != nil {
		lt := *f.LockTime
		v.LockTime = &lt
	}
	if f.Fee != nil && f.Fee.Sign() >= 0 {
		v.Fee, v.FeeKnown = decimal.FromBaseUnits(f.Fee, utxoDecimals), true
	}
	dests := make([]protocol.Destination, 0, len(f.Destinations))
	for _, d := range f.Destinations {
		if !d.AmountKnown {
			dests = nil
			break
		}
		dests = append(dests, protocol.Destination{Address: d.Address, Amount: d.Amount, TokenAccount: d.TokenAccount})
	}
	v.Destinations = dests
	if r.Verified {
		v.Message, v.Call = f.Message, f.Call
	}
	switch {
	case !r.Verified:
	case len(v.Destinations) != len(f.Destinations):
		// A verified transaction whose amounts are not all known cannot
		// happen (verification compares amounts); refuse it all the same.
		v.Verified, v.Token, v.CoboChainID = false, "", ""
		v.Reason = "internal: verified transaction with an unknown amount"
	case slices.ContainsFunc(v.Destinations, func(d protocol.Destination) bool { return d.Address == "" }):
		// An SPL recipient whose owner was not proven never verifies.
		v.Verified, v.Token, v.CoboChainID = false, "", ""
		v.Reason = "internal: verified transaction with an unknown recipient"
	case v.Token == "" || v.CoboChainID == "":
		// Equally impossible: policy must read the table's spelling.
		v.Verified = false
		v.Reason = "internal: verified transaction without its token table entry"
	}
	return v
}
