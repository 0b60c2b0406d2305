package txverify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// EVM transactions in their unsigned form, as Cobo sends them and as the
// chain hashes them for signing:
//   - legacy (EIP-155): rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
//   - EIP-2930: 0x01 || rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList])
//   - EIP-1559: 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])
// The signed hash is keccak256 of exactly these bytes. Refused: pre-EIP-155
// legacy transactions (no chain id, replayable on every EVM chain), signed
// forms (r, s or yParity present), other transaction types (blob
// transactions, EIP-7702 delegations), and non-canonical RLP.

type evmTx struct {
	txType      byte // 0 legacy, 1 EIP-2930, 2 EIP-1559
	chainID     *big.Int
	nonce       uint64
	gasPrice    *big.Int // legacy, EIP-2930
	maxPriority *big.Int // EIP-1559
	maxFee      *big.Int // EIP-1559
	gas         uint64
	to          []byte // nil: contract creation
	value       *big.Int
	data        []byte
	hash        [32]byte
}

// parseEVMAddress reads 0x + 40 hex digits (any case).
func parseEVMAddress(s string) ([20]byte, bool) {
	var a [20]byte
	if len(s) != 42 || (s[:2] != "0x" && s[:2] != "0X") {
		return a, false
	}
	if _, err := hex.Decode(a[:], []byte(s[2:])); err != nil {
		return a, false
	}
	return a, true
}

func evmAddr(b []byte) string { return "0x" + hex.EncodeToString(b) }

func decodeEVM(raw []byte) (*evmTx, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	t := &evmTx{hash: keccak256(raw)}
	body := raw
	switch p := raw[0]; {
	case p >= 0xc0:
		t.txType = 0
	case p == 0x01 || p == 0x02:
		t.txType = p
		body = raw[1:]
	case p < 0x80:
		return nil, fmt.Errorf("transaction type 0x%02x is not supported (only legacy, 0x01 and 0x02)", p)
	default:
		return nil, errors.New("not an RLP list or typed transaction")
	}
	top, err := rlpSingle(body)
	if err != nil {
		return nil, err
	}
	if !top.list {
		return nil, errors.New("transaction payload is not an RLP list")
	}
	items, err := rlpList(top.content)
	if err != nil {
		return nil, err
	}
	switch t.txType {
	case 0:
		err = t.legacy(items)
	case 1:
		err = t.eip2930(items)
	case 2:
		err = t.eip1559(items)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *evmTx) legacy(it []rlpItem) error {
	switch len(it) {
	case 9:
	case 6:
		return errors.New("legacy transaction without EIP-155 chain id (replayable on every EVM chain)")
	default:
		return fmt.Errorf("legacy transaction has %d fields, want 9 (unsigned EIP-155)", len(it))
	}
	var err error
	if t.nonce, err = rlpUint64(it[0], "nonce"); err != nil {
		return err
	}
	if t.gasPrice, err = rlpUint(it[1], 32, "gasPrice"); err != nil {
		return err
	}
	if err = t.common(it[2], it[3], it[4], it[5]); err != nil {
		return err
	}
	if t.chainID, err = rlpUint(it[6], 32, "chainId"); err != nil {
		return err
	}
	if t.chainID.Sign() == 0 {
		return errors.New("EIP-155 chain id is 0")
	}
	for i, name := range []string{"r", "s"} {
		v, err := rlpUint(it[7+i], 32, name)
		if err != nil {
			return err
		}
		if v.Sign() != 0 {
			return fmt.Errorf("%s is set: this is a signed transaction, not the unsigned EIP-155 form", name)
		}
	}
	return nil
}

func (t *evmTx) eip2930(it []rlpItem) error {
	if len(it) != 8 {
		return fmt.Errorf("EIP-2930 transaction has %d fields, want 8 (unsigned)", len(it))
	}
	var err error
	if t.chainID, err = rlpUint(it[0], 32, "chainId"); err != nil {
		return err
	}
	if t.nonce, err = rlpUint64(it[1], "nonce"); err != nil {
		return err
	}
	if t.gasPrice, err = rlpUint(it[2], 32, "gasPrice"); err != nil {
		return err
	}
	if err = t.common(it[3], it[4], it[5], it[6]); err != nil {
		return err
	}
	return checkAccessList(it[7])
}

func (t *evmTx) eip1559(it []rlpItem) error {
	if len(it) != 9 {
		return fmt.Errorf("EIP-1559 transaction has %d fields, want 9 (unsigned)", len(it))
	}
	var err error
	if t.chainID, err = rlpUint(it[0], 32, "chainId"); err != nil {
		return err
	}
	if t.nonce, err = rlpUint64(it[1], "nonce"); err != nil {
		return err
	}
	if t.maxPriority, err = rlpUint(it[2], 32, "maxPriorityFeePerGas"); err != nil {
		return err
	}
	if t.maxFee, err = rlpUint(it[3], 32, "maxFeePerGas"); err != nil {
		return err
	}
	if err = t.common(it[4], it[5], it[6], it[7]); err != nil {
		return err
	}
	return checkAccessList(it[8])
}

// common reads gas, to, value and data, which every type has in this order.
func (t *evmTx) common(gas, to, value, data rlpItem) error {
	var err error
	if t.gas, err = rlpUint64(gas, "gas"); err != nil {
		return err
	}
	if to.list {
		return errors.New("to is a list")
	}
	switch len(to.content) {
	case 0:
		t.to = nil
	case 20:
		t.to = to.content
	default:
		return fmt.Errorf("to is %d bytes, want 20 or empty", len(to.content))
	}
	if t.value, err = rlpUint(value, 32, "value"); err != nil {
		return err
	}
	t.data, err = rlpBytes(data, "data")
	return err
}

// checkAccessList requires [[address, [storageKey...]]...] with 20-byte
// addresses and 32-byte keys. The entries only change gas accounting, but a
// malformed list means the bytes are not a valid transaction.
func checkAccessList(it rlpItem) error {
	if !it.list {
		return errors.New("accessList is not a list")
	}
	entries, err := rlpList(it.content)
	if err != nil {
		return err
	}
	for i, e := range entries {
		parts, err := rlpList(e.content)
		if err != nil || !e.list || len(parts) != 2 || parts[0].list || len(parts[0].content) != 20 || !parts[1].list {
			return fmt.Errorf("accessList entry %d is not [address, [keys]]", i)
		}
		keys, err := rlpList(parts[1].content)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.list || len(k.content) != 32 {
				return fmt.Errorf("accessList entry %d has a storage key that is not 32 bytes", i)
			}
		}
	}
	return nil
}

var evmTxTypes = map[byte]string{0: "legacy", 1: "eip2930", 2: "eip1559"}

// facts derives the Facts; amounts are scaled with r's decimals.
func (t *evmTx) facts(r *Registry) *Facts {
	nonce, gas := t.nonce, t.gas
	f := &Facts{
		Chain:    ChainEVM,
		TxType:   evmTxTypes[t.txType],
		Nonce:    &nonce,
		ChainID:  new(big.Int).Set(t.chainID),
		GasLimit: &gas,
		Data:     hex.EncodeToString(t.data),
		Hashes:   []string{hex.EncodeToString(t.hash[:])},
	}
	price := t.gasPrice
	if t.txType == 2 {
		f.MaxFeePerGas, f.MaxPriorityFeePerGas = new(big.Int).Set(t.maxFee), new(big.Int).Set(t.maxPriority)
		price = t.maxFee
	} else {
		f.GasPrice = new(big.Int).Set(t.gasPrice)
	}
	f.MaxFee = new(big.Int).Mul(new(big.Int).SetUint64(t.gas), price)

	nativeDec, nativeOK := r.decimalsFor(ChainEVM, t.chainID, "")
	if t.to == nil {
		f.Method = methodCreation
		return f
	}
	to := evmAddr(t.to)
	if len(t.data) == 0 {
		f.Method = methodNative
		f.Destinations = []Destination{destination(to, t.value, nativeDec, nativeOK)}
		return f
	}
	call := classifyCall(t.data)
	f.Method, f.Selector, f.Contract = call.method, call.selector, to
	if call.known() {
		f.TokenContract = to
	}
	f.Destinations = []Destination{destination(to, t.value, nativeDec, nativeOK)}
	switch call.method {
	case methodTokenTransfer, methodTokenTransferFr:
		if call.method == methodTokenTransferFr {
			f.TokenFrom = evmAddr(call.from[:])
		}
		// The token amount is known only for a contract in the table;
		// elsewhere the call can only verify as a native contract call,
		// whose destination is the contract and the native value.
		if dec, ok := r.decimalsFor(ChainEVM, t.chainID, to); ok {
			f.Destinations = []Destination{destination(evmAddr(call.to[:]), call.amount, dec, ok)}
		}
	case methodApprove:
		f.Spender, f.Allowance = evmAddr(call.to[:]), call.amount
	}
	return f
}

// compareEVM checks the description against the decoded transaction.
// Calldata with a known token method's selector that is not its strict ABI
// encoding is refused first, whatever the description and the contract.
func compareEVM(r *Registry, c *claim, tok Token, t *evmTx, f *Facts) *failure {
	if tok.EVMChainID != nil && t.chainID.Cmp(tok.EVMChainID) != 0 {
		return fail("chain_id", "token_id %s is on EVM chain %s, transaction is for chain %s", tok.TokenID, tok.EVMChainID, t.chainID)
	}
	var call tokenCall
	if t.to != nil {
		call = classifyCall(t.data)
		if call.err != nil {
			return fail("calldata", "call to %s: %v", evmAddr(t.to), call.err)
		}
	}
	switch c.destType {
	case "Address":
		return compareEVMTransfer(c, tok, t, call, f)
	case "EVM_Contract":
		return compareEVMCall(r, c, tok, t, call)
	}
	return unsupportedDestinationType(c)
}

func sameEVMAddress(desc string, b []byte) (bool, *failure) {
	a, ok := parseEVMAddress(desc)
	if !ok {
		return false, fail("destination", "description address %s is not a 0x-prefixed 20-byte hex address", short(desc))
	}
	return bytes.Equal(a[:], b), nil
}

func compareEVMTransfer(c *claim, tok Token, t *evmTx, call tokenCall, f *Facts) *failure {
	d, fl := oneDestination(c, "EVM")
	if fl != nil {
		return fl
	}
	if t.to == nil {
		return fail("destination", "description says %s, transaction creates a contract", short(d.Address))
	}
	if tok.Native() {
		if len(t.data) > 0 {
			return fail("method", "description is a transfer of %s, transaction calls contract %s (%s, selector %q)", tok.TokenID, evmAddr(t.to), f.Method, f.Selector)
		}
		same, fl := sameEVMAddress(d.Address, t.to)
		if fl != nil {
			return fl
		}
		if !same {
			return fail("destination", "description says %s, transaction pays %s", short(d.Address), evmAddr(t.to))
		}
		return checkAmount("amount", d.Amount, t.value, tok.Decimals, tok.TokenID)
	}
	contract, _ := parseEVMAddress(tok.Contract)
	if !bytes.Equal(contract[:], t.to) {
		if len(t.data) == 0 {
			return fail("token", "description says %s (contract %s), transaction is a native transfer to %s", tok.TokenID, tok.Contract, evmAddr(t.to))
		}
		return fail("token", "description says %s (contract %s), transaction calls %s", tok.TokenID, tok.Contract, evmAddr(t.to))
	}
	if call.method == methodTokenTransferFr {
		// transferFrom pulls funds from a third account that approved this
		// wallet: not the wallet's own transfer the description names.
		return fail("method", "description is a transfer of %s, transaction is transferFrom (it moves another account's tokens)", tok.TokenID)
	}
	if call.method != methodTokenTransfer {
		return fail("method", "description is a transfer of %s, transaction is %s (selector %q) on the token contract", tok.TokenID, call.method, call.selector)
	}
	if t.value.Sign() != 0 {
		return fail("value", "token transfer also sends %s wei of native coin", t.value)
	}
	same, fl := sameEVMAddress(d.Address, call.to[:])
	if fl != nil {
		return fl
	}
	if !same {
		return fail("destination", "description says %s, transaction pays %s", short(d.Address), evmAddr(call.to[:]))
	}
	return checkAmount("amount", d.Amount, call.amount, tok.Decimals, tok.TokenID)
}

// compareEVMCall checks an EVM_Contract description: the called address,
// the native value and the calldata byte for byte. The value is in the
// native coin, so the token_id must name it. A token method (tokenMethods)
// on a contract in the token table is refused: described under the native
// token_id it would be counted in native units by limits and escape the
// token's own rules and limits. The same method on any other contract (an
// ERC-20 or NFT outside the table), like every other call, verifies as a
// native contract call, its method visible in Facts.Method.
func compareEVMCall(r *Registry, c *claim, tok Token, t *evmTx, call tokenCall) *failure {
	if !tok.Native() {
		return fail("token", "EVM_Contract descriptions move the native coin, but token_id %s is a token contract", tok.TokenID)
	}
	d, fl := oneDestination(c, "EVM")
	if fl != nil {
		return fl
	}
	if t.to == nil {
		return fail("destination", "description calls %s, transaction creates a contract", short(d.Address))
	}
	same, fl := sameEVMAddress(d.Address, t.to)
	if fl != nil {
		return fl
	}
	if !same {
		return fail("destination", "description calls %s, transaction calls %s", short(d.Address), evmAddr(t.to))
	}
	if fl := checkAmount("value", d.Amount, t.value, tok.Decimals, tok.TokenID); fl != nil {
		return fl
	}
	if to := evmAddr(t.to); r.isTokenContract(ChainEVM, t.chainID, to) {
		// Any call, not only the known token methods: a token has other
		// ways to move or approve (DAI's push and move, transferAndCall,
		// increaseApproval), and under the native token_id none of them
		// would reach the token's rules and limits.
		return fail("method", "a contract call under native token_id %s calls %s on %s, a token in the token table; calls to a listed token must be described under its own token_id, where only its transfer verifies", tok.TokenID, callName(call), to)
	}
	return compareCalldata(c.calldata, t.data)
}

// compareCalldata compares described calldata (hex, optional 0x, any case;
// empty means none) with the transaction's.
func compareCalldata(desc string, data []byte) *failure {
	var want []byte
	if strings.TrimPrefix(strings.TrimPrefix(desc, "0x"), "0X") != "" {
		var err error
		if want, err = decodeHex(desc); err != nil {
			return fail("calldata", "description calldata is not hex: %v", err)
		}
	}
	if !bytes.Equal(want, data) {
		return fail("calldata", "description says %s, transaction carries %s", short("0x"+hex.EncodeToString(want)), short("0x"+hex.EncodeToString(data)))
	}
	return nil
}
