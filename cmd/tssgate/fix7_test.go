package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/token"
)

// fix7a: serial, deployment and replaces lines, POLICY rows per load.

// policyRows counts the POLICY rows of g's decision log with audit list.
func policyRows(t *testing.T, g *governedServe) int {
	t.Helper()
	code, out, errOut := runCmd(t, "audit", "list", "--data-dir", g.dir, "--rule", rulePolicy, "--json")
	if code != 0 {
		t.Fatalf("audit list: %d %s%s", code, out, errOut)
	}
	return strings.Count(out, "\n")
}

// resign replaces g's policy bundle with the signatures of as.
func (g *governedServe) resign(t *testing.T, as ...approver) {
	t.Helper()
	if err := os.Remove(governanceBundle(g.pol)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	g.sign(t, g.pol, as...)
}

// TestGovernedPolicySerial: with governance a policy must carry a serial;
// a lower serial than one already in force, or the same serial with
// another manifest, is refused at start however well it is signed; the
// same policy again (a restart) starts without a new POLICY row; a higher
// serial starts.
func TestGovernedPolicySerial(t *testing.T) {
	g := newGovernedServe(t, "")
	g.resign(t, g.alice, g.bob)
	if started, out, errOut := serveStarts(t, g.args()...); !started || !strings.Contains(out, "policy serial 1,") {
		t.Fatalf("first start at serial 1: %s%s", out, errOut)
	}
	rows := policyRows(t, g)
	if rows != 1 {
		t.Fatalf("%d POLICY rows after the first start, want 1", rows)
	}
	tighter := strings.Replace(govPolicy, `decimal("1")`, `decimal("0.5")`, 1)
	steps := []struct {
		name    string
		policy  string
		started bool
		stderr  string // on refusal
		newRow  bool   // a start records a new POLICY row
	}{
		{"restart, same policy", govPolicy, true, "", false},
		{"no serial", strings.Replace(govPolicy, "serial: 1\n", "", 1), false, "has no serial: with governance a policy must carry a top-level `serial: N`", false},
		{"same serial, other manifest", tighter, false, "has serial 1, the serial of another policy already put in force", false},
		{"higher serial", withSerial(tighter, 3), true, "", true},
		{"lower serial, once in force", govPolicy, false, "has serial 1, lower than serial 3 already put in force", false},
		{"lower serial, new rules", withSerial(govPolicy, 2), false, "has serial 2, lower than serial 3 already put in force", false},
		{"same serial, same manifest again", withSerial(tighter, 3), true, "", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			writeAtomically(t, g.pol, st.policy)
			g.resign(t, g.alice, g.bob)
			started, out, errOut := serveStarts(t, g.args()...)
			if started != st.started || !strings.Contains(errOut, st.stderr) {
				t.Fatalf("started %v (want %v), stderr want %q:\n%s%s", started, st.started, st.stderr, out, errOut)
			}
			want := rows
			if st.newRow {
				want++
			}
			if rows = policyRows(t, g); rows != want {
				t.Fatalf("%d POLICY rows, want %d", rows, want)
			}
		})
	}
}

// TestGovernedPolicySerialOnReload: a signed policy with the serial in
// force but other rules, deployed while serve runs, is refused like any
// refused policy: the old one keeps deciding, /readyz 503 naming the
// serial, the failure logged and counted.
func TestGovernedPolicySerialOnReload(t *testing.T) {
	g := newGovernedServe(t, "")
	g.resign(t, g.alice, g.bob)
	url, stdout, logs := startServeLogs(t, g.args("--metrics-listen", "127.0.0.1:0")[2:]...)
	mm := metricsRE.FindStringSubmatch(stdout.String())
	if mm == nil {
		t.Fatalf("no metrics address on stdout:\n%s", stdout.String())
	}
	failures := series("tssgate_reloads_total", "subject", "policy", "result", "failure")
	before := scrape(t, mm[1])
	sim := func(id string) int {
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", id,
			"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile))
		return code
	}
	// Stricter rules at the same serial, fully signed: staged beside the
	// policy and moved in bundle first, so that no unsigned state is seen.
	stage := t.TempDir()
	stricter := strings.Replace(govPolicy, `decimal("1")`, `decimal("0.00001")`, 1)
	writeAtomically(t, filepath.Join(stage, "POLICY.yaml"), stricter)
	writeAtomically(t, filepath.Join(stage, "nodes.txt"), mustRead(t, g.list))
	g.sign(t, filepath.Join(stage, "POLICY.yaml"), g.alice, g.bob)
	if err := os.Rename(filepath.Join(stage, "POLICY.yaml.sigs"), governanceBundle(g.pol)); err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, g.pol, stricter)
	waitFor(t, "/readyz 503 naming the serial", func() bool {
		code, body := readyzBody(t, url)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "has serial 1, the serial of another policy already put in force")
	})
	// /readyz reads the holder's error, recorded before the watch logs
	// and counts it: wait for those too.
	waitFor(t, "the refusal logged", func() bool {
		return strings.Contains(logs.String(), "the serial of another policy already put in force")
	})
	waitFor(t, "the refusal counted", func() bool { return delta(t, before, scrape(t, mm[1]), failures) >= 1 })
	if sim("k-old-policy") != 0 {
		t.Fatal("the policy in force stopped approving after a refused same-serial change")
	}
	// Raising the serial (and signing again) makes it load.
	writeAtomically(t, g.pol, withSerial(stricter, 2))
	g.resign(t, g.alice, g.bob)
	waitFor(t, "the serial-2 policy", func() bool { return readyz(t, url) == http.StatusOK })
	if sim("k-new-policy") != 1 {
		t.Fatal("the stricter policy at serial 2 did not take over")
	}
}

// TestUngovernedPolicyWithoutSerial: without governance the serial is
// optional and not compared.
func TestUngovernedPolicyWithoutSerial(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "POLICY.yaml")
	writeAtomically(t, filepath.Join(dir, "nodes.txt"), "node-1\n")
	for _, p := range []string{withSerial(govPolicy, 5), govPolicy, strings.Replace(govPolicy, "serial: 1\n", "", 1)} {
		writeAtomically(t, pol, p)
		if started, out, errOut := serveStarts(t, "--listen", "127.0.0.1:0", "--dev", "--data-dir", dir, "--policy", pol); !started {
			t.Fatalf("ungoverned start refused:\n%s%s\n%s", out, errOut, p)
		}
	}
}

// TestManifestCommandsLines: policy manifest prints the governance's
// deployment line; governance manifest needs the governance in force and
// names it on the replaces line. The expected texts are written out here
// from the files' hashes.
func TestManifestCommandsLines(t *testing.T) {
	alice, bob := newApprover(t, "alice"), newApprover(t, "bob")
	dir := t.TempDir()
	cur, next, pol := filepath.Join(dir, "governance.yaml"), filepath.Join(dir, "next", "governance.yaml"), filepath.Join(dir, "POLICY.yaml")
	if err := os.Mkdir(filepath.Dir(next), 0o755); err != nil {
		t.Fatal(err)
	}
	writeDeploymentGovernance(t, cur, "prod-eu", "1", alice)
	writeGovernance(t, next, "2", alice, bob)
	writeAtomically(t, pol, govPolicy)
	writeAtomically(t, filepath.Join(dir, "nodes.txt"), "node-1\n")
	items := "policy " + hexSum(govPolicy) + " POLICY.yaml\nlist " + hexSum("node-1\n") + " nodes.txt\n"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"policy, deployment", []string{"policy", "manifest", "--governance", cur, pol}, 0, "tssgate-manifest v1\ndeployment prod-eu\n" + items, ""},
		{"policy, no governance", []string{"policy", "manifest", pol}, 0, "tssgate-manifest v1\n" + items, "WARNING: no governance file given"},
		{"governance change", []string{"governance", "manifest", "--governance", cur, next}, 0,
			"tssgate-manifest v1\ndeployment prod-eu\nreplaces " + hexSum(mustRead(t, cur)) + "\ngovernance " + hexSum(mustRead(t, next)) + " governance.yaml\n", ""},
		{"governance change without CURRENT", []string{"governance", "manifest", next}, 2, "", "the governance in force is required"},
		{"governance verify without CURRENT", []string{"governance", "verify", next}, 2, "", "the governance in force is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != tt.code || out != tt.stdout || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nwant:\n%s\nstderr: %s (want %q)", code, tt.code, out, tt.stdout, errOut, tt.stderr)
			}
		})
	}
}

// TestAuditShowSerialAndRowPerLoad: audit show prints the serial of the
// load behind a decision, and each load of another bundle is its own
// POLICY row, so the newest row before a decision names its signers.
func TestAuditShowSerialAndRowPerLoad(t *testing.T) {
	g := newGovernedServe(t, "")
	writeAtomically(t, g.pol, withSerial(govPolicy, 7))
	g.resign(t, g.alice, g.bob)
	url, _, _ := startServeLogs(t, g.args()[2:]...)
	if code, out, errOut := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--request-id", "k-serial",
		"--node-key", filepath.Join(g.dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(g.dir, token.PublicKeyFile)); code != 0 {
		t.Fatalf("KEYSIGN not approved: %d %s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "audit", "show", "--data-dir", g.dir, "k-serial")
	var r struct {
		PolicyLoad struct {
			Serial  uint64 `json:"serial"`
			Signers []struct{ Name string }
		} `json:"policy_load"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("audit show: %d %s%s", code, out, errOut)
	}
	if r.PolicyLoad.Serial != 7 || len(r.PolicyLoad.Signers) != 2 {
		t.Fatalf("audit show policy_load: %+v\n%s", r.PolicyLoad, out)
	}
}
