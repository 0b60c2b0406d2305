package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A governed start pins the governance in the data folder; with the pin,
// a store that never adopted that governance is refused (also without
// the governance setting), and so is a damaged pin; the store that holds
// it still serves.
func TestGovernancePin(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	pin := filepath.Join(g.dir, governancePinFile)
	// The pin names the governance, chain row 1 and the newest head, read
	// here straight from the SQLite file.
	genesis, headSeq, headHash := sqliteChainEnds(t, filepath.Join(g.dir, "tssgate.db"))
	want := "tssgate pin v2\ngovernance " + hexSum(mustRead(t, g.gov)) + "\ngenesis " + genesis + "\nhead " + headSeq + " " + headHash + "\n"
	if got := mustRead(t, pin); got != want {
		t.Fatalf("pin %q, want %q", got, want)
	}
	if fi, err := os.Stat(pin); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pin mode: %v %v", fi, err)
	}
	fresh := "sqlite:" + filepath.Join(t.TempDir(), "other.db")
	withoutGov := []string{"--listen", "127.0.0.1:0", "--dev", "--data-dir", g.dir, "--store", fresh}
	cases := []struct {
		name string
		args []string
	}{
		{"fresh store, same governance", append(g.args(), "--store", fresh)},
		{"fresh store, no governance setting", withoutGov},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			started, _, errOut := serveStarts(t, tc.args...)
			if started || !strings.Contains(errOut, "never adopted it") {
				t.Fatalf("started %v: %s", started, errOut)
			}
		})
	}
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("the governed store with its pin: %s%s", out, errOut)
	}
	good := mustRead(t, pin)
	damaged := []struct{ name, pin, want string }{
		{"not a hash", "not a hash\n", "does not hold a SHA-256"},
		{"missing head", strings.Join(strings.Split(good, "\n")[:3], "\n") + "\n", "want 4 lines"},
		{"head seq zero", strings.Replace(good, "\nhead "+headSeqOf(t, good)+" ", "\nhead 0 ", 1), "not a positive decimal"},
		{"upper-case genesis", strings.Replace(good, "genesis "+genesis, "genesis "+strings.ToUpper(genesis), 1), "line 3"},
	}
	for _, tc := range damaged {
		t.Run(tc.name, func(t *testing.T) {
			writeAtomically(t, pin, tc.pin)
			if started, _, errOut := serveStarts(t, g.args()...); started || !strings.Contains(errOut, tc.want) {
				t.Fatalf("a damaged pin: started %v: %s", started, errOut)
			}
		})
	}
}

// A pin of the first format (the governance SHA-256 alone) still reads:
// the store must have adopted that governance, and the start rewrites it
// in version 2, which then binds the store.
func TestGovernancePinFirstFormat(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	pin := filepath.Join(g.dir, governancePinFile)
	writeAtomically(t, pin, hexSum(mustRead(t, g.gov))+"\n")
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("start with a first-format pin: %s%s", out, errOut)
	}
	if got := mustRead(t, pin); !strings.HasPrefix(got, "tssgate pin v2\n") {
		t.Fatalf("the first-format pin was not rewritten: %q", got)
	}
	// Now bound: a store prepared elsewhere with the same governance is
	// refused.
	prepared := "sqlite:" + filepath.Join(t.TempDir(), "prepared.db")
	if started, out, errOut := serveStarts(t, "--listen", "127.0.0.1:0", "--dev", "--data-dir", t.TempDir(), "--policy", g.pol,
		"--governance", g.gov, "--store", prepared); !started {
		t.Fatalf("preparing a store: %s%s", out, errOut)
	}
	if started, _, errOut := serveStarts(t, g.args("--store", prepared)...); started || !strings.Contains(errOut, "chain row 1") {
		t.Fatalf("started %v on a store prepared elsewhere: %s", started, errOut)
	}
	// The deliberate restore procedure: removing the pin accepts the
	// store (and pins it).
	if err := os.Remove(pin); err != nil {
		t.Fatal(err)
	}
	if started, out, errOut := serveStarts(t, g.args("--store", prepared)...); !started {
		t.Fatalf("start after removing the pin: %s%s", out, errOut)
	}
}

// sqliteChainEnds reads the hash of chain row 1 and the newest row's seq
// and hash from the SQLite store at path, with SQL of its own.
func sqliteChainEnds(t *testing.T, path string) (genesis, headSeq, headHash string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT hash FROM decisions WHERE seq = 1`).Scan(&genesis); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1`).Scan(&headSeq, &headHash); err != nil {
		t.Fatal(err)
	}
	return genesis, headSeq, headHash
}

// headSeqOf returns the seq on a version-2 pin's head line.
func headSeqOf(t *testing.T, pin string) string {
	t.Helper()
	for _, l := range strings.Split(pin, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "head" {
			return f[1]
		}
	}
	t.Fatalf("no head line in %q", pin)
	return ""
}
