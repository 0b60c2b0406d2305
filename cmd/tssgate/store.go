package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

// openStore opens the configured decision store (SQLite or PostgreSQL,
// migrating it), creating the SQLite file's directory when needed.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	dsn := cfg.StoreDSN()
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && path != "" && !strings.HasPrefix(path, "//") {
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
