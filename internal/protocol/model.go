package protocol

import (
	"time"

	"tssgate/internal/decimal"
)

// Request is a decoded callback request: the normalized model that policy,
// the decision store and transaction verification consume, plus the typed
// wire structures and the raw bytes for anything the model lacks.
//
// For PING, KeyGen, KeySign, KeyReshare, KeyShareSign and Wire are all nil.
// For every other (known) type exactly one of the four typed views is
// non-nil, matching Type, and Wire is the matching *V1KeyGen, *V1KeySign,
// *V1KeyReshare, *V2KeyGen, *V2KeySign, *V2KeyReshare or *V2KeyShareSign (v1
// KEYSHARESIGN uses *V2KeyShareSign). ID is non-empty for non-PING types.
type Request struct {
	Version Version     // the endpoint's protocol version
	ID      string      // request_id; "" only for PING
	Type    RequestType // request_type, always Known()

	// NodeKey names the configured TSS Node key whose signature verified the
	// request. Decode leaves it empty; the server sets it, because only the
	// token layer knows which key verified.
	NodeKey string

	// ReceivedAt is when the decision pipeline received the request, read
	// once from its clock. Decode leaves it zero; the pipeline sets it, and
	// it is the decision time: a policy's `now`, the replay age and the
	// start of the store's limit windows all read this one instant.
	ReceivedAt time.Time

	// Detail and Extra are request_detail and extra_info parsed generically,
	// with numbers kept exact as json.Number. nil when the part was empty
	// (absent, null, "", or {}).
	Detail map[string]any
	Extra  map[string]any

	// Raw is package_data exactly as received, for hashing and recording.
	Raw []byte

	// Verification is what tssgate established from the unsigned
	// transaction bytes of a KEYSIGN. Decode leaves it nil; the server sets
	// it before deciding. nil means no verification ran, which policy
	// treats as unverified.
	Verification *Verification

	// The normalized view: exactly one is set for a non-PING request.
	KeyGen       *KeyGen
	KeySign      *KeySign
	KeyReshare   *KeyReshare
	KeyShareSign *KeyShareSign

	// Wire is the typed wire payload (see the type comment), for fields the
	// normalized view does not carry.
	Wire any
}

// KeyGen is a key generation: a new key-share group of NodeIDs with
// Threshold. CoboID is v1 only. RequestRef is the request that caused it:
// v2 extra_info.tss_request.tss_request_id, v1 extra_info.api_request_id.
type KeyGen struct {
	Threshold  int      // signatures required in the new group
	NodeIDs    []string // TSS Node IDs of every holder of the new group
	Curve      Curve    // key curve
	TaskID     string   // request_detail.task_id
	BizTaskID  string   // v2 request_detail.biz_task_id (the TSS request ID); "" on v1
	CoboID     string   // v1 extra_info.cobo_id; "" on v2
	RequestRef string   // v2 tss_request.tss_request_id; v1 api_request_id
}

// KeyReshare moves a key from the old group to a new one (new node set,
// possibly a new threshold). CoboID is v1 only; RequestRef is as in KeyGen.
type KeyReshare struct {
	OldGroupID   string   // key-share group being reshared
	RootPubKey   string   // the key's root extended public key
	Curve        Curve    // key curve
	UsedNodeIDs  []string // old-group nodes taking part
	OldThreshold int      // threshold of the old group
	NewThreshold int      // threshold of the new group
	NewNodeIDs   []string // TSS Node IDs of the new group
	TaskID       string   // request_detail.task_id
	BizTaskID    string   // v2 request_detail.biz_task_id (the TSS request ID); "" on v1
	CoboID       string   // v1 extra_info.cobo_id; "" on v2
	RequestRef   string   // v2 tss_request.tss_request_id; v1 api_request_id
}

// KeySign is a signing task. MsgHashes are msg_hash_list exactly as sent
// (already checked to be hex; compare after normalising case and 0x).
// SignatureType and TSSProtocol are 0 on v1, which does not send them. Tx
// describes the transaction; it is nil when extra_info carries none (v2: no
// transaction key; v1: empty extra_info). The description is Cobo's claim:
// the verifier checks it against the unsigned bytes.
type KeySign struct {
	GroupID       string       // key-share group that signs
	RootPubKey    string       // the key's root extended public key
	UsedNodeIDs   []string     // nodes taking part
	BIP32Paths    []string     // derivation path per message
	MsgHashes     []string     // msg_hash_list, verbatim
	Tweaks        []string     // tweak_list (Taproot)
	SignatureType int          // v2: 1 ECDSA, 2 EdDSA, 3 Schnorr; 0 unknown or v1
	TSSProtocol   int          // v2: 1 GG18, 2 Lindell, 3 EddsaTSS; 0 unknown or v1
	TaskID        string       // request_detail.task_id
	BizTaskID     string       // v2 request_detail.biz_task_id (the transaction ID); "" on v1
	Tx            *Transaction // the described transaction, or nil
}

// KeyShareSign is a key-share verification: each item signs Message with
// the share of GroupID. WalletID is extra_info.wallet.wallet_id.
type KeyShareSign struct {
	NodeID    string             // the key-share holder's node
	TaskID    string             // request_detail.task_id
	BizTaskID string             // the key-share sign request ID
	Items     []KeyShareSignItem // request_detail.details
	WalletID  string             // extra_info.wallet.wallet_id
}

// KeyShareSignItem is one share and the message it signs.
type KeyShareSignItem struct {
	GroupID string // key-share group whose share signs
	Message string // the message, as sent
}

// Transaction is a KEYSIGN's transaction, v1 and v2 mapped to one shape.
//
// Amount is the exact sum of Destinations' amounts, in token units (1.5 means
// 1.5 ETH). It is 0 for destination types that move no counted value or that
// this package does not interpret (message signing, SOL_Contract, unknown
// types): 0 does not prove a transaction moves nothing, so rules should look
// at DestinationType too.
type Transaction struct {
	ID              string          // v2 transaction_id (else request_detail.biz_task_id); v1 cobo_id
	CoboID          string          // cobo_id
	ChainID         string          // v2 chain_id; v1 has none
	TokenID         string          // v2 token_id; v1 coin
	Amount          decimal.Decimal // sum of Destinations[].Amount
	Destinations    []Destination   // see Destination
	SourceAddresses []string        // v2 source_addresses[].address then source.address; v1 from_address; deduplicated
	WalletID        string          // v2 transaction.wallet_id (else extra_info.wallet.wallet_id); v1 none
	Type            string          // v2 type (Withdrawal, ContractCall...); v1 TRANSFER, CONTRACT_CALL or the operation number
	Initiator       string          // v2 initiator; v1 spender, else api_key
	InitiatorType   string          // v2 initiator_type; v1 "Web" (spender) or "API" (api_key)
	UnsignedRawTxs  []string        // v2 raw_tx_info.unsigned_raw_tx; v1 raw_tx[].raw_tx; empty ones dropped
	DestinationType string          // v2 destination.destination_type; v1 "Address"
}

// Destination is where value goes. Address is empty for CustodialWallet and
// ExchangeWallet destinations, which name a Cobo wallet rather than an
// address (the wallet ID stays in the wire struct). Amount is in token
// units, never negative.
//
// For a verified Solana SPL transfer, Address is the owner wallet and
// TokenAccount the token account the bytes credit (the owner's associated
// token account): one recipient has one address, whichever account the
// description named. TokenAccount is "" for every other destination.
type Destination struct {
	Address      string          // chain address, or "" for a wallet destination
	Amount       decimal.Decimal // token units
	TokenAccount string          // Solana SPL: the credited token account; "" elsewhere
}

// Verification is the outcome of checking a KEYSIGN's unsigned transaction
// against its msg_hash_list and its description. Verified is true only when
// the bytes decoded, every msg_hash_list entry is produced by them, and the
// description (destination, amount, token, chain) agrees with them; the
// facts are filled in as far as decoding got, whatever the outcome.
type Verification struct {
	Verified bool
	// Unsupported is true only when tssgate has no decoder for the token:
	// nothing could be checked, as opposed to a decoder that found the
	// description disagreeing with the bytes. Only then may a policy accept
	// an unverified transaction. The verifier owns this: malformed or
	// missing derivation paths, repeated hashes, and a path signing for a
	// coin type tssgate decodes (a relabelled transaction) are never
	// Unsupported.
	Unsupported bool
	// Reason says why the transaction is not verified, naming the field
	// that disagreed; "" when Verified.
	Reason string
	// Token and CoboChainID are the token_id and Cobo chain_id of the token
	// table entry the bytes verified against, spelled as in the table;
	// "" unless Verified. Policy reports these as tx.token_id and
	// tx.chain_id, so that one asset has one spelling whatever the
	// description said (and v1, which has no chain_id, gets the entry's).
	Token       string
	CoboChainID string
	// Chain is the decoder family: "evm", "tron", "solana" or "utxo"; for
	// a signed message the signing key's family ("evm", "utxo", "cosmos").
	Chain string
	// TxType is "legacy", "eip2930", "eip1559", "tron", "solana"...; for
	// a signed message its kind ("eip191", "eip712", ...).
	TxType string
	// Method classifies the transaction: "native_transfer",
	// "token_transfer", "token_transfer_from", "approve", "contract_call",
	// "system_transfer", "spl_transfer", "spl_transfer_checked", "other"...
	Method string
	// Selector is the 4-byte selector of a contract call, lower-case hex.
	Selector string
	// TokenContract is the token contract or SPL mint; "" for a native coin.
	TokenContract string
	// Destinations are the recipients the bytes pay, amounts in token units.
	Destinations []Destination
	// Nonce is the EVM nonce; nil when the chain has none.
	Nonce *uint64
	// ChainID is the EVM chain id in decimal (tx.decoded.chain_id); ""
	// when none. Cobo's chain_id is CoboChainID.
	ChainID string
	// MaxFee is the most the transaction can pay in network fees, in the
	// chain's native coin (ETH, TRX, SOL): gas limit × (max) gas price on
	// EVM, fee_limit on TRON, base fee plus priority fee on Solana. Only
	// meaningful when MaxFeeKnown.
	MaxFee      decimal.Decimal
	MaxFeeKnown bool
	// Message is what a verified message-signing KEYSIGN (Transaction type
	// MessageSign) signs; nil for transactions. Policy reads it as
	// tx.message.
	Message *MessageFacts
	// Call is the decoded calldata of a verified EVM or TRON contract
	// call; nil when the transaction calls no contract. Policy reads it as
	// tx.call.
	Call *CallFacts

	// UTXO chains only (Chain "utxo"); empty elsewhere.
	//
	// Inputs and Outputs are the transaction's, in order. LockTime is its
	// nLockTime (nil off UTXO chains); RBF is whether an input's sequence
	// is below 0xfffffffe. Fee is inputs minus outputs, exact, and only
	// meaningful when FeeKnown, which requires every input's amount to be
	// signed (segwit, taproot, BCH); MaxFee is then the same value.
	Inputs   []UTXOInput
	Outputs  []UTXOOutput
	LockTime *uint32
	RBF      bool
	Fee      decimal.Decimal
	FeeKnown bool
}

// MessageFacts are the facts of a signed message, every one recomputed from
// the message whose digest the node signs, except Signer.
//
// Values in Message and Undeclared are canonical: string (addresses
// lower-case 0x hex, bytes 0x lower-case hex, strings as sent), bool,
// decimal.Decimal (integers, exact), []any (arrays) and map[string]any
// (structs, keyed by member name).
type MessageFacts struct {
	Kind string // "eip191", "eip712", "bip137", "bip322", "adr36"
	// Text is the message as UTF-8 when TextValid (the bytes are valid
	// UTF-8); Hex is the message bytes, 0x lower-case hex. Both are empty
	// for EIP-712, whose message is structured.
	Text      string
	TextValid bool
	Hex       string
	// Signer is source.address: Cobo's description of who signs, not
	// bound by the digest.
	Signer string
	// Domain, PrimaryType and Message are the EIP-712 typed data as hashed;
	// Undeclared holds message members the types do not declare, which are
	// not hashed (eth_signTypedData_v4 ignores them) and so bind nothing.
	Domain      TypedDomain
	PrimaryType string
	Message     map[string]any
	Undeclared  map[string]any
	// Permit is set when the primary type is a recognised permit (ERC-2612
	// Permit, Permit2 PermitSingle, PermitBatch, PermitTransferFrom,
	// PermitBatchTransferFrom, matched by name and exact member list).
	Permit *Permit
	// Unlimited is true when any permitted amount is at least 2^160 - 1
	// or the maximum of its type.
	Unlimited bool
}

// TypedDomain is an EIP-712 domain: absent members are "".
type TypedDomain struct {
	Name              string
	Version           string
	ChainID           string // decimal
	VerifyingContract string // lower-case 0x hex
	Salt              string // 0x lower-case hex, 32 bytes
}

// Permit is one shape for every recognised permit type.
type Permit struct {
	Spender     string
	Owner       string            // ERC-2612 owner; "" for Permit2 (the signer owns)
	Tokens      []string          // lower-case token contracts
	Amounts     []decimal.Decimal // base units, one per token
	Expirations []decimal.Decimal // Permit2 allowance expirations; empty otherwise
	Deadline    decimal.Decimal   // unix seconds: deadline or sigDeadline
	// Nonce is the permit's nonce; NonceKnown is false for PermitBatch,
	// whose nonces are per token (in Message).
	Nonce      decimal.Decimal
	NonceKnown bool
}

// CallFacts are a contract call's calldata decoded against an ABI
// tssgate trusts (built-in or configured for the called contract).
type CallFacts struct {
	Contract  string // the called contract, canonical address
	Selector  string // 0x + 8 lower-case hex digits; "" with under 4 bytes of calldata
	Method    string // function name; "" when the selector is unknown
	Signature string // canonical signature, e.g. "transfer(address,uint256)"; "" when unknown
	// Args maps parameter names (arg0, arg1, … when unnamed) to canonical
	// values as in MessageFacts; nil when the selector is unknown.
	Args   map[string]any
	Grants []Grant
}

// Grant is an allowance a call grants or revokes.
type Grant struct {
	Token   string          // the token contract or collection
	Spender string          // who may spend
	Amount  decimal.Decimal // base units; 0 for an all-token approval
	All     bool            // unlimited amount (at least 2^160 - 1) or all tokens
	Revoke  bool            // an approval of 0, or setApprovalForAll(…, false)
}

// UTXOInput is one input of a verified UTXO transaction. Outpoint is
// "txid:vout" with the txid in display order; Address and Amount are the
// spent output as selected_utxos describes it, bound to the signatures
// when AmountSigned (the digest commits to the amount) and otherwise
// Cobo's word; ScriptType is p2pkh, p2sh, p2wpkh, p2sh-p2wpkh, p2wsh or
// p2tr.
type UTXOInput struct {
	Outpoint     string
	Address      string
	Amount       decimal.Decimal
	ScriptType   string
	AmountSigned bool
}

// UTXOOutput is one output of a UTXO transaction. Address is canonical
// for the chain ("" for an OP_RETURN); Change is true only when its
// scriptPubKey is one of the transaction's own inputs'; OpReturn is the
// OP_RETURN script as 0x-prefixed hex, "" for any other output.
type UTXOOutput struct {
	Address  string
	Amount   decimal.Decimal
	Change   bool
	OpReturn string
}

// TxVerifier checks a KEYSIGN's unsigned transaction against its
// msg_hash_list and its description and returns what it established, for
// the decider to read on Request.Verification. It is the one name of the
// transaction-verification seam: the command builds one from
// tssgate/internal/txverify, and the request flow and policy tests call it,
// so neither needs to know how chains are decoded.
type TxVerifier func(*Request) *Verification
