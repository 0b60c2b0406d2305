package governance

import "testing"

// TestAttack7ApproverNamesAreDisplaySafe: an approver's name is what
// policy verify, serve's start-up line, the POLICY and UNFREEZE rows and
// audit show print as "signed by ...". Parse refuses spaces, tabs, commas
// and line breaks, but not other control characters, bidirectional
// overrides or invisible characters: "bob\u200b" prints as "bob" next to
// the real bob (one person appears to have signed twice, or a second
// approver hides behind a known name), "\u202eecila" prints reversed as
// "alice", and an escape sequence rewrites the operator's terminal when
// verify prints it. Names must be printable, visible text (for example
// letters, digits, '-', '_', '.', '@').
func TestAttack7ApproverNamesAreDisplaySafe(t *testing.T) {
	_, alice := keygen(t, "alice")
	_, other := keygen(t, "other")
	for _, tc := range []struct{ name, approver string }{
		{"zero-width space", "bob\u200b"},
		{"right-to-left override", "\u202eecila"},
		{"terminal escape", "mallory\x1b[2K\x1b[1Gbob"},
		{"NUL", "bob\x00"},
		{"no-break space", "bob\u00a0jr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "threshold: 1\napprovers:\n  - {name: alice, key: \"" + alice + "\"}\n  - name: \"" + yamlEscape(tc.approver) + "\"\n    key: \"" + other + "\"\n"
			if _, err := Parse("governance.yaml", []byte(yaml)); err == nil {
				t.Errorf("approver name %q accepted", tc.approver)
			}
		})
	}
}

// yamlEscape writes s for a double-quoted YAML scalar, every rune
// outside printable ASCII as \uXXXX.
func yamlEscape(s string) string {
	var out []byte
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r >= 0x20 && r < 0x7f:
			out = append(out, byte(r))
		default:
			const hex = "0123456789abcdef"
			out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		}
	}
	return string(out)
}
