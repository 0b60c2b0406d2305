package replay

import (
	"context"
	"testing"
	"time"

	"tssgate/internal/store"
)

// TestReplayFreezes: decisions recorded while signing was frozen stay
// frozen under the candidate (the freeze and its lifting are in the log),
// also when the freeze was made before --since; a candidate that would
// approve them changes nothing while they were frozen, and approvals after
// the lifting are decided by the candidate again.
func TestReplayFreezes(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	items := scenarioItems(t)[1:4] // pay-1, pay-2, pay-3 at T0+1m, +2m, +3m
	noLimits := `version: 1
default: reject
rules:
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
`
	old := loadPolicy(t, noLimits)
	record(t, st, old, items[:1])
	f := store.Freeze{ID: "00112233aabbccdd", Reason: "drill", By: "t", At: T0.Add(90 * time.Second)}
	if _, _, err := st.Freeze(ctx, store.FreezeRecord(f, f.At), f); err != nil {
		t.Fatal(err)
	}
	if o := record(t, st, old, items[1:2]); o[0].Rule != store.RuleFrozen {
		t.Fatalf("pay-2 during the freeze was recorded as %s %s", o[0].Action, o[0].Rule)
	}
	if _, _, err := st.Unfreeze(ctx, store.UnfreezeRecord(f.ID, "t", nil, T0.Add(150*time.Second)), f.ID, nil); err != nil {
		t.Fatal(err)
	}
	if o := record(t, st, old, items[2:3]); o[0].Rule != "api-payouts" {
		t.Fatalf("pay-3 after the lift was recorded as %s %s", o[0].Action, o[0].Rule)
	}
	// The candidate approves everything: only pay-1 and pay-3 could change
	// (they do not: approved either way), pay-2 stays frozen.
	approveAll := loadPolicy(t, "version: 1\ndefault: approve\n")
	for _, tc := range []struct {
		name  string
		since time.Time
		n     int64
	}{
		{"whole log", time.Time{}, 3},
		{"since within the freeze", T0.Add(100 * time.Second), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(ctx, Config{Store: st, Candidate: approveAll, VerifyTx: verifier, Since: tc.since})
			if err != nil {
				t.Fatal(err)
			}
			if r.Replayed != tc.n || r.RejectToApprove != 0 || r.ApproveToReject != 0 {
				t.Fatalf("replayed %d (want %d), reject→approve %d, approve→reject %d: %+v", r.Replayed, tc.n, r.RejectToApprove, r.ApproveToReject, r.Examples)
			}
			if r.Changed() {
				t.Fatalf("the replay reports a change: %+v", r.Transitions)
			}
			for _, tr := range r.Transitions {
				if tr.OldRule == store.RuleFrozen && tr.NewRule != store.RuleFrozen {
					t.Fatalf("a frozen decision came out %+v", tr)
				}
			}
		})
	}
}
