package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestListFilePathsMustBeDisplaySafe: a list file path is the name the
// policy's manifest carries, which approvers read before they sign; one
// with a terminal escape, a bidirectional override, an invisible or
// other non-ASCII character, or a leading or trailing space is refused
// at load, naming the policy file, the line and the list.
func TestListFilePathsMustBeDisplaySafe(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		ok         bool
	}{
		{"plain", "nodes.txt", true},
		{"space inside", "node list.txt", true},
		{"subdirectory", "lists/nodes.txt", true},
		{"terminal escape", "n\x1b[2Knodes.txt", false},
		{"right-to-left override", "\u202etxt.sedon", false},
		{"zero-width space", "nodes\u200b.txt", false},
		{"non-ASCII letter", "nödes.txt", false},
		{"tab", "nodes\t.txt", false},
		{"DEL", "nodes\x7f.txt", false},
		{"leading space", " nodes.txt", false},
		{"trailing space", "nodes.txt ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{tc.path: "node-1\n"})
			// The path as a YAML double-quoted scalar with escapes, so
			// that the policy text itself stays plain ASCII.
			src := "version: 1\ndefault: reject\nlists:\n  nodes:\n    file: \"" + yamlEscape(tc.path) + "\"\nrules:\n  - name: r\n    when: request.type == 'PING'\n    action: approve\n"
			p, err := Parse("test.yaml", []byte(src), dir)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused a display-safe path %q: %v", tc.path, err)
				}
				if s := p.Sources(); len(s) != 2 || s[1].Name != tc.path {
					t.Fatalf("sources %+v", s)
				}
				return
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("path %q accepted (or not a LoadError: %v)", tc.path, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "test.yaml:5") || !strings.Contains(msg, "nodes") || !strings.Contains(msg, "file:") ||
				!(strings.Contains(msg, "printable ASCII") || strings.Contains(msg, "space")) {
				t.Fatalf("error does not name the file, line 5, the list and the field: %s", msg)
			}
		})
	}
}

// yamlEscape writes s for a YAML double-quoted scalar: control bytes as
// \xNN, runes above ASCII as \UXXXXXXXX (which YAML decodes to the same
// UTF-8), the quote and backslash escaped.
func yamlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strings.ToUpper(hex2(byte(r))))
		case r > 0x7f:
			b.WriteString(`\U`)
			for i := 28; i >= 0; i -= 4 {
				b.WriteByte("0123456789ABCDEF"[(r>>i)&0xf])
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hex2(c byte) string { return string([]byte{"0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf]}) }
