package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPostgres names the variable that turns the PostgreSQL tests on: a URL
// such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it
// is set, an unreachable database fails the tests rather than skipping
// them, so that CI cannot pass by not testing.
const EnvPostgres = "TSSGATE_TEST_POSTGRES"

// PostgresURL returns the EnvPostgres URL, or skips the test when it is
// not set.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		tb.Skipf("%s is not set; skipping a PostgreSQL test", EnvPostgres)
	}
	return dsn
}

// PostgresSchema creates an empty schema with a random name in the
// EnvPostgres database, drops it (with everything in it) at cleanup, and
// returns a DSN whose search_path is that schema. Tests in parallel
// packages thus never see each other's rows, and, since the stores derive
// their lock keys from the schema, never wait on each other's locks. It
// skips when EnvPostgres is unset and fails when the database is
// unreachable.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("%s is set but the database is unreachable: %v", EnvPostgres, err)
	}
	defer admin.Close(ctx)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "tssgate_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("creating schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(tb, base, schema)
}

// WithSearchPath returns dsn (a URL or a key=value string) with its
// search_path set to schema.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parsing PostgreSQL DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
