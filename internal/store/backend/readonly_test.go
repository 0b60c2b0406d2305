package backend

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"tssgate/internal/store/storetest"
)

// The reading commands open stores with OpenReadOnly: it must create
// nothing, migrate nothing, and refuse to write.
func TestOpenReadOnlySQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "sub", "tssgate.db")
	if _, err := OpenReadOnly(ctx, "sqlite:"+missing); err == nil {
		t.Fatal("OpenReadOnly opened a file that does not exist")
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenReadOnly created %s (stat: %v)", filepath.Dir(missing), err)
	}

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenReadOnly(ctx, "sqlite:"+empty)
	if err == nil || !strings.Contains(err.Error(), "no tssgate decision log here") {
		t.Fatalf("OpenReadOnly on an empty file: %v, want a refusal that says so", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Fatalf("OpenReadOnly wrote to an empty file (size %v, %v)", fi.Size(), err)
	}

	// A store serve made: readable, not writable.
	path := filepath.Join(dir, "tssgate.db")
	rw, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Commit(t, rw, storetest.NewRecord("ro-1"))
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatalf("OpenReadOnly on a migrated store: %v", err)
	}
	t.Cleanup(func() { ro.Close() })
	if _, err := ro.Get(ctx, "ro-1"); err != nil {
		t.Fatalf("reading through the read-only store: %v", err)
	}
	if _, _, err := ro.Commit(ctx, storetest.NewRecord("ro-2"), nil); err == nil {
		t.Error("a read-only store committed a decision")
	}
}

func TestOpenReadOnlyPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresSchema(t) // a fresh, empty schema
	_, err := OpenReadOnly(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "no tssgate decision log here") {
		t.Fatalf("OpenReadOnly on an empty schema: %v, want a refusal that says so", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var tables int
	err = conn.QueryRow(ctx, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()").Scan(&tables)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("OpenReadOnly created %d tables in an empty schema", tables)
	}
	// Once serve (Open) has migrated it, the read-only open reads but
	// cannot write.
	rw, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Commit(t, rw, storetest.NewRecord("ro-1"))
	rw.Close()
	ro, err := OpenReadOnly(ctx, dsn)
	if err != nil {
		t.Fatalf("OpenReadOnly on a migrated schema: %v", err)
	}
	t.Cleanup(func() { ro.Close() })
	if _, err := ro.Get(ctx, "ro-1"); err != nil {
		t.Fatalf("reading through the read-only store: %v", err)
	}
	if _, _, err := ro.Commit(ctx, storetest.NewRecord("ro-2"), nil); err == nil {
		t.Error("a read-only store committed a decision")
	}
}
