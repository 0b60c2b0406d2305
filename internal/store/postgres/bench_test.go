package postgres

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

// BulkLedger implements storetest.BulkLoader with two INSERT ... SELECT
// over generate_series, then VACUUM ANALYZE, as autovacuum would after
// such a load.
func (s testStore) BulkLedger(ctx context.Context, n int, limit, key string, end time.Time, spacing time.Duration) error {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO decisions (`+recordColumns+`)
		SELECT i, 'bulk-' || i, 'v2', 'KEYSIGN', 'node-a', $1::timestamptz - ($2 - i) * $3::bigint * interval '1 microsecond', '\x7b7d'::bytea, '',
			'bulk-' || i, 'APPROVE', 0, 'allow', 'bulk', NULL, 'bench', 100, '', ''
		FROM generate_series(1, $2::bigint) AS i`,
		end, n, spacing.Microseconds()); err != nil {
		return fmt.Errorf("bulk decisions: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq, cum_amount, cum_count)
		SELECT $1, $2, tx_key, CAST($3::text AS numeric), received_at, seq, seq * CAST($3::text AS numeric), seq
		FROM decisions`, limit, key, storetest.BulkAmount); err != nil {
		return fmt.Errorf("bulk ledger: %w", err)
	}
	for _, table := range []string{"decisions", "limit_ledger"} {
		if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	return nil
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
	// One connection with the plan mode Commit sets in its transaction.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		b.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET plan_cache_mode")
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		rec := store.Record{TxKey: "tx-new", Action: store.ActionApprove, ReceivedAt: storetest.BenchNow}
		consume, err := checkLimits(ctx, conn, &rec, []store.LimitUse{storetest.BenchUse(kind)})
		if err != nil {
			b.Fatal(err)
		}
		if len(consume) != 1 || rec.Action != store.ActionApprove {
			b.Fatalf("check rejected: %s", rec.Reason)
		}
	}
}

// TestBulkLoadModel checks that the bulk loader writes what Commit would:
// the running totals of its rows are the sums of their entries, and a
// Commit after it continues them.
func TestBulkLoadModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	storetest.Bulk(t, testStore{s}, 5001, "daily", "k", storetest.BenchNow, time.Second)
	var text string
	var count int64
	if err := s.pool.QueryRow(ctx,
		"SELECT SUM(amount)::text, COUNT(*) FROM limit_ledger WHERE limit_name = 'daily' AND key = 'k' AND at > $1",
		storetest.BenchNow.Add(-time.Hour)).Scan(&text, &count); err != nil {
		t.Fatal(err)
	}
	if count != 3600 || text != "5400.0" {
		t.Errorf("window: %d entries summing %s, want 3600 summing 5400.0", count, text)
	}
	u := store.LimitUse{Limit: "daily", Key: "k", Window: time.Hour, Amount: decimal.MustParse("1"), MaxCount: 3601}
	rec := storetest.NewRecord("after-bulk")
	rec.ReceivedAt = storetest.BenchNow
	if got := storetest.Commit(t, s, rec, u); got.Action != store.ActionApprove {
		t.Fatalf("3601st entry of the hour under a cap of 3601: %s (%s)", got.Action, got.Reason)
	}
	var cum string
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT cum_amount::text, cum_count FROM limit_ledger WHERE tx_key = $1", rec.TxKey).Scan(&cum, &n); err != nil {
		t.Fatal(err)
	}
	if cum != "7502.5" || n != 5002 {
		t.Errorf("the commit after the bulk load wrote total %s, %d; want 7502.5, 5002", cum, n)
	}
}

// TestLimitQueryUsesIndexes keeps the limit check flat: under the generic
// plans Commit pins, every part of limitQuery must be an index-only scan,
// and none may sort or aggregate (either would read every entry of the key).
func TestLimitQueryUsesIndexes(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	storetest.Bulk(t, testStore{s}, 20000, "daily", "k-7", storetest.BenchNow, time.Second)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET plan_cache_mode")
	rows, err := conn.Query(ctx, "EXPLAIN "+limitQuery, "daily", "k-7", "tx-1", storetest.BenchNow.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(plan, "\n")
	for _, want := range []struct {
		scan string
		n    int
	}{
		{"Index Only Scan using limit_ledger_tx", 1},
		// The newest row and the last row before the window: one each.
		{"Index Only Scan Backward using limit_ledger_window", 2},
	} {
		if c := strings.Count(got, want.scan); c != want.n {
			t.Errorf("plan has %q %d times, want %d:\n%s", want.scan, c, want.n, got)
		}
	}
	if strings.Contains(got, "Seq Scan") || strings.Contains(got, "Sort") || strings.Contains(got, "Aggregate") {
		t.Errorf("plan scans the ledger:\n%s", got)
	}
}
