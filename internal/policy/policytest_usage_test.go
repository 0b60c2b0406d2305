package policy

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// usagePolicy approves the sample payout (0.0001 ETH, verified) under an
// amount cap keyed on the token, a count cap keyed on wallet and token,
// and a limit keyed on an int expression.
const usagePolicy = `version: 1
default: reject
rules:
  - {name: payouts, when: 'request.type == "KEYSIGN" && tx.verified', action: approve}
limits:
  - {name: eth-daily, when: 'tx.token_id == "ETH"', key: [tx.token_id], window: 24h, max_amount: "0.00025"}
  - {name: wallet-count, when: 'true', key: [tx.wallet_id, tx.token_id], window: 1h, max_count: 3}
  - {name: numbered, when: 'true', key: [tx.token_id, '7'], window: 1h, max_count: 1}
`

// Each case is its own transaction (a transaction counts once per limit
// and key, however many cases ask about it) on its own day, so that usage stated (and consumed) by one
// does not reach the next; the last two cases show that it would.
const usageTests = `tests:
  - name: over the amount cap with prior usage
    now: "2026-02-01T10:00:00Z"
    usage: [{limit: eth-daily, key: [ETH], amount: "0.0002"}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-1}}}
    expect: {action: REJECT, rule: eth-daily, reason_contains: "used 0.0002 of 0.00025"}
  - name: exactly at the amount cap approves
    now: "2026-02-03T10:00:00Z"
    usage: [{limit: eth-daily, key: ["ETH"], amount: "0.00015", count: 2}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-2}}}
    expect: {action: approve, rule: payouts}
  - name: usage under another key does not count
    now: "2026-02-05T10:00:00Z"
    usage: [{limit: eth-daily, key: [BTC], amount: "5"}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-3}}}
    expect: {action: approve}
  - name: usage before the window does not count
    now: "2026-02-07T10:00:00Z"
    usage: [{limit: eth-daily, key: [ETH], amount: "1", at: "2026-02-06T10:00:00Z"}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-4}}}
    expect: {action: approve}
  - name: usage one microsecond inside the window counts
    now: "2026-02-09T10:00:00Z"
    usage: [{limit: eth-daily, key: [ETH], amount: "1", at: "2026-02-08T10:00:00.000001Z"}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-5}}}
    expect: {action: reject, rule: eth-daily}
  - name: the count cap with a two-value key
    now: "2026-02-11T10:00:00Z"
    usage: [{limit: wallet-count, key: ["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", ETH], count: 3}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-6}}}
    expect: {action: reject, rule: wallet-count, reason_contains: "used 3 of 3 transactions"}
  - name: an int key value matches the int key
    now: "2026-02-15T10:00:00Z"
    usage: [{limit: numbered, key: [ETH, 7]}]
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-8}}}
    expect: {action: reject, rule: numbered}
  - name: a limit rejection expected as an approval fails
    now: "2026-02-17T10:00:00Z"
    usage: [{limit: eth-daily, key: [ETH], amount: "0.00025"}]
    request: {type: keysign, id: fails, extra_patch: {transaction: {transaction_id: tx-9}}}
    expect: {action: approve}
  - name: usage stays for later cases
    now: "2026-02-17T11:00:00Z"
    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-10}}}
    expect: {action: reject, rule: eth-daily}
`

func TestRunTestsUsage(t *testing.T) {
	p := mustParse(t, usagePolicy, "")
	dir := writeFiles(t, map[string]string{"tests.yaml": usageTests})
	path := filepath.Join(dir, "tests.yaml")
	var out bytes.Buffer
	passed, failed, err := RunTestsVerifying(p, path, &out, realVerify)
	if err != nil {
		t.Fatal(err)
	}
	if passed != 8 || failed != 1 {
		t.Fatalf("%d passed, %d failed, want 8 and 1:\n%s", passed, failed, out.String())
	}
	want := "FAIL  a limit rejection expected as an approval fails (" + path + `:37): want APPROVE, got REJECT by rule "eth-daily"`
	if !strings.Contains(out.String(), want) {
		t.Fatalf("output lacks %q:\n%s", want, out.String())
	}
}

func TestRunTestsUsageMalformed(t *testing.T) {
	p := mustParse(t, usagePolicy, "")
	tests := []struct{ name, usage, want string }{
		{"unknown limit", `[{limit: eth-weekly, key: [ETH]}]`, `tests.yaml:4: test "a": usage[0].limit: the policy has no limit "eth-weekly" (its limits: eth-daily, wallet-count, numbered)`},
		{"missing limit", `[{key: [ETH]}]`, `tests.yaml:4: test "a": usage[0].limit: missing`},
		{"wrong arity", `[{limit: wallet-count, key: [ETH]}]`, `tests.yaml:4: test "a": usage[0].key: limit "wallet-count" has 2 key expressions, this key has 1 values`},
		{"missing key", `[{limit: eth-daily}]`, `usage[0].key: missing`},
		{"key not a list", `[{limit: eth-daily, key: ETH}]`, `usage[0].key: must be a list of the limit's 1 key values`},
		{"key value a map", `[{limit: eth-daily, key: [{a: 1}]}]`, `usage[0].key[0]: must be a string or a whole number`},
		{"negative amount", `[{limit: eth-daily, key: [ETH], amount: "-1"}]`, `tests.yaml:4: test "a": usage[0].amount: must not be negative, got -1`},
		{"unquoted amount", `[{limit: eth-daily, key: [ETH], amount: 1.5}]`, `usage[0].amount: must be a quoted decimal`},
		{"zero count", `[{limit: eth-daily, key: [ETH], count: 0}]`, `usage[0].count: must be from 1 to 10000, got 0`},
		{"bad at", `[{limit: eth-daily, key: [ETH], at: yesterday}]`, `usage[0].at: must be an RFC 3339 time`},
		{"at without now", `[{limit: eth-daily, key: [ETH], at: "2026-02-06T10:00:00Z"}]`, `usage[0].at: needs a fixed now`},
		{"count in hex", `[{limit: eth-daily, key: [ETH], count: 0x3}]`, `usage[0].count: 0x3 is not a plain decimal whole number`},
		{"string for an int key", `[{limit: numbered, key: [ETH, "7"]}]`, `usage[0].key[1]: limit "numbered"'s key expression 1 is an int`},
		{"number for a string key", `[{limit: eth-daily, key: [7]}]`, `usage[0].key[0]: limit "eth-daily"'s key expression 0 is a string`},
		{"unknown field", `[{limit: eth-daily, key: [ETH], amout: "1"}]`, `usage[0].amout: unknown key`},
		{"not a list", `{limit: eth-daily}`, `tests.yaml:4: test "a": usage: must be a list`},
		{"second entry", `[{limit: eth-daily, key: [ETH]}, {limit: x, key: [ETH]}]`, `usage[1].limit: the policy has no limit "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "tests:\n  - name: a\n    request: {type: keysign}\n    usage: " + tc.usage + "\n    expect: {action: approve}\n"
			dir := writeFiles(t, map[string]string{"tests.yaml": src})
			path := filepath.Join(dir, "tests.yaml")
			var out bytes.Buffer
			_, _, err := RunTests(p, path, &out)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LoadError", err)
			}
			if want := strings.ReplaceAll(tc.want, "tests.yaml", path); !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not contain %q:\n%v", want, err)
			}
			if out.Len() != 0 {
				t.Fatalf("a malformed file ran cases: %s", out.String())
			}
		})
	}
}
