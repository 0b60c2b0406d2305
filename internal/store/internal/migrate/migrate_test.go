package migrate

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"tssgate/internal/store"
)

func TestLoad(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered by number, not name", fstest.MapFS{"0002_b.sql": file("B"), "10_c.sql": file("C"), "0001_a.sql": file("A"),
			"3_x.sql": file("X"), "4_x.sql": file("X"), "5_x.sql": file("X"), "6_x.sql": file("X"), "7_x.sql": file("X"),
			"8_x.sql": file("X"), "9_x.sql": file("X")}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ""},
		{"non-sql files ignored", fstest.MapFS{"0001_a.sql": file("A"), "README": file("x")}, []int{1}, ""},
		{"gap", fstest.MapFS{"0001_a.sql": file("A"), "0003_c.sql": file("C")}, nil, "expected version 2"},
		{"duplicate", fstest.MapFS{"0001_a.sql": file("A"), "0001_b.sql": file("B")}, nil, "expected version 2"},
		{"bad name", fstest.MapFS{"init.sql": file("A")}, nil, "must start with a positive number"},
		{"zero", fstest.MapFS{"0000_a.sql": file("A")}, nil, "must start with a positive number"},
		{"empty", fstest.MapFS{}, nil, "no migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Load(tt.fs, ".")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions %v, want %v", got, tt.want)
				}
			}
			if ms[0].SQL != "A" {
				t.Errorf("first migration SQL = %q, want A", ms[0].SQL)
			}
		})
	}
}

func TestCheckVersion(t *testing.T) {
	known := []Migration{{Version: 1}, {Version: 2}}
	for _, tt := range []struct {
		db      int
		tooNew  bool
		comment string
	}{
		{0, false, "fresh database"},
		{1, false, "behind: migrate"},
		{2, false, "current"},
		{3, true, "newer binary wrote it"},
	} {
		err := CheckVersion(tt.db, known)
		if got := errors.Is(err, store.ErrSchemaTooNew); got != tt.tooNew {
			t.Errorf("%s: CheckVersion(%d) = %v, want too new = %v", tt.comment, tt.db, err, tt.tooNew)
		}
	}
}

func TestCheckCurrent(t *testing.T) {
	known := []Migration{{Version: 1}, {Version: 2}}
	for _, tt := range []struct {
		name string
		db   int
		want string // "" for no error
	}{
		{"fresh database", 0, "no tssgate decision log here"},
		{"behind", 1, "run 'tssgate serve' once to migrate it"},
		{"current", 2, ""},
		{"newer binary wrote it", 3, "upgrade tssgate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCurrent(tt.db, known)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckCurrent(%d) = %v, want nil", tt.db, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckCurrent(%d) = %v, want an error containing %q", tt.db, err, tt.want)
			}
		})
	}
}
