package txverify

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// The tests' own ABI encoder, written from the Solidity ABI specification
// ("Formal Specification of the Encoding"): one 32-byte head word per
// argument; a static argument is its value left-padded; a dynamic argument's
// head word is the offset (from the start of the arguments) of its tail,
// and the tails follow the head in argument order: a length word, then the
// bytes right-padded with zeros to 32, or the array's elements.

// abiTestBytes is a dynamic bytes argument for abiEncode.
type abiTestBytes []byte

// abiTestArray is a dynamic uint256[] argument for abiEncode.
type abiTestArray []*big.Int

// abiTestWord left-pads b (at most 32 bytes) to a word.
func abiTestWord(b []byte) []byte {
	return append(make([]byte, 32-len(b)), b...)
}

// abiEncode encodes sel (hex, no 0x) and args: []byte and *big.Int are
// static words, bool a bool word, abiTestBytes and abiTestArray dynamic.
func abiEncode(sel string, args ...any) []byte {
	out, err := hex.DecodeString(sel)
	if err != nil {
		panic(err)
	}
	var head, tail []byte
	headLen := 32 * len(args)
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			head = append(head, abiTestWord(v)...)
		case *big.Int:
			head = append(head, abiTestWord(v.Bytes())...)
		case bool:
			w := make([]byte, 32)
			if v {
				w[31] = 1
			}
			head = append(head, w...)
		case abiTestBytes:
			head = append(head, abiTestWord(ui(uint64(headLen+len(tail))))...)
			tail = append(tail, abiTestWord(ui(uint64(len(v))))...)
			tail = append(tail, v...)
			tail = append(tail, make([]byte, (32-len(v)%32)%32)...)
		case abiTestArray:
			head = append(head, abiTestWord(ui(uint64(headLen+len(tail))))...)
			tail = append(tail, abiTestWord(ui(uint64(len(v))))...)
			for _, e := range v {
				tail = append(tail, abiTestWord(e.Bytes())...)
			}
		default:
			panic("abiEncode: unsupported argument type")
		}
	}
	return append(append(out, head...), tail...)
}

// word is a 32-byte word with the given trailing bytes.
func word(tail ...byte) []byte { return abiTestWord(tail) }

// maxUint256 is 2^256-1, the usual "unlimited" allowance.
var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// Selectors, as hex; TestSelectorsAreKeccak proves them.
const (
	hexTransfer          = "a9059cbb"
	hexTransferFrom      = "23b872dd"
	hexApprove           = "095ea7b3"
	hexIncreaseAllowance = "39509351"
	hexDecreaseAllowance = "a457c2d7"
	hexPermit            = "d505accf"
	hexDAIPermit         = "8fcbaf0c"
	hexApprovalForAll    = "a22cb465"
	hexNFTSafe           = "42842e0e"
	hexNFTSafeData       = "b88d4fde"
	hexERC1155Safe       = "f242432a"
	hexERC1155Batch      = "2eb2c2d6"
)

// edit returns a copy of b with f applied.
func edit(b []byte, f func(b []byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

func TestClassifyCall(t *testing.T) {
	ids := abiTestArray{big.NewInt(1), big.NewInt(2)}
	vals := abiTestArray{big.NewInt(10), big.NewInt(20)}
	nftData := abiEncode(hexNFTSafeData, addr(alice), addr(bob), big.NewInt(7), abiTestBytes("hello"))
	batch := abiEncode(hexERC1155Batch, addr(alice), addr(bob), ids, vals, abiTestBytes{})
	permit := abiEncode(hexPermit, addr(alice), addr(router), maxUint256, big.NewInt(1<<40), word(27), word(0xaa), word(0xbb))
	daiPermit := abiEncode(hexDAIPermit, addr(alice), addr(router), big.NewInt(0), big.NewInt(0), true, word(28), word(0xaa), word(0xbb))
	approvalForAll := abiEncode(hexApprovalForAll, addr(router), true)

	tests := []struct {
		name   string
		data   []byte
		method string // when err is ""
		err    string // fragment of the strict-decoding error
	}{
		{name: "transfer", data: abiEncode(hexTransfer, addr(bob), big.NewInt(5)), method: "token_transfer"},
		{name: "transferFrom", data: abiEncode(hexTransferFrom, addr(alice), addr(bob), big.NewInt(5)), method: "token_transfer_from"},
		{name: "approve", data: abiEncode(hexApprove, addr(router), maxUint256), method: "approve"},
		{name: "increaseAllowance", data: abiEncode(hexIncreaseAllowance, addr(router), maxUint256), method: "increase_allowance"},
		{name: "decreaseAllowance", data: abiEncode(hexDecreaseAllowance, addr(router), big.NewInt(1)), method: "decrease_allowance"},
		{name: "EIP-2612 permit", data: permit, method: "permit"},
		{name: "DAI permit", data: daiPermit, method: "permit"},
		{name: "setApprovalForAll", data: approvalForAll, method: "set_approval_for_all"},
		{name: "setApprovalForAll false", data: abiEncode(hexApprovalForAll, addr(router), false), method: "set_approval_for_all"},
		{name: "ERC-721 safeTransferFrom", data: abiEncode(hexNFTSafe, addr(alice), addr(bob), big.NewInt(7)), method: "nft_safe_transfer_from"},
		{name: "ERC-721 safeTransferFrom with data", data: nftData, method: "nft_safe_transfer_from"},
		{name: "ERC-721 safeTransferFrom with 32-byte data", data: abiEncode(hexNFTSafeData, addr(alice), addr(bob), big.NewInt(7), abiTestBytes(bytes.Repeat([]byte{9}, 32))), method: "nft_safe_transfer_from"},
		{name: "ERC-1155 safeTransferFrom", data: abiEncode(hexERC1155Safe, addr(alice), addr(bob), big.NewInt(1), big.NewInt(100), abiTestBytes{}), method: "erc1155_safe_transfer_from"},
		{name: "ERC-1155 safeBatchTransferFrom", data: batch, method: "erc1155_safe_batch_transfer_from"},
		{name: "ERC-1155 safeBatchTransferFrom, empty arrays", data: abiEncode(hexERC1155Batch, addr(alice), addr(bob), abiTestArray{}, abiTestArray{}, abiTestBytes{1}), method: "erc1155_safe_batch_transfer_from"},
		{name: "unknown selector", data: append(addr("38ed1739"), make([]byte, 64)...), method: "contract_call"},
		{name: "shorter than a selector", data: []byte{0xa9, 0x05, 0x9c}, method: "contract_call"},
		{name: "no calldata", data: nil, method: "contract_call"},

		{name: "transfer, 1 trailing byte", data: append(abiEncode(hexTransfer, addr(bob), big.NewInt(5)), 0), err: "1 bytes after the last argument"},
		{name: "transfer, 32 trailing bytes", data: append(abiEncode(hexTransfer, addr(bob), big.NewInt(5)), make([]byte, 32)...), err: "32 bytes after the last argument"},
		{name: "transfer, one byte short", data: abiEncode(hexTransfer, addr(bob), big.NewInt(5))[:67], err: "63 bytes of arguments, the head alone is 64"},
		{name: "transfer, selector only", data: addr(hexTransfer), err: "0 bytes of arguments"},
		{name: "transfer, dirty address padding", data: edit(abiEncode(hexTransfer, addr(bob), big.NewInt(5)), func(b []byte) []byte { b[4+11] = 1; return b }), err: "argument 1 (address) has non-zero padding"},
		{name: "transferFrom, dirty second address", data: edit(abiEncode(hexTransferFrom, addr(alice), addr(bob), big.NewInt(5)), func(b []byte) []byte { b[4+32] = 0xff; return b }), err: "argument 2 (address)"},
		{name: "approve, trailing byte", data: append(abiEncode(hexApprove, addr(router), maxUint256), 1), err: "1 bytes after"},
		{name: "increaseAllowance, dirty spender", data: edit(abiEncode(hexIncreaseAllowance, addr(router), maxUint256), func(b []byte) []byte { b[4] = 1; return b }), err: "argument 1 (address)"},
		{name: "decreaseAllowance, trailing word", data: append(abiEncode(hexDecreaseAllowance, addr(router), big.NewInt(1)), make([]byte, 32)...), err: "32 bytes after"},
		{name: "permit, v over 255", data: abiEncode(hexPermit, addr(alice), addr(router), maxUint256, big.NewInt(1), word(1, 27), word(0xaa), word(0xbb)), err: "argument 5 (uint8) is over 255"},
		{name: "permit, trailing byte", data: append(permit, 0), err: "1 bytes after"},
		{name: "DAI permit, allowed is 2", data: abiEncode(hexDAIPermit, addr(alice), addr(router), big.NewInt(0), big.NewInt(0), word(2), word(28), word(0xaa), word(0xbb)), err: "argument 5 (bool) is neither 0 nor 1"},
		{name: "DAI permit, v with dirty bytes", data: abiEncode(hexDAIPermit, addr(alice), addr(router), big.NewInt(0), big.NewInt(0), true, word(1, 0, 28), word(0xaa), word(0xbb)), err: "argument 6 (uint8)"},
		{name: "setApprovalForAll, bool 2", data: abiEncode(hexApprovalForAll, addr(router), word(2)), err: "argument 2 (bool) is neither 0 nor 1"},
		{name: "setApprovalForAll, bool with a high byte", data: abiEncode(hexApprovalForAll, addr(router), word(1, 0, 0, 0, 1)), err: "argument 2 (bool)"},
		{name: "setApprovalForAll, trailing byte", data: append(approvalForAll, 0), err: "1 bytes after"},
		{name: "safeTransferFrom(bytes), offset past a gap", data: edit(nftData, func(b []byte) []byte {
			// Offset 0xa0 with a zero word inserted where the tail was.
			b[4+3*32+31] = 0xa0
			return append(b[:4+128], append(make([]byte, 32), b[4+128:]...)...)
		}), err: "argument 4 (bytes) has offset 160, the canonical encoding puts it at 128"},
		{name: "safeTransferFrom(bytes), offset into the head", data: edit(nftData, func(b []byte) []byte { b[4+3*32+31] = 0x40; return b }), err: "has offset 64"},
		{name: "safeTransferFrom(bytes), offset beyond the data", data: edit(nftData, func(b []byte) []byte { b[4+3*32] = 0xff; return b }), err: "argument 4 (bytes) has offset"},
		{name: "safeTransferFrom(bytes), no tail", data: abiEncode(hexNFTSafeData, addr(alice), addr(bob), big.NewInt(7), word(0x80)), err: "no length word"},
		{name: "safeTransferFrom(bytes), length beyond the data", data: edit(nftData, func(b []byte) []byte { b[4+128+31] = 0x41; return b }), err: "length beyond the calldata"},
		{name: "safeTransferFrom(bytes), huge length", data: edit(nftData, func(b []byte) []byte { b[4+128] = 0x80; return b }), err: "length beyond the calldata"},
		{name: "safeTransferFrom(bytes), unpadded", data: nftData[:4+128+32+5], err: "not padded to 32 bytes"},
		{name: "safeTransferFrom(bytes), dirty padding", data: edit(nftData, func(b []byte) []byte { b[len(b)-1] = 1; return b }), err: "argument 4 (bytes) has non-zero padding"},
		{name: "safeTransferFrom(bytes), trailing word", data: append(nftData, make([]byte, 32)...), err: "32 bytes after"},
		{name: "ERC-721 safeTransferFrom, trailing byte", data: append(abiEncode(hexNFTSafe, addr(alice), addr(bob), big.NewInt(7)), 0), err: "1 bytes after"},
		{name: "ERC-1155 safeTransferFrom, dirty from", data: edit(abiEncode(hexERC1155Safe, addr(alice), addr(bob), big.NewInt(1), big.NewInt(100), abiTestBytes{}), func(b []byte) []byte { b[4+5] = 1; return b }), err: "argument 1 (address)"},
		{name: "ERC-1155 safeTransferFrom, trailing byte", data: append(abiEncode(hexERC1155Safe, addr(alice), addr(bob), big.NewInt(1), big.NewInt(100), abiTestBytes{}), 0), err: "1 bytes after"},
		{name: "batch, ids and values differ in length", data: abiEncode(hexERC1155Batch, addr(alice), addr(bob), ids, abiTestArray{big.NewInt(1)}, abiTestBytes{}), err: "2 ids but 1 values"},
		{name: "batch, values offset not after ids", data: edit(batch, func(b []byte) []byte { b[4+3*32+31] += 32; return b }), err: "argument 4 (uint256[]) has offset"},
		{name: "batch, ids length beyond the data", data: edit(batch, func(b []byte) []byte { b[4+160+31] = 0x20; return b }), err: "argument 3 (uint256[]) has a length beyond the calldata"},
		{name: "batch, shared tail", data: edit(batch, func(b []byte) []byte {
			// Both arrays pointing at the ids tail: accepted by a
			// decoder that follows offsets, not canonical.
			copy(b[4+3*32:4+4*32], b[4+2*32:4+3*32])
			return b
		}), err: "argument 4 (uint256[]) has offset 160"},
		{name: "batch, trailing byte", data: append(batch, 0), err: "1 bytes after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := classifyCall(tt.data)
			if tt.err != "" {
				if c.err == nil {
					t.Fatalf("decoded as %s, want an error mentioning %q", c.method, tt.err)
				}
				if !strings.Contains(c.err.Error(), tt.err) {
					t.Errorf("error %q does not mention %q", c.err, tt.err)
				}
				if c.known() || c.method != methodContractCall {
					t.Errorf("a malformed call reads as known %v, method %s", c.known(), c.method)
				}
				return
			}
			if c.err != nil {
				t.Fatalf("error %v", c.err)
			}
			if c.method != tt.method || c.known() != (tt.method != methodContractCall) {
				t.Errorf("method %s known %v, want %s", c.method, c.known(), tt.method)
			}
		})
	}
}

// TestClassifyCallArguments checks the arguments the facts use.
func TestClassifyCallArguments(t *testing.T) {
	c := classifyCall(abiEncode(hexTransferFrom, addr(alice), addr(bob), maxUint256))
	if evmAddr(c.from[:]) != alice || evmAddr(c.to[:]) != bob || c.amount.Cmp(maxUint256) != 0 {
		t.Errorf("transferFrom read as from %x to %x amount %s", c.from, c.to, c.amount)
	}
	c = classifyCall(abiEncode(hexApprove, addr(router), big.NewInt(77)))
	if evmAddr(c.to[:]) != router || c.amount.Int64() != 77 {
		t.Errorf("approve read as spender %x amount %s", c.to, c.amount)
	}
}

// reencode encodes decoded arguments again with the tests' encoder.
func reencode(sel [4]byte, m abiMethod, vals []abiArg) []byte {
	back := make([]any, len(vals))
	for j, v := range vals {
		switch m.args[j] {
		case abiBytes:
			back[j] = abiTestBytes(v.bytes)
		case abiUint256Array:
			back[j] = abiTestArray(v.array)
		default:
			back[j] = v.word
		}
	}
	return abiEncode(hex.EncodeToString(sel[:]), back...)
}

// TestDecodeABICanonical encodes random arguments of every known method
// with the tests' encoder, decodes them, and re-encodes what was decoded:
// the strict decoder must accept every canonical encoding and read it back
// exactly; the same bytes with one more byte appended must be refused.
func TestDecodeABICanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	for sel, m := range tokenMethods {
		for i := 0; i < 40; i++ {
			args := make([]any, len(m.args))
			for j, k := range m.args {
				switch k {
				case abiAddress:
					args[j] = randBytes(20)
				case abiUint256, abiBytes32:
					args[j] = randBytes(32)
				case abiUint8:
					args[j] = randBytes(1)
				case abiBool:
					args[j] = rng.IntN(2) == 1
				case abiBytes:
					args[j] = abiTestBytes(randBytes(rng.IntN(100)))
				case abiUint256Array:
					args[j] = abiTestArray{}
				}
			}
			if m.method == methodERC1155Batch {
				n := rng.IntN(4)
				ids, vals := make(abiTestArray, n), make(abiTestArray, n)
				for e := range n {
					ids[e], vals[e] = new(big.Int).SetBytes(randBytes(32)), new(big.Int).SetBytes(randBytes(32))
				}
				args[2], args[3] = ids, vals
			}
			data := abiEncode(hex.EncodeToString(sel[:]), args...)
			if c := classifyCall(data); c.err != nil || c.method != m.method {
				t.Fatalf("%s: canonical encoding %x refused: method %s, %v", m.signature(), data, c.method, c.err)
			}
			vals, err := decodeABI(m.args, data[4:])
			if err != nil {
				t.Fatal(err)
			}
			if again := reencode(sel, m, vals); !bytes.Equal(again, data) {
				t.Fatalf("%s: decoded and re-encoded\n%x\nwant\n%x", m.signature(), again, data)
			}
			if c := classifyCall(append(data, byte(rng.UintN(256)))); c.err == nil {
				t.Fatalf("%s: a trailing byte was accepted", m.signature())
			}
		}
	}
}

// FuzzClassifyCall feeds arbitrary calldata: it must never panic, and
// whatever strictly decodes must be the only encoding of what it decoded
// to (re-encoding gives the same bytes), so no second spelling of a token
// call can exist beside the one a reader sees.
func FuzzClassifyCall(f *testing.F) {
	for sel, m := range tokenMethods {
		args := make([]any, len(m.args))
		for j, k := range m.args {
			switch k {
			case abiBytes:
				args[j] = abiTestBytes("seed")
			case abiUint256Array:
				args[j] = abiTestArray{big.NewInt(1)}
			case abiBool:
				args[j] = true
			default:
				args[j] = word(1)
			}
		}
		f.Add(abiEncode(hex.EncodeToString(sel[:]), args...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := classifyCall(data)
		if c.err != nil || len(data) < 4 {
			return
		}
		m, ok := tokenMethods[[4]byte(data[:4])]
		if !ok {
			return
		}
		vals, err := decodeABI(m.args, data[4:])
		if err != nil {
			t.Fatalf("classified as %s but decodeABI says %v", c.method, err)
		}
		if again := reencode([4]byte(data[:4]), m, vals); !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical encoding:\n%x\ncanonical\n%x", data, again)
		}
	})
}
