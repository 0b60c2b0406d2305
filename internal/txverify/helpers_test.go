package txverify

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/decimal"
	"tssgate/internal/protocol"
)

// vectorFile is a copy of the shared public vector file
// (/work/shared/testdata/keysign-vectors.json), kept in the package so that
// tests read nothing outside the module.
var vectorFile = filepath.Join("testdata", "keysign-vectors.json")

// vector is one entry of keysign-vectors.json.
type vector struct {
	Name                    string `json:"name"`
	TokenID                 string `json:"token_id"`
	UnsignedRawTx           string `json:"unsigned_raw_tx"`
	MsgHash                 string `json:"msg_hash"`
	Destination             string `json:"destination"`
	DestinationTokenAccount string `json:"destination_token_account"`
	Contract                string `json:"contract"`
	Mint                    string `json:"mint"`
	AmountBaseUnits         string `json:"amount_base_units"`
}

func loadVectors(t testing.TB) map[string]vector {
	t.Helper()
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatalf("reading the shared vectors: %v", err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]vector, len(file.Vectors))
	for _, v := range file.Vectors {
		out[v.Name] = v
	}
	return out
}

// desc is what a test puts into a KEYSIGN: Cobo's description and hashes.
type desc struct {
	tokenID   string
	chainID   string // "": the built-in token's chain (testChainIDs); see noChainID, emptyChainID
	destType  string // "" means Address
	address   string
	amount    string // token units; for EVM_Contract / TRON_Contract the value
	calldata  string
	rawTx     string
	msgHashes []string
	paths     []string // bip32_path_list; nil: one sample path per hash (testPathFor)

	calldataInfo map[string]any // EVM_Contract / TRON_Contract calldata_info; nil: absent
}

// Sentinels for desc.chainID: the description has no chain_id key, or an
// empty one.
const (
	noChainID    = "\x00absent"
	emptyChainID = "\x00empty"
)

// testChainIDs are Cobo's chain_ids of the built-in tokens, written out
// here rather than read from the registry under test.
var testChainIDs = map[string]string{
	"ETH": "ETH", "ETH_USDT": "ETH", "ETH_USDC": "ETH", "SETH": "SETH",
	"TRON": "TRON", "TRON_USDT": "TRON", "SOL": "SOL", "SOL_USDC": "SOL",
}

// testCoinTypes are the SLIP-44 coin types of the built-in tokens' chains,
// for the sample derivation paths.
var testCoinTypes = map[string]int{"ETH": 60, "SETH": 60, "TRON": 195, "SOL": 501}

// testPathFor is a derivation path for tokenID: its chain's coin type, or
// Bitcoin's (0) for a token without one here.
func testPathFor(tokenID string) string {
	coin := 0
	for prefix, c := range testCoinTypes {
		if tokenID == prefix || strings.HasPrefix(tokenID, prefix+"_") {
			coin = c
		}
	}
	return fmt.Sprintf("m/44/%d/0/0/0", coin)
}

// v2Request wraps d in the built-in v2 KEYSIGN sample the way a TSS Node
// sends it: sample JSON edited, CallbackRequest marshalled, then decoded by
// the protocol package exactly as the server does.
func v2Request(t testing.TB, d desc) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(protocol.V2, protocol.TypeKeySign)
	if err != nil {
		t.Fatal(err)
	}
	var dm, xm map[string]any
	mustUnmarshal(t, detail, &dm)
	mustUnmarshal(t, extra, &xm)
	hashes := make([]any, len(d.msgHashes))
	for i, h := range d.msgHashes {
		hashes[i] = h
	}
	dm["msg_hash_list"] = hashes
	paths := d.paths
	if paths == nil {
		for range d.msgHashes {
			paths = append(paths, testPathFor(d.tokenID))
		}
	}
	pl := make([]any, len(paths))
	for i, p := range paths {
		pl[i] = p
	}
	dm["bip32_path_list"] = pl
	tx := xm["transaction"].(map[string]any)
	tx["token_id"] = d.tokenID
	switch d.chainID {
	case noChainID:
		delete(tx, "chain_id")
	case emptyChainID:
		tx["chain_id"] = ""
	case "":
		tx["chain_id"] = testChainIDs[d.tokenID]
	default:
		tx["chain_id"] = d.chainID
	}
	tx["raw_tx_info"].(map[string]any)["unsigned_raw_tx"] = d.rawTx
	switch d.destType {
	case "", "Address":
		tx["destination"] = map[string]any{
			"destination_type": "Address",
			"account_output":   map[string]any{"address": d.address, "memo": "", "amount": d.amount},
		}
	case "EVM_Contract", "TRON_Contract":
		tx["destination"] = map[string]any{
			"destination_type": d.destType,
			"address":          d.address,
			"value":            d.amount,
			"calldata":         d.calldata,
		}
		if d.calldataInfo != nil {
			tx["destination"].(map[string]any)["calldata_info"] = d.calldataInfo
		}
	case "CustodialWallet":
		tx["destination"] = map[string]any{
			"destination_type": d.destType,
			"wallet_id":        "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			"amount":           d.amount,
		}
	default:
		tx["destination"] = map[string]any{"destination_type": d.destType}
	}
	return decodeRequest(t, protocol.V2, dm, xm)
}

func decodeRequest(t testing.TB, v protocol.Version, detail, extra map[string]any) *protocol.Request {
	t.Helper()
	cr := protocol.NewCallbackRequest("req-1", protocol.TypeKeySign, mustMarshal(t, detail), mustMarshal(t, extra))
	pkg := mustMarshal(t, cr)
	req, err := protocol.Decode(v, pkg)
	if err != nil {
		t.Fatalf("protocol.Decode: %v", err)
	}
	return req
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tokenUnits formats base units at decimals as a description amount.
func tokenUnits(t testing.TB, units string, decimals int32) string {
	t.Helper()
	u, ok := new(big.Int).SetString(units, 10)
	if !ok {
		t.Fatalf("bad base units %q", units)
	}
	return decimal.FromBaseUnits(u, decimals).String()
}

func bigInt(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

// wantVerified fails the test unless res is verified.
func wantVerified(t testing.TB, res Result) {
	t.Helper()
	if !res.Verified || res.Field != "" || res.Reason != "" {
		t.Fatalf("not verified: field %q, reason %q", res.Field, res.Reason)
	}
	if res.Facts == nil {
		t.Fatal("verified without facts")
	}
}

// wantFailure fails the test unless res failed on field with a reason
// containing every fragment.
func wantFailure(t testing.TB, res Result, field string, fragments ...string) {
	t.Helper()
	if res.Verified {
		t.Fatalf("verified, want a %s failure", field)
	}
	if res.Field != field {
		t.Fatalf("failed on %q (%s), want %q", res.Field, res.Reason, field)
	}
	if !strings.HasPrefix(res.Reason, field+": ") {
		t.Errorf("reason %q does not start with the field", res.Reason)
	}
	for _, f := range fragments {
		if !strings.Contains(res.Reason, f) {
			t.Errorf("reason %q does not mention %q", res.Reason, f)
		}
	}
}
