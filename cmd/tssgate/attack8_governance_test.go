package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	g.sign(t, g.pol, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started {
		t.Fatalf("first start: %s%s", out, errOut)
	}
	g0 := mustRead(t, g.gov)
	mallory := newApprover(t, "mallory")
	g1Path := filepath.Join(t.TempDir(), "governance.yaml")
	writeGovernance(t, g1Path, "2", g.alice, g.bob, g.carol, mallory)
	changeGovernance(t, g, mustRead(t, g1Path), g.alice, g.bob)
	g1, g1Sigs := saveFile(t, g.gov), saveFile(t, governanceBundle(g.gov))
	// Back to the original file, signed under G1.
	changeGovernance(t, g, g0, g.alice, g.bob)

	writeAtomically(t, g.gov, g1)
	writeAtomically(t, governanceBundle(g.gov), g1Sigs)
	if started, out, _ := serveStarts(t, g.args()...); started {
		t.Fatalf("serve adopted G1 (naming the removed approver mallory) again on the signatures of the first G0 -> G1 change:\n%s", out)
	}
}
