package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tssgate/internal/token"
)

// Attack7 (review of issue 14, governance): tests that fail on the code
// they were written against, each naming the attack. They use the real
// serve, the real SQLite store and signatures made by ssh-keygen.

// saveFile returns a copy of path's content, for an attacker to put back
// later.
func saveFile(t *testing.T, path string) string {
	t.Helper()
	return mustRead(t, path)
}

// TestAttack7PolicyRollbackWithOldBundle: an intruder who can write the
// policy directory but holds no approver key puts back an older policy
// and its old bundle. Both were signed by the quorum once, so serve loads
// the older (looser) policy again, undoing a change the quorum made:
// every change needs the quorum, and this one had none. Serve must refuse
// a manifest that the log shows was superseded by a later signed one
// (e.g. a serial in the manifest that must grow), until the quorum signs
// the rollback anew.
func TestAttack7PolicyRollbackWithOldBundle(t *testing.T) {
	g := newGovernedServe(t, "")
	g.sign(t, g.pol, g.alice, g.bob)
	loosePolicy, looseSigs := saveFile(t, g.pol), saveFile(t, governanceBundle(g.pol))
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("first start with the signed policy: %s%s", out, errOut)
	}
	// After an incident the quorum tightens the policy and signs it (at
	// serial 2: a changed governed policy needs a higher serial, fix7a).
	writeAtomically(t, g.pol, withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1), 2))
	if err := os.Remove(governanceBundle(g.pol)); err != nil {
		t.Fatal(err)
	}
	g.sign(t, g.pol, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("start with the tightened, signed policy: %s%s", out, errOut)
	}
	// The intruder restores the loose policy with its old signatures.
	writeAtomically(t, g.pol, loosePolicy)
	writeAtomically(t, governanceBundle(g.pol), looseSigs)
	if started, out, _ := serveStarts(t, g.args()...); started {
		t.Fatalf("serve put a superseded policy back in force with its old bundle, without any new approver signature (a rollback of the quorum's tightening):\n%s", out)
	}
}

// governanceBundle is path's signature bundle, spelled out here rather
// than through governance.BundlePath.
func governanceBundle(path string) string { return path + ".sigs" }

// TestAttack7GovernanceRollbackWithOldBundle: approvers alice and bob add
// mallory (G1, signed by alice and bob), then remove her again (G2, signed
// by alice and bob under G1). Mallory, who can write the configuration
// directory, puts G1 and its old bundle back: alice's and bob's old
// signatures over G1's manifest verify under G2 as well, so serve adopts
// G1 and mallory is an approver again, although no approver agreed to
// that change. A governance change must be bound to the governance it
// replaces (the manifest names the previous governance's sha256), so that
// old signatures cannot be replayed.
func TestAttack7GovernanceRollbackWithOldBundle(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	mallory, dave := newApprover(t, "mallory"), newApprover(t, "dave")
	serial := 0
	change := func(as []approver, signers ...approver) {
		t.Helper()
		cur := filepath.Join(t.TempDir(), "current.yaml")
		writeAtomically(t, cur, mustRead(t, g.gov))
		writeGovernance(t, g.gov, "2", as...)
		// A change needs a higher serial (fix8a); the rollback below is
		// then refused by the serial and by the replaces line alike.
		serial++
		appendGovernanceSerial(t, g.gov, serial)
		os.Remove(governanceBundle(g.gov))
		for _, s := range signers {
			if code, out, errOut := runCmd(t, "governance", "sign", "--governance", cur, "--key", s.priv, g.gov); code != 0 {
				t.Fatalf("governance sign by %s: %d %s%s", s.name, code, out, errOut)
			}
		}
		if started, out, errOut := serveStarts(t, g.args()...); !started || !strings.Contains(out, "governance change") {
			t.Fatalf("the signed governance change was not adopted: %s%s", out, errOut)
		}
	}
	change([]approver{g.alice, g.bob, g.carol, mallory}, g.alice, g.bob)
	withMallory, withMallorySigs := saveFile(t, g.gov), saveFile(t, governanceBundle(g.gov))
	change([]approver{g.alice, g.bob, g.carol, dave}, g.alice, g.bob)

	writeAtomically(t, g.gov, withMallory)
	writeAtomically(t, governanceBundle(g.gov), withMallorySigs)
	if started, out, _ := serveStarts(t, g.args()...); started {
		t.Fatalf("serve adopted the old governance naming the removed approver mallory, on signatures made for an earlier change:\n%s", out)
	}
}

// TestAttack7FreshStoreDropsGovernanceAndFreeze: the README says an
// intruder who can write the configuration directory can neither load a
// governance of their own nor switch governance off, and that lifting a
// freeze needs the quorum. Pointing the store setting at a new SQLite file
// does both: serve creates the empty store, adopts the intruder's
// governance on first use, loads the intruder's policy, and the freeze
// recorded in the real store stops nothing. Serve must not create or
// adopt governance in a store on its own while governance is configured
// (an explicit, local initialisation step; or a pinned governance hash
// outside the configuration), or at least refuse a store without the
// governance the configuration was last used with.
func TestAttack7FreshStoreDropsGovernanceAndFreeze(t *testing.T) {
	g := newGovernedServe(t, "")
	g.firstStart(t)
	if code, out, errOut := runCmd(t, "freeze", "--data-dir", g.dir, "--reason", "keys may be compromised"); code != 0 {
		t.Fatalf("freeze: %d %s%s", code, out, errOut)
	}
	// The intruder's governance (threshold 1, their key), their policy
	// signed by them, and a new store path.
	mallory := newApprover(t, "mallory")
	writeGovernance(t, g.gov, "1", mallory)
	os.Remove(governanceBundle(g.pol))
	if code, out, errOut := runCmd(t, "policy", "sign", "--governance", g.gov, "--key", mallory.priv, g.pol); code != 0 {
		t.Fatalf("policy sign by mallory: %d %s%s", code, out, errOut)
	}
	fresh := filepath.Join(t.TempDir(), "elsewhere", "tssgate.db")
	args := append(g.args(), "--store", "sqlite:"+fresh)
	if started, out, _ := serveStarts(t, args...); started {
		t.Fatalf("serve started on a new, empty store with the intruder's governance and policy, while the real store is frozen and governed:\n%s", out)
	}
}

// TestAttack7AuditShowNamesSignersOfAnotherBundle: a policy is loaded
// with the signatures of alice and bob (POLICY row 1), later with those
// of bob and carol (row 2, same policy version), then with alice's and
// bob's bundle again. The third load finds row 1 (its request_id is
// derived from its content) and records nothing, so audit show, which
// takes the newest POLICY row of the decision's policy version, names bob
// and carol as the signers of a decision made under alice's and bob's
// signatures. Each load must be recorded (or audit show must find the
// load actually in force).
func TestAttack7AuditShowNamesSignersOfAnotherBundle(t *testing.T) {
	g := newGovernedServe(t, "")
	g.sign(t, g.pol, g.alice, g.bob)
	first := saveFile(t, governanceBundle(g.pol))
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("start signed by alice, bob: %s%s", out, errOut)
	}
	os.Remove(governanceBundle(g.pol))
	g.sign(t, g.pol, g.bob, g.carol)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("start signed by bob, carol: %s%s", out, errOut)
	}
	writeAtomically(t, governanceBundle(g.pol), first)
	url, stdout, _ := startServeLogs(t, g.args()[2:]...)
	if !strings.Contains(stdout.String(), "signed by alice, bob") {
		t.Fatalf("the third start does not run under alice's and bob's signatures:\n%s", stdout.String())
	}
	if code, out, errOut := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", "k-after-revert",
		"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile)); code != 0 {
		t.Fatalf("KEYSIGN not approved: %d %s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "audit", "show", "--data-dir", g.dir, "k-after-revert")
	var r struct {
		PolicyLoad struct {
			Signers []struct{ Name string } `json:"signers"`
		} `json:"policy_load"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("audit show: %d %s%s", code, out, errOut)
	}
	var names []string
	for _, s := range r.PolicyLoad.Signers {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "alice,bob" {
		t.Fatalf("audit show names %q as the signers of the policy that decided k-after-revert; it ran under the signatures of alice,bob", got)
	}
}

// TestAttack7PolicySignedForAnotherDeploymentLoads: the same approvers
// govern a staging deployment (alice, bob, carol and the staging engineer
// dave, 2 of 4) and production (alice, bob, carol, 2 of 3). Alice and bob
// sign a loose policy for staging. The manifest names only the policy and
// list files, nothing of the deployment or the governance it was signed
// under, so an intruder who can write production's policy directory
// copies staging's policy and bundle there, and production loads it.
// Signatures must be bound to the deployment (the manifest names the
// governance in force by its sha256, or a deployment name from the
// governance file).
//
// Fix7a: the decided defence is the governance file's deployment name,
// which every manifest then carries; the test gives the two deployments
// their names (as the README tells such teams to) and staging's policy a
// higher serial, so that only the deployment line can refuse it.
func TestAttack7PolicySignedForAnotherDeploymentLoads(t *testing.T) {
	prod := newGovernedServe(t, "")
	writeDeploymentGovernance(t, prod.gov, "production", "2", prod.alice, prod.bob, prod.carol)
	prod.sign(t, prod.pol, prod.alice, prod.bob)
	if started, out, errOut := serveStarts(t, prod.args()...); !started {
		t.Fatalf("production's first start: %s%s", out, errOut)
	}
	staging := t.TempDir()
	stagingGov := filepath.Join(staging, "governance.yaml")
	writeDeploymentGovernance(t, stagingGov, "staging", "2", prod.alice, prod.bob, prod.carol, newApprover(t, "dave"))
	loose := withSerial(strings.Replace(govPolicy, `decimal("1")`, `decimal("1000000")`, 1), 2)
	writeAtomically(t, filepath.Join(staging, "POLICY.yaml"), loose)
	writeAtomically(t, filepath.Join(staging, "nodes.txt"), mustRead(t, prod.list))
	for _, a := range []approver{prod.alice, prod.bob} {
		if code, out, errOut := runCmd(t, "policy", "sign", "--governance", stagingGov, "--key", a.priv, filepath.Join(staging, "POLICY.yaml")); code != 0 {
			t.Fatalf("staging policy sign by %s: %d %s%s", a.name, code, out, errOut)
		}
	}
	// The intruder copies staging's signed policy into production.
	writeAtomically(t, prod.pol, loose)
	writeAtomically(t, governanceBundle(prod.pol), mustRead(t, filepath.Join(staging, "POLICY.yaml.sigs")))
	if started, out, _ := serveStarts(t, prod.args()...); started {
		t.Fatalf("production loaded a policy signed for the staging deployment's governance:\n%s", out)
	}
}
