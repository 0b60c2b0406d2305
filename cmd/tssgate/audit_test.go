package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"tssgate/internal/token"
)

const limitedPolicy = approveKeysign + `limits:
  - name: eth-daily
    when: request.type == "KEYSIGN"
    key: [tx.wallet_id, tx.token_id]
    window: 24h
    max_amount: "0.00025"
`

func TestAuditCommands(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, limitedPolicy)
	url, _ := startServe(t, "--dev", "--data-dir", dir, "--policy", pol)
	sim := func(args ...string) int {
		code, _, _ := runCmd(t, append([]string{"simulate", "--url", url,
			"--node-key", filepath.Join(dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(dir, token.PublicKeyFile)}, args...)...)
		return code
	}
	// Three transactions of 0.0001 under a cap of 0.00025: two approve,
	// the third is rejected by the limit. A retry of the first is answered
	// from the log, and the same transaction asked about under a new
	// request_id (another TSS Node of the group) is not counted again.
	for i, want := range []int{0, 0, 1} {
		if code := sim("--type", "keysign", "--request-id", "k"+string(rune('1'+i)), "--extra", txExtra(t, dir, i)); code != want {
			t.Fatalf("keysign %d: exit %d, want %d", i+1, code, want)
		}
	}
	if code := sim("--type", "keysign", "--request-id", "k1", "--extra", txExtra(t, dir, 0)); code != 0 {
		t.Fatalf("retry of k1: exit %d, want 0 (the recorded APPROVE)", code)
	}
	if code := sim("--type", "keysign", "--request-id", "k1-from-node-b", "--extra", txExtra(t, dir, 0)); code != 0 {
		t.Fatalf("transaction 0 under another request_id: exit %d, want 0 (already counted)", code)
	}
	if code := sim("--type", "ping", "--request-id", "p1"); code != 0 {
		t.Fatal("ping")
	}
	audit := func(args ...string) (int, string, string) {
		return runCmd(t, append([]string{"audit", args[0], "--data-dir", dir}, args[1:]...)...)
	}

	code, out, errOut := audit("list")
	// Five decisions after the policy's load, which serve records first.
	if code != 0 || strings.Count(out, "\n") != 6 || !strings.Contains(out, "eth-daily") || !strings.Contains(out, "small-eth") ||
		!strings.Contains(out, "POLICY   operator:policy:") {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = audit("list", "--action", "reject", "--type", "KEYSIGN", "--json")
	var rec auditRecord
	if code != 0 || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &rec) != nil || rec.RequestID != "k3" || rec.Rule != "eth-daily" ||
		!strings.Contains(rec.Reason, "0.00025") {
		t.Fatalf("list --action reject --json: %d %s", code, out)
	}
	if code, out, _ = audit("list", "--type", "PING", "--limit", "1"); code != 0 || !strings.Contains(out, "p1") || strings.Count(out, "\n") != 1 {
		t.Fatalf("list --type PING: %s", out)
	}
	code, out, _ = audit("show", "k1")
	if code != 0 || !strings.Contains(out, `"request": {`) || !strings.Contains(out, `"node_key": "dev-simulated-node"`) || !strings.Contains(out, `"hash": "`) {
		t.Fatalf("show k1: %d %s", code, out)
	}
	// The decision names the load of its policy: unsigned, no governance.
	var shown struct {
		PolicyVersion string `json:"policy_version"`
		PolicyLoad    *struct {
			Seq     int64  `json:"seq"`
			Signers []any  `json:"signers"`
			Policy  string `json:"policy_version"`
		} `json:"policy_load"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.PolicyLoad == nil || shown.PolicyLoad.Seq != 1 ||
		shown.PolicyLoad.Signers == nil || len(shown.PolicyLoad.Signers) != 0 || shown.PolicyLoad.Policy != shown.PolicyVersion {
		t.Fatalf("show k1: policy_load missing or wrong (%v): %s", err, out)
	}
	if code, _, errOut = audit("show", "nope"); code != 1 || !strings.Contains(errOut, "no decision") {
		t.Fatalf("show nope: %d %s", code, errOut)
	}
	code, out, _ = audit("export")
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || int64(lines+1) != r.Seq {
			t.Fatalf("export line %d: %v %s", lines+1, err, sc.Text())
		}
		lines++
	}
	if code != 0 || lines != 6 {
		t.Fatalf("export: exit %d, %d lines", code, lines)
	}
	code, out, _ = audit("limits", "--policy", pol)
	if code != 0 || !strings.Contains(out, "eth-daily") || !strings.Contains(out, "amount 0.0002 / 0.00025") || !strings.Contains(out, "count 2") {
		t.Fatalf("limits: %d %s", code, out)
	}
	if code, out, _ = audit("verify"); code != 0 || !strings.Contains(out, "chain intact: 6 decisions") {
		t.Fatalf("verify: %d %s", code, out)
	}

	// Tamper with one recorded decision: verify names the broken link.
	db, err := sql.Open("sqlite", filepath.Join(dir, "tssgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE decisions SET action = 'APPROVE', rule = 'small-eth', reason = '' WHERE request_id = 'k3'`); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = audit("verify")
	if code != 1 || !strings.Contains(errOut, "BROKEN") || !strings.Contains(errOut, `"k3"`) {
		t.Fatalf("verify after tampering: exit %d, %s", code, errOut)
	}
}

// txExtra writes the sample v2 KEYSIGN extra_info as transaction number i
// (its own transaction_id; the same bytes, so it still verifies).
func txExtra(t *testing.T, dir string, i int) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("extra-%d.json", i))
	writeAtomically(t, path, string(readTxExtra(t, i)))
	return path
}

// readTxExtra is the sample v2 KEYSIGN extra_info as transaction number i.
func readTxExtra(t *testing.T, i int) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../internal/protocol/samples/v2/keysign.extra.json")
	if err != nil {
		t.Fatal(err)
	}
	const id = `"transaction_id": "7f3c2a91-5d4e-4b8a-a6c2-1e9f0d3b8c57"`
	if !strings.Contains(string(raw), id) {
		t.Fatal("the sample's transaction_id changed; update the test")
	}
	return []byte(strings.Replace(string(raw), id, fmt.Sprintf(`"transaction_id": "tx-%d"`, i), 1))
}
