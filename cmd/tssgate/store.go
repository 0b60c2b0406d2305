package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

// sqliteFile returns the file of a sqlite: DSN, following the rules of
// backend.Open (sqlite:PATH or sqlite:///ABSOLUTE/PATH); ok is false for
// any other DSN.
func sqliteFile(dsn string) (path string, ok bool, err error) {
	path, ok = strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return "", false, nil
	}
	if strings.HasPrefix(path, "//") {
		if !strings.HasPrefix(path, "///") {
			return "", true, fmt.Errorf("%q: a host in a sqlite URL means nothing; use sqlite:PATH or sqlite:///ABSOLUTE/PATH", dsn)
		}
		path = path[2:]
	}
	if path == "" {
		return "", true, fmt.Errorf("%q: empty path", dsn)
	}
	return path, true, nil
}

// checkStoreDSN checks a store DSN without opening it, so serve can refuse
// a bad one before it creates anything.
func checkStoreDSN(dsn string) error {
	_, _, err := sqliteFile(dsn)
	return err
}

// openStore opens the configured decision store (SQLite or PostgreSQL,
// migrating it), creating the SQLite file's directory when needed. Only
// serve creates a store.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	dsn := cfg.StoreDSN()
	path, isSQLite, err := sqliteFile(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if isSQLite {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	st, err := backend.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", backend.Redact(dsn), err)
	}
	return st, nil
}

// openExistingStore opens the decision store for reading commands (audit):
// a SQLite file that does not exist is an error naming its path, never
// created, and neither is its folder; nothing is migrated, on PostgreSQL
// either, and the connection cannot write.
func openExistingStore(ctx context.Context, cfg Config) (store.Store, error) {
	dsn := cfg.StoreDSN()
	path, isSQLite, err := sqliteFile(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if isSQLite {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no decision store at %s (from %s): 'tssgate serve' creates it; give --store or --data-dir for another", path, cfg.origin(storeOriginName(cfg)))
		}
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("store: %s is a directory, not a SQLite file", path)
		}
	}
	st, err := backend.OpenReadOnly(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", backend.Redact(dsn), err)
	}
	return st, nil
}

// storeOriginName is the setting that decided the store's location: store
// when given, else data_dir.
func storeOriginName(cfg Config) string {
	if cfg.Store != "" {
		return "store"
	}
	return "data_dir"
}
