// Package backend opens the store.Store a DSN names. It is the only store
// package that imports both implementations, so that the store package
// itself, and everything that only needs the interface, stays free of
// database drivers.
//
// DSNs:
//
//	sqlite:PATH               an SQLite file (relative to the working directory unless absolute)
//	sqlite:///ABSOLUTE/PATH   the same, URL style
//	postgres://...            PostgreSQL, any URL pgx accepts (postgresql:// too)
package backend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"tssgate/internal/store"
	"tssgate/internal/store/postgres"
	"tssgate/internal/store/sqlite"
)

// ErrUnknownDSN is returned (wrapped) by Open for a DSN that names no
// supported store.
var ErrUnknownDSN = errors.New("store: unsupported store DSN (want sqlite:PATH or postgres://...)")

// Open opens the store named by dsn, applying migrations. Errors:
// ErrUnknownDSN (wrapped) for an unsupported or malformed DSN,
// store.ErrSchemaTooNew (wrapped) for a database migrated by a newer
// tssgate, otherwise the implementation's error. Error messages never
// contain a password from dsn.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	return open(ctx, dsn, false)
}

// OpenReadOnly opens the existing store named by dsn for reading only, as
// the audit commands do: nothing is created or migrated, and writes fail.
// A SQLite file that does not exist, an empty PostgreSQL schema, or a
// schema that is not exactly this binary's is an error. Errors are as
// Open's.
func OpenReadOnly(ctx context.Context, dsn string) (store.Store, error) {
	return open(ctx, dsn, true)
}

func open(ctx context.Context, dsn string, readOnly bool) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path, err := sqlitePath(dsn)
		if err != nil {
			return nil, err
		}
		if readOnly {
			return nilIfErr(sqlite.OpenReadOnly(ctx, path))
		}
		return nilIfErr(sqlite.Open(ctx, path))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if readOnly {
			return nilIfErr(postgres.OpenReadOnly(ctx, dsn))
		}
		return nilIfErr(postgres.Open(ctx, dsn))
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownDSN, Redact(dsn))
}

// nilIfErr returns a failed open as a nil store.Store, not an interface
// holding a nil pointer.
func nilIfErr[S store.Store](s S, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

func sqlitePath(dsn string) (string, error) {
	path := strings.TrimPrefix(dsn, "sqlite:")
	if strings.HasPrefix(path, "//") {
		// URL style: only an empty host, that is sqlite:///abs/path.
		if !strings.HasPrefix(path, "///") {
			return "", fmt.Errorf("%w: %q: a host in a sqlite URL means nothing; use sqlite:PATH or sqlite:///ABSOLUTE/PATH", ErrUnknownDSN, dsn)
		}
		path = path[2:]
	}
	if path == "" {
		return "", fmt.Errorf("%w: %q: empty path", ErrUnknownDSN, dsn)
	}
	return path, nil
}

// Redact returns dsn with any password replaced by "xxxxx", for logs and
// error messages. Key=value style strings have their password= value
// replaced too.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Opaque == "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	if len(fields) > 1 {
		return strings.Join(fields, " ")
	}
	return dsn
}
