package txverify

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// v1Request is the built-in v1 KEYSIGN sample (the ETH legacy vector) after
// edit has changed its parsed detail and extra_info.
func v1Request(t testing.TB, edit func(detail, extra map[string]any)) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(protocol.V1, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var dm, xm map[string]any
	mustUnmarshal(t, detail, &dm)
	mustUnmarshal(t, extra, &xm)
	if edit != nil {
		edit(dm, xm)
	}
	return decodeRequest(t, protocol.V1, dm, xm)
}

func TestVerifyV1(t *testing.T) {
	const ethRawTx = "0xe980842ffee68f825208940f76f604fd7762bd94b48ca2523f69ab9665c97f865af3107a400080018080"
	tests := []struct {
		name   string
		edit   func(detail, extra map[string]any)
		field  string
		reason string
	}{
		{name: "sample", edit: nil},
		{name: "amount differs", edit: func(_, x map[string]any) {
			x["amount"] = "100000000000001"
			x["to_address_details"] = ""
		}, field: "amount", reason: "0.000100000000000001"},
		{name: "destination differs", edit: func(_, x map[string]any) {
			x["to_address"] = "0x000000000000000000000000000000000000dEaD"
			x["to_address_details"] = ""
		}, field: "destination"},
		{name: "decimal differs from the registry", edit: func(_, x map[string]any) { x["decimal"] = 6 }, field: "amount"},
		{name: "empty raw_tx entry", edit: func(_, x map[string]any) {
			x["raw_tx"] = append(x["raw_tx"].([]any), map[string]any{"raw_tx": "", "derivation_path": "m/44/60/0/0/0"})
		}, field: "unsigned_raw_tx", reason: "raw_tx[1].raw_tx is empty"},
		{name: "two raw transactions", edit: func(_, x map[string]any) {
			x["raw_tx"] = append(x["raw_tx"].([]any), map[string]any{"raw_tx": ethRawTx, "derivation_path": "m/44/60/0/0/0"})
		}, field: "unsigned_raw_tx", reason: "2 unsigned transactions"},
		{name: "no raw_tx", edit: func(_, x map[string]any) { delete(x, "raw_tx") }, field: "unsigned_raw_tx", reason: "no unsigned transaction"},
		{name: "unknown coin on an XRP path", edit: func(d, x map[string]any) {
			x["coin"] = "XRP"
			d["bip32_path_list"] = []any{"m/44/144/0/0/0"}
		}, field: "token_id", reason: "unsupported token_id XRP"},
		{name: "ETH bytes relabelled as a coin without a decoder", edit: func(_, x map[string]any) { x["coin"] = "XRP" }, field: "bip32_path_list", reason: "coin type 60"},
		{name: "extra hash", edit: func(d, _ map[string]any) {
			d["msg_hash_list"] = append(d["msg_hash_list"].([]any), "0x"+strings.Repeat("00", 32))
			d["bip32_path_list"] = append(d["bip32_path_list"].([]any), "m/44/60/0/0/1")
		}, field: "msg_hash_list", reason: "entry 1"},
		{name: "extra hash without a path", edit: func(d, _ map[string]any) {
			d["msg_hash_list"] = append(d["msg_hash_list"].([]any), "0x"+strings.Repeat("00", 32))
		}, field: "bip32_path_list", reason: "1 paths for 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DefaultRegistry().Verify(v1Request(t, tt.edit))
			if tt.field == "" {
				wantVerified(t, res)
				if res.Facts.Destinations[0].Address != "0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" {
					t.Errorf("destination %s", res.Facts.Destinations[0].Address)
				}
				return
			}
			wantFailure(t, res, tt.field, tt.reason)
		})
	}
}

func TestVerifyRequestShapes(t *testing.T) {
	keygen := func(t testing.TB) *protocol.Request {
		d, x, err := protocol.Sample(protocol.V2, protocol.TypeKeyGen)
		if err != nil {
			t.Fatal(err)
		}
		req, err := protocol.Decode(protocol.V2, mustMarshal(t, protocol.NewCallbackRequest("k-1", protocol.TypeKeyGen, d, x)))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	sample := func(t testing.TB) *protocol.Request { return v2Request(t, sampleDesc) }
	tests := []struct {
		name   string
		reg    *Registry
		req    func(t testing.TB) *protocol.Request
		field  string
		reason string
	}{
		{"sample verifies", DefaultRegistry(), sample, "", ""},
		{"nil request", DefaultRegistry(), func(testing.TB) *protocol.Request { return nil }, "request", "no request"},
		{"KEYGEN", DefaultRegistry(), keygen, "request", "KEYGEN is not a KEYSIGN"},
		{"no transaction", DefaultRegistry(), func(t testing.TB) *protocol.Request {
			req := sample(t)
			req.KeySign.Tx = nil
			return req
		}, "request", "no transaction description"},
		{"nil registry", nil, sample, "internal", "no token registry"},
		{"empty token_id", DefaultRegistry(), func(t testing.TB) *protocol.Request {
			d := sampleDesc
			d.tokenID = ""
			return v2Request(t, d)
		}, "token_id", "no token_id"},
		{"no unsigned_raw_tx", DefaultRegistry(), func(t testing.TB) *protocol.Request {
			d := sampleDesc
			d.rawTx = ""
			return v2Request(t, d)
		}, "unsigned_raw_tx", "no unsigned transaction"},
		{"huge unsigned_raw_tx", DefaultRegistry(), func(t testing.TB) *protocol.Request {
			d := sampleDesc
			d.rawTx = strings.Repeat("00", maxRawTxHex)
			return v2Request(t, d)
		}, "unsigned_raw_tx", "more than"},
		{"registry without the token", mustRegistry(t), func(t testing.TB) *protocol.Request {
			req := sample(t)
			req.KeySign.BIP32Paths = []string{"m/44/144/0/0/0"}
			return req
		}, "token_id", "unsupported token_id ETH"},
		{"registry without the token, on its coin type", mustRegistry(t), sample, "bip32_path_list", "relabelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.reg.Verify(tt.req(t))
			if tt.field == "" {
				wantVerified(t, res)
				return
			}
			wantFailure(t, res, tt.field, tt.reason)
			if res.Facts != nil {
				t.Errorf("facts %+v on a failure before decoding", res.Facts)
			}
		})
	}
}

// sampleDesc is the v2 sample's own description (the ETH legacy vector).
var sampleDesc = desc{
	tokenID: "ETH", chainID: "ETH", address: "0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f", amount: "0.0001",
	rawTx:     "0xe980842ffee68f825208940f76f604fd7762bd94b48ca2523f69ab9665c97f865af3107a400080018080",
	msgHashes: []string{"0x1acf0342f77d22389a9cf6524a2af14dc420928d2942efe0dc0764be2ea5321b"},
}

func mustRegistry(t testing.TB, tokens ...Token) *Registry {
	t.Helper()
	r, err := NewRegistry(tokens...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVerifyUnmodifiedSample checks the protocol package's own sample, as
// the simulator sends it, without the test's rewriting.
func TestVerifyUnmodifiedSample(t *testing.T) {
	for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
		d, x, err := protocol.Sample(v, protocol.TypeKeySign)
		if err != nil {
			t.Fatal(err)
		}
		req, err := protocol.Decode(v, mustMarshal(t, protocol.NewCallbackRequest("s-1", protocol.TypeKeySign, d, x)))
		if err != nil {
			t.Fatal(err)
		}
		wantVerified(t, DefaultRegistry().Verify(req))
	}
}

// TestFactsAreCopies checks that a Result does not share big.Int storage
// with the registry.
func TestFactsAreCopies(t *testing.T) {
	res := DefaultRegistry().Verify(v2Request(t, sampleDesc))
	wantVerified(t, res)
	res.Facts.ChainID.SetInt64(5)
	tok, _ := DefaultRegistry().Lookup("ETH")
	if tok.EVMChainID.Int64() != 1 {
		t.Fatal("facts share the registry's chain id")
	}
	if res2 := DefaultRegistry().Verify(v2Request(t, sampleDesc)); res2.Facts.ChainID.Cmp(big.NewInt(1)) != 0 {
		t.Fatal("a second verification saw the change")
	}
}

// The fee the ETH legacy vector can pay reaches policy exactly, in ETH:
// 21000 gas × 805234319 wei.
func TestVerificationCarriesMaxFee(t *testing.T) {
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(protocol.NewCallbackRequest("fee", protocol.TypeKeySign, detail, extra))
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.Decode(protocol.V2, raw)
	if err != nil {
		t.Fatal(err)
	}
	v := DefaultRegistry().Verify(req).Verification()
	if !v.Verified || !v.MaxFeeKnown || v.MaxFee.String() != "0.000016909920699" {
		t.Fatalf("verification %+v", v)
	}
}
