package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

// writeOldSchema creates a database at path with the migrations up to and
// including version upTo applied, as an older tssgate left it, and writes
// old's decisions and ledger rows in that schema.
func writeOldSchema(t *testing.T, path string, upTo int, old []storetest.OldEntry) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	names := []string{"0001_decisions.sql", "0002_write_probe.sql"}
	for v := 1; v <= upTo; v++ {
		b, err := migrationFiles.ReadFile("migrations/" + names[v-1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("applying %s: %v", names[v-1], err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (?, ?, 'then')", v, names[v-1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range old {
		if _, err := db.ExecContext(ctx, `INSERT INTO decisions (`+recordColumns+`)
			VALUES (?, 'old-' || ?, 'v2', 'KEYSIGN', 'node-a', ?, CAST('{}' AS BLOB), '', 'old-tx-' || ?, 'APPROVE', 0,
				'allow', 'old', NULL, 'old', 1, '', '')`, e.Seq, e.Seq, e.At.UnixMicro(), e.Seq); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq) VALUES (?, ?, ?, ?, ?, ?)",
			e.Limit, e.Key, fmt.Sprintf("old-tx-%d", e.Seq), e.Amount, e.At.UnixMicro(), e.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateRunningTotals opens a ledger written with the 0002 schema:
// the migration fills the running totals so that every window's usage, as
// the limit check and LimitUsage see it, is the sum the old scan read.
func TestMigrateRunningTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old := storetest.OldLedger()
	writeOldSchema(t, path, 2, old)
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var missing int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM limit_ledger WHERE cum_count = 0 OR cum_amount = ''").Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d rows without a running total after the migration", missing)
	}
	storetest.CheckMigrated(t, s, old)
}

// TestCorruptTotalFailsClosed: a running total the check cannot read is an
// error (the caller answers status 30), never a decision on a guessed sum.
func TestCorruptTotalFailsClosed(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, update string }{
		{"not a number", "UPDATE limit_ledger SET cum_amount = 'x'"},
		{"negative", "UPDATE limit_ledger SET cum_amount = '-5'"},
		{"totals decrease", "UPDATE limit_ledger SET cum_count = 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			use := storetest.BenchUse("amount")
			first := storetest.NewRecord("first")
			first.ReceivedAt = storetest.BenchNow
			storetest.Commit(t, s, first, use)
			second := storetest.NewRecord("second")
			second.ReceivedAt = storetest.BenchNow.Add(time.Second)
			storetest.Commit(t, s, second, use) // the second row gives "totals decrease" a row before the window
			if _, err := s.db.ExecContext(ctx, tt.update+" WHERE tx_key = ?", second.TxKey); err != nil {
				t.Fatal(err)
			}
			use.Window = 1500 * time.Millisecond // starts between first and second
			third := storetest.NewRecord("third")
			third.ReceivedAt = storetest.BenchNow.Add(2 * time.Second)
			got, _, err := s.Commit(ctx, third, []store.LimitUse{use})
			if err == nil {
				t.Fatalf("Commit over a corrupt total = %s (%s), want an error", got.Action, got.Reason)
			}
		})
	}
}
