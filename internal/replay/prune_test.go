package replay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/memledger"
)

// countPolicy approves the verified sample payout under a count cap of
// max in a one-hour window keyed on the token.
func countPolicy(max string) string {
	return `version: 1
default: reject
rules:
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
limits:
  - {name: eth-hourly, when: 'request.type == "KEYSIGN"', key: [tx.token_id], window: 1h, max_count: ` + max + `}
`
}

// TestReplayAcrossPrunes replays more records than the ledger keeps
// between two prunes, over a span longer than the longest window plus the
// pruning slack, and requires exactly the flips an independent sliding
// window count predicts; then a record far out of order stops the replay
// rather than count less.
func TestReplayAcrossPrunes(t *testing.T) {
	const n = 5000              // more than pruneEvery
	spacing := 30 * time.Second // 41.7 hours in all: the first prune forgets entries
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	st := openSQLite(t)
	bulkRecord(t, st, loadPolicy(t, countPolicy("1000")), t0, n, spacing)

	// The candidate allows 100 an hour. Model, over the records in Seq
	// order (the concurrent commits recorded them slightly out of time
	// order, as replicas do): a record is approved when fewer than 100
	// ledger entries lie after its time minus an hour; an approval's entry
	// is recorded at its time, or at the newest entry's time if that is
	// later (the stores' ledger times never go backwards).
	var entries []time.Time
	wantFlips := 0
	if err := st.List(context.Background(), store.Filter{}, func(rec *store.Record) error {
		inWindow := 0
		for j := len(entries) - 1; j >= 0 && entries[j].After(rec.ReceivedAt.Add(-time.Hour)); j-- {
			inWindow++
		}
		if inWindow >= 100 {
			wantFlips++
			return nil
		}
		at := rec.ReceivedAt
		if len(entries) > 0 && entries[len(entries)-1].After(at) {
			at = entries[len(entries)-1]
		}
		entries = append(entries, at)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if wantFlips == 0 {
		t.Fatal("the model predicts no flips: the test would prove nothing")
	}
	r, err := Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, countPolicy("100")), VerifyTx: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != n || r.ApproveToReject != int64(wantFlips) || r.Unchanged != int64(n-wantFlips) {
		t.Fatalf("replayed %d, approve→reject %d, unchanged %d; want %d, %d, %d", r.Replayed, r.ApproveToReject, r.Unchanged, n, wantFlips, n-wantFlips)
	}

	// A record received two days before the newest: its window starts
	// before what the ledger forgot.
	tmpl, err := st.Get(context.Background(), "bulk-000001")
	if err != nil {
		t.Fatal(err)
	}
	late := *tmpl
	late.RequestID, late.RequestHash = "bulk-late", ""
	late.Request = []byte(strings.ReplaceAll(string(tmpl.Request), "bulk-000001", "bulk-late"))
	late.ReceivedAt = t0.Add(time.Hour)
	if _, _, err := st.Commit(context.Background(), late, nil); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Config{Store: st, Candidate: loadPolicy(t, countPolicy("100")), VerifyTx: verifier})
	if !errors.Is(err, memledger.ErrPruned) || !strings.Contains(err.Error(), "bulk-late") {
		t.Fatalf("Run over a far out-of-order record: %v, want ErrPruned naming it", err)
	}
}
