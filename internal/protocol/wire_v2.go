package protocol

import "encoding/json"

// Typed v2 (WaaS 2.0) request_detail and extra_info, keys as in PROTOCOL.md
// 4.2 to 4.4 (the Cobo WaaS 2 SDK models). Unknown keys are ignored and enum
// strings (types, statuses, encodings) are kept verbatim, because Cobo adds
// values often; rules compare them. oneOf objects (transaction source,
// destination, fee) are one flat struct holding every variant's fields,
// discriminated by their *_type field; an unknown discriminator leaves only
// that field meaningful.

// V2KeyGen is the typed v2 KEYGEN payload.
type V2KeyGen struct {
	Detail V2KeyGenDetail
	Extra  V2KeyGenExtra
}

// V2KeyGenDetail is the v2 KEYGEN request_detail. BizTaskID is the TSS
// request ID.
type V2KeyGenDetail struct {
	Threshold Int      `json:"threshold"`
	NodeIDs   []string `json:"node_ids"`
	Curve     Curve    `json:"curve"`
	TaskID    string   `json:"task_id"`
	BizTaskID string   `json:"biz_task_id"`
}

// V2KeyGenExtra is the v2 KEYGEN extra_info.
type V2KeyGenExtra struct {
	Org                       OrgInfo             `json:"org"`
	Project                   MPCProject          `json:"project"`
	Vault                     MPCVault            `json:"vault"`
	TargetKeyShareHolderGroup KeyShareHolderGroup `json:"target_key_share_holder_group"`
	TSSRequest                TSSRequest          `json:"tss_request"`
}

// V2KeySign is the typed v2 KEYSIGN payload.
type V2KeySign struct {
	Detail V2KeySignDetail
	Extra  V2KeySignExtra
}

// V2KeySignDetail is the v2 KEYSIGN request_detail. BizTaskID is the
// transaction ID. SignatureType is 1 ECDSA, 2 EdDSA, 3 Schnorr; TSSProtocol
// is 1 GG18, 2 Lindell, 3 EddsaTSS; 0 means unknown for both.
type V2KeySignDetail struct {
	GroupID       string      `json:"group_id"`
	RootPubKey    string      `json:"root_pub_key"`
	UsedNodeIDs   []string    `json:"used_node_ids"`
	BIP32PathList []string    `json:"bip32_path_list"`
	MsgHashList   []HexString `json:"msg_hash_list"`
	TweakList     []string    `json:"tweak_list"`
	SignatureType Int         `json:"signature_type"`
	TSSProtocol   Int         `json:"tss_protocol"`
	TaskID        string      `json:"task_id"`
	BizTaskID     string      `json:"biz_task_id"`
}

// V2KeySignExtra is the v2 KEYSIGN extra_info. Transaction is nil when the
// key is absent or null.
type V2KeySignExtra struct {
	Org                       OrgInfo             `json:"org"`
	Project                   MPCProject          `json:"project"`
	Vault                     MPCVault            `json:"vault"`
	Wallet                    MPCWalletInfo       `json:"wallet"`
	SignerKeyShareHolderGroup KeyShareHolderGroup `json:"signer_key_share_holder_group"`
	SourceAddresses           []AddressInfo       `json:"source_addresses"`
	Transaction               *V2Transaction      `json:"transaction"`
}

// V2KeyReshare is the typed v2 KEYRESHARE payload.
type V2KeyReshare struct {
	Detail V2KeyReshareDetail
	Extra  V2KeyReshareExtra
}

// V2KeyReshareDetail is the v2 KEYRESHARE request_detail. BizTaskID is the
// TSS request ID.
type V2KeyReshareDetail struct {
	OldGroupID   string   `json:"old_group_id"`
	RootPubKey   string   `json:"root_pub_key"`
	Curve        Curve    `json:"curve"`
	UsedNodeIDs  []string `json:"used_node_ids"`
	OldThreshold Int      `json:"old_threshold"`
	NewThreshold Int      `json:"new_threshold"`
	NewNodeIDs   []string `json:"new_node_ids"`
	TaskID       string   `json:"task_id"`
	BizTaskID    string   `json:"biz_task_id"`
}

// V2KeyReshareExtra is the v2 KEYRESHARE extra_info.
type V2KeyReshareExtra struct {
	Org                       OrgInfo             `json:"org"`
	Project                   MPCProject          `json:"project"`
	Vault                     MPCVault            `json:"vault"`
	SourceKeyShareHolderGroup KeyShareHolderGroup `json:"source_key_share_holder_group"`
	TargetKeyShareHolderGroup KeyShareHolderGroup `json:"target_key_share_holder_group"`
	TSSRequest                TSSRequest          `json:"tss_request"`
}

// V2KeyShareSign is the typed KEYSHARESIGN payload (v2, and v1 by choice).
type V2KeyShareSign struct {
	Detail V2KeyShareSignDetail
	Extra  V2KeyShareSignExtra
}

// V2KeyShareSignDetail is the KEYSHARESIGN request_detail. BizTaskID is the
// key-share sign request ID.
type V2KeyShareSignDetail struct {
	NodeID    string               `json:"node_id"`
	TaskID    string               `json:"task_id"`
	Details   []V2KeyShareSignItem `json:"details"`
	BizTaskID string               `json:"biz_task_id"`
}

// V2KeyShareSignItem is one key share to sign with and the message to sign.
type V2KeyShareSignItem struct {
	GroupID string `json:"group_id"`
	Message string `json:"message"`
}

// V2KeyShareSignExtra is the KEYSHARESIGN extra_info.
type V2KeyShareSignExtra struct {
	Org                          OrgInfo               `json:"org"`
	Project                      MPCProject            `json:"project"`
	Vault                        MPCVault              `json:"vault"`
	Wallet                       MPCWalletInfo         `json:"wallet"`
	ValidityKeyShareHolderGroups []KeyShareHolderGroup `json:"validity_key_share_holder_groups"`
}

// OrgInfo is the organization a request belongs to.
type OrgInfo struct {
	OrgID            string `json:"org_id"`
	BizOrgID         Int    `json:"biz_org_id"`
	Name             string `json:"name"`
	CreatedTimestamp Int    `json:"created_timestamp"` // milliseconds
}

// MPCProject is an MPC project.
type MPCProject struct {
	ProjectID        string `json:"project_id"`
	OrgID            string `json:"org_id"`
	Name             string `json:"name"`
	Participants     Int    `json:"participants"`
	Threshold        Int    `json:"threshold"`
	CreatedTimestamp Int    `json:"created_timestamp"`
}

// MPCVault is an MPC vault. Type is Org-Controlled or User-Controlled.
type MPCVault struct {
	VaultID          string          `json:"vault_id"`
	ProjectID        string          `json:"project_id"`
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	RootPubkeys      []RootPubkeyRef `json:"root_pubkeys"`
	CreatedTimestamp Int             `json:"created_timestamp"`
}

// RootPubkeyRef is a vault root extended public key and its curve name
// (SECP256K1 or ED25519).
type RootPubkeyRef struct {
	RootPubkey string `json:"root_pubkey"`
	Curve      string `json:"curve"`
}

// MPCWalletInfo is the wallet a KEYSIGN or KEYSHARESIGN concerns.
type MPCWalletInfo struct {
	WalletID        string `json:"wallet_id"`
	WalletType      string `json:"wallet_type"`    // Custodial, MPC, SmartContract, Exchange
	WalletSubtype   string `json:"wallet_subtype"` // Asset, Web3, Org-Controlled, User-Controlled, Safe{Wallet}, Main, Sub
	Name            string `json:"name"`
	OrgID           string `json:"org_id"`
	VaultID         string `json:"vault_id"`
	ProjectID       string `json:"project_id"`
	ProjectName     string `json:"project_name"`
	VaultName       string `json:"vault_name"`
	EnableAutoSweep bool   `json:"enable_auto_sweep"`
}

// KeyShareHolderGroup is a key-share holder group. Type is MainGroup,
// SigningGroup or RecoveryGroup; Status New, Valid or Unavailable.
type KeyShareHolderGroup struct {
	KeyShareHolderGroupID string             `json:"key_share_holder_group_id"`
	Type                  string             `json:"type"`
	TSSKeyShareGroups     []TSSKeyShareGroup `json:"tss_key_share_groups"`
	KeyShareHolders       []KeyShareHolder   `json:"key_share_holders"`
	Participants          Int                `json:"participants"`
	Threshold             Int                `json:"threshold"`
	Status                string             `json:"status"`
	CreatedTimestamp      Int                `json:"created_timestamp"`
}

// TSSKeyShareGroup is one TSS key-share group of a holder group; Curve is a
// name (SECP256K1 or ED25519).
type TSSKeyShareGroup struct {
	TSSKeyShareGroupID string `json:"tss_key_share_group_id"`
	Curve              string `json:"curve"`
	RootPubkey         string `json:"root_pubkey"`
}

// KeyShareHolder is one holder of a key share. Type is Cobo, Mobile or API;
// Status Valid, NotConfigured, NotActivated or Changed.
type KeyShareHolder struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	TSSNodeID string `json:"tss_node_id"`
	Online    bool   `json:"online"`
	Signer    bool   `json:"signer"`
	Status    string `json:"status"`
	AccountID string `json:"account_id"`
}

// TSSRequest is the TSS request behind a KEYGEN or KEYRESHARE. Type is
// KeyGen, KeyGenFromKeyGroup or Recovery.
type TSSRequest struct {
	TSSRequestID                string                `json:"tss_request_id"`
	SourceKeyShareHolderGroup   SourceKeyShareHolders `json:"source_key_share_holder_group"`
	TargetKeyShareHolderGroupID string                `json:"target_key_share_holder_group_id"`
	Type                        string                `json:"type"`
	Status                      string                `json:"status"`
	Description                 string                `json:"description"`
	CreatedTimestamp            Int                   `json:"created_timestamp"`
}

// SourceKeyShareHolders is the source group of a TSS request.
type SourceKeyShareHolders struct {
	KeyShareHolderGroupID string   `json:"key_share_holder_group_id"`
	TSSNodeIDs            []string `json:"tss_node_ids"`
}

// AddressInfo is one source address of a KEYSIGN.
type AddressInfo struct {
	Address                string   `json:"address"`
	ChainID                string   `json:"chain_id"`
	Memo                   string   `json:"memo"`
	Path                   string   `json:"path"`
	Encoding               string   `json:"encoding"`
	Pubkey                 string   `json:"pubkey"`
	XOnlyPubkey            string   `json:"x_only_pubkey"`
	RootPubkey             string   `json:"root_pubkey"`
	TaprootScriptTreeHash  string   `json:"taproot_script_tree_hash"`
	TaprootInternalAddress string   `json:"taproot_internal_address"`
	StellarTrustedTokenIDs []string `json:"stellar_trusted_token_ids"`
}

// V2Transaction is the WaaS 2.0 Transaction object (PROTOCOL.md 4.4), the
// description of what a KEYSIGN signs. Amounts are human-unit decimals.
type V2Transaction struct {
	TransactionID       string                   `json:"transaction_id"`
	CoboID              string                   `json:"cobo_id"`
	RequestID           string                   `json:"request_id"`
	WalletID            string                   `json:"wallet_id"`
	Type                string                   `json:"type"`
	Status              string                   `json:"status"`
	SubStatus           string                   `json:"sub_status"`
	FailedReason        string                   `json:"failed_reason"`
	ChainID             string                   `json:"chain_id"`
	TokenID             string                   `json:"token_id"`
	AssetID             string                   `json:"asset_id"`
	Source              V2TransactionSource      `json:"source"`
	Destination         V2TransactionDestination `json:"destination"`
	Result              V2TransactionResult      `json:"result"`
	Fee                 V2TransactionFee         `json:"fee"`
	Initiator           string                   `json:"initiator"`
	InitiatorType       string                   `json:"initiator_type"`
	ConfirmedNum        Int                      `json:"confirmed_num"`
	ConfirmingThreshold Int                      `json:"confirming_threshold"`
	TransactionHash     string                   `json:"transaction_hash"`
	BlockInfo           V2BlockInfo              `json:"block_info"`
	RawTxInfo           V2RawTxInfo              `json:"raw_tx_info"`
	Replacement         V2Replacement            `json:"replacement"`
	Category            []string                 `json:"category"`
	Description         string                   `json:"description"`
	IsLoop              bool                     `json:"is_loop"`
	CoboCategory        []string                 `json:"cobo_category"`
	Extra               []string                 `json:"extra"`
	FuelingInfo         V2FuelingInfo            `json:"fueling_info"`
	CreatedTimestamp    Int                      `json:"created_timestamp"`
	UpdatedTimestamp    Int                      `json:"updated_timestamp"`
}

// V2TransactionSource is the oneOf transaction source, by SourceType:
// Org-Controlled, User-Controlled, Asset, Web3, Main, Sub, Safe{Wallet},
// DepositFromAddress, DepositFromWallet, DepositFromLoop.
type V2TransactionSource struct {
	SourceType                  string      `json:"source_type"`
	WalletID                    string      `json:"wallet_id"`
	Address                     string      `json:"address"`
	IncludedUTXOs               []V2UTXORef `json:"included_utxos"`
	ExcludedUTXOs               []V2UTXORef `json:"excluded_utxos"`
	SignerKeyShareHolderGroupID string      `json:"signer_key_share_holder_group_id"`
	ExchangeID                  string      `json:"exchange_id"`
	TradingAccountType          string      `json:"trading_account_type"`
	Delegate                    *V2Delegate `json:"delegate"`
	Addresses                   []string    `json:"addresses"`
	WalletType                  string      `json:"wallet_type"`
	WalletSubtype               string      `json:"wallet_subtype"`
}

// V2UTXORef names one transaction output.
type V2UTXORef struct {
	TxHash string `json:"tx_hash"`
	VoutN  Int    `json:"vout_n"`
}

// V2Delegate is the delegate of a Safe{Wallet} source.
type V2Delegate struct {
	DelegateType string `json:"delegate_type"`
	WalletID     string `json:"wallet_id"`
	Address      string `json:"address"`
}

// V2TransactionDestination is the oneOf transaction destination, by
// DestinationType: Address (AccountOutput or UTXOOutputs), CustodialWallet
// and ExchangeWallet (WalletID, Amount), EVM_Contract and TRON_Contract
// (Address, Value, Calldata), SOL_Contract, COSMOS_Contract,
// STELLAR_Contract, the message-signature types, DepositToAddress and
// DepositToWallet. Shapes not documented field by field (a Stellar contract
// parameter, EIP-712 structured data) are kept as raw JSON.
type V2TransactionDestination struct {
	DestinationType string `json:"destination_type"`

	AccountOutput *V2AccountOutput `json:"account_output"`
	UTXOOutputs   []V2UTXOOutput   `json:"utxo_outputs"`
	ChangeAddress string           `json:"change_address"`
	ForceInternal bool             `json:"force_internal"`
	ForceExternal bool             `json:"force_external"`

	WalletID           string `json:"wallet_id"`
	Amount             Amount `json:"amount"`
	TradingAccountType string `json:"trading_account_type"`
	ExchangeID         string `json:"exchange_id"`

	Address      string          `json:"address"`
	Value        Amount          `json:"value"`
	Calldata     string          `json:"calldata"`
	CalldataInfo *V2CalldataInfo `json:"calldata_info"`

	Instructions               []V2SOLInstruction `json:"instructions"`
	AddressLookupTableAccounts []V2SOLLookupTable `json:"address_lookup_table_accounts"`
	CosmosMessages             []V2CosmosMessage  `json:"cosmos_messages"`
	ContractParam              json.RawMessage    `json:"contract_param"`
	Message                    string             `json:"message"`
	StructuredData             json.RawMessage    `json:"structured_data"`
	RawStructuredData          string             `json:"raw_structured_data"`
	SafeTxExtraData            *V2SafeTxExtraData `json:"safe_tx_extra_data"`
	MsgHash                    string             `json:"msg_hash"`
	MessageBIP137              string             `json:"message_bip137"`
	MessageBIP322              string             `json:"message_bip322"`
	MessageCosmosADR36         string             `json:"message_cosmos_adr36"`

	WalletType    string    `json:"wallet_type"`
	WalletSubtype string    `json:"wallet_subtype"`
	Memo          string    `json:"memo"`
	TxInfo        *V2TxInfo `json:"tx_info"`
}

// V2AccountOutput is the single output of an account-model transfer.
type V2AccountOutput struct {
	Address string `json:"address"`
	Memo    string `json:"memo"`
	Amount  Amount `json:"amount"`
}

// V2UTXOOutput is one output of a UTXO transfer.
type V2UTXOOutput struct {
	Address string `json:"address"`
	Amount  Amount `json:"amount"`
}

// V2CalldataInfo is Cobo's decoding of EVM calldata. Params is a JSON
// array-of-arrays in a string.
type V2CalldataInfo struct {
	ChainID     string           `json:"chain_id"`
	Address     string           `json:"address"`
	Name        string           `json:"name"`
	ImplAddress string           `json:"impl_address"`
	ImplName    string           `json:"impl_name"`
	Proxy       bool             `json:"proxy"`
	Method      V2CalldataMethod `json:"method"`
	Params      string           `json:"params"`
}

// V2CalldataMethod is the called contract method.
type V2CalldataMethod struct {
	Name     string `json:"name"`
	Sig      string `json:"sig"`
	Type     string `json:"type"`
	Payable  bool   `json:"payable"`
	Selector string `json:"selector"`
}

// V2SOLInstruction is one Solana instruction.
type V2SOLInstruction struct {
	Accounts  []V2SOLAccount `json:"accounts"`
	Data      string         `json:"data"`
	ProgramID string         `json:"program_id"`
}

// V2SOLAccount is one account of a Solana instruction.
type V2SOLAccount struct {
	Pubkey     string `json:"pubkey"`
	IsSigner   bool   `json:"is_signer"`
	IsWritable bool   `json:"is_writable"`
}

// V2SOLLookupTable is a Solana address lookup table.
type V2SOLLookupTable struct {
	ALTAccountKey string   `json:"alt_account_key"`
	Addresses     []string `json:"addresses"`
}

// V2CosmosMessage is one Cosmos message; Message is base64.
type V2CosmosMessage struct {
	TypeURL string `json:"type_url"`
	Message string `json:"message"`
}

// V2SafeTxExtraData describes a Safe{Wallet} transaction under EIP-712.
// Removed from Cobo's API in v1.42.0, it still appears in older records.
// Every member is Cobo's description and none is needed for the digest
// (which is recomputed from structured_data), so the members whose JSON
// type varies between records (operation is 0, "1", "Call" or
// "DelegateCall"; safe_nonce a number or a string) are kept as raw JSON:
// a record must decode whichever spelling it uses.
type V2SafeTxExtraData struct {
	To          string          `json:"to"`
	Value       string          `json:"value"`
	Data        string          `json:"data"`
	DomainHash  string          `json:"domain_hash"`
	MessageHash string          `json:"message_hash"`
	SafeAddress string          `json:"safe_address"`
	SafeTxHash  string          `json:"safe_tx_hash"`
	SafeNonce   json.RawMessage `json:"safe_nonce"`
	Operation   json.RawMessage `json:"operation"`
}

// V2TxInfo locates a deposit output.
type V2TxInfo struct {
	VoutN    Int    `json:"vout_n"`
	ObjectID string `json:"object_id"`
	Version  string `json:"version"`
}

// V2TransactionResult is a transaction's signing result.
type V2TransactionResult struct {
	ResultType string `json:"result_type"`
	Signature  string `json:"signature"`
}

// V2TransactionFee is the oneOf fee, by FeeType: Fixed, EVM_EIP_1559,
// EVM_Legacy, UTXO, SOL, FIL. Every amount is a decimal string on the wire
// and an Amount here; unset ones are absent in that variant.
type V2TransactionFee struct {
	FeeType              string `json:"fee_type"`
	TokenID              string `json:"token_id"`
	FeeUsed              Amount `json:"fee_used"`
	EstimatedFeeUsed     Amount `json:"estimated_fee_used"`
	MaxFeeAmount         Amount `json:"max_fee_amount"`
	EffectiveGasPrice    Amount `json:"effective_gas_price"`
	GasUsed              Amount `json:"gas_used"`
	GasLimit             Amount `json:"gas_limit"`
	GasPrice             Amount `json:"gas_price"`
	MaxFeePerGas         Amount `json:"max_fee_per_gas"`
	MaxPriorityFeePerGas Amount `json:"max_priority_fee_per_gas"`
	FeeRate              Amount `json:"fee_rate"`
	BaseFee              Amount `json:"base_fee"`
	RentAmount           Amount `json:"rent_amount"`
	ComputeUnitPrice     Amount `json:"compute_unit_price"`
	ComputeUnitLimit     Amount `json:"compute_unit_limit"`
	GasBase              Amount `json:"gas_base"`
	GasPremium           Amount `json:"gas_premium"`
	GasFeeCap            Amount `json:"gas_fee_cap"`
}

// V2BlockInfo locates a transaction on chain.
type V2BlockInfo struct {
	BlockNumber    Int    `json:"block_number"`
	BlockTimestamp Int    `json:"block_timestamp"`
	BlockHash      string `json:"block_hash"`
}

// V2RawTxInfo carries the bytes a KEYSIGN signs. UnsignedRawTx is what the
// verifier decodes and hashes to check msg_hash_list.
type V2RawTxInfo struct {
	UsedNonce     Int              `json:"used_nonce"`
	SelectedUTXOs []V2SelectedUTXO `json:"selected_utxos"`
	RawTx         string           `json:"raw_tx"`
	UnsignedRawTx string           `json:"unsigned_raw_tx"`
	UTXOChange    *V2UTXOChange    `json:"utxo_change"`
	UTXOChanges   []V2UTXOChange   `json:"utxo_changes"`
}

// V2SelectedUTXO is one UTXO (or, for object-model chains, object) spent.
type V2SelectedUTXO struct {
	TxHash         string `json:"tx_hash"`
	VoutN          Int    `json:"vout_n"`
	TokenID        string `json:"token_id"`
	Address        string `json:"address"`
	Value          Amount `json:"value"`
	RedeemScript   string `json:"redeem_script"`
	RevealedScript string `json:"revealed_script"`
	ObjectID       string `json:"object_id"`
	Version        string `json:"version"`
}

// V2UTXOChange is one change output.
type V2UTXOChange struct {
	Address string `json:"address"`
	Value   Amount `json:"value"`
	TokenID string `json:"token_id"`
}

// V2Replacement links a transaction to the one it replaces or is replaced
// by (types Drop, Resend, SpeedUp).
type V2Replacement struct {
	ReplacedByType            string `json:"replaced_by_type"`
	ReplacedByTransactionID   string `json:"replaced_by_transaction_id"`
	ReplacedByTransactionHash string `json:"replaced_by_transaction_hash"`
	ReplacedType              string `json:"replaced_type"`
	ReplacedTransactionID     string `json:"replaced_transaction_id"`
	ReplacedTransactionHash   string `json:"replaced_transaction_hash"`
}

// V2FuelingInfo links a Fee Station transaction to the one it fuels.
type V2FuelingInfo struct {
	RequestID         string `json:"request_id"`
	TransactionID     string `json:"transaction_id"`
	MainTransactionID string `json:"main_transaction_id"`
}
