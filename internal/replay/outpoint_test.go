package replay

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// TestReplayOutpointClaims records the segwit fee attack against the
// btc-payouts example (the payout's coin claimed again at another amount,
// refused), an operator clearing that claim, and the attack asked again
// (its claim now stands). Replaying under the same policy must reproduce
// every decision: the claims are simulated in order, and the recorded
// clear-outpoint clears the simulated claim.
func TestReplayOutpointClaims(t *testing.T) {
	p, mk := btcPayoutsExample(t)
	t0 := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	st := openSQLite(t)
	out := record(t, st, p, []item{mk("payout", "v2-keysign-btc-payout", t0), mk("attack-1", "v2-keysign-btc-fee-attack", t0.Add(time.Minute))})
	if out[0].Action != protocol.ActionApprove || out[1].Rule != "verify" {
		t.Fatalf("recorded %s %s, %s %s: want the payout approved and the attack refused by verify", out[0].Action, out[0].Rule, out[1].Action, out[1].Rule)
	}
	m := regexp.MustCompile(`outpoint ([0-9a-f]{64}:[0-9]+) was first claimed`).FindStringSubmatch(out[1].Reason)
	if m == nil {
		t.Fatalf("the attack's reason names no outpoint: %s", out[1].Reason)
	}
	op, _ := json.Marshal(map[string]string{"operator_action": "clear-outpoint", "outpoint": m[1], "reason": "test", "operator": "t"})
	ctx := context.Background()
	if _, _, err := st.Commit(ctx, store.Record{RequestID: "operator:clear-outpoint:" + m[1], Version: "operator", Type: "CLEAR_OUTPOINT",
		NodeKey: "operator:t", ReceivedAt: t0.Add(2 * time.Minute), Request: op, Action: store.ActionReject, Rule: "operator:clear-outpoint",
		PolicyVersion: "operator"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClearOutpoint(ctx, m[1]); err != nil {
		t.Fatal(err)
	}
	again := record(t, st, p, []item{mk("attack-2", "v2-keysign-btc-fee-attack", t0.Add(3*time.Minute))})
	if again[0].Rule == "verify" {
		t.Fatalf("after the clear the attack's claim should stand: %s %s (%s)", again[0].Action, again[0].Rule, again[0].Reason)
	}

	r, err := Run(ctx, Config{Store: st, Candidate: p, VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != 3 || r.Skipped != 1 || r.Unchanged != 3 {
		t.Fatalf("report %+v, want 3 replayed unchanged and the clear skipped", r)
	}
	// From the attack on: the payout before it is within the candidate's
	// longest window, so its approval and its claim are seeded, and the
	// attack is refused again.
	r, err = Run(ctx, Config{Store: st, Candidate: p, VerifyTx: verifier, Since: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seeded != 1 || r.Unchanged != 2 {
		t.Fatalf("since the attack: %+v, want the payout's claim simulated from before --since (seeded 1, unchanged 2)", r)
	}
	// A candidate without limits seeds no usage, but still the claims.
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "btc-payouts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	noLimits := regexp.MustCompile(`(?s)\nlimits:.*`).ReplaceAllString(string(src), "\n")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lists"), 0o700); err != nil {
		t.Fatal(err)
	}
	payees, err := os.ReadFile(filepath.Join("..", "..", "examples", "lists", "btc-payees.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lists", "btc-payees.txt"), payees, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(noLimits), 0o600); err != nil {
		t.Fatal(err)
	}
	unlimited, err := policy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(unlimited.Windows()) != 0 {
		t.Fatal("the limits were not removed")
	}
	r, err = Run(ctx, Config{Store: st, Candidate: unlimited, VerifyTx: verifier, Since: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seeded != 0 || r.Replayed != 2 || r.Changed() {
		t.Fatalf("without limits, since the attack: %+v, want 2 replayed, nothing changed", r)
	}
}
