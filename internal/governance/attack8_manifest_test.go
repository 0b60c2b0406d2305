package governance

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestAttack8ManifestFileNamesAreDisplaySafe: approvers review what
// `tssgate policy manifest` prints before they sign it, and compare each
// line's hash with their own copy of the file. A manifest item's name
// is refused only when it holds a line break, so a list file named
// "n\x1b[2K\x1b[1Glist <hash of the reviewed nodes.txt> nodes.txt" (a
// name Linux allows, written in the policy as a YAML "\e" escape) prints
// on a terminal as a line naming the reviewed file with its expected
// hash, while the manifest signed carries the hash of the file actually
// loaded. Bidirectional overrides and invisible characters mislead the
// same way. Attack7 made approver names display-safe; the file names in
// a manifest (and policy check's output) need the same rule.
func TestAttack8ManifestFileNamesAreDisplaySafe(t *testing.T) {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	reviewed := sum("node-1\n")
	for _, tc := range []struct{ name, file string }{
		{"terminal escape rewriting the line", "n\x1b[2K\x1b[1Glist " + reviewed + " nodes.txt"},
		{"right-to-left override", "\u202etxt.sedon"},
		{"zero-width space", "nodes\u200b.txt"},
		{"NUL", "nodes.txt\x00"},
		{"vertical tab", "nodes\x0b.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewManifestFor("", "", []Item{
				{Kind: "policy", SHA256: sum("policy"), Name: "POLICY.yaml"},
				{Kind: "list", SHA256: sum("node-1\nattacker\n"), Name: tc.file},
			})
			if err == nil {
				t.Errorf("manifest item name %q accepted; it prints as:\n%s", tc.file, strings.ReplaceAll(string(m.Text), "\x1b", "ESC"))
			}
		})
	}
}
