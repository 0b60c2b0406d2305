package gate

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/btc"
	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/txverify"
)

// stakeKeySign is the real Cobo SIGNET_BTC stake record as a v2 KEYSIGN
// (testdata/utxo-vectors.json), with selected_utxos[0].value set to value
// and msg_hash_list to the BIP-341 digest for that amount. The digest
// comes from internal/btc (checked against the BIP-341 vectors there);
// what is under test here is the outpoint-claim memory.
func stakeKeySign(t *testing.T, id, value string, sats int64) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "utxo-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Records []struct {
			Record  map[string]any `json:"record"`
			Keysign struct {
				Unsigned string `json:"unsigned_raw_tx"`
			} `json:"keysign"`
		} `json:"cobo_records"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	rec, raw := f.Records[0].Record, f.Records[0].Keysign.Unsigned
	info := rec["raw_tx_info"].(map[string]any)
	info["unsigned_raw_tx"], info["raw_tx"] = raw, ""
	u := info["selected_utxos"].([]any)[0].(map[string]any)
	u["value"] = value
	// Keep the described change consistent: the fee absorbs the difference.
	rawb, _ := hex.DecodeString(raw)
	tx, err := btc.ParseUnsignedTx(rawb)
	if err != nil {
		t.Fatal(err)
	}
	spk, _ := btc.DecodeAddress(btc.Signet, u["address"].(string))
	d, err := btc.TaprootSigHash(tx, 0, []btc.TxOut{{Value: sats, PkScript: spk}}, btc.SigHashDefault, nil)
	if err != nil {
		t.Fatal(err)
	}
	detail := map[string]any{
		"tss_protocol": 2, "signature_type": 3, "task_id": "task-" + id, "biz_task_id": rec["transaction_id"],
		"group_id": "g", "root_pub_key": "xpub", "used_node_ids": []any{"n1", "n2"},
		"bip32_path_list": []any{"m/44/1/0/0/0"}, "msg_hash_list": []any{"0x" + hex.EncodeToString(d[:])}, "tweak_list": []any{},
	}
	extra := map[string]any{"transaction": rec}
	db, _ := json.Marshal(detail)
	eb, _ := json.Marshal(extra)
	cr := protocol.NewCallbackRequest(id, protocol.TypeKeySign, db, eb)
	pkg, err := json.Marshal(cr)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// verifiedOnly approves exactly the verified transactions, as a policy
// with the default `verify: required` would.
var verifiedOnly = deciderFunc(func(_ context.Context, r *protocol.Request) (decision.Decision, error) {
	if v := r.Verification; v != nil && v.Verified {
		return decision.Decision{Action: protocol.ActionApprove, Rule: "ok"}, nil
	}
	reason := "not verified"
	if r.Verification != nil {
		reason = r.Verification.Reason
	}
	return decision.Decision{Action: protocol.ActionReject, Rule: "verify", Reason: reason}, nil
})

func verifyUTXO(r *protocol.Request) *protocol.Verification {
	return txverify.DefaultRegistry().Verify(r).Verification()
}

// TestOutpointClaims: the first verified claim of an outpoint stands; a
// later KEYSIGN claiming another amount is rejected naming the outpoint
// (even though its own digest matches its own claim); the first amount
// again passes; clearing lets the other amount through.
func TestOutpointClaims(t *testing.T) {
	st := openSQLite(t)
	g, _ := newGate(t, func(c *Config) { c.Store, c.VerifyTx, c.Decider = st, verifyUTXO, verifiedOnly })
	ctx := context.Background()
	decide := func(id, value string, sats int64) Outcome {
		return g.CheckVerified(ctx, protocol.V2, "node-a", stakeKeySign(t, id, value, sats))
	}
	if o := decide("r1", "0.0005166", 51660); o.Action != protocol.ActionApprove {
		t.Fatalf("genuine stake: %s %s", o.Action, o.Reason)
	}
	o := decide("r2", "0.0005167", 51670)
	const op = "61854acb7df29f17afc3c4d76b59ff9efdcac529d164142774167f8379d649e5:0"
	if o.Action != protocol.ActionReject || !strings.Contains(o.Reason, op) || !strings.Contains(o.Reason, "first claimed at 0.0005166 by request r1") {
		t.Fatalf("second amount for the outpoint: %s %q", o.Action, o.Reason)
	}
	if o := decide("r3", "0.0005166", 51660); o.Action != protocol.ActionApprove {
		t.Fatalf("the first amount again: %s %s", o.Action, o.Reason)
	}
	if _, err := st.ClearOutpoint(ctx, op); err != nil {
		t.Fatal(err)
	}
	if o := decide("r4", "0.0005167", 51670); o.Action != protocol.ActionApprove {
		t.Fatalf("after clearing: %s %s", o.Action, o.Reason)
	}
	if o := decide("r5", "0.0005166", 51660); o.Action != protocol.ActionReject || !strings.Contains(o.Reason, "by request r4") {
		t.Fatalf("the old amount after clearing: %s %s", o.Action, o.Reason)
	}
}

// TestOutpointClaimsFailClosed: without a store a verified UTXO KEYSIGN
// is unverified (nothing remembers claims); a store that cannot answer is
// a status 30.
func TestOutpointClaimsFailClosed(t *testing.T) {
	g, _ := newGate(t, func(c *Config) { c.VerifyTx, c.Decider = verifyUTXO, verifiedOnly })
	o := g.CheckVerified(context.Background(), protocol.V2, "node-a", stakeKeySign(t, "r1", "0.0005166", 51660))
	if o.Action != protocol.ActionReject || !strings.Contains(o.Reason, "no decision store remembers outpoint claims") {
		t.Fatalf("without a store: %s %q", o.Action, o.Reason)
	}
	fs := &faultyStore{Store: openSQLite(t), claimErr: errors.New("disk on fire")}
	g, _ = newGate(t, func(c *Config) { c.Store, c.VerifyTx, c.Decider = fs, verifyUTXO, verifiedOnly })
	o = g.CheckVerified(context.Background(), protocol.V2, "node-a", stakeKeySign(t, "r1", "0.0005166", 51660))
	if o.Action != protocol.ActionReject || o.Status != protocol.StatusInternalError {
		t.Fatalf("store failure: status %d %s %q", o.Status, o.Action, o.Reason)
	}
}
