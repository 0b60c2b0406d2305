package governance

import (
	"crypto/ed25519"
	"testing"
)

// FuzzParseSignature: no input panics, and whatever parses re-verifies
// only for what it signed.
func FuzzParseSignature(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(SignWith(priv, []byte("m")))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSignature(data)
		if err != nil {
			return
		}
		if len(s.Key) != ed25519.PublicKeySize || len(s.Sig) != ed25519.SignatureSize {
			t.Fatalf("parsed a signature with a %d-byte key and a %d-byte signature", len(s.Key), len(s.Sig))
		}
		_ = s.Verify(data)
	})
}

// FuzzParseGovernance: no input panics, and a parsed governance keeps its
// invariants.
func FuzzParseGovernance(f *testing.F) {
	f.Add([]byte("threshold: 1\napprovers:\n  - {name: a, key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a\"}\n"))
	f.Add([]byte("threshold: 0\napprovers: []\n"))
	f.Add([]byte("- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		if g.Threshold < 1 || g.Threshold > len(g.Approvers) {
			t.Fatalf("threshold %d of %d approvers accepted", g.Threshold, len(g.Approvers))
		}
		names, keys := map[string]bool{}, map[string]bool{}
		for _, a := range g.Approvers {
			if names[a.Name] || keys[string(a.Key)] {
				t.Fatalf("duplicate approver %q accepted", a.Name)
			}
			names[a.Name], keys[string(a.Key)] = true, true
		}
	})
}

// FuzzSplitBundle: no input panics, and every piece it returns is one
// armored block.
func FuzzSplitBundle(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(append([]byte("# c\n"), SignWith(priv, []byte("m"))...))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := SplitBundle("b", data)
		if err != nil {
			return
		}
		for _, s := range sigs {
			if len(s) < len(armorBegin)+len(armorEnd) {
				t.Fatalf("a piece shorter than its armor: %q", s)
			}
		}
	})
}
