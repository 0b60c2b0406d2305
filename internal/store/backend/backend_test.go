package backend

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/store/postgres"
	"tssgate/internal/store/sqlite"
	"tssgate/internal/store/storetest"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "a.db")
	t.Chdir(dir)
	tests := []struct {
		name string
		dsn  string
		file string
	}{
		{"relative path", "sqlite:rel.db", filepath.Join(dir, "rel.db")},
		{"absolute path", "sqlite:" + abs, abs},
		{"URL style", "sqlite://" + abs, abs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn)
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.dsn, err)
			}
			defer s.Close()
			if _, ok := s.(*sqlite.Store); !ok {
				t.Errorf("Open(%q) returned %T, want *sqlite.Store", tt.dsn, s)
			}
			storetest.Commit(t, s, storetest.NewRecord(tt.name))
			if _, err := os.Stat(tt.file); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	s, err := Open(context.Background(), storetest.PostgresSchema(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok {
		t.Errorf("Open returned %T, want *postgres.Store", s)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
	}{
		{"empty", ""},
		{"bare path", "/var/lib/tssgate/tssgate.db"},
		{"mysql", "mysql://u:p@h/db"},
		{"empty sqlite path", "sqlite:"},
		{"sqlite URL with host", "sqlite://host/x.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !errors.Is(err, ErrUnknownDSN) {
				t.Errorf("Open(%q) error = %v, want ErrUnknownDSN", tt.dsn, err)
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?password=secret&user=u", "postgres://h/db?password=xxxxx&user=u"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=xxxxx dbname=d"},
		{"sqlite:/var/lib/x.db", "sqlite:/var/lib/x.db"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(Redact(tt.in), "secret") {
			t.Errorf("Redact(%q) keeps the secret", tt.in)
		}
	}
}
