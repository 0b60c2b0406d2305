package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// replayOld records the history; replayLoose also approves the "other"
// initiator and allows 3 ETH KEYSIGNs an hour instead of 5; replayTight
// only lowers the cap to 3.
const (
	replayRules = `version: 1
description: %s
default: reject
rules:
  - {name: heartbeat, when: 'request.type == "PING"', action: approve}
  - name: api-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "payouts-service"'
    action: approve
%slimits:
  - {name: eth-hourly, when: 'request.type == "KEYSIGN" && tx.token_id == "ETH"', key: [tx.token_id], window: 1h, max_count: %d}
`
	otherRule = `  - name: other-payouts
    when: 'request.type == "KEYSIGN" && tx.verified && tx.initiator == "other"'
    action: approve
`
)

// replayReport is the --json shape the test reads, spelled independently
// of the replay package's types.
type replayReport struct {
	Policy          string `json:"policy"`
	PolicyVersion   string `json:"policy_version"`
	Replayed        int64  `json:"replayed"`
	Unchanged       int64  `json:"unchanged"`
	ApproveToReject int64  `json:"approve_to_reject"`
	RejectToApprove int64  `json:"reject_to_approve"`
	RuleChanged     int64  `json:"rule_changed"`
	Skipped         int64  `json:"skipped"`
	Seeded          int64  `json:"seeded_approvals"`
	Transitions     []struct {
		OldAction string `json:"old_action"`
		OldRule   string `json:"old_rule"`
		NewAction string `json:"new_action"`
		NewRule   string `json:"new_rule"`
		Count     int64  `json:"count"`
	} `json:"transitions"`
	Examples struct {
		ApproveToReject []map[string]any `json:"approve_to_reject"`
		RejectToApprove []map[string]any `json:"reject_to_approve"`
	} `json:"examples"`
	PerSecond float64 `json:"decisions_per_second"`
}

func TestPolicyReplaySQLite(t *testing.T) { policyReplayEndToEnd(t, "") }

func TestPolicyReplayPostgres(t *testing.T) {
	policyReplayEndToEnd(t, storetest.PostgresSchema(t)) // skips without TSSGATE_TEST_POSTGRES
}

// policyReplayEndToEnd records decisions through a real serve (real HTTP,
// tokens signed by the simulator), then replays candidates over the store
// and checks the exact counts, examples, exit codes and JSON.
func policyReplayEndToEnd(t *testing.T, dsn string) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		writeAtomically(t, path, src)
		return path
	}
	old := write("old.yaml", fmt.Sprintf(replayRules, "old", "", 5))
	loose := write("loose.yaml", fmt.Sprintf(replayRules, "loose", otherRule, 3))
	tight := write("tight.yaml", fmt.Sprintf(replayRules, "tight", "", 3))
	storeArgs := []string{"--data-dir", dir}
	if dsn != "" {
		storeArgs = append(storeArgs, "--store", dsn)
	}
	url, _ := startServe(t, append([]string{"--dev", "--policy", old}, storeArgs...)...)
	sim := func(args ...string) int {
		code, _, _ := runCmd(t, append([]string{"simulate", "--url", url,
			"--node-key", filepath.Join(dir, devNodeDir, devNodePriv), "--server-pub", filepath.Join(dir, token.PublicKeyFile)}, args...)...)
		return code
	}
	// k0 from the "other" initiator (rejected by the default), k1 ... k6
	// from payouts-service (the sixth over the count cap), a PING.
	other := strings.Replace(string(readTxExtra(t, 0)), `"initiator": "payouts-service"`, `"initiator": "other"`, 1)
	if code := sim("--type", "keysign", "--request-id", "k0", "--extra", write("other.json", other)); code != 1 {
		t.Fatalf("k0: exit %d, want 1 (REJECT)", code)
	}
	for i := 1; i <= 6; i++ {
		want := 0
		if i == 6 {
			want = 1
		}
		if code := sim("--type", "keysign", "--request-id", fmt.Sprintf("k%d", i), "--extra", txExtra(t, dir, i)); code != want {
			t.Fatalf("k%d: exit %d, want %d", i, code, want)
		}
	}
	if code := sim("--type", "ping", "--request-id", "p1"); code != 0 {
		t.Fatal("ping")
	}

	head := func() string {
		t.Helper()
		code, out, errOut := runCmd(t, append([]string{"audit", "verify", "--json"}, storeArgs...)...)
		if code != 0 {
			t.Fatalf("audit verify: %d %s%s", code, out, errOut)
		}
		return out
	}
	before := head()
	// Replay reads only: the chain (decisions and head) is the same after
	// every replay below.
	t.Cleanup(func() {
		if after := head(); after != before {
			t.Errorf("the decision log changed during replay:\nbefore %s\nafter  %s", before, after)
		}
	})

	replay := func(args ...string) (int, string, string) {
		return runCmd(t, append(append([]string{"policy", "replay"}, args...), storeArgs...)...)
	}
	jsonReport := func(code int, out, errOut string) replayReport {
		t.Helper()
		var r replayReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("--json output (exit %d): %v\n%s%s", code, err, out, errOut)
		}
		return r
	}

	// The loose candidate: k0 newly approved (and counted), k3 ... k5
	// rejected by the lower cap alone (the same rule still matches).
	code, out, errOut := replay(loose, "--json")
	r := jsonReport(code, out, errOut)
	if code != 1 || r.Replayed != 8 || r.Unchanged != 4 || r.ApproveToReject != 3 || r.RejectToApprove != 1 || r.RuleChanged != 0 ||
		!strings.Contains(r.Policy, "loose") || len(r.PolicyVersion) == 0 || r.PerSecond <= 0 {
		t.Fatalf("loose: exit %d %+v\n%s", code, r, errOut)
	}
	var ids []string
	for _, ex := range r.Examples.ApproveToReject {
		ids = append(ids, ex["request_id"].(string))
		if ex["old_rule"] != "api-payouts" || ex["new_rule"] != "eth-hourly" || ex["token"] != "ETH" || ex["amount"] != "0.0001" ||
			!strings.Contains(ex["new_reason"].(string), "eth-hourly") || ex["type"] != "KEYSIGN" || ex["received_at"] == "" {
			t.Fatalf("example %v", ex)
		}
	}
	if fmt.Sprint(ids) != "[k3 k4 k5]" || len(r.Examples.RejectToApprove) != 1 || r.Examples.RejectToApprove[0]["new_rule"] != "other-payouts" {
		t.Fatalf("examples %v / %v", ids, r.Examples.RejectToApprove)
	}
	if len(r.Transitions) != 2 || r.Transitions[0].Count != 3 || r.Transitions[0].NewRule != "eth-hourly" || r.Transitions[1].OldRule != "default" {
		t.Fatalf("transitions %+v", r.Transitions)
	}
	if code, _, _ := replay(loose, "--fail-on", "loosen"); code != 1 {
		t.Fatalf("loose --fail-on loosen: exit %d, want 1", code)
	}
	code, out, _ = replay(loose, "--examples", "1", "--type", "keysign")
	if code != 1 || !strings.Contains(out, "approve -> reject 3") || !strings.Contains(out, "approve -> reject (first 1 of 3):\n  k3  ") ||
		!strings.Contains(out, "replayed          7") || !strings.Contains(out, "decisions/s") {
		t.Fatalf("loose text: exit %d\n%s", code, out)
	}

	// The tight candidate only tightens: exit 1, but 0 with --fail-on loosen.
	if code, out, _ := replay(tight); code != 1 || !strings.Contains(out, "approve -> reject 2") {
		t.Fatalf("tight: exit %d\n%s", code, out)
	}
	if code, out, _ := replay(tight, "--fail-on", "loosen"); code != 0 || !strings.Contains(out, "approve -> reject 2") {
		t.Fatalf("tight --fail-on loosen: exit %d\n%s", code, out)
	}
	// The policy that recorded them: nothing changes.
	if code, out, _ := replay(old); code != 0 || !strings.Contains(out, "unchanged         8") {
		t.Fatalf("old: exit %d\n%s", code, out)
	}

	// --since k4: the recorded approvals k1 ... k3 (k0 was a REJECT) use
	// the tight candidate's 3 before it.
	code, out, _ = runCmd(t, append(append([]string{"audit", "show"}, storeArgs...), "k4")...)
	var k4 auditRecord
	if code != 0 || json.Unmarshal([]byte(out), &k4) != nil {
		t.Fatalf("audit show k4: %d %s", code, out)
	}
	code, out, errOut = replay(tight, "--json", "--since", k4.ReceivedAt.Format(time.RFC3339Nano))
	r = jsonReport(code, out, errOut)
	if code != 1 || r.Replayed != 4 || r.Seeded != 3 || r.ApproveToReject != 2 || r.Unchanged != 2 {
		t.Fatalf("tight --since k4: exit %d %+v", code, r)
	}

	// Errors are exit 2.
	for name, args := range map[string][]string{
		"no candidate":       {},
		"two candidates":     {tight, old},
		"bad --fail-on":      {tight, "--fail-on", "tighten"},
		"bad --since":        {tight, "--since", "yesterday"},
		"missing file":       {filepath.Join(dir, "nope.yaml")},
		"bad --type":         {tight, "--type", "SWEEP"},
		"until before since": {tight, "--since", "1h", "--until", "2h"},
	} {
		if code, _, errOut := replay(args...); code != 2 || errOut == "" {
			t.Errorf("%s: exit %d, want 2 with a message (%s)", name, code, errOut)
		}
	}
	// The configuration's tokens and ABIs are the verifier's: a bad one
	// is an error, not a replay without it.
	badConfig := write("bad-config.yaml", "tssgate:\n  tokens:\n    - {token_id: ARB_ETH, chain: evm, evm_chain_id: \"42161\"}\n")
	if code, _, errOut := replay(tight, "--config", badConfig); code != 2 || !strings.Contains(errOut, "tssgate.tokens[0].decimals") {
		t.Errorf("bad --config: exit %d %s", code, errOut)
	}
	if dsn == "" {
		if code, _, errOut := runCmd(t, "policy", "replay", tight, "--data-dir", t.TempDir()); code != 2 || !strings.Contains(errOut, "no decision store") {
			t.Errorf("no store: exit %d %s", code, errOut)
		}
	}
}
