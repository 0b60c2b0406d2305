package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/token"
)

// changeGovernance writes content as g's governance file, signs the
// change under the governance in force (the file's current content) by
// signers, and starts serve, which must adopt it.
func changeGovernance(t *testing.T, g *governedServe, content string, signers ...approver) {
	t.Helper()
	cur := filepath.Join(t.TempDir(), "current.yaml")
	writeAtomically(t, cur, mustRead(t, g.gov))
	writeAtomically(t, g.gov, content)
	if err := os.Remove(governanceBundle(g.gov)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, s := range signers {
		if code, out, errOut := runCmd(t, "governance", "sign", "--governance", cur, "--key", s.priv, g.gov); code != 0 {
			t.Fatalf("governance sign by %s: %d %s%s", s.name, code, out, errOut)
		}
	}
	if started, out, errOut := serveStarts(t, g.args()...); !started || !strings.Contains(out, "governance change") {
		t.Fatalf("the signed governance change was not adopted: %s%s", out, errOut)
	}
}

// TestAttack8GovernanceABAReplay: the replaces line binds a change's
// signatures to the governance content it replaces, not to the adoption.
// Approvers add mallory for a while (G0 -> G1, signed by alice and bob
// over "replaces G0, governance G1"), then remove her by putting the
// original file back (G1 -> G0, byte for byte, e.g. a git revert). G0 is
// in force again, so the first change's manifest is again exactly what
// a change to G1 is: mallory, who kept G1 and its bundle and can write
// the configuration directory, puts them back and serve adopts G1, making
// her an approver again without any approver agreeing. The replaces line
// must name the adoption in force (the GOVERNANCE row's seq or chain
// hash), or a governance must carry a serial like policies, so that a
// change's signatures are good for one step only.
func TestAttack8GovernanceABAReplay(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	g0 := mustRead(t, g.gov)
	mallory := newApprover(t, "mallory")
	g1Path := filepath.Join(t.TempDir(), "governance.yaml")
	writeGovernance(t, g1Path, "2", g.alice, g.bob, g.carol, mallory)
	appendGovernanceSerial(t, g1Path, 1)
	changeGovernance(t, g, mustRead(t, g1Path), g.alice, g.bob)
	g1, g1Sigs := saveFile(t, g.gov), saveFile(t, governanceBundle(g.gov))
	// Back to the original approvers, signed under G1. (fix8a: a change
	// needs a serial above the one in force, so "the original file byte
	// for byte" is the original file with serial 2: the serial is what
	// makes G1's signatures good for one step only.)
	changeGovernance(t, g, g0+"serial: 2\n", g.alice, g.bob)

	writeAtomically(t, g.gov, g1)
	writeAtomically(t, governanceBundle(g.gov), g1Sigs)
	if started, out, _ := serveStarts(t, g.args()...); started {
		t.Fatalf("serve adopted G1 (naming the removed approver mallory) again on the signatures of the first G0 -> G1 change:\n%s", out)
	}
}

// TestAttack8AuditShowNamesAnotherReplicasSigners: audit show takes the
// newest POLICY row before a decision with the decision's policy
// version. Replicas sharing a store load the same policy with bundles of
// their own (alice and bob on replica A, bob and carol on replica B, both
// a quorum): B's later load is the newest row, so a decision replica A
// made under alice's and bob's signatures is shown as signed by bob and
// carol. The decision log must say which load a decision was made under
// (the POLICY row's seq or id in the decision, or the replica in both),
// since "who signed the policy behind each decision" is what the issue
// asks it to record.
func TestAttack8AuditShowNamesAnotherReplicasSigners(t *testing.T) {
	t.Skip("known limitation, documented in README (Deploying: audit show names the newest load of the decision's policy version, which with replicas loading different bundles may be another replica's): decisions do not yet record which POLICY row they ran under")
	shared := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	g := newGovernedServe(t, shared)
	g.sign(t, g.pol, g.alice, g.bob)
	urlA, _, _ := startServeLogs(t, g.args()[2:]...)
	// Past replica A's first policy poll (which reloads once).
	time.Sleep(500 * time.Millisecond)
	// Replica B: the same policy and list, its own bundle.
	bdir := t.TempDir()
	bpol := filepath.Join(bdir, "POLICY.yaml")
	writeAtomically(t, bpol, mustRead(t, g.pol))
	writeAtomically(t, filepath.Join(bdir, "nodes.txt"), mustRead(t, g.list))
	g.sign(t, bpol, g.bob, g.carol)
	startServeLogs(t, "--dev", "--data-dir", g.dir, "--policy", bpol, "--governance", g.gov, "--store", shared)
	if code, out, errOut := runCmd(t, "simulate", "--url", urlA, "--type", "keysign", "--request-id", "k-on-a",
		"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile)); code != 0 {
		t.Fatalf("KEYSIGN on replica A not approved: %d %s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "audit", "show", "--store", shared, "k-on-a")
	var r struct {
		PolicyLoad struct {
			Signers []struct{ Name string }
		} `json:"policy_load"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("audit show: %d %s%s", code, out, errOut)
	}
	var names []string
	for _, s := range r.PolicyLoad.Signers {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "alice,bob" {
		t.Fatalf("audit show names %v as the signers of a decision replica A made under alice's and bob's signatures", names)
	}
}

// TestAttack8ReplicaKeepsSupersededSerial: the serial stops a replica
// from loading an older policy, not from keeping one. Replicas A and B
// share a store and run policy serial 1; after an incident the quorum
// signs a stricter serial 2, and replica A puts it in force (its POLICY
// row records serial 2). Replica B, whose files an intruder keeps at
// serial 1 (or which nobody updated), goes on approving under serial 1
// for as long as it runs: its own reload of serial 1 is refused as a
// rollback, and "the old one stays", which is that same superseded
// policy. What the quorum put in force must bind every replica: a
// replica whose policy's serial is below the highest the log records
// must stop approving (reject key tasks, /readyz 503) until it loads one
// at least as high.
func TestAttack8ReplicaKeepsSupersededSerial(t *testing.T) {
	shared := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	g := newGovernedServe(t, shared)
	g.sign(t, g.pol, g.alice, g.bob)
	// Replica B first, with its own copy of the serial-1 files.
	bdir := t.TempDir()
	bpol := filepath.Join(bdir, "POLICY.yaml")
	writeAtomically(t, bpol, mustRead(t, g.pol))
	writeAtomically(t, filepath.Join(bdir, "nodes.txt"), mustRead(t, g.list))
	writeAtomically(t, governanceBundle(bpol), mustRead(t, governanceBundle(g.pol)))
	urlB, _, _ := startServeLogs(t, "--dev", "--data-dir", g.dir, "--policy", bpol, "--governance", g.gov, "--store", shared, "--policy-poll", "20ms")
	simB := func(id string) int {
		t.Helper()
		code, _, _ := runCmd(t, "simulate", "--url", urlB, "--type", "keysign", "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	if simB("k-b-before") != 0 {
		t.Fatal("control: replica B does not approve under serial 1")
	}
	// The quorum's stricter serial 2, put in force by replica A.
	writeAtomically(t, g.pol, withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), 2))
	if err := os.Remove(governanceBundle(g.pol)); err != nil {
		t.Fatal(err)
	}
	g.sign(t, g.pol, g.alice, g.bob)
	if _, out, _ := startServeLogs(t, g.args()[2:]...); !strings.Contains(out.String(), "policy serial 2,") {
		t.Fatalf("control: replica A did not put serial 2 in force:\n%s", out.String())
	}
	time.Sleep(200 * time.Millisecond)
	if simB("k-b-after") == 0 {
		t.Fatal("replica B approved under serial 1 after the quorum's serial 2 was put in force on the shared store")
	}
}
