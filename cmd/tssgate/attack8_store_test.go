package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
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

	// The intruder (configuration and files, no approver key) points the
	// store setting at a copy of the stale store, or puts it in place of
	// the live one (what the README's Restore step does, too).
	pointed := filepath.Join(t.TempDir(), "pointed.db")
	copyStoreFiles(t, stale, pointed)
	cases := []struct {
		name  string
		setup func()
		args  []string
	}{
		{"store setting pointed at the copy", func() {}, append(g.args(), "--store", "sqlite:"+pointed)},
		{"copy restored over the live store", func() { copyStoreFiles(t, stale, live) }, g.args()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			if started, out, _ := serveStarts(t, tc.args...); started {
				t.Fatalf("serve started on a stale copy of its own store: the freeze is gone without any quorum and the serial-1 policy the quorum replaced is in force again (the pin only checks that the governance was adopted once):\n%s", out)
			}
		})
	}
}

// TestAttack8UngovernedReplicaIgnoresAdoptedGovernance: replicas share a
// store; one started before governance was adopted (or while another
// replica adopts it) runs with an ungoverned policy gate, which never
// asks the store again whether a governance is now in force. After the
// governance is adopted, an intruder who can write that replica's policy
// file gets an unsigned, looser policy loaded by hot reload, and the
// replica approves under it, while the README says every policy change
// needs the quorum once a governance is in force (and serve refuses to
// start ungoverned on such a store). The policy gate must read the
// store's governance on every load, governed or not, and refuse an
// unsigned policy when one is in force.
func TestAttack8UngovernedReplicaIgnoresAdoptedGovernance(t *testing.T) {
	testUngovernedReplica(t, "sqlite:"+filepath.Join(t.TempDir(), "shared.db"))
}

// TestAttack8UngovernedReplicaIgnoresAdoptedGovernancePostgres: the same
// with replicas on PostgreSQL, where replicas are the supported setup.
func TestAttack8UngovernedReplicaIgnoresAdoptedGovernancePostgres(t *testing.T) {
	testUngovernedReplica(t, storetest.PostgresSchema(t)) // skips without TSSGATE_TEST_POSTGRES
}

func testUngovernedReplica(t *testing.T, shared string) {
	g := newGovernedServe(t, shared)
	g.sign(t, g.pol, g.alice, g.bob)
	// Replica A: no governance yet, a strict policy of its own.
	adir := t.TempDir()
	apol := filepath.Join(adir, "POLICY.yaml")
	writeAtomically(t, filepath.Join(adir, "nodes.txt"), "node-1\n")
	// (Without a serial: an ungoverned POLICY row's serial counts against
	// governed policies later.)
	strict := strings.Replace(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), "serial: 1\n", "", 1)
	writeAtomically(t, apol, strict)
	url, _, _ := startServeLogs(t, "--dev", "--data-dir", g.dir, "--policy", apol, "--store", shared, "--policy-poll", "20ms")
	sim := func(id string) int {
		t.Helper()
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	if sim("k-strict") != 1 {
		t.Fatal("control: the strict policy approved")
	}
	// Replica B adopts the governance in the shared store.
	if started, out, errOut := serveStarts(t, g.args()...); !started || !strings.Contains(out, "adopted on first use") {
		t.Fatalf("replica B did not adopt the governance: %s%s", out, errOut)
	}
	// The intruder loosens replica A's policy, unsigned.
	writeAtomically(t, apol, strings.Replace(govPolicy, "serial: 1\n", "serial: 9\n", 1))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if sim("k-loose-"+time.Now().Format("150405.000000")) == 0 {
			t.Fatal("replica A loaded an unsigned, looser policy and approved under it while the shared store has a governance in force")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAttack8PinPassedByStorePreparedElsewhere: the pin asks only that
// the store's log holds a GOVERNANCE row adopting the pinned governance's
// SHA-256, and anybody can produce such a store: run tssgate serve once
// with a throwaway data folder, the governance file in force (it is in
// the configuration directory, readable) and a new store path; trust on
// first use adopts it there. Pointing the real server's configuration at
// that store then passes the pin: the freeze recorded in the real store
// is gone (lifted without any quorum) and every serial the real log
// recorded is forgotten. No stale copy and no approver key needed, which
// is exactly what the README says the pin prevents ("point serve at
// another, empty store ... where no freeze is recorded"). The pin must
// name something only the real store has (its first row's hash, the
// adoption row's hash and seq, or the newest chain head seen), not a
// public file's hash.
func TestAttack8PinPassedByStorePreparedElsewhere(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "keys may be compromised"); code != 0 {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	// The intruder prepares a store with a throwaway data folder.
	prepared := "sqlite:" + filepath.Join(t.TempDir(), "prepared.db")
	throwaway := t.TempDir()
	if started, out, errOut := serveStarts(t, "--listen", "127.0.0.1:0", "--dev", "--data-dir", throwaway, "--policy", g.pol,
		"--governance", g.gov, "--store", prepared); !started {
		t.Fatalf("preparing the store: %s%s", out, errOut)
	}
	// Then points the real server at it. Refusing to start is the fix;
	// starting is the finding, and the KEYSIGN shows what it costs.
	if started, _, _ := serveStarts(t, g.args("--store", prepared)...); !started {
		return
	}
	url, _, _ := startServeLogs(t, g.args("--store", prepared)[2:]...)
	code, out, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", "k-after-freeze",
		"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
	if code == 0 {
		t.Fatalf("the real server (its key pair, its pin) started on a store prepared elsewhere by trust on first use and APPROVED a KEYSIGN although signing is frozen in its real store:\n%s", out)
	}
	t.Fatalf("the real server (its key pair, its pin) started on a store prepared elsewhere by trust on first use, without the freeze of its real store (simulate exit %d):\n%s", code, out)
}

// TestAttack8FreezeTableEditPassesAnchoredVerify: the README answers a
// database writer with anchoring ("one who can write the database can
// rewrite the governance in force as they could rewrite the decision
// log (anchor the chain head elsewhere)"): a rewrite of the log is then
// detected by audit verify --head. But the freeze in force is not read
// from the chain: Commit reads the freezes table, so one UPDATE of that
// table lifts a freeze with no UNFREEZE row and no quorum, the chain and
// its anchored head still verify, and serve approves again. audit verify
// must check that the freezes (and governance) tables are what the
// chain's FREEZE/UNFREEZE (and GOVERNANCE) rows say, or serve must take
// them from the chain.
func TestAttack8FreezeTableEditPassesAnchoredVerify(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "keys may be compromised"); code != 0 {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "audit", "verify", "--data-dir", g.dir, "--json")
	var rep struct {
		Head string `json:"head"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Head == "" {
		t.Fatalf("audit verify: %d %s%s", code, out, errOut)
	}
	// The database writer lifts the freeze in its table only.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(g.dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE freezes SET lifted_at = frozen_at, lifted_by = 'nobody' WHERE lifted_at IS NULL`)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("lifting the freeze in its table: %v (%d rows)", err, n)
	}
	db.Close()
	if n := len(activeFreezes(t, g.dir)); n != 0 {
		t.Fatalf("control: %d active freezes after the table edit", n)
	}
	code, out, errOut = runCmd(t, "audit", "verify", "--data-dir", g.dir, "--head", rep.Head)
	if code == 0 {
		t.Fatalf("audit verify --head passes a store whose freeze was lifted by a table edit, without any UNFREEZE row or quorum:\n%s%s", out, errOut)
	}
}
