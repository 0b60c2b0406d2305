package main

import (
	"context"
	"errors"

	"tssgate/internal/store"
)

// openPostgres opens a PostgreSQL store.
func openPostgres(ctx context.Context, dsn string) (store.Store, error) {
	return nil, errors.New("PostgreSQL store: not built yet")
}
