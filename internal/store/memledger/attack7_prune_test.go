package memledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tssgate/internal/store"
)

// TestAttack7PruneForgetsCountedTransactions: the stores never forget
// that a transaction counted under a (limit, key) (their tx_key check has
// no time bound), so a transaction signed again a day later consumes
// nothing. Prune forgets the transaction keys of the entries it drops: the
// same transaction then counts again, and a later transaction the stores
// approve is rejected. The package doc promises that a window reaching
// before what Prune forgot is an error, never a different usage; the same
// must hold for a transaction key Prune forgot (skip it, or fail).
func TestAttack7PruneForgetsCountedTransactions(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, st := range realStores(t) {
		t.Run(name, func(t *testing.T) {
			run := fmt.Sprintf("a7p-%d", time.Now().UnixNano())
			u := store.LimitUse{Limit: run, Key: `["ETH"]`, Window: time.Hour, Amount: dec("1"), MaxCount: 1}
			steps := []struct {
				at time.Time
				tx string
			}{
				{t0, "tx-A"},
				{t0.Add(26 * time.Hour), "tx-A"}, // the same transaction again
				{t0.Add(26*time.Hour + time.Minute), "tx-B"},
			}
			l := New()
			for i, s := range steps {
				if i == 1 {
					// What replay does every pruneEvery records: forget
					// what no window can reach.
					l.Prune(s.at.Add(-time.Hour - 24*time.Hour))
				}
				rec := store.Record{RequestID: fmt.Sprintf("%s-%d", run, i), Version: "v2", Type: "KEYSIGN", ReceivedAt: s.at,
					Request: []byte(`{}`), TxKey: s.tx, Action: store.ActionApprove, Rule: "r", PolicyVersion: "p"}
				got, _, err := st.Commit(context.Background(), rec, []store.LimitUse{u})
				if err != nil {
					t.Fatal(err)
				}
				limit, reason, err := l.Decide(s.at, s.tx, []store.LimitUse{u})
				if err != nil {
					continue // failing closed would be acceptable
				}
				want := ""
				if got.Action == store.ActionReject {
					want = got.Rule
				}
				if limit != want {
					t.Fatalf("step %d (%s at %s): the ledger names %q (%s), the store %q", i, s.tx, s.at.Format(time.RFC3339), limit, reason, want)
				}
			}
		})
	}
}
