package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Attack8 (second review of issue 14 after the fix7 round): tests that
// fail on the code they were written against, each naming the attack.

// copyStoreFiles copies an SQLite store file and its -wal/-shm companions
// (when present) from src to dst, as a backup or a stale copy would.
func copyStoreFiles(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(src + suffix)
		if os.IsNotExist(err) && suffix != "" {
			os.Remove(dst + suffix)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttack8StaleStoreCopyDropsFreezeAndSerial: the governance pin only
// asks that the store's log holds a GOVERNANCE row adopting the pinned
// governance. An older copy of the real store (a routine backup, or a
// copy an intruder took earlier) holds that row too, so the pin lets it
// through, and with it everything recorded since the copy is gone: the
// freeze (lifted without any quorum) and the POLICY rows carrying the
// higher serial (so the old, looser policy with its old bundle loads
// again: the rollback fix7a closed, reopened). This is the attack the
// pin was written against ("a configuration pointed at another decision
// store ... where no freeze is recorded"), with a non-empty store. The
// pin must bind the newest chain head this data folder's server saw
// (seq and hash, or at least the newest freeze and the highest serial)
// and refuse a store whose log does not reach it.
func TestAttack8StaleStoreCopyDropsFreezeAndSerial(t *testing.T) {
	live := filepath.Join(t.TempDir(), "live.db")
	g := newGovernedServe(t, "sqlite:"+live)
	g.sign(t, g.pol, g.alice, g.bob)
	loosePolicy, looseSigs := saveFile(t, g.pol), saveFile(t, governanceBundle(g.pol))
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("first start: %s%s", out, errOut)
	}
	// The copy, taken while the store is governed but neither frozen nor
	// tightened.
	stale := filepath.Join(t.TempDir(), "stale.db")
	copyStoreFiles(t, live, stale)

	// The quorum tightens the policy (serial 2); later an operator
	// freezes signing.
	writeAtomically(t, g.pol, withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), 2))
	g.resign(t, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("start with the tightened policy: %s%s", out, errOut)
	}
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--store", "sqlite:"+live, "--reason", "keys may be compromised"); code != 0 {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	// Control: the real store refuses the rollback.
	writeAtomically(t, g.pol, loosePolicy)
	writeAtomically(t, governanceBundle(g.pol), looseSigs)
	if started, _, errOut := serveStarts(t, g.args()...); started || !strings.Contains(errOut, "lower than serial 2") {
		t.Fatalf("control: the live store let the serial-1 policy back: started %v: %s", started, errOut)
	}

	// The intruder (configuration and files, no approver key) puts the
	// stale copy in place of the live store.
	copyStoreFiles(t, stale, live)
	if started, out, _ := serveStarts(t, g.args()...); started {
		t.Fatalf("serve started on a stale copy of its own store: the freeze is gone without any quorum and the serial-1 policy the quorum replaced is in force again (the pin only checks that the governance was adopted once):\n%s", out)
	}
}
