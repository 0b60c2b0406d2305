package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"tssgate/internal/store/storetest"
)

// writeOldSchema applies the migrations up to and including version upTo
// to the empty schema of dsn, as an older tssgate left it, and writes old's
// decisions and ledger rows in that schema.
func writeOldSchema(t *testing.T, dsn string, upTo int, old []storetest.OldEntry) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	names := []string{"0001_decisions.sql", "0002_write_probe.sql"}
	for v := 1; v <= upTo; v++ {
		b, err := migrationFiles.ReadFile("migrations/" + names[v-1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(b)); err != nil {
			t.Fatalf("applying %s: %v", names[v-1], err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v, names[v-1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range old {
		if _, err := conn.Exec(ctx, `INSERT INTO decisions (`+recordColumns+`)
			VALUES ($1::bigint, 'old-' || $1::bigint, 'v2', 'KEYSIGN', 'node-a', $2, '\x7b7d'::bytea, '', 'old-tx-' || $1::bigint, 'APPROVE', 0,
				'allow', 'old', NULL, 'old', 1, '', '')`, e.Seq, e.At); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO limit_ledger (limit_name, key, tx_key, amount, at, seq) VALUES ($1, $2, $3, CAST($4::text AS numeric), $5, $6)",
			e.Limit, e.Key, fmt.Sprintf("old-tx-%d", e.Seq), e.Amount, e.At, e.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateRunningTotals opens a ledger written with the 0002 schema:
// the migration fills the running totals so that every window's usage, as
// the limit check and LimitUsage see it, is the sum the old scan read.
func TestMigrateRunningTotals(t *testing.T) {
	dsn := storetest.PostgresSchema(t)
	old := storetest.OldLedger()
	writeOldSchema(t, dsn, 2, old)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.CheckMigrated(t, s, old)
}
