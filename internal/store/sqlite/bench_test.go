package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// BulkLedger implements storetest.BulkLoader in one transaction of two
// INSERT ... SELECT statements (seconds for 10^6 rows, where n Commits
// would take minutes). The running total of entry i is i*1.5, spelled as
// decimal.Decimal.String spells it ("3", "4.5").
func (s testStore) BulkLedger(ctx context.Context, n int, limit, key string, end time.Time, spacing time.Duration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		INSERT INTO decisions (`+recordColumns+`)
		SELECT i, 'bulk-' || i, 'v2', 'KEYSIGN', 'node-a', ? - (? - i) * ?, CAST('{}' AS BLOB), '',
			'bulk-' || i, 'APPROVE', 0, 'allow', 'bulk', NULL, 'bench', 100, '', ''
		FROM c`, n, end.UnixMicro(), n, spacing.Microseconds()); err != nil {
		return fmt.Errorf("bulk decisions: %w", err)
	}
	if storetest.BulkAmount != "1.5" {
		return fmt.Errorf("bulk loader spells totals of 1.5, not %s", storetest.BulkAmount)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq, cum_amount, cum_count)
		SELECT ?, ?, tx_key, '1.5', received_at, seq,
			CAST(seq * 3 / 2 AS TEXT) || CASE WHEN seq % 2 = 1 THEN '.5' ELSE '' END, seq
		FROM decisions ORDER BY seq`, limit, key); err != nil {
		return fmt.Errorf("bulk ledger: %w", err)
	}
	return tx.Commit()
}

func BenchmarkCommit(b *testing.B) {
	s, _ := openTest(b)
	var next atomic.Int64
	b.Run("serial", func(b *testing.B) { storetest.BenchCommit(b, s, &next) })
	b.Run("parallel", func(b *testing.B) { storetest.BenchCommitParallel(b, s, &next) })
	b.Run("concurrent=16", func(b *testing.B) { storetest.BenchCommitConcurrent(b, s, &next, 16) })
}

// BenchmarkRSAFloor is the floor the other benchmarks of this package
// report against (x-rsa-floor): one RS256 sign plus one verify, 2048 bits.
func BenchmarkRSAFloor(b *testing.B) { storetest.BenchRSAFloor(b) }

// prefilled opens a store and bulk-loads n entries into the one benchmark
// key's window.
func prefilled(b *testing.B, n int) *Store {
	b.Helper()
	s, _ := openTest(b)
	start := time.Now()
	storetest.Bulk(b, testStore{s}, n, storetest.BenchLimit, storetest.BenchKey, storetest.BenchNow, storetest.BenchSpacing)
	b.Logf("prefilled %d entries of one key's window in %s", n, time.Since(start).Round(time.Millisecond))
	return s
}

// BenchmarkLimitCheck measures the limit check alone (the queries Commit
// runs for one limit: "already counted?" and the window's usage) with
// 10^3, 10^5 and 10^6 entries in the one key's window, for an amount and a
// count limit. x-smallest is the cost relative to 10^3 entries.
func BenchmarkLimitCheck(b *testing.B) {
	storetest.RSAFloor(b)
	var sc storetest.Scale
	for _, n := range storetest.BenchSizes {
		s := prefilled(b, n)
		for _, kind := range storetest.BenchKinds {
			b.Run(fmt.Sprintf("entries=%d/%s", n, kind), func(b *testing.B) {
				benchCheck(b, s, kind)
				sc.Report(b, kind, n)
			})
		}
	}
}

// BenchmarkCommitWithLimit measures a whole Commit with one limit check
// and its ledger entry, with 10^3, 10^5 and 10^6 entries in the key's
// window (each commit adds one more).
func BenchmarkCommitWithLimit(b *testing.B) {
	storetest.RSAFloor(b)
	var sc storetest.Scale
	for _, n := range storetest.BenchSizes {
		s := prefilled(b, n)
		var next atomic.Int64
		next.Store(int64(n))
		for _, kind := range storetest.BenchKinds {
			b.Run(fmt.Sprintf("entries=%d/%s", n, kind), func(b *testing.B) {
				storetest.BenchCommitWithLimit(b, s, &next, kind)
				sc.Report(b, kind, n)
			})
		}
	}
}

func benchCheck(b *testing.B, s *Store, kind string) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rec := store.Record{TxKey: "tx-new", Action: store.ActionApprove, ReceivedAt: storetest.BenchNow}
		uses := []store.LimitUse{storetest.BenchUse(kind)}
		consume, err := checkLimits(txQuerier{ctx: ctx}, s.st, &rec, uses)
		if err != nil {
			b.Fatal(err)
		}
		if len(consume) != 1 || rec.Action != store.ActionApprove {
			b.Fatalf("check rejected: %s", rec.Reason)
		}
	}
}

// TestBulkLoadModel checks that the bulk loader writes what Commit would:
// the usage of its window read through the running totals equals the sum
// of its entries, and a Commit after it continues the totals.
func TestBulkLoadModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	storetest.Bulk(t, testStore{s}, 5001, "daily", "k", storetest.BenchNow, time.Second)
	u := store.LimitUse{Limit: "daily", Key: "k", Window: time.Hour, Amount: decimal.MustParse("1")}
	// The last 3600 entries are in the hour before BenchNow (exclusive start).
	_, newest, used, count, err := windowUsage(txQuerier{ctx: ctx}, s.st, u, storetest.BenchNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if count != 3600 || used.String() != "5400" || newest.Count != 5001 || newest.Amount.String() != "7501.5" {
		t.Errorf("window: %d entries summing %s, newest total %d %s; want 3600 summing 5400, 5001 7501.5",
			count, used, newest.Count, newest.Amount)
	}
	rec := storetest.NewRecord("after-bulk")
	rec.ReceivedAt = storetest.BenchNow
	storetest.Commit(t, s, rec, u)
	var cum string
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT cum_amount, cum_count FROM limit_ledger WHERE tx_key = ?", rec.TxKey).Scan(&cum, &n); err != nil {
		t.Fatal(err)
	}
	if cum != "7502.5" || n != 5002 {
		t.Errorf("the commit after the bulk load wrote total %s, %d; want 7502.5, 5002", cum, n)
	}
}

// TestLimitQueriesUseIndexes keeps the limit check flat: each of its
// queries must search an index (covering, so the table is never read), not
// scan the ledger, and must need no sort (a sort would read every entry of
// the key).
func TestLimitQueriesUseIndexes(t *testing.T) {
	s, _ := openTest(t)
	storetest.Bulk(t, testStore{s}, 2000, "daily", "k-7", storetest.BenchNow, time.Second)
	tests := []struct {
		name, query, want string
		args              []any
	}{
		{"counted", countedQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_tx", []any{"daily", "k-7", "tx-1"}},
		{"newest", newestQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_window (limit_name=? AND key=?)", []any{"daily", "k-7"}},
		{"before", beforeQuery, "SEARCH limit_ledger USING COVERING INDEX limit_ledger_window (limit_name=? AND key=? AND at<?)", []any{"daily", "k-7", 0}},
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
			if got := strings.Join(plan, "; "); !strings.Contains(got, tt.want) || strings.Contains(got, "SCAN limit_ledger") || strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("plan %q, want %q and no table scan", got, tt.want)
			}
		})
	}
}
