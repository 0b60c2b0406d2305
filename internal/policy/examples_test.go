package policy

import (
	"tssgate/internal/txverify"

	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// examplesDir holds the shipped example policies, each with a
// NAME.tests.yaml beside NAME.yaml.
const examplesDir = "../../examples"

// examplePolicies lists the example policies: every *.yaml that is not a
// tests file.
func examplePolicies(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".tests.yaml") {
			out = append(out, p)
		}
	}
	return out
}

// TestExamples runs every example policy against its tests file, as
// `tssgate policy test` would, so CI keeps the examples honest.
func TestExamples(t *testing.T) {
	policies := examplePolicies(t)
	for _, want := range []string{"auto-sweep.yaml", "payouts.yaml", "keygen-allowlist.yaml", "business-hours.yaml"} {
		if _, err := os.Stat(filepath.Join(examplesDir, want)); err != nil {
			t.Errorf("example %s is missing: %v", want, err)
		}
	}
	for _, path := range policies {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, err := Load(path)
			if err != nil {
				t.Fatalf("the example does not load:\n%v", err)
			}
			testsPath := strings.TrimSuffix(path, ".yaml") + ".tests.yaml"
			var out bytes.Buffer
			// The examples are tested as `tssgate policy test` runs them:
			// with the server's real transaction verification.
			passed, failed, err := RunTestsVerifying(p, testsPath, &out, realVerify)
			if err != nil {
				t.Fatalf("its tests file is malformed:\n%v", err)
			}
			if failed != 0 || passed == 0 {
				t.Fatalf("%d passed, %d failed:\n%s", passed, failed, out.String())
			}
		})
	}
}

// TestExamplesTestBothOutcomes requires every example's tests to show at
// least one approval and one rejection, so no example only ever proves one
// side of its rules.
func TestExamplesTestBothOutcomes(t *testing.T) {
	for _, path := range examplePolicies(t) {
		testsPath := strings.TrimSuffix(path, ".yaml") + ".tests.yaml"
		data, err := os.ReadFile(testsPath)
		if err != nil {
			t.Fatalf("%s has no tests file: %v", path, err)
		}
		p, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := parseTests(testsPath, data, p)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[protocol.Action]int{}
		keysign := 0
		for _, c := range cases {
			counts[c.action]++
			if c.typ == protocol.TypeKeySign {
				keysign++
			}
		}
		if counts[protocol.ActionApprove] == 0 || counts[protocol.ActionReject] == 0 {
			t.Errorf("%s: %d approve and %d reject cases; want at least one of each", testsPath, counts[protocol.ActionApprove], counts[protocol.ActionReject])
		}
		if keysign == 0 {
			t.Errorf("%s: no KEYSIGN case", testsPath)
		}
		// An example with limits shows one: a case stating usage, and one
		// expecting a limit's REJECT.
		if len(p.limits) > 0 {
			limitNames := map[string]bool{}
			for _, l := range p.limits {
				limitNames[l.name] = true
			}
			usage, limited := 0, 0
			for _, c := range cases {
				usage += len(c.usage)
				if c.action == protocol.ActionReject && limitNames[c.rule] {
					limited++
				}
			}
			if usage == 0 || limited == 0 {
				t.Errorf("%s: the policy has limits, but %d cases state usage and %d expect a limit's REJECT; want one of each", testsPath, usage, limited)
			}
		}
	}
}

// realVerify is the server's transaction verification with the built-in
// token table. Importing txverify here is a test-only dependency: the
// policy package itself never decodes chains.
func realVerify(r *protocol.Request) *protocol.Verification {
	return txverify.DefaultRegistry().Verify(r).Verification()
}
