package governance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"tssgate/internal/policy"
)

// manifestHeader is the first line of every manifest: the format and its
// version, so that a manifest of another format can never be read as one.
const manifestHeader = "tssgate-manifest v1"

// Item is one line of a manifest: a kind ("policy", "list" or
// "governance"), the full lower-case hex SHA-256 of the file and its name.
type Item struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Name   string `json:"name"`
}

// Manifest is what approvers sign: the exact bytes of Text. Its SHA256 is
// the hash the decision log records for a loaded policy.
type Manifest struct {
	Items []Item
	// Text is the manifest's one spelling (see the package doc).
	Text []byte
}

// SHA256 is the lower-case hex SHA-256 of m.Text.
func (m *Manifest) SHA256() string {
	s := sha256.Sum256(m.Text)
	return hex.EncodeToString(s[:])
}

// NewManifest builds the manifest of items, refusing a kind or name that
// would make the text ambiguous (empty, or containing a newline or
// carriage return) and a hash that is not 64 lower-case hex digits.
func NewManifest(items []Item) (*Manifest, error) {
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	for _, it := range items {
		if it.Kind == "" || strings.ContainsAny(it.Kind, " \r\n") {
			return nil, fmt.Errorf("manifest: bad kind %q", it.Kind)
		}
		if it.Name == "" || strings.ContainsAny(it.Name, "\r\n") {
			return nil, fmt.Errorf("manifest: file name %q is empty or contains a line break; rename it", it.Name)
		}
		if len(it.SHA256) != 64 || strings.Trim(it.SHA256, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("manifest: %s: bad SHA-256 %q", it.Name, it.SHA256)
		}
		fmt.Fprintf(&b, "%s %s %s\n", it.Kind, it.SHA256, it.Name)
	}
	return &Manifest{Items: append([]Item(nil), items...), Text: []byte(b.String())}, nil
}

// PolicyManifest is the manifest of p: the policy file and every list
// file it names, hashed from the bytes p was compiled from.
func PolicyManifest(p *policy.Policy) (*Manifest, error) {
	var items []Item
	for _, s := range p.Sources() {
		items = append(items, Item{Kind: s.Kind, SHA256: s.SHA256, Name: s.Name})
	}
	return NewManifest(items)
}

// GovernanceManifest is the manifest of a governance file: the one item
// "governance <sha256> <name>". A change of governance is signed over it.
func GovernanceManifest(g *Governance) (*Manifest, error) {
	return NewManifest([]Item{{Kind: "governance", SHA256: g.SHA256, Name: g.Name}})
}
