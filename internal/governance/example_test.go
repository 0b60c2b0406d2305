package governance

import (
	"path/filepath"
	"testing"
)

// The example governance file in examples/governance loads as the README
// describes it: 2 of 3 named approvers, one deployment.
func TestExampleGovernance(t *testing.T) {
	g, err := Load(filepath.Join("..", "..", "examples", "governance", "governance.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Threshold != 2 || len(g.Approvers) != 3 || g.Deployment != "prod-eu" {
		t.Fatalf("threshold %d, %d approvers, deployment %q", g.Threshold, len(g.Approvers), g.Deployment)
	}
	for i, want := range []string{"alice", "bob", "carol"} {
		if g.Approvers[i].Name != want {
			t.Errorf("approver %d is %q, want %q", i, g.Approvers[i].Name, want)
		}
	}
}
