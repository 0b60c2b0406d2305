package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tssgate/internal/token"
)

const approveSmallETH = `version: 1
default: reject
rules:
  - name: heartbeat
    when: request.type == "PING"
    action: approve
  - name: small-eth
    when: request.type == "KEYSIGN" && tx.token_id == "ETH" && tx.amount <= decimal("1")
    action: approve
`

const rejectAll = `version: 1
default: reject
rules:
  - name: freeze
    when: request.type == "KEYSIGN"
    action: reject
    reason: "signing is frozen"
`

// writeAtomically replaces path's content in one rename, as editors and
// config management do, so the watcher never sees a half-written file.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func readyz(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeWithPolicyReload(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveSmallETH)
	url, stdout := startServe(t, "--dev", "--data-dir", dir, "--policy", pol, "--policy-poll", "20ms")
	if !strings.Contains(stdout.String(), "sha256:") {
		t.Errorf("start-up does not print the policy version:\n%s", stdout.String())
	}
	sim := func() int {
		code, _, _ := runCmd(t, "simulate", "--url", url, "--type", "keysign",
			"--node-key", filepath.Join(dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(dir, token.PublicKeyFile))
		return code
	}
	if code := sim(); code != 0 {
		t.Fatalf("KEYSIGN of 0.0001 ETH under the small-eth policy: exit %d, want 0 (APPROVE)", code)
	}
	// The file changes: the new policy takes over.
	writeAtomically(t, pol, rejectAll)
	waitFor(t, "the reject-all policy", func() bool { return sim() == 1 })

	// A broken file keeps the old policy and /readyz says so.
	writeAtomically(t, pol, "version: 1\nrules:\n  - name: x\n    when: tx.amout > 1\n    action: approve\n")
	waitFor(t, "/readyz to report the broken policy", func() bool { return readyz(t, url) == http.StatusServiceUnavailable })
	if code := sim(); code != 1 {
		t.Fatalf("after a broken reload: exit %d, want 1 (the previous reject-all policy still decides)", code)
	}

	// Fixing the file on disk and sending SIGHUP restores readiness.
	writeAtomically(t, pol, approveSmallETH)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fixed policy", func() bool { return sim() == 0 && readyz(t, url) == http.StatusOK })
}

func TestServeRefusesBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, "version: 1\nrules:\n  - name: x\n    when: request.type == \n    action: approve\n")
	code, _, errOut := runCmd(t, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--policy", pol)
	if code != 1 || !strings.Contains(errOut, "policy.yaml:") || !strings.Contains(errOut, `"x"`) {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the file, line and rule", code, errOut)
	}
}

func TestPolicyCommands(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*.tests.yaml")
	if err != nil || len(examples) < 4 {
		t.Fatalf("examples: %v %v", examples, err)
	}
	for _, tests := range examples {
		pol := strings.TrimSuffix(tests, ".tests.yaml") + ".yaml"
		t.Run(filepath.Base(pol), func(t *testing.T) {
			if code, out, errOut := runCmd(t, "policy", "check", pol); code != 0 || !strings.Contains(out, "sha256:") {
				t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
			}
			if code, out, errOut := runCmd(t, "policy", "test", pol, tests); code != 0 || !strings.Contains(out, " 0 failed") {
				t.Fatalf("test: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeAtomically(t, bad, "version: 1\nrules:\n  - name: r\n    when: request.typo == \"PING\"\n    action: approve\n")
	if code, _, errOut := runCmd(t, "policy", "check", bad); code != 1 || !strings.Contains(errOut, "bad.yaml:4") {
		t.Errorf("check of a bad policy: exit %d, stderr %q", code, errOut)
	}
	// A test file whose expectation is wrong fails the command.
	good := filepath.Join(dir, "good.yaml")
	writeAtomically(t, good, approveSmallETH)
	wrong := filepath.Join(dir, "wrong.tests.yaml")
	writeAtomically(t, wrong, "tests:\n  - name: keysign rejects\n    request: {type: keysign}\n    expect: {action: reject}\n")
	if code, out, _ := runCmd(t, "policy", "test", good, wrong); code != 1 || !strings.Contains(out, "FAIL") {
		t.Errorf("failing policy test: exit %d, out %q", code, out)
	}
}

// A KEYSIGN whose description disagrees with the bytes the node signs is
// rejected by the verification gate, whatever the rules say.
func TestServeRejectsUnverifiedKeysign(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveSmallETH)
	url, _ := startServe(t, "--dev", "--data-dir", dir, "--policy", pol)
	extra, err := os.ReadFile("../../internal/protocol/samples/v2/keysign.extra.json")
	if err != nil {
		t.Fatal(err)
	}
	// Cobo's description says 0.5 ETH; the unsigned bytes move 0.0001 ETH.
	lied := strings.Replace(string(extra), `"amount": "0.0001"`, `"amount": "0.5"`, 1)
	if lied == string(extra) {
		t.Fatal("the sample's amount was not found; update the test")
	}
	extraPath := filepath.Join(dir, "extra.json")
	writeAtomically(t, extraPath, lied)
	code, out, errOut := runCmd(t, "simulate", "--url", url, "--type", "keysign", "--extra", extraPath,
		"--node-key", filepath.Join(dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(dir, token.PublicKeyFile))
	if code != 1 || !strings.Contains(out, "transaction not verified: amount") {
		t.Fatalf("exit %d, out %s, stderr %s: want a REJECT by verification", code, out, errOut)
	}
}
