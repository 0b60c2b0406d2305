package postgres

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// testStore adds the conformance suite's raw-SQL hook to a Store, in test
// code only.
type testStore struct{ *Store }

func (s testStore) Tamper(ctx context.Context, query string) error {
	_, err := s.pool.Exec(ctx, query)
	return err
}

// openTest opens a store in a fresh schema and closes it at cleanup.
func openTest(tb testing.TB) (*Store, string) {
	tb.Helper()
	dsn := storetest.PostgresSchema(tb)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, dsn
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTest(t)
		return testStore{s}
	})
}

// TestTwoReplicasRace is the replica test: two independent Stores
// (separate pools, as two tssgate processes would have) race 50 approvals
// for one limit's headroom; exactly 10 may win.
func TestTwoReplicasRace(t *testing.T) {
	s1, dsn := openTest(t)
	s2, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.RaceLimit(t, s1, s2)
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	s, dsn := openTest(t)
	first := storetest.Commit(t, s, storetest.NewRecord("r1"))
	s.Close()

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Hash != first.Hash {
		t.Errorf("hash after reopen = %s, want %s", got.Hash, first.Hash)
	}
	second := storetest.Commit(t, s, storetest.NewRecord("r2"))
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("commit after reopen: seq %d prev %s, want 2 %s", second.Seq, second.PrevHash, first.Hash)
	}
	if rep, err := s.Verify(ctx); err != nil || rep.Break != nil || rep.Rows != 2 {
		t.Errorf("Verify after reopen = %+v, %v; want 2 intact rows", rep, err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	s, dsn := openTest(t)
	if _, err := s.pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')"); err != nil {
		t.Fatalf("inserting a future version: %v", err)
	}
	s2, err := Open(ctx, dsn)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open on a newer schema: error = %v, want ErrSchemaTooNew", err)
	}
}

// TestConcurrentOpen starts several Stores on one empty schema at once, as
// replicas starting together would: each migration must apply exactly once.
func TestConcurrentOpen(t *testing.T) {
	dsn := storetest.PostgresSchema(t)
	const n = 4
	type result struct {
		s   *Store
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			s, err := Open(context.Background(), dsn)
			results <- result{s, err}
		}()
	}
	var opened *Store
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("concurrent Open: %v", r.err)
			continue
		}
		t.Cleanup(func() { r.s.Close() })
		opened = r.s
	}
	if opened == nil {
		t.FailNow()
	}
	var rows int
	if err := opened.pool.QueryRow(context.Background(), "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %d files", err, len(names))
	}
	if rows != len(names) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", rows, len(names))
	}
}

func TestOpenErrors(t *testing.T) {
	base := storetest.PostgresURL(t)
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"unparsable", "postgres://%zz", "parsing DSN"},
		{"missing schema", storetest.WithSearchPath(t, base, "tssgate_no_such_schema"), "no schema on the search_path"},
		{"unreachable", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "connecting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestAmountsAreNumeric checks that the ledger keeps amounts as exact
// NUMERIC, so that operators' own SQL sums are exact too.
func TestAmountsAreNumeric(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	for i, a := range []string{"0.1", "0.2"} {
		rec := storetest.NewRecord("r" + a)
		rec.ReceivedAt = storetest.Base.Add(time.Duration(i) * time.Second)
		storetest.Commit(t, s, rec, store.LimitUse{Limit: "l", Key: "k", Window: time.Hour, Amount: decimalOf(t, a)})
	}
	var sum, typ string
	if err := s.pool.QueryRow(ctx, "SELECT SUM(amount)::text, pg_typeof(SUM(amount))::text FROM limit_ledger").Scan(&sum, &typ); err != nil {
		t.Fatal(err)
	}
	if sum != "0.3" || typ != "numeric" {
		t.Errorf("SUM(amount) = %s (%s), want 0.3 (numeric)", sum, typ)
	}
}

func decimalOf(tb testing.TB, s string) decimal.Decimal {
	tb.Helper()
	d, err := decimal.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestCrashKeepsAcknowledged kills a process committing decisions with
// SIGKILL and checks that everything it acknowledged survived.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if os.Getenv(storetest.EnvCrashChild) != "" {
		t.Skip("running as the crash child")
	}
	dsn := storetest.PostgresSchema(t)
	storetest.CrashParent(t, "TestCrashChild", dsn, 100, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("reopen after the crash: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestCrashChild is the process TestCrashKeepsAcknowledged kills.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(storetest.EnvCrashChild)
	if dsn == "" {
		t.Skip("helper process of TestCrashKeepsAcknowledged")
	}
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CrashChild(t, s)
}

// TestFreezeReplicas: a freeze recorded through one replica is seen by the
// other's next commit, and concurrent commits on both are ordered against it.
func TestFreezeReplicas(t *testing.T) {
	s1, dsn := openTest(t)
	s2, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.FreezeReplicas(t, s1, s2)
}

func TestFreezeRaceReplicas(t *testing.T) {
	s1, dsn := openTest(t)
	s2, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.FreezeRace(t, s1, s2)
}
