package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"tssgate/internal/token"
)

// TestPolicyReplayRefusesATamperedLog: a decision row changed in the
// database (a REJECT forged to APPROVE, so that a candidate approving it
// would show no change) makes `policy replay` exit 2 naming the row and
// the broken chain, with --fail-on loosen too, as `audit verify` refuses
// the same log.
func TestPolicyReplayRefusesATamperedLog(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	writeAtomically(t, old, fmt.Sprintf(replayRules, "old", "", 5))
	loose := filepath.Join(dir, "loose.yaml")
	writeAtomically(t, loose, fmt.Sprintf(replayRules, "loose", otherRule, 5))
	url, _ := startServe(t, "--dev", "--policy", old, "--data-dir", dir)
	other := filepath.Join(dir, "other.json")
	writeAtomically(t, other, strings.Replace(string(readTxExtra(t, 0)), `"initiator": "payouts-service"`, `"initiator": "other"`, 1))
	code, _, _ := runCmd(t, "simulate", "--url", url, "--node-key", filepath.Join(dir, devNodeDir, devNodePriv),
		"--server-pub", filepath.Join(dir, token.PublicKeyFile), "--type", "keysign", "--request-id", "victim", "--extra", other)
	if code != 1 {
		t.Fatalf("victim: exit %d, want 1 (REJECT under the policy in force)", code)
	}
	replay := func() (int, string, string) {
		return runCmd(t, "policy", "replay", loose, "--data-dir", dir, "--fail-on", "loosen")
	}
	if code, out, errOut := replay(); code != 1 {
		t.Fatalf("before tampering: exit %d, want 1 (the loose candidate approves the victim)\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE decisions SET action = 'APPROVE', rule = 'other-payouts', reason = '' WHERE request_id = 'victim'`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := replay()
	if code != 2 || !strings.Contains(errOut, "hash chain is broken") || !strings.Contains(errOut, "(victim)") {
		t.Fatalf("after tampering: exit %d, want 2 naming the broken row\n%s%s", code, out, errOut)
	}
}
