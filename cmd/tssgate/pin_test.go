package main

import (
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
	g.sign(t, g.pol, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("first start: %s%s", out, errOut)
	}
	pin := filepath.Join(g.dir, governancePinFile)
	if got := strings.TrimSpace(mustRead(t, pin)); got != hexSum(mustRead(t, g.gov)) {
		t.Fatalf("pin %q, want the governance file's sha256", got)
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
	writeAtomically(t, pin, "not a hash\n")
	if started, _, errOut := serveStarts(t, g.args()...); started || !strings.Contains(errOut, "does not hold a SHA-256") {
		t.Fatalf("a damaged pin: started %v: %s", started, errOut)
	}
}
