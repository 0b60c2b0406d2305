package policy

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// attack7RunUsage writes a one-case tests file (a keysign with its own
// transaction, at now when not empty) with the given usage and expect,
// and runs it under usagePolicy with the real verifier.
func attack7RunUsage(t *testing.T, now, usage, expect string) (passed, failed int, out string, err error) {
	t.Helper()
	p := mustParse(t, usagePolicy, "")
	src := "tests:\n  - name: a\n"
	if now != "" {
		src += "    now: \"" + now + "\"\n"
	}
	src += "    usage: " + usage + "\n    request: {type: keysign, extra_patch: {transaction: {transaction_id: tx-attack7}}}\n    expect: " + expect + "\n"
	dir := writeFiles(t, map[string]string{"tests.yaml": src})
	var buf bytes.Buffer
	passed, failed, err = RunTestsVerifying(p, filepath.Join(dir, "tests.yaml"), &buf, realVerify)
	return passed, failed, buf.String(), err
}

// TestAttack7UsageKeyOfAnotherType: the README says a usage key "of
// another type" than the limit's key expression is an error naming the
// line and field. The parser does not know the expressions' types: a
// quoted "7" for the int expression '7', or a whole number for the string
// expression tx.token_id, is accepted and recorded under a ledger key the
// policy never builds, so the stated usage silently counts nothing and a
// case expecting APPROVE passes although the usage it meant would
// reject it.
func TestAttack7UsageKeyOfAnotherType(t *testing.T) {
	tests := []struct{ name, usage, want string }{
		{"string for an int expression", `[{limit: numbered, key: [ETH, "7"]}]`, `usage[0].key[1]`},
		{"int for a string expression", `[{limit: eth-daily, key: [7], amount: "1"}]`, `usage[0].key[0]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			passed, failed, out, err := attack7RunUsage(t, "2026-02-13T10:00:00Z", tc.usage, "{action: approve}")
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (%d passed, %d failed:\n%s), want a *LoadError naming %s", err, passed, failed, out, tc.want)
			}
		})
	}
}

// TestAttack7UsageAtWithoutNow: a usage entry with a fixed `at` in a case
// (and file) without `now` is decided at the wall clock, so whether the
// stated usage is in the window depends on the day the tests run: the case
// below expects the rejection its usage causes and passes only on
// 2026-02-08/09. A case whose outcome depends on when CI runs is wrong
// input accepted silently; it should be refused at load (a fixed `at`
// needs a fixed `now`).
func TestAttack7UsageAtWithoutNow(t *testing.T) {
	passed, failed, out, err := attack7RunUsage(t, "",
		`[{limit: eth-daily, key: [ETH], amount: "1", at: "2026-02-08T10:00:00Z"}]`, "{action: REJECT, rule: eth-daily}")
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "usage[0].at") {
		t.Fatalf("err = %v (%d passed, %d failed:\n%s), want a *LoadError naming usage[0].at", err, passed, failed, out)
	}
}

// TestAttack7UsageAtAfterNow: usage is what is "already in a limit's
// window before it runs", but an `at` after the case's now is accepted: a
// time-zone slip (now in +08:00, at in Z) records usage in the case's
// future, which counts (its time is after the window's start) and also
// moves the case's own ledger entry later. It should be refused.
func TestAttack7UsageAtAfterNow(t *testing.T) {
	passed, failed, out, err := attack7RunUsage(t, "2026-02-13T12:00:00+08:00",
		`[{limit: eth-daily, key: [ETH], amount: "1", at: "2026-02-13T09:00:00Z"}]`, "{action: REJECT, rule: eth-daily}")
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "usage[0].at") {
		t.Fatalf("err = %v (%d passed, %d failed:\n%s), want a *LoadError naming usage[0].at", err, passed, failed, out)
	}
}

// TestAttack7UsageCountSpellings: a usage key refuses a whole number that
// is not spelled plainly ("010 is not a plain whole number; quote it"),
// but count takes the same spellings through fmt.Sscan: `count: 010` is 8
// transactions (octal), `count: 0x10` is 16, `count: 1_0` is 10, silently.
// A count should be a plain decimal, refused otherwise as the key is.
func TestAttack7UsageCountSpellings(t *testing.T) {
	for _, count := range []string{"010", "0x10", "0o7", "1_0"} {
		t.Run(count, func(t *testing.T) {
			passed, failed, out, err := attack7RunUsage(t, "2026-02-13T10:00:00Z",
				`[{limit: wallet-count, key: ["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", ETH], count: `+count+`}]`, "{action: REJECT, rule: wallet-count}")
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), "usage[0].count") {
				t.Fatalf("count: %s: err = %v (%d passed, %d failed:\n%s), want a *LoadError naming usage[0].count", count, err, passed, failed, out)
			}
		})
	}
}
