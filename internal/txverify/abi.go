package txverify

import (
	"encoding/hex"
	"math/big"
)

// ERC-20 / TRC-20 calldata, read strictly: a call is classified as a token
// method only when its length is exactly the ABI encoding of that method's
// arguments and every address word has zero padding. Anything else is a
// generic contract call, which a token description never matches, so a
// short-address or trailing-data call cannot pass as a plain transfer.

// Function selectors: the first 4 bytes of keccak256 of the signature; the
// tests recompute them.
var (
	selTransfer     = [4]byte{0xa9, 0x05, 0x9c, 0xbb} // transfer(address,uint256)
	selTransferFrom = [4]byte{0x23, 0xb8, 0x72, 0xdd} // transferFrom(address,address,uint256)
	selApprove      = [4]byte{0x09, 0x5e, 0xa7, 0xb3} // approve(address,uint256)
)

// Method names shared by the EVM and TRON decoders.
const (
	methodNative          = "native_transfer"
	methodTokenTransfer   = "token_transfer"
	methodTokenTransferFr = "token_transfer_from"
	methodApprove         = "approve"
	methodContractCall    = "contract_call"
	methodCreation        = "contract_creation"
)

// tokenCall is calldata classified.
type tokenCall struct {
	method   string   // methodTokenTransfer, methodTokenTransferFr, methodApprove or methodContractCall
	selector string   // hex, "" when data is shorter than 4 bytes
	to       [20]byte // transfer recipient / approve spender
	from     [20]byte // transferFrom source
	amount   *big.Int // transferred or approved base units
}

// abiAddress reads a 32-byte word holding a 20-byte address.
func abiAddress(word []byte) ([20]byte, bool) {
	var a [20]byte
	for _, c := range word[:12] {
		if c != 0 {
			return a, false
		}
	}
	copy(a[:], word[12:32])
	return a, true
}

func classifyCall(data []byte) tokenCall {
	tc := tokenCall{method: methodContractCall}
	if len(data) < 4 {
		return tc
	}
	tc.selector = hex.EncodeToString(data[:4])
	sel, args := [4]byte(data[:4]), data[4:]
	switch {
	case (sel == selTransfer || sel == selApprove) && len(args) == 64:
		to, ok := abiAddress(args[:32])
		if !ok {
			return tc
		}
		tc.to, tc.amount = to, new(big.Int).SetBytes(args[32:64])
		tc.method = methodTokenTransfer
		if sel == selApprove {
			tc.method = methodApprove
		}
	case sel == selTransferFrom && len(args) == 96:
		from, ok1 := abiAddress(args[:32])
		to, ok2 := abiAddress(args[32:64])
		if !ok1 || !ok2 {
			return tc
		}
		tc.from, tc.to, tc.amount = from, to, new(big.Int).SetBytes(args[64:96])
		tc.method = methodTokenTransferFr
	}
	return tc
}
