package postgres

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
// storetest benchmark model with two INSERT ... SELECT over
// generate_series, then VACUUM ANALYZE, as autovacuum would after such a load.
func bulkLoad(tb testing.TB, s *Store, n int) {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO decisions (`+recordColumns+`)
		SELECT i, 'bulk-' || i, 'v2', 'KEYSIGN', 'node-a', $1::timestamptz - ($2 - i) * $3::bigint * interval '1 microsecond', '\x7b7d'::bytea, '',
			'tx-' || i, 'APPROVE', 0, 'allow', 'bulk', NULL, 'bench', 100, '', ''
		FROM generate_series(1, $2::bigint) AS i`,
		storetest.BenchNow, n, storetest.BenchSpacing.Microseconds()); err != nil {
		tb.Fatalf("bulk decisions: %v", err)
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq)
		SELECT $1, 'k-' || (seq % $2), tx_key, 1.5, received_at, seq FROM decisions`,
		storetest.BenchLimit, storetest.BenchKeys); err != nil {
		tb.Fatalf("bulk ledger: %v", err)
	}
	for _, table := range []string{"decisions", "limit_ledger"} {
		if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			tb.Fatalf("vacuum %s: %v", table, err)
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	s, _ := openTest(b)
	var next atomic.Int64
	b.Run("serial", func(b *testing.B) { storetest.BenchCommit(b, s, &next) })
	b.Run("parallel", func(b *testing.B) { storetest.BenchCommitParallel(b, s, &next) })
}

// BenchmarkLimitCheck measures the limit check alone (the queries Commit
// runs for one limit) as the log grows, and a full Commit with that check.
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
		consume, err := checkLimits(ctx, conn, &rec, []store.LimitUse{storetest.BenchUse(i)})
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
	var text string
	var count int64
	u := storetest.BenchUse(7)
	if err := s.pool.QueryRow(context.Background(),
		"SELECT SUM(amount)::text, COUNT(*) FROM limit_ledger WHERE limit_name = $1 AND key = $2 AND at > $3",
		u.Limit, u.Key, storetest.BenchNow.Add(-u.Window)).Scan(&text, &count); err != nil {
		t.Fatal(err)
	}
	if count != 10 || text != "15.0" {
		t.Errorf("window of k-7: %d entries summing %s, want 10 summing 15.0", count, text)
	}
	var rows int64
	if err := s.pool.QueryRow(context.Background(), "SELECT COUNT(*) FROM decisions").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 5000 {
		t.Errorf("decisions = %d, want 5000", rows)
	}
}

// TestLimitQueryUsesIndexes keeps the limit check flat: under the generic
// plans Commit pins, both parts of limitQuery must be index-only scans.
func TestLimitQueryUsesIndexes(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	bulkLoad(t, s, 20000)
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
	for _, want := range []string{"Index Only Scan using limit_ledger_tx", "Index Only Scan using limit_ledger_window"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Seq Scan") {
		t.Errorf("plan scans the ledger:\n%s", got)
	}
}
