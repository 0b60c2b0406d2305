package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"tssgate/internal/store"
	"tssgate/internal/store/sqlite"
)

// openStore opens the configured decision store, creating the SQLite
// file's directory when needed.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	dsn := cfg.StoreDSN()
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("store %q: no file path", dsn)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", dsn, err)
		}
		return st, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("store %q: want sqlite:PATH or a postgres:// URL", redactDSN(dsn))
	}
}

// redactDSN hides a password in a store URL before it is logged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
