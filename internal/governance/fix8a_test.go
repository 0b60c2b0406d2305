package governance

import (
	"errors"
	"strings"
	"testing"
)

// TestGovernanceSerial: a governance file's optional serial is a positive
// decimal integer of one spelling; anything else is refused with the
// file, line and field.
func TestGovernanceSerial(t *testing.T) {
	_, alice := keygen(t, "alice")
	body := governanceYAML("1", [2]string{"alice", alice})
	for _, tc := range []struct {
		name, line string
		want       uint64
		err        string
	}{
		{"none", "", 0, ""},
		{"one", "serial: 1\n", 1, ""},
		{"large", "serial: 999999999999999\n", 999999999999999, ""},
		{"zero", "serial: 0\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"negative", "serial: -3\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"plus sign", "serial: +3\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"leading zero", "serial: 012\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"hexadecimal", "serial: 0x10\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"octal", "serial: 0o7\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"quoted", "serial: \"3\"\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"fraction", "serial: 1.5\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"16 digits", "serial: 1000000000000000\n", 0, "gov.yaml:1: serial: want a positive decimal integer"},
		{"twice", "serial: 1\nserial: 2\n", 0, "gov.yaml:2: serial: given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse("gov.yaml", []byte(tc.line+body))
			if tc.err != "" {
				var ge *Error
				if !errors.As(err, &ge) || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("Parse: got %v, want an *Error starting %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Serial != tc.want {
				t.Fatalf("serial %d, want %d", g.Serial, tc.want)
			}
		})
	}
}

// TestDisplaySafeName: what a manifest may name (the attack8 test covers
// the refusals that mislead a reader; these are the edges).
func TestDisplaySafeName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"POLICY.yaml", true},
		{"lists/node list.txt", true},
		{"~!@#$%^&*()_+{}|:<>?`-=[]\\;',./", true},
		{"", false},
		{" nodes.txt", false},
		{"nodes.txt ", false},
		{"nodes\t.txt", false},
		{"nodes\x7f.txt", false},
		{"nödes.txt", false},
		{"nodes\u2066.txt", false},
		{strings.Repeat("a", 4097), false},
	} {
		err := DisplaySafeName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("DisplaySafeName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
