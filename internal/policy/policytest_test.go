package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const runTestsPolicy = `version: 1
lists:
  owned: ["0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f"]
rules:
  - {name: heartbeat, when: 'request.type == "PING"', action: approve}
  - {name: cap, when: 'request.type == "KEYSIGN" && tx.amount > decimal("1")', action: reject, reason: "over 1"}
  - {name: owned, when: 'request.type == "KEYSIGN" && tx.destinations.all(d, d.address in lists.owned)', action: approve}
  - {name: node-a-keygen, when: 'request.type == "KEYGEN" && request.node_key == "node-a" && detail.threshold == 2', action: approve}
  - {name: night, mode: shadow, when: 'now.getHours("UTC") < 6', action: reject}
`

func TestRunTests(t *testing.T) {
	tests := `now: "2026-01-05T10:00:00Z"
tests:
  - name: ping passes
    request: {type: ping}
    expect: {action: approve, rule: heartbeat}
  - name: sample keysign passes
    request: {type: keysign, version: v1}
    expect: {action: approve, rule: owned, shadow_matched: []}
  - name: patched amount passes
    request:
      type: keysign
      extra_patch: {transaction: {destination: {account_output: {amount: 1.5}}}}
    expect: {action: reject, rule: cap, reason_contains: "over 1"}
  - name: detail from a file passes
    request:
      type: keygen
      node_key: node-a
      detail_file: keygen.json
      extra: {}
    expect: {action: approve, rule: node-a-keygen}
  - name: night shadow passes
    request: {type: ping}
    now: "2026-01-05T03:00:00Z"
    expect: {action: approve, shadow_matched: [night]}
  - name: wrong action fails
    request: {type: keygen}
    expect: {action: approve}
  - name: wrong rule fails
    request: {type: ping}
    expect: {action: approve, rule: owned}
  - name: wrong reason fails
    request:
      type: keysign
      extra_patch: {transaction: {destination: {account_output: {amount: "2"}}}}
    expect: {action: reject, reason_contains: "over 2"}
  - name: wrong shadow fails
    request: {type: ping}
    expect: {action: approve, shadow_matched: [night]}
  - name: undecodable request fails
    request:
      type: keysign
      extra_patch: {transaction: {destination: {account_output: {amount: "-1"}}}}
    expect: {action: reject}
`
	dir := writeFiles(t, map[string]string{
		"policy.yaml": runTestsPolicy,
		"tests.yaml":  tests,
		"keygen.json": `{"threshold": 2, "node_ids": ["a", "b", "c"], "curve": 0, "task_id": "t1"}`,
	})
	p, err := Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	testsPath := filepath.Join(dir, "tests.yaml")
	passed, failed, err := RunTestsVerifying(p, testsPath, &out, assumedVerification)
	if err != nil {
		t.Fatal(err)
	}
	if passed != 5 || failed != 5 {
		t.Fatalf("passed %d, failed %d; want 5 and 5\n%s", passed, failed, out.String())
	}
	want := []string{
		"PASS  ping passes\n",
		"PASS  sample keysign passes\n",
		"PASS  patched amount passes\n",
		"PASS  detail from a file passes\n",
		"PASS  night shadow passes\n",
		"FAIL  wrong action fails (" + testsPath + ":25): want APPROVE, got REJECT by rule \"default\"",
		"FAIL  wrong rule fails (" + testsPath + ":28): want APPROVE by rule \"owned\", got APPROVE by rule \"heartbeat\"",
		"FAIL  wrong reason fails (" + testsPath + ":31): want a reason containing \"over 2\"; reason: over 1",
		"FAIL  wrong shadow fails (" + testsPath + ":36): want shadow matches [night], got []",
		"FAIL  undecodable request fails (" + testsPath + ":39): the request does not decode",
		"5 passed, 5 failed (policy policy.yaml, version " + p.Version() + ")\n",
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestRunTestsMalformed: a malformed tests file is an error naming file and
// line, and runs nothing.
func TestRunTestsMalformed(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"not YAML", "tests: [\n", "tests.yaml:1: yaml: line 1: did not find expected node content"},
		{"no tests", "now: \"2026-01-05T10:00:00Z\"\n", "tests.yaml:1: tests: missing"},
		{"empty tests", "tests: []\n", "tests.yaml:1: tests: no test cases"},
		{"unknown top key", "test: []\n", "tests.yaml:1: test: unknown key"},
		{"unknown case key", "tests:\n  - name: a\n    request: {type: ping}\n    expect: {action: approve}\n    expected: {}\n", `tests.yaml:5: test "a": expected: unknown key`},
		{"missing name", "tests:\n  - request: {type: ping}\n    expect: {action: approve}\n", "tests.yaml:2: tests[0]: name: missing"},
		{"duplicate name", "tests:\n  - {name: a, request: {type: ping}, expect: {action: approve}}\n  - {name: a, request: {type: ping}, expect: {action: approve}}\n", `tests.yaml:3: tests[1]: name: duplicate test name (first used on line 2)`},
		{"missing request", "tests:\n  - {name: a, expect: {action: approve}}\n", `tests.yaml:2: test "a": request: missing`},
		{"missing type", "tests:\n  - {name: a, request: {version: v2}, expect: {action: approve}}\n", `test "a": request.type: missing`},
		{"unknown type", "tests:\n  - {name: a, request: {type: keysing}, expect: {action: approve}}\n", `tests.yaml:2: test "a": request.type: protocol: unknown request type "keysing"`},
		{"bad version", "tests:\n  - {name: a, request: {type: ping, version: v3}, expect: {action: approve}}\n", `request.version: must be v1 or v2, got "v3"`},
		{"detail twice", "tests:\n  - {name: a, request: {type: keygen, detail: {}, detail_file: x.json}, expect: {action: approve}}\n", "give detail or detail_file, not both"},
		{"missing detail file", "tests:\n  - {name: a, request: {type: keygen, detail_file: nope.json}, expect: {action: approve}}\n", `tests.yaml:2: test "a": request.detail_file: open `},
		{"inexact number", "tests:\n  - name: a\n    request: {type: keygen, detail_patch: {threshold: 0x2}}\n    expect: {action: approve}\n", "request.detail_patch: line 3: 0x2 is not a plain JSON number"},
		{"missing expect", "tests:\n  - {name: a, request: {type: ping}}\n", `test "a": expect: missing`},
		{"missing action", "tests:\n  - {name: a, request: {type: ping}, expect: {rule: x}}\n", `test "a": expect.action: missing`},
		{"bad action", "tests:\n  - {name: a, request: {type: ping}, expect: {action: Approve}}\n", `expect.action: must be approve or reject (or APPROVE, REJECT), got "Approve"`},
		{"bad now", "tests:\n  - {name: a, request: {type: ping}, now: tomorrow, expect: {action: approve}}\n", `tests.yaml:2: test "a": now: must be an RFC 3339 time`},
	}
	p := mustParse(t, runTestsPolicy, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"tests.yaml": tc.src})
			path := filepath.Join(dir, "tests.yaml")
			var out bytes.Buffer
			passed, failed, err := RunTests(p, path, &out)
			if err == nil {
				t.Fatalf("RunTests accepted a malformed file (%d passed, %d failed):\n%s", passed, failed, out.String())
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %T, want *LoadError", err)
			}
			want := strings.ReplaceAll(tc.want, "tests.yaml", path)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not contain %q:\n%v", want, err)
			}
			if passed+failed != 0 || out.Len() != 0 {
				t.Fatalf("a malformed file ran cases: %d passed, %d failed, output %q", passed, failed, out.String())
			}
		})
	}
	if _, _, err := RunTests(p, filepath.Join(t.TempDir(), "missing.yaml"), &bytes.Buffer{}); err == nil {
		t.Fatal("RunTests on a missing file returned no error")
	}
}

func TestNodeToJSON(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{`{a: 1, b: 0.0001, c: "0.0001", d: true, e: null, f: [1, x]}`, `{"a":1,"b":0.0001,"c":"0.0001","d":true,"e":null,"f":[1,"x"]}`},
		{`{amount: 123456789012345678901234567890.000000000000000001}`, `{"amount":123456789012345678901234567890.000000000000000001}`},
		{`{x: -1.5e-3}`, `{"x":-1.5e-3}`},
		{`{x: 'it''s'}`, `{"x":"it's"}`},
	}
	for _, tc := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
			t.Fatal(err)
		}
		got, err := nodeToJSON(n.Content[0])
		if err != nil || string(got) != tc.want {
			t.Errorf("nodeToJSON(%s) = %s, %v; want %s", tc.yaml, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{x: .inf}`, `{x: 1_000}`, `{x: +1}`, `{x: 017}`, `{x: 0o17}`} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &n); err != nil {
			t.Fatal(err)
		}
		if got, err := nodeToJSON(n.Content[0]); err == nil {
			t.Errorf("nodeToJSON(%s) = %s, want an error", bad, got)
		}
	}
}

func TestMergePatch(t *testing.T) {
	tests := []struct{ base, patch, want string }{
		{`{"a":1,"b":{"c":2,"d":3}}`, `{"b":{"c":9,"d":null},"e":[1]}`, `{"a":1,"b":{"c":9},"e":[1]}`},
		{`{"a":{"b":1}}`, `{"a":5}`, `{"a":5}`},
		{`{"a":5}`, `{"a":{"b":1}}`, `{"a":{"b":1}}`},
		{``, `{"a":0.10}`, `{"a":0.10}`},
		{`{"n":123456789012345678901234567890}`, `{}`, `{"n":123456789012345678901234567890}`},
	}
	for _, tc := range tests {
		got, err := mergePatch([]byte(tc.base), []byte(tc.patch))
		if err != nil || string(got) != tc.want {
			t.Errorf("mergePatch(%s, %s) = %s, %v; want %s", tc.base, tc.patch, got, err, tc.want)
		}
	}
	if got, err := mergePatch([]byte(`{"a":1}`), nil); err != nil || string(got) != `{"a":1}` {
		t.Errorf("nil patch changed the base: %s, %v", got, err)
	}
}

// `policy test` runs serve's pipeline with a temporary decision store:
// velocity limits count across the cases of a file, each case at its
// clock; a request_id asked again is answered from the record; and the
// temporary store is gone when the run ends.
func TestRunTestsThroughThePipeline(t *testing.T) {
	pol := `version: 1
rules:
  - {name: keygens, when: 'request.type == "KEYGEN"', action: approve}
limits:
  - name: one-keygen-an-hour
    when: request.type == "KEYGEN"
    key: [request.type]
    window: 1h
    amount: decimal("1")
    max_count: 1
`
	tests := `now: "2026-01-05T10:00:00Z"
tests:
  - name: first keygen approves
    request: {type: keygen, id: g-1}
    expect: {action: approve, rule: keygens}
  - name: second keygen in the hour is over the limit
    request: {type: keygen, id: g-2}
    now: "2026-01-05T10:59:00Z"
    expect: {action: reject, rule: one-keygen-an-hour}
  - name: a keygen after the window approves
    request: {type: keygen, id: g-3}
    now: "2026-01-05T11:01:00Z"
    expect: {action: approve, rule: keygens}
  - name: a retry of g-1 is answered from the record
    request: {type: keygen, id: g-1}
    expect: {action: approve, rule: keygens}
  - name: g-1 reused for other content is refused
    request: {type: keygen, id: g-1, detail_patch: {threshold: 3}}
    expect: {action: reject, rule: "builtin:request-id-reused"}
`
	dir := writeFiles(t, map[string]string{"policy.yaml": pol, "tests.yaml": tests})
	p, err := Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out bytes.Buffer
	passed, failed, err := RunTests(p, filepath.Join(dir, "tests.yaml"), &out)
	if err != nil || passed != 5 || failed != 0 {
		t.Fatalf("passed %d, failed %d, err %v:\n%s", passed, failed, err, out.String())
	}
	left, err := os.ReadDir(tmp)
	if err != nil || len(left) != 0 {
		t.Fatalf("the temporary decision store was left behind: %v, %v", left, err)
	}
}
