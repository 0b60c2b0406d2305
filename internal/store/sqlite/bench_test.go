package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// bulkLoad prefills n decisions and their ledger entries following the
// storetest benchmark model, in one transaction of two INSERT ... SELECT
// statements (seconds for 10^6 rows, where n Commits would take minutes).
func bulkLoad(tb testing.TB, s *Store, n int) {
	tb.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	end, step := storetest.BenchNow.UnixMicro(), storetest.BenchSpacing.Microseconds()
	if _, err := tx.ExecContext(ctx, `
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		INSERT INTO decisions (`+recordColumns+`)
		SELECT i, 'bulk-' || i, 'v2', 'KEYSIGN', 'node-a', ? - (? - i) * ?, CAST('{}' AS BLOB), '',
			'tx-' || i, 'APPROVE', 0, 'allow', 'bulk', NULL, 'bench', 100, '', ''
		FROM c`, n, end, n, step); err != nil {
		tb.Fatalf("bulk decisions: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq)
		SELECT ?, 'k-' || (seq % ?), tx_key, '1.5', received_at, seq FROM decisions`,
		storetest.BenchLimit, storetest.BenchKeys); err != nil {
		tb.Fatalf("bulk ledger: %v", err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkCommit(b *testing.B) {
	s, _ := openTest(b)
	var next atomic.Int64
	b.Run("serial", func(b *testing.B) { storetest.BenchCommit(b, s, &next) })
	b.Run("parallel", func(b *testing.B) { storetest.BenchCommitParallel(b, s, &next) })
}

// BenchmarkLimitCheck measures the limit check alone (the queries Commit
// runs for one limit: "already counted?" and the window sum) as the log
// grows, and a full Commit with that check.
func BenchmarkLimitCheck(b *testing.B) {
	for _, n := range storetest.BenchSizes {
		s, _ := openTest(b)
		start := time.Now()
		bulkLoad(b, s, n)
		b.Logf("prefilled %d decisions in %s", n, time.Since(start).Round(time.Millisecond))
		b.Run(fmt.Sprintf("check/decisions=%d", n), func(b *testing.B) { benchCheck(b, s) })
		var next atomic.Int64
		b.Run(fmt.Sprintf("commit/decisions=%d", n), func(b *testing.B) { storetest.BenchCommitWithLimit(b, s, &next) })
	}
}

func benchCheck(b *testing.B, s *Store) {
	ctx := context.Background()
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		rec := store.Record{TxKey: "tx-new", Action: store.ActionApprove, ReceivedAt: storetest.BenchNow}
		uses := []store.LimitUse{storetest.BenchUse(i)}
		consume, err := checkLimits(ctx, s.db, &rec, uses)
		if err != nil {
			b.Fatal(err)
		}
		if len(consume) != 1 || rec.Action != store.ActionApprove {
			b.Fatalf("check rejected: %s", rec.Reason)
		}
	}
}

// TestBulkLoadModel checks that the benchmark's prefill has the shape the
// benchmark relies on: about BenchPerDay/BenchKeys entries per key window.
func TestBulkLoadModel(t *testing.T) {
	s, _ := openTest(t)
	bulkLoad(t, s, 5000)
	rec := store.Record{TxKey: "tx-new", Action: store.ActionApprove, ReceivedAt: storetest.BenchNow}
	u := storetest.BenchUse(7)
	used, count, err := windowUsage(context.Background(), s.db, u, rec.ReceivedAt.Add(-u.Window))
	if err != nil {
		t.Fatal(err)
	}
	if count != 10 || used.String() != "15" {
		t.Errorf("window of k-7: %d entries summing %s, want 10 summing 15", count, used)
	}
}

// TestLimitQueriesUseIndexes keeps the limit check flat: each of its
// queries must search an index (covering, so the table is never read), not
// scan the ledger.
func TestLimitQueriesUseIndexes(t *testing.T) {
	s, _ := openTest(t)
	bulkLoad(t, s, 2000)
	tests := []struct {
		name, query, want string
		args              []any
	}{
		{"counted", countedQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_tx", []any{"daily", "k-7", "tx-1"}},
		{"window count", windowCountQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_window", []any{"daily", "k-7", 0}},
		{"window amounts", windowAmountsQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_window", []any{"daily", "k-7", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.db.Query("EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(plan, "; "); !strings.Contains(got, tt.want) || strings.Contains(got, "SCAN limit_ledger") {
				t.Errorf("plan %q, want %q and no table scan", got, tt.want)
			}
		})
	}
}
