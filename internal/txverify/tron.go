package txverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// TRON transactions. unsigned_raw_tx is the protobuf Transaction.raw
// (raw_data) message, and the signed hash is SHA-256 of exactly those
// bytes. The schema (java-tron protocol/Tron.proto and
// core/contract/*.proto) as read here:
//
//	Transaction.raw: 1 ref_block_bytes, 3 ref_block_num, 4 ref_block_hash,
//	  8 expiration, 10 data (memo), 11 contract (exactly one), 14 timestamp,
//	  18 fee_limit
//	Contract: 1 type, 2 parameter (google.protobuf.Any: 1 type_url, 2 value),
//	  3 provider, 4 ContractName, 5 Permission_id
//	TransferContract (type 1): 1 owner_address, 2 to_address, 3 amount
//	TriggerSmartContract (type 31): 1 owner_address, 2 contract_address,
//	  3 call_value, 4 data, 5 call_token_value, 6 token_id
//
// Every other field (including the unused auths and scripts) is refused,
// as is a repeated non-repeated field: protobuf readers keep the last of a
// repeated scalar and merge repeated messages, and a reader that kept the
// first would see a different transaction from the chain's.

const (
	tronTransferContract = 1
	tronTriggerSmart     = 31
	tronTypeURLPrefix    = "type.googleapis.com/protocol."
	tronAddrPrefix       = 0x41
)

var tronContractNames = map[uint64]string{
	tronTransferContract: "TransferContract",
	tronTriggerSmart:     "TriggerSmartContract",
}

var (
	tronRawSchema = pbSchema{
		1: {pbBytes, false}, 3: {pbVarint, false}, 4: {pbBytes, false}, 8: {pbVarint, false},
		10: {pbBytes, false}, 11: {pbBytes, true}, 14: {pbVarint, false}, 18: {pbVarint, false},
	}
	tronContractSchema = pbSchema{
		1: {pbVarint, false}, 2: {pbBytes, false}, 3: {pbBytes, false}, 4: {pbBytes, false}, 5: {pbVarint, false},
	}
	tronAnySchema      = pbSchema{1: {pbBytes, false}, 2: {pbBytes, false}}
	tronTransferSchema = pbSchema{1: {pbBytes, false}, 2: {pbBytes, false}, 3: {pbVarint, false}}
	tronTriggerSchema  = pbSchema{
		1: {pbBytes, false}, 2: {pbBytes, false}, 3: {pbVarint, false},
		4: {pbBytes, false}, 5: {pbVarint, false}, 6: {pbVarint, false},
	}
)

type tronTx struct {
	contractType   uint64
	owner          []byte // 21 bytes
	to             []byte // TransferContract recipient
	amount         int64  // TransferContract sun
	contract       []byte // TriggerSmartContract contract
	callValue      int64
	callTokenValue int64
	data           []byte
	hash           [32]byte
}

// parseTronAddress reads a base58check T... address: 21 bytes starting
// with 0x41.
func parseTronAddress(s string) ([21]byte, bool) {
	var a [21]byte
	b, err := base58CheckDecode(s)
	if err != nil || len(b) != 21 || b[0] != tronAddrPrefix {
		return a, false
	}
	copy(a[:], b)
	return a, true
}

func tronAddr(b []byte) string { return base58CheckEncode(b) }

// tronAddress checks a 21-byte address field.
func tronAddress(b []byte, field string) ([]byte, error) {
	if len(b) != 21 || b[0] != tronAddrPrefix {
		return nil, fmt.Errorf("%s is not a 21-byte 0x41 address", field)
	}
	return b, nil
}

// pbInt64 reads an optional non-negative int64 varint field.
func pbInt64(fields map[uint64][]pbField, num uint64, field string) (int64, bool, error) {
	fs := fields[num]
	if len(fs) == 0 {
		return 0, false, nil
	}
	v := int64(fs[0].u)
	if v < 0 {
		return 0, true, fmt.Errorf("%s is negative", field)
	}
	return v, true, nil
}

func pbBytesField(fields map[uint64][]pbField, num uint64) []byte {
	if fs := fields[num]; len(fs) > 0 {
		return fs[0].bytes
	}
	return nil
}

func decodeTRON(raw []byte) (*tronTx, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	rawFields, err := pbParse(raw, tronRawSchema, "raw_data")
	if err != nil {
		return nil, err
	}
	t := &tronTx{hash: sha256.Sum256(raw)}
	if _, _, err := pbInt64(rawFields, 18, "fee_limit"); err != nil {
		return nil, err
	}
	for _, n := range []uint64{3, 8, 14} {
		if _, _, err := pbInt64(rawFields, n, fmt.Sprintf("raw_data field %d", n)); err != nil {
			return nil, err
		}
	}
	contracts := rawFields[11]
	if len(contracts) != 1 {
		return nil, fmt.Errorf("raw_data has %d contracts, want exactly 1", len(contracts))
	}
	cf, err := pbParse(contracts[0].bytes, tronContractSchema, "contract")
	if err != nil {
		return nil, err
	}
	if len(cf[1]) == 0 {
		return nil, errors.New("contract has no type")
	}
	t.contractType = cf[1][0].u
	if len(cf[2]) == 0 {
		return nil, errors.New("contract has no parameter")
	}
	anyFields, err := pbParse(cf[2][0].bytes, tronAnySchema, "contract.parameter")
	if err != nil {
		return nil, err
	}
	typeURL, value := string(pbBytesField(anyFields, 1)), pbBytesField(anyFields, 2)
	name, known := tronContractNames[t.contractType]
	if !known {
		// Not interpreted, but still a decodable transaction: the facts say
		// which contract type it is, and nothing will verify.
		return t, nil
	}
	if typeURL != tronTypeURLPrefix+name {
		return nil, fmt.Errorf("contract type %d (%s) has parameter type_url %q", t.contractType, name, short(typeURL))
	}
	switch t.contractType {
	case tronTransferContract:
		f, err := pbParse(value, tronTransferSchema, name)
		if err != nil {
			return nil, err
		}
		if t.owner, err = tronAddress(pbBytesField(f, 1), "owner_address"); err != nil {
			return nil, err
		}
		if t.to, err = tronAddress(pbBytesField(f, 2), "to_address"); err != nil {
			return nil, err
		}
		amount, set, err := pbInt64(f, 3, "amount")
		if err != nil {
			return nil, err
		}
		if !set || amount == 0 {
			return nil, errors.New("TransferContract amount is zero")
		}
		t.amount = amount
	case tronTriggerSmart:
		f, err := pbParse(value, tronTriggerSchema, name)
		if err != nil {
			return nil, err
		}
		if t.owner, err = tronAddress(pbBytesField(f, 1), "owner_address"); err != nil {
			return nil, err
		}
		if t.contract, err = tronAddress(pbBytesField(f, 2), "contract_address"); err != nil {
			return nil, err
		}
		if t.callValue, _, err = pbInt64(f, 3, "call_value"); err != nil {
			return nil, err
		}
		if t.callTokenValue, _, err = pbInt64(f, 5, "call_token_value"); err != nil {
			return nil, err
		}
		if _, _, err = pbInt64(f, 6, "token_id"); err != nil {
			return nil, err
		}
		t.data = pbBytesField(f, 4)
	}
	return t, nil
}

func (t *tronTx) facts(r *Registry) *Facts {
	f := &Facts{
		Chain:  ChainTRON,
		TxType: "tron",
		Hashes: []string{hex.EncodeToString(t.hash[:])},
	}
	// MaxFee stays unknown. fee_limit caps only the energy fee; bandwidth
	// (per byte of the signed transaction), the memo fee, account
	// activation and multi-signature fees are charged on top at prices the
	// chain's governance sets and may raise, so no bound read from the
	// bytes alone would stay sound. Unknown makes a policy fee cap reject.
	if t.owner != nil {
		f.From = tronAddr(t.owner)
	}
	nativeDec, nativeOK := r.decimalsFor(ChainTRON, nil, "")
	switch t.contractType {
	case tronTransferContract:
		f.Method = methodNative
		f.Destinations = []Destination{destination(tronAddr(t.to), big.NewInt(t.amount), nativeDec, nativeOK)}
	case tronTriggerSmart:
		contract := tronAddr(t.contract)
		f.Data = hex.EncodeToString(t.data)
		call := classifyCall(t.data)
		f.Method, f.Selector, f.Contract = call.method, call.selector, contract
		if call.known() {
			f.TokenContract = contract
		}
		f.Destinations = []Destination{destination(contract, big.NewInt(t.callValue), nativeDec, nativeOK)}
		switch call.method {
		case methodTokenTransfer, methodTokenTransferFr:
			if call.method == methodTokenTransferFr {
				f.TokenFrom = tronABIAddr(call.from)
			}
			// As on EVM: token amounts only for a contract in the table.
			if dec, ok := r.decimalsFor(ChainTRON, nil, contract); ok {
				f.Destinations = []Destination{destination(tronABIAddr(call.to), call.amount, dec, ok)}
			}
		case methodApprove:
			f.Spender, f.Allowance = tronABIAddr(call.to), call.amount
		}
	default:
		f.Method = fmt.Sprintf("contract_type_%d", t.contractType)
	}
	return f
}

// tronABIAddr renders a 20-byte ABI address as a TRON address.
func tronABIAddr(a [20]byte) string {
	return tronAddr(append([]byte{tronAddrPrefix}, a[:]...))
}

// compareTRON checks the description against the decoded transaction.
// As on EVM, TriggerSmartContract data with a known token method's selector
// that is not its strict ABI encoding is refused first.
func compareTRON(r *Registry, c *claim, tok Token, t *tronTx, f *Facts) *failure {
	switch t.contractType {
	case tronTransferContract, tronTriggerSmart:
	default:
		return fail("method", "transaction is TRON contract type %d, which cannot be verified", t.contractType)
	}
	if t.contractType == tronTriggerSmart && t.callTokenValue != 0 {
		return fail("value", "transaction also sends %d units of TRC-10 token", t.callTokenValue)
	}
	var call tokenCall
	if t.contractType == tronTriggerSmart {
		call = classifyCall(t.data)
		if call.err != nil {
			return fail("calldata", "call to %s: %v", tronAddr(t.contract), call.err)
		}
	}
	switch c.destType {
	case "Address":
	case "TRON_Contract":
		return compareTRONCall(r, c, tok, t, call)
	default:
		return unsupportedDestinationType(c)
	}
	d, fl := oneDestination(c, "TRON")
	if fl != nil {
		return fl
	}
	if tok.Native() {
		if t.contractType != tronTransferContract {
			return fail("token", "description says native %s, transaction calls contract %s (%s)", tok.TokenID, tronAddr(t.contract), f.Method)
		}
		if d.Address != tronAddr(t.to) {
			return fail("destination", "description says %s, transaction pays %s", short(d.Address), tronAddr(t.to))
		}
		return checkAmount("amount", d.Amount, big.NewInt(t.amount), tok.Decimals, tok.TokenID)
	}
	if t.contractType != tronTriggerSmart {
		return fail("token", "description says %s (contract %s), transaction is a native TRX transfer", tok.TokenID, tok.Contract)
	}
	want, _ := parseTronAddress(tok.Contract)
	if !bytes.Equal(want[:], t.contract) {
		return fail("token", "description says %s (contract %s), transaction calls %s", tok.TokenID, tok.Contract, tronAddr(t.contract))
	}
	if call.method == methodTokenTransferFr {
		// transferFrom pulls funds from a third account that approved this
		// wallet: not the wallet's own transfer the description names.
		return fail("method", "description is a transfer of %s, transaction is transferFrom (it moves another account's tokens)", tok.TokenID)
	}
	if call.method != methodTokenTransfer {
		return fail("method", "description is a transfer of %s, transaction is %s (selector %q) on the token contract", tok.TokenID, call.method, call.selector)
	}
	if t.callValue != 0 {
		return fail("value", "token transfer also sends %d sun", t.callValue)
	}
	if got := tronABIAddr(call.to); d.Address != got {
		return fail("destination", "description says %s, transaction pays %s", short(d.Address), got)
	}
	return checkAmount("amount", d.Amount, call.amount, tok.Decimals, tok.TokenID)
}

// compareTRONCall checks a TRON_Contract description: contract, TRX value
// and calldata. As on EVM (compareEVMCall), a token method on a contract in
// the token table must be described under the token's own token_id; on any
// other contract it verifies as a TRX contract call.
func compareTRONCall(r *Registry, c *claim, tok Token, t *tronTx, call tokenCall) *failure {
	if !tok.Native() {
		return fail("token", "TRON_Contract descriptions move TRX, but token_id %s is a token contract", tok.TokenID)
	}
	if t.contractType != tronTriggerSmart {
		return fail("method", "description is a contract call, transaction is a native TRX transfer")
	}
	d, fl := oneDestination(c, "TRON")
	if fl != nil {
		return fl
	}
	contract := tronAddr(t.contract)
	if d.Address != contract {
		return fail("destination", "description calls %s, transaction calls %s", short(d.Address), contract)
	}
	if fl := checkAmount("value", d.Amount, big.NewInt(t.callValue), tok.Decimals, tok.TokenID); fl != nil {
		return fl
	}
	if r.isTokenContract(ChainTRON, nil, contract) {
		// Any call, not only the known token methods (see compareEVMCall).
		return fail("method", "a contract call under native token_id %s calls %s on %s, a token in the token table; calls to a listed token must be described under its own token_id, where only its transfer verifies", tok.TokenID, callName(call), contract)
	}
	return compareCalldata(c.calldata, t.data)
}
