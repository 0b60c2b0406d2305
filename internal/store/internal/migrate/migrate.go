// Package migrate loads the embedded, numbered SQL migrations of a store
// implementation and refuses a database migrated by a newer tssgate. The
// SQLite and PostgreSQL stores each embed their own migrations/ folder and
// apply what Load returns in order.
//
// It is internal to tssgate/internal/store: the schema is the
// implementations' business.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"tssgate/internal/store"
)

// Migration is one embedded schema step. Implementations apply migrations in
// Version order, each in its own transaction together with its row in the
// schema_migrations table.
type Migration struct {
	// Version is the number the file name starts with: 1, 2, ...
	Version int
	// Name is the file name, for schema_migrations and error messages.
	Name string
	// SQL is the file's content, executed as one script.
	SQL string
}

// Load reads the "*.sql" files in directory dir of fsys (each store embeds
// its own), named "NNNN_description.sql", and returns them in Version
// order. Versions must run 1, 2, 3 ... without gaps or duplicates: a hole
// would mean a binary built from a half-edited tree, and refusing it is
// cheaper than a schema nobody can reason about.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	fsys, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("opening migrations directory %q: %w", dir, err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var ms []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and '_'", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading migration %q: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d (versions must run 1, 2, ... without gaps)", m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations found")
	}
	return ms, nil
}

// CheckVersion returns an error wrapping store.ErrSchemaTooNew when the
// database's highest applied version is beyond the last migration this
// binary knows.
func CheckVersion(dbVersion int, known []Migration) error {
	if n := len(known); dbVersion > n {
		return fmt.Errorf("%w: database is at schema version %d, this binary knows up to %d; upgrade tssgate", store.ErrSchemaTooNew, dbVersion, n)
	}
	return nil
}

// CheckCurrent returns an error unless the database is at exactly the
// last migration this binary knows: what a reader that must not migrate
// (the audit commands) requires. A newer database wraps
// store.ErrSchemaTooNew; an older or empty one says to run serve, which
// migrates.
func CheckCurrent(dbVersion int, known []Migration) error {
	if err := CheckVersion(dbVersion, known); err != nil {
		return err
	}
	if n := len(known); dbVersion < n {
		if dbVersion == 0 {
			return fmt.Errorf("no tssgate decision log here (schema version 0, this binary needs %d): 'tssgate serve' creates it", n)
		}
		return fmt.Errorf("database is at schema version %d, this binary needs %d: run 'tssgate serve' once to migrate it; a reading command never writes", dbVersion, n)
	}
	return nil
}
