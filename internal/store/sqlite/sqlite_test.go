package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// testStore adds the conformance suite's raw-SQL hook to a Store, in test
// code only.
type testStore struct{ *Store }

func (s testStore) Tamper(ctx context.Context, query string) error {
	_, err := s.db.ExecContext(ctx, query)
	return err
}

// openTest opens a store on a fresh file in t.TempDir and closes it at
// cleanup.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tssgate.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTest(t)
		return testStore{s}
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tssgate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	first := storetest.Commit(t, s, storetest.NewRecord("r1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Hash != first.Hash || got.Seq != 1 {
		t.Errorf("after reopen: seq %d hash %s, want 1 %s", got.Seq, got.Hash, first.Hash)
	}
	second := storetest.Commit(t, s, storetest.NewRecord("r2"))
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("commit after reopen: seq %d prev %s, want 2 %s", second.Seq, second.PrevHash, first.Hash)
	}
	rep, err := s.Verify(ctx)
	if err != nil || rep.Break != nil || rep.Rows != 2 {
		t.Errorf("Verify after reopen = %+v, %v; want 2 intact rows", rep, err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if _, err := s.db.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 'later')"); err != nil {
		t.Fatalf("inserting a future version: %v", err)
	}
	s2, err := Open(ctx, path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open on a newer schema: error = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	for _, tt := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
	storetest.Commit(t, s, storetest.NewRecord("r1")) // creates the WAL file
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), mode)
		}
	}
	var version int
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := migrationCount(t); version != want {
		t.Errorf("schema version = %d, want %d", version, want)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"empty path", ""},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
		})
	}
}

// TestOddPath checks that characters with a meaning in SQLite URIs stay part
// of the file name.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%20d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer s.Close()
	storetest.Commit(t, s, storetest.NewRecord("r1"))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

// TestConcurrentOpen opens one new file from several goroutines at once, each
// with its own *sql.DB, as two processes starting together would: migrations
// must apply exactly once and every Open must succeed.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tssgate.db")
	const n = 4
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	for range n {
		go func() {
			s, err := Open(context.Background(), path)
			errs <- err
			stores <- s
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
		if s := <-stores; s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		return
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := migrationCount(t); rows != want {
		t.Errorf("schema_migrations has %d rows, want %d", rows, want)
	}
}

// migrationCount is the number of embedded migrations: the schema version
// a freshly opened store must be at.
func migrationCount(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %d files", err, len(names))
	}
	return len(names)
}

// TestTwoHandlesRace races approvals through two independent Stores on one
// file: BEGIN IMMEDIATE must serialize them as the semaphore does within
// one Store.
func TestTwoHandlesRace(t *testing.T) {
	s1, path := openTest(t)
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.RaceLimit(t, s1, s2)
}

// TestCrashKeepsAcknowledged kills a process committing decisions with
// SIGKILL and checks that everything it acknowledged survived.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if os.Getenv(storetest.EnvCrashChild) != "" {
		t.Skip("running as the crash child")
	}
	path := filepath.Join(t.TempDir(), "tssgate.db")
	storetest.CrashParent(t, "TestCrashChild", path, 200, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("reopen after the crash: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestCrashChild is the process TestCrashKeepsAcknowledged kills.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(storetest.EnvCrashChild)
	if path == "" {
		t.Skip("helper process of TestCrashKeepsAcknowledged")
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CrashChild(t, s)
}

// TestProbeHeldWriteLock (issue 8, finding 10): while another connection
// holds the file's write lock, no decision can be recorded, and the write
// probe says so within its deadline; once the lock is released it passes.
func TestProbeHeldWriteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tssgate.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	start := time.Now()
	err = s.Probe(ctx)
	cancel()
	if err == nil {
		t.Fatal("Probe succeeded while another connection holds the write lock")
	}
	if !strings.Contains(err.Error(), "taking the write lock") {
		t.Errorf("Probe error = %v, want one naming the write lock", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Probe failed after %s, want about its 1 s deadline", elapsed)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(context.Background()); err != nil {
		t.Errorf("Probe after the lock was released: %v", err)
	}
}

// TestFreezeTwoHandles: a freeze recorded through one handle (the freeze
// command, a second process) is seen by the other's next group commit.
func TestFreezeTwoHandles(t *testing.T) {
	s1, path := openTest(t)
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.FreezeReplicas(t, s1, s2)
}

func TestFreezeRaceTwoHandles(t *testing.T) {
	s1, path := openTest(t)
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	storetest.FreezeRace(t, s1, s2)
}
