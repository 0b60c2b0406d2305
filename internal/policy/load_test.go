package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/protocol"
)

// TestLoadRefuses lists what makes a policy unloadable; each error must name
// the file, the line and, where there is one, the rule.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		files map[string]string // list files next to the policy
		want  []string          // substrings of the error
	}{
		{
			name: "compile error",
			src:  "version: 1\nrules:\n  - name: too-large\n    when: request.type == \"KEYSIGN\" && tx.amount >\n    action: reject\n",
			want: []string{`test.yaml:4: rule "too-large": when: ERROR: when:1:`},
		},
		{
			name: "misspelt tx field",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'tx.amout > decimal(\"1\")'\n    action: reject\n",
			want: []string{`test.yaml:4: rule "cap": when:`, "undefined field 'amout'"},
		},
		{
			name: "misspelt request field",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'request.typ == \"PING\"'\n    action: approve\n",
			want: []string{`test.yaml:4: rule "t": when:`, "undefined field 'typ'"},
		},
		{
			name: "misspelt destination field",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'tx.destinations.all(d, d.adress != \"\")'\n    action: approve\n",
			want: []string{`rule "t"`, "undefined field 'adress'"},
		},
		{
			name: "undeclared variable",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'transaction.amount > 1'\n    action: approve\n",
			want: []string{`rule "t"`, "undeclared reference to 'transaction'"},
		},
		{
			name: "unknown list",
			src:  "version: 1\nlists:\n  treasury: [a]\nrules:\n  - name: t\n    when: '\"x\" in lists.tresury'\n    action: approve\n",
			want: []string{`test.yaml:6: rule "t": when: unknown list "tresury" (when:1:`, "known lists: treasury"},
		},
		{
			name: "unknown list with no lists",
			src:  "version: 1\nrules:\n  - name: t\n    when: '\"x\" in lists.owned'\n    action: approve\n",
			want: []string{`unknown list "owned"`, "known lists: none"},
		},
		{
			name: "when is not bool",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'tx.amount'\n    action: approve\n",
			want: []string{`test.yaml:4: rule "t": when: must be a bool expression, but it is decimal`},
		},
		{
			name: "when is a string",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'request.type'\n    action: approve\n",
			want: []string{"must be a bool expression, but it is string"},
		},
		{
			name: "decimal compared with int",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'tx.amount > 100'\n    action: reject\n",
			want: []string{`rule "cap"`, "no matching overload for '_>_' applied to '(decimal, int)'"},
		},
		{
			name: "decimal compared with double",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'tx.amount > 1.5'\n    action: reject\n",
			want: []string{"no matching overload for '_>_' applied to '(decimal, double)'"},
		},
		{
			name: "decimal converted to double",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'double(tx.amount) > 1.5'\n    action: reject\n",
			want: []string{"found no matching overload for 'double' applied to '(decimal)'"},
		},
		{
			name: "decimal from a double",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'tx.amount > decimal(1.5)'\n    action: reject\n",
			want: []string{"found no matching overload for 'decimal' applied to '(double)'"},
		},
		{
			name: "bad decimal literal",
			src:  "version: 1\nrules:\n  - name: cap\n    when: 'tx.amount > decimal(\"1OO\")'\n    action: reject\n",
			want: []string{`test.yaml:4: rule "cap": when: decimal("1OO"):`, "invalid syntax", "(when:1:"},
		},
		{
			name: "constructing a request",
			src:  "version: 1\nrules:\n  - name: t\n    when: 'tssgate.Request{id: \"x\"}.id == \"x\"'\n    action: approve\n",
			want: []string{`test.yaml:4: rule "t": when: creating tssgate.Request values is not supported (when:1:`},
		},
		{
			name: "duplicate rule name",
			src:  "version: 1\nrules:\n  - {name: a, when: 'true', action: approve}\n  - {name: a, when: 'false', action: reject}\n",
			want: []string{`test.yaml:4: rule "a": name: duplicate rule name (first used on line 3)`},
		},
		{
			name: "reserved rule name",
			src:  "version: 1\nrules:\n  - {name: default, when: 'true', action: approve}\n",
			want: []string{`test.yaml:3: rule "default": name: "default" is reserved`},
		},
		{
			name: "the verification gate's name is reserved",
			src:  "version: 1\nrules:\n  - {name: verify, when: 'true', action: approve}\n",
			want: []string{`test.yaml:3: rule "verify": name: "verify" is reserved`},
		},
		{
			name: "empty rule name",
			src:  "version: 1\nrules:\n  - {name: '', when: 'true', action: approve}\n",
			want: []string{"test.yaml:3: rule \"rules[0]\": name: must be non-empty"},
		},
		{
			name: "missing name, when and action",
			src:  "version: 1\nrules:\n  - {mode: live}\n",
			want: []string{"name: missing", "when: missing", "action: missing"},
		},
		{
			name: "bad action",
			src:  "version: 1\nrules:\n  - {name: a, when: 'true', action: allow}\n",
			want: []string{`test.yaml:3: rule "a": action: must be approve or reject, got "allow"`},
		},
		{
			name: "bad mode",
			src:  "version: 1\nrules:\n  - {name: a, when: 'true', action: approve, mode: dry-run}\n",
			want: []string{`rule "a": mode: must be live or shadow, got "dry-run"`},
		},
		{
			name: "reason on an approve rule",
			src:  "version: 1\nrules:\n  - {name: a, when: 'true', action: approve, reason: fine}\n",
			want: []string{`rule "a": reason: only reject rules carry a reason`},
		},
		{
			name: "when not a string",
			src:  "version: 1\nrules:\n  - {name: a, when: true, action: approve}\n",
			want: []string{`test.yaml:3: rule "a": when: must be a string, got bool true`},
		},
		{
			name: "unknown rule key",
			src:  "version: 1\nrules:\n  - name: a\n    when: 'true'\n    action: approve\n    priority: 1\n",
			want: []string{`test.yaml:6: rule "a": priority: unknown key`},
		},
		{
			name: "duplicate rule key",
			src:  "version: 1\nrules:\n  - name: a\n    when: 'true'\n    when: 'false'\n    action: approve\n",
			want: []string{`test.yaml:5: rule "a": when: duplicate key`},
		},
		{
			name: "unknown top-level key",
			src:  "version: 1\ndefualt: approve\n",
			want: []string{"test.yaml:2: defualt: unknown key"},
		},
		{
			name: "limits must be a list",
			src:  "version: 1\nlimits:\n  daily: {amount: \"100\"}\n",
			want: []string{"test.yaml:3: limits: must be a list of limits"},
		},
		{
			name: "missing version",
			src:  "default: reject\n",
			want: []string{"test.yaml:1: version: missing"},
		},
		{
			name: "wrong version",
			src:  "version: 2\n",
			want: []string{"test.yaml:1: version: must be 1, got int 2"},
		},
		{
			name: "version as a string",
			src:  "version: \"1\"\n",
			want: []string{`version: must be 1, got "1"`},
		},
		{
			name: "bad default",
			src:  "version: 1\ndefault: allow\n",
			want: []string{`test.yaml:2: default: must be approve or reject, got "allow"`},
		},
		{
			name: "rules not a list",
			src:  "version: 1\nrules: {a: 1}\n",
			want: []string{"test.yaml:2: rules: must be a list of rules"},
		},
		{
			name: "list entry not a string",
			src:  "version: 1\nlists:\n  ids:\n    - abc\n    - 0x1234\n",
			want: []string{`test.yaml:5: list "ids": entries must be strings, got int 0x1234 (quote it)`},
		},
		{
			name: "list entry is a mapping",
			src:  "version: 1\nlists:\n  ids: [abc, {x: 1}]\n",
			want: []string{`test.yaml:3: list "ids": entries must be strings, got a mapping`},
		},
		{
			name: "bad list name",
			src:  "version: 1\nlists:\n  my-list: [a]\n",
			want: []string{`test.yaml:3: lists: "my-list" is not a valid list name`},
		},
		{
			name: "reserved list name",
			src:  "version: 1\nlists:\n  in: [a]\n",
			want: []string{`"in" is a reserved word`},
		},
		{
			name: "unknown list key",
			src:  "version: 1\nlists:\n  ids: {path: ids.txt}\n",
			want: []string{`test.yaml:3: list "ids": path: unknown key (known keys: file)`},
		},
		{
			name: "missing list file",
			src:  "version: 1\nlists:\n  ids: {file: nowhere.txt}\n",
			want: []string{`test.yaml:3: list "ids": file: open `, "nowhere.txt"},
		},
		{
			name:  "list file entry with whitespace",
			src:   "version: 1\nlists:\n  ids: {file: ids.txt}\n",
			files: map[string]string{"ids.txt": "# ids\nabc\nd e f\n"},
			want:  []string{`ids.txt:3: list "ids": entry "d e f" contains whitespace`},
		},
		{
			name: "two YAML documents",
			src:  "version: 1\n---\nversion: 1\n",
			want: []string{"more than one YAML document"},
		},
		{
			name: "empty file",
			src:  "",
			want: []string{"test.yaml: the file is empty"},
		},
		{
			name: "not a mapping",
			src:  "- version: 1\n",
			want: []string{"test.yaml:1: the policy must be a mapping"},
		},
		{
			name: "YAML syntax error",
			src:  "version: 1\nrules:\n  - name: a\n   when: x\n",
			want: []string{"test.yaml:2: yaml: line 2: did not find expected"},
		},
		{
			name: "every problem is reported",
			src:  "version: 1\nrules:\n  - {name: a, when: 'tx.amout > 1', action: approve}\n  - {name: b, when: 'request.typ == \"\"', action: approve}\n",
			want: []string{`test.yaml:3: rule "a"`, `test.yaml:4: rule "b"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			msg := parseErr(t, tc.src, dir)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestLoadErrorType(t *testing.T) {
	_, err := Parse("p.yaml", []byte("version: 1\ndefault: maybe\nrules: 5\n"), "")
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %T %v, want *LoadError", err, err)
	}
	if len(le.Issues) != 2 || le.Issues[0].Line != 2 || le.Issues[1].Line != 3 || le.Issues[0].File != "p.yaml" {
		t.Fatalf("Issues = %+v, want two issues on lines 2 and 3 of p.yaml", le.Issues)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestLoadListsAndVersion(t *testing.T) {
	policy := `version: 1
lists:
  inline: ["0x0F76F604FD7762BD94B48CA2523F69AB9665C97F", "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer", "TEDv9wo5epcVi7pW3rEZUa7wbtPuAKZCer"]
  nodes: {file: lists/nodes.txt}
rules:
  - name: t
    when: '"0x0f76f604fd7762bd94b48ca2523f69ab9665c97f" in lists.inline && "node-b" in lists.nodes && size(lists.nodes) == 2 && !("# not" in lists.nodes)'
    action: approve
`
	dir := writeFiles(t, map[string]string{
		"p.yaml":          policy,
		"lists/nodes.txt": "# nodes\nnode-a   # first\n\n  node-b\t\nnode-a\n",
	})
	p, err := Load(filepath.Join(dir, "p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if d := decide(t, p, ping.build(t)); d.Action != approve || d.Rule != "t" {
		t.Fatalf("got %+v, want APPROVE by t", d)
	}
	s := p.Summary()
	if s.Name != "p.yaml" || s.Version != p.Version() || s.Default != reject || len(s.Rules) != 1 ||
		s.Rules[0] != (RuleSummary{Name: "t", Line: 6, Action: approve, Mode: ModeLive}) {
		t.Fatalf("Summary = %+v", s)
	}
	wantLists := []ListSummary{{Name: "inline", Size: 2}, {Name: "nodes", Size: 2, File: filepath.Join(dir, "lists/nodes.txt")}}
	if len(s.Lists) != 2 || s.Lists[0] != wantLists[0] || s.Lists[1] != wantLists[1] {
		t.Fatalf("Summary.Lists = %+v, want %+v", s.Lists, wantLists)
	}
	text := s.String()
	for _, w := range []string{"version " + p.Version(), "default REJECT", "APPROVE live   t (line 6)", "nodes: 2 entries"} {
		if !strings.Contains(text, w) {
			t.Errorf("Summary text lacks %q:\n%s", w, text)
		}
	}

	// The version covers the list file: same bytes, same version; a list
	// change alone is a new version.
	again, err := Load(filepath.Join(dir, "p.yaml"))
	if err != nil || again.Version() != p.Version() {
		t.Fatalf("reloading unchanged files: version %q, %v; want %q", again.Version(), err, p.Version())
	}
	if err := os.WriteFile(filepath.Join(dir, "lists/nodes.txt"), []byte("node-a\nnode-b\nnode-c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := Load(filepath.Join(dir, "p.yaml"))
	if err != nil || changed.Version() == p.Version() {
		t.Fatalf("after a list change: version %q, %v; want a new version", changed.Version(), err)
	}
	if !strings.HasPrefix(p.Version(), "sha256:") || len(p.Version()) != len("sha256:")+16 {
		t.Fatalf("Version = %q, want sha256: and 16 hex digits", p.Version())
	}
}

func TestShadowSummary(t *testing.T) {
	p := mustParse(t, policyWith("default: approve\n", `
  - {name: live, when: 'false', action: reject}
  - {name: watch, mode: shadow, when: 'true', action: reject, reason: x}
`), "")
	s := p.Summary()
	if s.Default != approve || len(s.Rules) != 2 || s.Rules[1].Mode != ModeShadow || s.Rules[1].Action != reject {
		t.Fatalf("Summary = %+v", s)
	}
	if d := decide(t, p, ping.build(t)); d.Action != protocol.ActionApprove || d.Rule != RuleDefault {
		t.Fatalf("got %+v, want the default to approve", d)
	}
}
