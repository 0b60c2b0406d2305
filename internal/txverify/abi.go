package txverify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// EVM and TRON calldata, read strictly. Solidity ignores calldata after the
// arguments, and contracts compiled with the old ABI decoder (USDT's among
// them) mask dirty address padding instead of reverting, so a transfer
// with a trailing byte or a dirty address word still moves tokens. A
// classifier that read such a call as a generic contract call would let a
// token movement pass as a 0-value native call. So calldata whose selector
// is one of tokenMethods must be exactly the canonical ABI encoding of
// that method's arguments (decodeABI), or the transaction is unverified,
// whatever contract it calls; only calldata with any other selector is a
// generic contract call.
//
// One selector can belong to several standards (approve and transferFrom
// to ERC-20 and ERC-721, setApprovalForAll to ERC-721 and ERC-1155): the
// argument layout is the same, so each selector has one strict layout and
// one method name. TRC-20 and TRC-721 are the same ABI on TRON.

// Method names shared by the EVM and TRON decoders (Facts.Method).
const (
	methodNative            = "native_transfer"
	methodTokenTransfer     = "token_transfer"                   // ERC-20/TRC-20 transfer(address,uint256)
	methodTokenTransferFr   = "token_transfer_from"              // transferFrom(address,address,uint256), ERC-20 and ERC-721
	methodApprove           = "approve"                          // approve(address,uint256), ERC-20 and ERC-721
	methodIncreaseAllowance = "increase_allowance"               // increaseAllowance(address,uint256)
	methodDecreaseAllowance = "decrease_allowance"               // decreaseAllowance(address,uint256)
	methodPermit            = "permit"                           // EIP-2612 and DAI-style permit
	methodApprovalForAll    = "set_approval_for_all"             // setApprovalForAll(address,bool), ERC-721 and ERC-1155
	methodNFTSafeTransfer   = "nft_safe_transfer_from"           // ERC-721 safeTransferFrom, with or without data
	methodERC1155Transfer   = "erc1155_safe_transfer_from"       // ERC-1155 safeTransferFrom
	methodERC1155Batch      = "erc1155_safe_batch_transfer_from" // ERC-1155 safeBatchTransferFrom
	methodContractCall      = "contract_call"
	methodCreation          = "contract_creation"
)

// abiKind is an ABI argument type of a known method.
type abiKind uint8

const (
	abiAddress      abiKind = iota + 1 // address: 12 zero bytes, then 20
	abiUint256                         // uint256: any word
	abiUint8                           // uint8: 31 zero bytes, then 1
	abiBool                            // bool: 31 zero bytes, then 0 or 1
	abiBytes32                         // bytes32: any word
	abiBytes                           // bytes: dynamic, zero-padded to 32 bytes
	abiUint256Array                    // uint256[]: dynamic
)

var abiKindNames = map[abiKind]string{
	abiAddress: "address", abiUint256: "uint256", abiUint8: "uint8", abiBool: "bool",
	abiBytes32: "bytes32", abiBytes: "bytes", abiUint256Array: "uint256[]",
}

func (k abiKind) String() string { return abiKindNames[k] }

// abiMethod is a known token-moving or allowance-granting function.
type abiMethod struct {
	name   string    // Solidity function name
	method string    // Facts.Method
	args   []abiKind // argument types, in order
}

// signature is the canonical signature the selector is the keccak256 of.
func (m abiMethod) signature() string {
	names := make([]string, len(m.args))
	for i, k := range m.args {
		names[i] = k.String()
	}
	return m.name + "(" + strings.Join(names, ",") + ")"
}

// tokenMethods are the functions that move tokens or grant allowances, by
// selector (the first 4 bytes of keccak256 of the signature; the tests
// recompute every one).
var tokenMethods = map[[4]byte]abiMethod{
	{0xa9, 0x05, 0x9c, 0xbb}: {"transfer", methodTokenTransfer, []abiKind{abiAddress, abiUint256}},
	{0x23, 0xb8, 0x72, 0xdd}: {"transferFrom", methodTokenTransferFr, []abiKind{abiAddress, abiAddress, abiUint256}},
	{0x09, 0x5e, 0xa7, 0xb3}: {"approve", methodApprove, []abiKind{abiAddress, abiUint256}},
	{0x39, 0x50, 0x93, 0x51}: {"increaseAllowance", methodIncreaseAllowance, []abiKind{abiAddress, abiUint256}},
	{0xa4, 0x57, 0xc2, 0xd7}: {"decreaseAllowance", methodDecreaseAllowance, []abiKind{abiAddress, abiUint256}},
	// EIP-2612: owner, spender, value, deadline, v, r, s.
	{0xd5, 0x05, 0xac, 0xcf}: {"permit", methodPermit, []abiKind{abiAddress, abiAddress, abiUint256, abiUint256, abiUint8, abiBytes32, abiBytes32}},
	// DAI: holder, spender, nonce, expiry, allowed, v, r, s.
	{0x8f, 0xcb, 0xaf, 0x0c}: {"permit", methodPermit, []abiKind{abiAddress, abiAddress, abiUint256, abiUint256, abiBool, abiUint8, abiBytes32, abiBytes32}},
	{0xa2, 0x2c, 0xb4, 0x65}: {"setApprovalForAll", methodApprovalForAll, []abiKind{abiAddress, abiBool}},
	{0x42, 0x84, 0x2e, 0x0e}: {"safeTransferFrom", methodNFTSafeTransfer, []abiKind{abiAddress, abiAddress, abiUint256}},
	{0xb8, 0x8d, 0x4f, 0xde}: {"safeTransferFrom", methodNFTSafeTransfer, []abiKind{abiAddress, abiAddress, abiUint256, abiBytes}},
	{0xf2, 0x42, 0x43, 0x2a}: {"safeTransferFrom", methodERC1155Transfer, []abiKind{abiAddress, abiAddress, abiUint256, abiUint256, abiBytes}},
	{0x2e, 0xb2, 0xc2, 0xd6}: {"safeBatchTransferFrom", methodERC1155Batch, []abiKind{abiAddress, abiAddress, abiUint256Array, abiUint256Array, abiBytes}},
}

// abiArg is one decoded argument: word for a static type, bytes or array
// for a dynamic one.
type abiArg struct {
	word  []byte
	bytes []byte
	array []*big.Int
}

func (a abiArg) address() (out [20]byte) { copy(out[:], a.word[12:]); return out }
func (a abiArg) uint() *big.Int          { return new(big.Int).SetBytes(a.word) }

// tokenCall is calldata classified.
type tokenCall struct {
	method    string   // a tokenMethods method, or methodContractCall
	selector  string   // hex, "" when data is shorter than 4 bytes
	signature string   // the known method's signature; "" for a generic call
	err       error    // set when the selector is known but the arguments are not canonical ABI
	to        [20]byte // transfer recipient / approve spender
	from      [20]byte // transferFrom source
	amount    *big.Int // transferred or approved base units
}

// callName names the call for a reason: the known method with its
// signature, or the selector of any other call.
func callName(c tokenCall) string {
	switch {
	case c.known():
		return c.method + " (" + c.signature + ")"
	case c.selector != "":
		return "selector 0x" + c.selector
	}
	return "no method (calldata shorter than 4 bytes)"
}

// known reports whether the call is a strictly decoded token method.
func (c tokenCall) known() bool { return c.signature != "" && c.err == nil }

// classifyCall classifies calldata. A known selector whose arguments do
// not decode strictly gives method contract_call with err set: callers
// must treat that as unverified, never as a generic call.
func classifyCall(data []byte) tokenCall {
	tc := tokenCall{method: methodContractCall}
	if len(data) < 4 {
		return tc
	}
	tc.selector = hex.EncodeToString(data[:4])
	m, ok := tokenMethods[[4]byte(data[:4])]
	if !ok {
		return tc
	}
	tc.signature = m.signature()
	args, err := decodeABI(m.args, data[4:])
	if err == nil && m.method == methodERC1155Batch && len(args[2].array) != len(args[3].array) {
		err = fmt.Errorf("%d ids but %d values", len(args[2].array), len(args[3].array))
	}
	if err != nil {
		tc.err = fmt.Errorf("selector 0x%s is %s, but the arguments are not its canonical ABI encoding: %w", tc.selector, tc.signature, err)
		return tc
	}
	tc.method = m.method
	switch m.method {
	case methodTokenTransfer, methodApprove:
		tc.to, tc.amount = args[0].address(), args[1].uint()
	case methodTokenTransferFr:
		tc.from, tc.to, tc.amount = args[0].address(), args[1].address(), args[2].uint()
	}
	return tc
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// abiLength reads a word holding an offset or a length, which must be at
// most limit (the calldata's size bounds every real one).
func abiLength(word []byte, limit int) (int, bool) {
	if !allZero(word[:24]) {
		return 0, false
	}
	var v uint64
	for _, c := range word[24:] {
		v = v<<8 | uint64(c)
	}
	if v > uint64(limit) {
		return 0, false
	}
	return int(v), true
}

// decodeABI decodes args (the calldata after the selector) as exactly the
// canonical ABI encoding of kinds: one head word per argument; addresses,
// uint8 and bool with zero padding and a bool of 0 or 1; each dynamic
// argument's offset exactly where the canonical encoder puts its tail (just
// after the head, then just after the previous tail); lengths within the
// data; bytes zero-padded to a multiple of 32; nothing after the last tail.
func decodeABI(kinds []abiKind, args []byte) ([]abiArg, error) {
	head := 32 * len(kinds)
	if len(args) < head {
		return nil, fmt.Errorf("%d bytes of arguments, the head alone is %d", len(args), head)
	}
	out := make([]abiArg, len(kinds))
	next := head // where the canonical encoder puts the next tail
	for i, k := range kinds {
		word := args[32*i : 32*i+32]
		out[i].word = word
		switch k {
		case abiAddress:
			if !allZero(word[:12]) {
				return nil, fmt.Errorf("argument %d (address) has non-zero padding", i+1)
			}
		case abiUint8:
			if !allZero(word[:31]) {
				return nil, fmt.Errorf("argument %d (uint8) is over 255", i+1)
			}
		case abiBool:
			if !allZero(word[:31]) || word[31] > 1 {
				return nil, fmt.Errorf("argument %d (bool) is neither 0 nor 1", i+1)
			}
		case abiUint256, abiBytes32:
		case abiBytes, abiUint256Array:
			off, ok := abiLength(word, len(args))
			if !ok || off != next {
				return nil, fmt.Errorf("argument %d (%s) has offset %s, the canonical encoding puts it at %d", i+1, k, new(big.Int).SetBytes(word), next)
			}
			if len(args)-off < 32 {
				return nil, fmt.Errorf("argument %d (%s) has no length word", i+1, k)
			}
			body := args[off+32:]
			unit := 32
			if k == abiBytes {
				unit = 1
			}
			n, ok := abiLength(args[off:off+32], len(body)/unit)
			if !ok {
				return nil, fmt.Errorf("argument %d (%s) has a length beyond the calldata", i+1, k)
			}
			if k == abiBytes {
				padded := (n + 31) / 32 * 32
				if padded > len(body) {
					return nil, fmt.Errorf("argument %d (bytes) is not padded to 32 bytes", i+1)
				}
				if !allZero(body[n:padded]) {
					return nil, fmt.Errorf("argument %d (bytes) has non-zero padding", i+1)
				}
				out[i].bytes = body[:n]
				next = off + 32 + padded
				break
			}
			out[i].array = make([]*big.Int, n)
			for j := range n {
				out[i].array[j] = new(big.Int).SetBytes(body[32*j : 32*j+32])
			}
			next = off + 32 + 32*n
		default:
			return nil, errors.New("internal: unknown ABI type")
		}
	}
	if len(args) != next {
		return nil, fmt.Errorf("%d bytes after the last argument", len(args)-next)
	}
	return out, nil
}

// isTokenContract reports whether contract (lower-case 0x hex on EVM,
// base58check on TRON) is a token in r's table for chain (and EVM chain id).
func (r *Registry) isTokenContract(chain string, evmChainID *big.Int, contract string) bool {
	_, ok := r.decimalsFor(chain, evmChainID, contract)
	return ok && contract != ""
}
