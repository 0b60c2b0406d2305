package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
	"tssgate/internal/token"
)

// appendGovernanceSerial appends a top-level "serial: N" line to the
// governance file at path (written by writeGovernance, which ends in a
// newline): a governance change needs a serial above the one in force.
func appendGovernanceSerial(t *testing.T, path string, n int) {
	t.Helper()
	writeAtomically(t, path, mustRead(t, path)+"serial: "+strconv.Itoa(n)+"\n")
}

// auditRule returns the rule audit show records for request id in dsn.
func auditRule(t *testing.T, dsn, id string) string {
	t.Helper()
	code, out, errOut := runCmd(t, "audit", "show", "--store", dsn, id)
	var r struct {
		Rule   string `json:"rule"`
		Reason string `json:"reason"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("audit show %s: %d %s%s", id, code, out, errOut)
	}
	return r.Rule
}

// TestSupersededReplicaRejectsUntilItCatchesUp: replica B runs serial 1;
// replica A puts serial 2 in force on the shared store. B then rejects
// every key task with builtin:policy-superseded, PING still approves,
// /readyz is 503 naming both serials, the change is logged; once B's
// files carry serial 2 (signed), it loads it and approves again.
func TestSupersededReplicaRejectsUntilItCatchesUp(t *testing.T) {
	shared := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	g := newGovernedServe(t, shared)
	g.sign(t, g.pol, g.alice, g.bob)
	bdir := t.TempDir()
	bpol := filepath.Join(bdir, "POLICY.yaml")
	copyB := func() {
		t.Helper()
		writeAtomically(t, filepath.Join(bdir, "nodes.txt"), mustRead(t, g.list))
		writeAtomically(t, governanceBundle(bpol), mustRead(t, governanceBundle(g.pol)))
		writeAtomically(t, bpol, mustRead(t, g.pol))
	}
	copyB()
	urlB, _, logsB := startServeLogs(t, "--dev", "--data-dir", g.dir, "--policy", bpol, "--governance", g.gov, "--store", shared, "--policy-poll", "20ms")
	sim := func(typ, id string) int {
		t.Helper()
		code, _, _ := runCmd(t, "simulate", "--url", urlB, "--type", typ, "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	if sim("keysign", "k-before") != 0 {
		t.Fatal("control: replica B does not approve under serial 1")
	}
	// The same rules at serial 2, put in force by replica A.
	writeAtomically(t, g.pol, withSerial(govPolicy, 2))
	if err := os.Remove(governanceBundle(g.pol)); err != nil {
		t.Fatal(err)
	}
	g.sign(t, g.pol, g.alice, g.bob)
	startServeLogs(t, g.args()[2:]...)
	waitReadyz(t, urlB, http.StatusServiceUnavailable, "policy serial 1 was superseded by serial 2")
	if sim("keysign", "k-superseded") == 0 {
		t.Fatal("replica B approved under the superseded serial 1")
	}
	if r := auditRule(t, shared, "k-superseded"); r != ruleSuperseded {
		t.Fatalf("rule %q, want %s", r, ruleSuperseded)
	}
	if sim("ping", "p-superseded") != 0 {
		t.Fatal("PING is not approved on a superseded replica")
	}
	// /readyz asks the guard directly; its poll logs the change on its
	// next tick.
	waitFor(t, "the state change logged", func() bool { return strings.Contains(logsB.String(), "rejecting every key task") })
	// B catches up: serial 2 with its signatures.
	copyB()
	waitReadyz(t, urlB, http.StatusOK, "")
	if sim("keysign", "k-caught-up") != 0 {
		t.Fatal("replica B does not approve after loading serial 2")
	}
}

// TestUngovernedReplicaStopsUnderStoreGovernance: a replica started
// without governance keeps its policy file unchanged; once another
// replica adopts a governance in the shared store it rejects every key
// task with builtin:governance-in-force and /readyz is 503.
func TestUngovernedReplicaStopsUnderStoreGovernance(t *testing.T) {
	shared := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	g := newGovernedServe(t, shared)
	g.sign(t, g.pol, g.alice, g.bob)
	adir := t.TempDir()
	apol := filepath.Join(adir, "POLICY.yaml")
	writeAtomically(t, filepath.Join(adir, "nodes.txt"), "node-1\n")
	writeAtomically(t, apol, govPolicy)
	url, _, _ := startServeLogs(t, "--dev", "--data-dir", g.dir, "--policy", apol, "--store", shared, "--policy-poll", "20ms")
	sim := func(id string) int {
		t.Helper()
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	if sim("k-before") != 0 {
		t.Fatal("control: the ungoverned replica does not approve before any governance")
	}
	if started, out, errOut := serveStarts(t, g.args()...); !started || !strings.Contains(out, "adopted on first use") {
		t.Fatalf("replica B did not adopt the governance: %s%s", out, errOut)
	}
	waitReadyz(t, url, http.StatusServiceUnavailable, "runs without governance")
	if sim("k-after") == 0 {
		t.Fatal("the ungoverned replica approved with a governance in force in its store")
	}
	if r := auditRule(t, shared, "k-after"); r != ruleUngoverned {
		t.Fatalf("rule %q, want %s", r, ruleUngoverned)
	}
}

// TestSupersedeGuardStoreUnreadable: when the store cannot be read, the
// guard decides on the last state it read for supersedeStale, then
// rejects every key task with builtin:policy-state-unknown.
func TestSupersedeGuardStoreUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nodes.txt"), []byte("node-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "POLICY.yaml")
	writeAtomically(t, pol, govPolicy)
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	st, err := backend.Open(context.Background(), "sqlite:"+filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := newSupersedeGuard(context.Background(), policy.NewHolder(pol, p), st, false)
	clock := time.Now()
	g.now = func() time.Time { return clock }
	if rule, err := g.problem(); err != nil {
		t.Fatalf("control: the guard rejects on a readable store: %s %v", rule, err)
	}
	st.Close()
	g.refresh(context.Background())
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"within the bound", supersedeStale / 2, ""},
		{"past the bound", supersedeStale + time.Second, ruleStoreUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock = g.readAt.Add(tc.after)
			rule, err := g.problem()
			if rule != tc.want || (err != nil) != (tc.want != "") {
				t.Fatalf("after %s: rule %q (%v), want %q", tc.after, rule, err, tc.want)
			}
			if tc.want == "" {
				return
			}
			d, derr := g.Decide(context.Background(), &protocol.Request{Type: protocol.TypeKeySign})
			if derr != nil || d.Approves() || d.Rule != ruleStoreUnknown {
				t.Fatalf("Decide: %+v %v", d, derr)
			}
		})
	}
}

// TestGovernanceChangeNeedsHigherSerial: a change signed by a quorum of
// the governance in force is still refused without a serial above the
// one in force (none here, so any positive serial); with one it is
// adopted, and the GOVERNANCE row records the serial.
func TestGovernanceChangeNeedsHigherSerial(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	cur := filepath.Join(t.TempDir(), "current.yaml")
	writeAtomically(t, cur, mustRead(t, g.gov))
	dave := newApprover(t, "dave")
	propose := func(serial int) (bool, string) {
		t.Helper()
		writeGovernance(t, g.gov, "2", g.alice, g.bob, g.carol, dave)
		if serial > 0 {
			appendGovernanceSerial(t, g.gov, serial)
		}
		if err := os.Remove(governanceBundle(g.gov)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, s := range []approver{g.alice, g.bob} {
			if code, out, errOut := runCmd(t, "governance", "sign", "--governance", cur, "--key", s.priv, g.gov); code != 0 {
				t.Fatalf("governance sign by %s: %d %s%s", s.name, code, out, errOut)
			}
		}
		started, out, errOut := serveStarts(t, g.args()...)
		return started, out + errOut
	}
	verify := func() (int, string) {
		t.Helper()
		code, out, _ := runCmd(t, "governance", "verify", "--governance", cur, g.gov)
		return code, out
	}
	if started, out := propose(0); started || !strings.Contains(out, "has no serial: a governance change needs a top-level `serial: N` greater than the serial in force (0)") {
		t.Fatalf("a quorum-signed change without a serial: started %v\n%s", started, out)
	}
	if code, out := verify(); code != 1 || !strings.Contains(out, "threshold met") || !strings.Contains(out, "serial NOT raised") {
		t.Fatalf("governance verify of a quorum-signed change without a serial: %d\n%s", code, out)
	}
	if started, out := propose(7); !started || !strings.Contains(out, "governance change") {
		t.Fatalf("a quorum-signed change with serial 7 was not adopted: %s", out)
	}
	if code, out := verify(); code != 0 || strings.Contains(out, "serial NOT raised") {
		t.Fatalf("governance verify of the adopted change with serial 7: %d\n%s", code, out)
	}
	st, err := backend.OpenReadOnly(context.Background(), "sqlite:"+filepath.Join(g.dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var serial *float64
	err = st.List(context.Background(), store.Filter{Type: "GOVERNANCE", Newest: true, Limit: 1}, func(r *store.Record) error {
		var req map[string]any
		if err := json.Unmarshal(r.Request, &req); err != nil {
			return err
		}
		if v, ok := req["serial"].(float64); ok {
			serial = &v
		}
		return nil
	})
	if err != nil || serial == nil || *serial != 7 {
		t.Fatalf("the newest GOVERNANCE row does not record serial 7 (%v, %v)", serial, err)
	}
}

// TestSupersedeGuardNeverRead: a guard whose first read of the store
// fails has no state to keep and rejects at once.
func TestSupersedeGuardNeverRead(t *testing.T) {
	dir := t.TempDir()
	writeAtomically(t, filepath.Join(dir, "nodes.txt"), "node-1\n")
	pol := filepath.Join(dir, "POLICY.yaml")
	writeAtomically(t, pol, govPolicy)
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	st, err := backend.Open(context.Background(), "sqlite:"+filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	g := newSupersedeGuard(context.Background(), policy.NewHolder(pol, p), st, false)
	d, err := g.Decide(context.Background(), &protocol.Request{Type: protocol.TypeKeySign})
	if err != nil || d.Approves() || d.Rule != ruleStoreUnknown || !strings.Contains(d.Reason, "not been read since start") {
		t.Fatalf("Decide: %+v %v", d, err)
	}
	if g.ready() == nil {
		t.Fatal("ready with the store never read")
	}
}
