package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// OldPolicy is what recorded the scenario; NewPolicy is the candidate:
// it also approves the "other" initiator and allows 3 ETH KEYSIGNs an
// hour instead of 5.
const (
	OldPolicy = `version: 1
default: reject
rules:
  - {name: heartbeat, when: 'request.type == "PING"', action: approve}
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
limits:
  - {name: eth-hourly, when: 'request.type == "KEYSIGN" && tx.token_id == "ETH"', key: [tx.token_id], window: 1h, max_count: 5}
`
	NewPolicy = `version: 1
default: reject
rules:
  - {name: heartbeat, when: 'request.type == "PING"', action: approve}
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
  - name: other-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "other"'
    action: approve
limits:
  - {name: eth-hourly, when: 'request.type == "KEYSIGN" && tx.token_id == "ETH"', key: [tx.token_id], window: 1h, max_count: 3}
`
)

// T0 is when the scenario starts.
var T0 = time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)

// ScenarioItems is the recorded history, one minute apart: other-1 (the
// "other" initiator), pay-1 ... pay-8 (payouts-service), other-2; every
// one a verified ETH KEYSIGN of its own transaction.
func scenarioItems(t testing.TB) []item {
	t.Helper()
	d, e := sample(t, protocol.V2, protocol.TypeKeySign)
	mk := func(i int, id, initiator string) item {
		extra := strings.ReplaceAll(string(e), "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57", "tx-"+id)
		extra = strings.Replace(extra, `"initiator": "payouts-service"`, fmt.Sprintf("%q: %q", "initiator", initiator), 1)
		if !strings.Contains(extra, initiator) || !strings.Contains(extra, "tx-"+id) {
			t.Fatalf("the sample's spelling changed: cannot patch %s", id)
		}
		return item{version: protocol.V2, id: id, typ: protocol.TypeKeySign, detail: d, extra: []byte(extra),
			nodeKey: "node-a", at: T0.Add(time.Duration(i) * time.Minute)}
	}
	items := []item{mk(0, "other-1", "other")}
	for i := 1; i <= 8; i++ {
		items = append(items, mk(i, fmt.Sprintf("pay-%d", i), "payouts-service"))
	}
	return append(items, mk(9, "other-2", "other"))
}

// RecordScenario records the history under OldPolicy, an operator record,
// and a status-30 PING (recorded without evaluation), and checks the
// recorded outcomes.
func recordScenario(t testing.TB, st store.Store) {
	t.Helper()
	out := record(t, st, loadPolicy(t, OldPolicy), scenarioItems(t))
	want := []string{"REJECT default", "APPROVE api-payouts", "APPROVE api-payouts", "APPROVE api-payouts", "APPROVE api-payouts",
		"APPROVE api-payouts", "REJECT eth-hourly", "REJECT eth-hourly", "REJECT eth-hourly", "REJECT default"}
	for i, o := range out {
		if got := string(o.Action) + " " + o.Rule; got != want[i] {
			t.Fatalf("recorded decision %d: %s, want %s", i, got, want[i])
		}
	}
	ctx := context.Background()
	op, _ := json.Marshal(map[string]string{"operator_action": "clear-outpoint", "outpoint": strings.Repeat("ab", 32) + ":0", "reason": "test"})
	if _, _, err := st.Commit(ctx, store.Record{RequestID: "operator:clear-outpoint:1", Version: "operator", Type: "CLEAR_OUTPOINT",
		NodeKey: "operator:t", ReceivedAt: T0.Add(10 * time.Minute), Request: op, Action: store.ActionReject, Rule: "operator:clear-outpoint",
		PolicyVersion: "operator"}, nil); err != nil {
		t.Fatal(err)
	}
	ping, _ := json.Marshal(map[string]any{"version": "v2", "request_id": "ping-30", "request_type": "PING", "node_key": "node-a",
		"request_detail": nil, "extra_info": nil})
	if _, _, err := st.Commit(ctx, store.Record{RequestID: "ping-30", Version: "v2", Type: "PING", NodeKey: "node-a",
		ReceivedAt: T0.Add(11 * time.Minute), Request: ping, Action: store.ActionReject, Status: 30, Reason: "decision log unavailable",
		PolicyVersion: "x"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestReplayFlips(t *testing.T) {
	st := openSQLite(t)
	recordScenario(t, st)
	candidate := loadPolicy(t, NewPolicy)
	tests := []struct {
		name                string
		cfg                 Config
		replayed, skipped   int64
		a2r, r2a, ruleChg   int64
		unchanged, seeded   int64
		unevaluatedApproves int64
		a2rIDs, r2aIDs      []string
		changed, loosens    bool
	}{
		{
			name:     "whole log",
			cfg:      Config{},
			replayed: 11, skipped: 1, a2r: 3, r2a: 1, ruleChg: 1, unchanged: 5, unevaluatedApproves: 1,
			a2rIDs: []string{"pay-3", "pay-4", "pay-5"}, r2aIDs: []string{"other-1"}, changed: true, loosens: true,
		},
		{
			// The recorded approvals pay-1 ... pay-4 (not other-1, recorded
			// as a REJECT) use the candidate's 3 before pay-5.
			name:     "since pay-5",
			cfg:      Config{Since: T0.Add(5 * time.Minute), Until: T0.Add(10 * time.Minute)},
			replayed: 5, a2r: 1, ruleChg: 1, unchanged: 3, seeded: 4,
			a2rIDs: []string{"pay-5"}, changed: true,
		},
		{
			name:     "type filter",
			cfg:      Config{Type: "PING"},
			replayed: 1, unevaluatedApproves: 1, changed: true, loosens: true,
		},
		{
			name:     "KEYSIGN only",
			cfg:      Config{Type: "KEYSIGN"},
			replayed: 10, a2r: 3, r2a: 1, ruleChg: 1, unchanged: 5,
			a2rIDs: []string{"pay-3", "pay-4", "pay-5"}, r2aIDs: []string{"other-1"}, changed: true, loosens: true,
		},
		{
			name:     "examples bounded",
			cfg:      Config{Examples: 2},
			replayed: 11, skipped: 1, a2r: 3, r2a: 1, ruleChg: 1, unchanged: 5, unevaluatedApproves: 1,
			a2rIDs: []string{"pay-3", "pay-4"}, r2aIDs: []string{"other-1"}, changed: true, loosens: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Store, cfg.Candidate, cfg.VerifyTx = st, candidate, verifier
			r, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := []int64{r.Replayed, r.Skipped, r.ApproveToReject, r.RejectToApprove, r.RuleChanged, r.Unchanged, r.Seeded, r.Unevaluated.WouldApprove}
			want := []int64{tc.replayed, tc.skipped, tc.a2r, tc.r2a, tc.ruleChg, tc.unchanged, tc.seeded, tc.unevaluatedApproves}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("counts [replayed skipped a2r r2a rule unchanged seeded unevaluated-approve] = %v, want %v", got, want)
			}
			if ids := exampleIDs(r.Examples.ApproveToReject); fmt.Sprint(ids) != fmt.Sprint(tc.a2rIDs) {
				t.Fatalf("approve→reject examples %v, want %v", ids, tc.a2rIDs)
			}
			if ids := exampleIDs(r.Examples.RejectToApprove); fmt.Sprint(ids) != fmt.Sprint(tc.r2aIDs) {
				t.Fatalf("reject→approve examples %v, want %v", ids, tc.r2aIDs)
			}
			if r.Changed() != tc.changed || r.Loosens() != tc.loosens {
				t.Fatalf("Changed %v Loosens %v, want %v %v", r.Changed(), r.Loosens(), tc.changed, tc.loosens)
			}
			for _, ex := range r.Examples.ApproveToReject {
				// A flip caused only by the limit: same rule would approve.
				if ex.OldRule != "api-payouts" || ex.NewRule != "eth-hourly" || ex.Token != "ETH" || ex.Amount != "0.0001" ||
					!strings.Contains(ex.NewReason, `limit "eth-hourly" exceeded`) || ex.Type != "KEYSIGN" {
					t.Fatalf("example %+v", ex)
				}
			}
		})
	}
}

func exampleIDs(exs []Example) []string {
	var out []string
	for _, e := range exs {
		out = append(out, e.RequestID)
	}
	return out
}

// TestReplayUnchanged replays the log under the policy that recorded it:
// nothing changes, limits included.
func TestReplayUnchanged(t *testing.T) {
	st := openSQLite(t)
	record(t, st, loadPolicy(t, OldPolicy), scenarioItems(t))
	r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, OldPolicy), VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed() || r.RuleChanged != 0 || r.Replayed != 10 || r.Unchanged != 10 {
		t.Fatalf("report %+v, want 10 unchanged", r)
	}
	// Without the verifier every KEYSIGN is unverified: the approvals flip.
	r, err = Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, OldPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if r.ApproveToReject != 5 {
		t.Fatalf("without verification: %d approve→reject, want 5", r.ApproveToReject)
	}
}

// TestReplayRefusesATamperedRequest: a record whose request no longer
// hashes to its request_hash (not one this pipeline decided) stops the
// replay instead of deciding something else.
func TestReplayRefusesAMismatchedRequest(t *testing.T) {
	st := openSQLite(t)
	// Recorded with a request_hash over other bytes than the canonical
	// form the pipeline computes (keys out of order).
	req := []byte(`{"version":"v2","request_type":"PING","request_id":"p1","node_key":"","request_detail":null,"extra_info":null}`)
	if _, _, err := st.Commit(context.Background(), store.Record{RequestID: "p1", Version: "v2", Type: "PING", ReceivedAt: T0,
		Request: req, Action: store.ActionApprove, Rule: "heartbeat", PolicyVersion: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, OldPolicy)})
	if err == nil || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("Run: %v, want a request_hash mismatch", err)
	}
}
