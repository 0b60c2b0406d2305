package txverify

import (
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

// A protobuf encoder for the tests, from the wire-format specification.

func pbUvarint(v uint64) []byte {
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func pbTag(num uint64, wire int) []byte { return pbUvarint(num<<3 | uint64(wire)) }

func pbV(num uint64, v uint64) []byte { return append(pbTag(num, pbVarint), pbUvarint(v)...) }

func pbB(num uint64, b []byte) []byte {
	return append(append(pbTag(num, pbBytes), pbUvarint(uint64(len(b)))...), b...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func tronAddrBytes(t testing.TB, s string) []byte {
	t.Helper()
	a, ok := parseTronAddress(s)
	if !ok {
		t.Fatalf("bad TRON address %s", s)
	}
	return a[:]
}

const (
	tronOwner = "TVpZV9L9v3HzcUiXkws2DWbiAomFQhXSzU"
	tronTo    = "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"
	tronUSDT  = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
)

// tronRaw builds Transaction.raw around one contract.
func tronRaw(contractType uint64, typeName string, param []byte, extra ...[]byte) []byte {
	anyMsg := cat(pbB(1, []byte(tronTypeURLPrefix+typeName)), pbB(2, param))
	contract := cat(pbV(1, contractType), pbB(2, anyMsg))
	return cat(pbB(1, []byte{0x4e, 0x6e}), pbB(4, make([]byte, 8)), pbV(8, 1_700_000_000_000), pbB(11, contract), pbV(14, 1_699_999_000_000), cat(extra...))
}

func tronTransfer(t testing.TB, to string, sun uint64) []byte {
	return tronRaw(1, "TransferContract", cat(pbB(1, tronAddrBytes(t, tronOwner)), pbB(2, tronAddrBytes(t, to)), pbV(3, sun)))
}

func tronTrigger(t testing.TB, contract string, callValue uint64, data []byte, extra ...[]byte) []byte {
	param := cat(pbB(1, tronAddrBytes(t, tronOwner)), pbB(2, tronAddrBytes(t, contract)))
	if callValue != 0 {
		param = append(param, pbV(3, callValue)...)
	}
	param = append(param, pbB(4, data)...)
	return tronRaw(31, "TriggerSmartContract", cat(param, cat(extra...)), pbV(18, 100_000_000))
}

func tronDesc(raw []byte, d desc) desc {
	h := sha256.Sum256(raw)
	d.rawTx, d.msgHashes = hex.EncodeToString(raw), []string{hex.EncodeToString(h[:])}
	if d.chainID == "" {
		d.chainID = "TRON"
	}
	return d
}

func TestTRONGenerated(t *testing.T) {
	toABI := func(s string) []byte { return tronAddrBytes(t, s)[1:] }
	transfer := erc20("a9059cbb", toABI(tronTo), big.NewInt(2_500_000).Bytes())
	tests := []struct {
		name   string
		raw    []byte
		d      desc
		field  string
		reason string
		method string
	}{
		{name: "TRX transfer", raw: tronTransfer(t, tronTo, 1_000_001), d: desc{tokenID: "TRON", address: tronTo, amount: "1.000001"}, method: "native_transfer"},
		{name: "USDT transfer", raw: tronTrigger(t, tronUSDT, 0, transfer), d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "2.5"}, method: "token_transfer"},
		{name: "USDT transferFrom", raw: tronTrigger(t, tronUSDT, 0, erc20("23b872dd", toABI(tronOwner), toABI(tronTo), big.NewInt(1).Bytes())),
			d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "0.000001"}, field: "method", reason: "transferFrom"},
		{name: "USDT approve described as transfer", raw: tronTrigger(t, tronUSDT, 0, erc20("095ea7b3", toABI(tronTo), big.NewInt(1).Bytes())),
			d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "0.000001"}, field: "method", reason: "approve"},
		{name: "contract call", raw: tronTrigger(t, tronTo, 5, []byte{1, 2, 3, 4, 5}),
			d: desc{tokenID: "TRON", destType: "TRON_Contract", address: tronTo, amount: "0.000005", calldata: "0102030405"}, method: "contract_call"},
		{name: "contract call, calldata differs", raw: tronTrigger(t, tronTo, 0, []byte{1, 2, 3, 4, 5}),
			d: desc{tokenID: "TRON", destType: "TRON_Contract", address: tronTo, amount: "0", calldata: "01020304"}, field: "calldata"},
		// A listed token moves only under its own token_id, by whatever
		// method: its contract may have others than the known ones
		// (increaseApproval on TRON_USDT).
		{name: "unknown method on USDT under TRON", raw: tronTrigger(t, tronUSDT, 0, erc20("d73dd623", toABI(tronTo), big.NewInt(1).Bytes())),
			d: desc{tokenID: "TRON", destType: "TRON_Contract", address: tronUSDT, amount: "0", calldata: hex.EncodeToString(erc20("d73dd623", toABI(tronTo), big.NewInt(1).Bytes()))}, field: "method", reason: "a token in the token table"},
		{name: "contract call described, transfer signed", raw: tronTransfer(t, tronTo, 1),
			d: desc{tokenID: "TRON", destType: "TRON_Contract", address: tronTo, amount: "0.000001"}, field: "method"},
		{name: "USDT transfer also sending TRX", raw: tronTrigger(t, tronUSDT, 1, transfer), d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "2.5"}, field: "value"},
		{name: "USDT transfer with TRC-10 attached", raw: tronTrigger(t, tronUSDT, 0, transfer, pbV(5, 9), pbV(6, 1000001)),
			d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "2.5"}, field: "value", reason: "TRC-10"},
		{name: "transfer on a look-alike contract", raw: tronTrigger(t, tronTo, 0, transfer), d: desc{tokenID: "TRON_USDT", address: tronTo, amount: "2.5"}, field: "token", reason: tronTo},
		{name: "hex address in description", raw: tronTransfer(t, tronTo, 1), d: desc{tokenID: "TRON", address: hex.EncodeToString(tronAddrBytes(t, tronTo)), amount: "0.000001"}, field: "destination"},
		{name: "wrong chain_id", raw: tronTransfer(t, tronTo, 1), d: desc{tokenID: "TRON", chainID: "ETH", address: tronTo, amount: "0.000001"}, field: "chain_id"},
		{name: "unsupported contract type", raw: tronRaw(2, "TransferAssetContract", cat(pbB(1, []byte("1000001")), pbB(2, tronAddrBytes(t, tronOwner)), pbB(3, tronAddrBytes(t, tronTo)), pbV(4, 5))),
			d: desc{tokenID: "TRON", address: tronTo, amount: "0.000005"}, field: "method", reason: "contract type 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DefaultRegistry().Verify(v2Request(t, tronDesc(tt.raw, tt.d)))
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason)
				return
			}
			wantVerified(t, res)
			if res.Facts.Method != tt.method || res.Facts.From != tronOwner {
				t.Errorf("method %q from %q, want %q %q", res.Facts.Method, res.Facts.From, tt.method, tronOwner)
			}
		})
	}
}

func TestDecodeTRONRefuses(t *testing.T) {
	owner, to := tronAddrBytes(t, tronOwner), tronAddrBytes(t, tronTo)
	param := cat(pbB(1, owner), pbB(2, to), pbV(3, 5))
	anyMsg := cat(pbB(1, []byte(tronTypeURLPrefix+"TransferContract")), pbB(2, param))
	contract := cat(pbV(1, 1), pbB(2, anyMsg))
	// tc is a raw_data holding one type-1 contract with type_url and param.
	tc := func(url string, p []byte) []byte {
		return pbB(11, cat(pbV(1, 1), pbB(2, cat(pbB(1, []byte(tronTypeURLPrefix+url)), pbB(2, p)))))
	}
	tests := []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"empty", nil, "empty"},
		{"no contract", cat(pbB(1, []byte{1, 2}), pbV(8, 5)), "0 contracts"},
		{"two contracts", cat(pbB(11, contract), pbB(11, contract)), "2 contracts"},
		{"unknown raw field", cat(pbB(11, contract), pbV(99, 1)), "unexpected field 99"},
		{"auths present", cat(pbB(11, contract), pbB(9, []byte{})), "unexpected field 9"},
		{"repeated expiration", cat(pbV(8, 1), pbB(11, contract), pbV(8, 2)), "occurs more than once"},
		{"wrong wire type", cat(pbB(8, []byte{1}), pbB(11, contract)), "wire type"},
		{"group wire type", cat(pbTag(11, 3)), "wire type 3"},
		{"type_url mismatch", tc("TriggerSmartContract", param), "type_url"},
		{"short owner", tc("TransferContract", cat(pbB(1, owner[:20]), pbB(2, to), pbV(3, 5))), "owner_address"},
		{"zero amount", tc("TransferContract", cat(pbB(1, owner), pbB(2, to))), "amount is zero"},
		{"negative amount", tc("TransferContract", cat(pbB(1, owner), pbB(2, to), pbV(3, 1<<63))), "negative"},
		{"unknown transfer field", tc("TransferContract", cat(param, pbV(4, 1))), "unexpected field 4"},
		{"negative fee_limit", cat(pbB(11, contract), pbV(18, 1<<63)), "fee_limit is negative"},
		{"truncated", cat(pbB(11, contract))[:20], "truncated"},
		{"overlong varint", cat(pbTag(8, 0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), "overflows"},
		{"field number 0", []byte{0x00, 0x01}, "field number 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeTRON(tt.raw)
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

func TestTRONFacts(t *testing.T) {
	raw := tronTrigger(t, tronUSDT, 0, erc20("095ea7b3", tronAddrBytes(t, tronTo)[1:], big.NewInt(77).Bytes()))
	tx, err := decodeTRON(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := tx.facts(DefaultRegistry())
	if f.Method != "approve" || f.Spender != tronTo || f.Allowance.Int64() != 77 || f.TokenContract != tronUSDT {
		t.Errorf("facts %+v", f)
	}
	// fee_limit bounds the energy fee alone: no max_fee is claimed.
	if f.MaxFee != nil {
		t.Errorf("max fee %s, want unknown", f.MaxFee)
	}
	if h := sha256.Sum256(raw); f.Hashes[0] != hex.EncodeToString(h[:]) {
		t.Errorf("hash %s", f.Hashes[0])
	}
}

// TestTRONTokenMethods is TestEVMTokenMethods for TriggerSmartContract
// data: TRC-20 and TRC-721 calls are the same ABI.
func TestTRONTokenMethods(t *testing.T) {
	const other = tronTo // a contract outside the token table
	toABI := func(s string) []byte { return tronAddrBytes(t, s)[1:] }
	million := big.NewInt(1_000_000_000_000)
	transfer := abiEncode(hexTransfer, toABI(tronTo), million)
	trx := func(contract string, data []byte) desc {
		return desc{tokenID: "TRON", destType: "TRON_Contract", address: contract, amount: "0", calldata: hex.EncodeToString(data)}
	}
	usdtTransfer := desc{tokenID: "TRON_USDT", address: tronTo, amount: "1000000"}
	tests := []struct {
		name   string
		raw    []byte
		d      desc
		field  string
		reason string
		method string
	}{
		// The finding: verified under TRON as a 0-value contract call.
		{name: "TRC-20 transfer + trailing byte under TRON", raw: tronTrigger(t, tronUSDT, 0, append(transfer, 0)), d: trx(tronUSDT, append(transfer, 0)),
			field: "calldata", reason: "transfer(address,uint256), but the arguments are not its canonical ABI encoding: 1 bytes after the last argument"},
		{name: "TRC-20 transfer + trailing word under TRON", raw: tronTrigger(t, tronUSDT, 0, append(transfer, make([]byte, 32)...)), d: trx(tronUSDT, append(transfer, make([]byte, 32)...)),
			field: "calldata", reason: "32 bytes after"},
		{name: "TRC-20 transfer with dirty address padding under TRON", raw: tronTrigger(t, tronUSDT, 0, edit(transfer, func(b []byte) []byte { b[4] = 0x41; return b })),
			d: trx(tronUSDT, edit(transfer, func(b []byte) []byte { b[4] = 0x41; return b })), field: "calldata", reason: "argument 1 (address) has non-zero padding"},
		{name: "TRC-20 transfer + trailing byte under TRON_USDT", raw: tronTrigger(t, tronUSDT, 0, append(transfer, 0)), d: usdtTransfer, field: "calldata", reason: "1 bytes after"},
		{name: "TRC-20 transfer under TRON", raw: tronTrigger(t, tronUSDT, 0, transfer), d: trx(tronUSDT, transfer), field: "method", reason: "calls token_transfer"},
		{name: "TRC-20 approve under TRON", raw: tronTrigger(t, tronUSDT, 0, abiEncode(hexApprove, toABI(tronOwner), maxUint256)),
			d: trx(tronUSDT, abiEncode(hexApprove, toABI(tronOwner), maxUint256)), field: "method", reason: "approve"},
		{name: "TRC-20 increaseAllowance(spender, max) under TRON", raw: tronTrigger(t, tronUSDT, 0, abiEncode(hexIncreaseAllowance, toABI(tronOwner), maxUint256)),
			d: trx(tronUSDT, abiEncode(hexIncreaseAllowance, toABI(tronOwner), maxUint256)), field: "method", reason: "increase_allowance"},
		{name: "TRC-20 transferFrom under TRON", raw: tronTrigger(t, tronUSDT, 0, abiEncode(hexTransferFrom, toABI(tronOwner), toABI(tronTo), million)),
			d: trx(tronUSDT, abiEncode(hexTransferFrom, toABI(tronOwner), toABI(tronTo), million)), field: "method", reason: "token_transfer_from"},
		{name: "TRC-20 transfer under TRON_USDT", raw: tronTrigger(t, tronUSDT, 0, transfer), d: usdtTransfer, method: "token_transfer"},

		// Outside the table: verifiable, method visible.
		{name: "other TRC-20 transfer under TRON", raw: tronTrigger(t, other, 0, transfer), d: trx(other, transfer), method: "token_transfer"},
		{name: "TRC-721 setApprovalForAll under TRON", raw: tronTrigger(t, other, 0, abiEncode(hexApprovalForAll, toABI(tronOwner), true)),
			d: trx(other, abiEncode(hexApprovalForAll, toABI(tronOwner), true)), method: "set_approval_for_all"},
		{name: "TRC-721 safeTransferFrom(bytes) under TRON", raw: tronTrigger(t, other, 0, abiEncode(hexNFTSafeData, toABI(tronOwner), toABI(tronTo), big.NewInt(3), abiTestBytes{1, 2})),
			d: trx(other, abiEncode(hexNFTSafeData, toABI(tronOwner), toABI(tronTo), big.NewInt(3), abiTestBytes{1, 2})), method: "nft_safe_transfer_from"},
		{name: "other TRC-20 transfer + trailing byte under TRON", raw: tronTrigger(t, other, 0, append(transfer, 0)), d: trx(other, append(transfer, 0)), field: "calldata", reason: "1 bytes after"},
		{name: "TRC-721 setApprovalForAll with bool 2", raw: tronTrigger(t, other, 0, abiEncode(hexApprovalForAll, toABI(tronOwner), word(2))),
			d: trx(other, abiEncode(hexApprovalForAll, toABI(tronOwner), word(2))), field: "calldata", reason: "argument 2 (bool)"},
		{name: "contract call with TRC-10 attached", raw: tronTrigger(t, other, 0, []byte{1, 2, 3, 4, 5}, pbV(5, 9), pbV(6, 1000001)),
			d: trx(other, []byte{1, 2, 3, 4, 5}), field: "value", reason: "TRC-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DefaultRegistry().Verify(v2Request(t, tronDesc(tt.raw, tt.d)))
			if tt.field != "" {
				wantFailure(t, res, tt.field, tt.reason)
				return
			}
			wantVerified(t, res)
			if res.Facts.Method != tt.method {
				t.Errorf("method %q, want %q", res.Facts.Method, tt.method)
			}
			if v := res.Verification(); tt.d.destType == "TRON_Contract" && (len(v.Destinations) != 1 || v.Destinations[0].Address != tt.d.address || v.Destinations[0].Amount.Sign() != 0) {
				t.Errorf("verification destinations %+v, want the contract paid 0", v.Destinations)
			}
		})
	}
}
