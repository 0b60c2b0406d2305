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
	// Deployment is the name on the "deployment" line: the deployment
	// name of the governance the manifest is signed under, "" (no line)
	// when that governance names none.
	Deployment string
	// Replaces is, in a governance change's manifest, the SHA-256 of the
	// governance in force that the change replaces (the "replaces" line);
	// "" in a policy manifest.
	Replaces string
	Items    []Item
	// Text is the manifest's one spelling (see the package doc).
	Text []byte
}

// SHA256 is the lower-case hex SHA-256 of m.Text.
func (m *Manifest) SHA256() string {
	s := sha256.Sum256(m.Text)
	return hex.EncodeToString(s[:])
}

// NewManifest builds the manifest of items without deployment or
// replaces line (see NewManifestFor).
func NewManifest(items []Item) (*Manifest, error) { return NewManifestFor("", "", items) }

// NewManifestFor builds the manifest of items with a "deployment NAME"
// line when deployment is not "" and a "replaces SHA256" line when
// replaces is not "", refusing a kind or name that would make the text
// ambiguous (empty, or containing a newline or carriage return), a
// deployment that is not a valid deployment name, and a hash that is not
// 64 lower-case hex digits.
func NewManifestFor(deployment, replaces string, items []Item) (*Manifest, error) {
	var b strings.Builder
	b.WriteString(manifestHeader + "\n")
	if deployment != "" {
		if !validToken(deployment, 64, "._-") {
			return nil, fmt.Errorf("manifest: bad deployment name %q", deployment)
		}
		fmt.Fprintf(&b, "deployment %s\n", deployment)
	}
	if replaces != "" {
		if !isHexSHA256(replaces) {
			return nil, fmt.Errorf("manifest: bad SHA-256 %q of the governance replaced", replaces)
		}
		fmt.Fprintf(&b, "replaces %s\n", replaces)
	}
	for _, it := range items {
		if it.Kind == "" || strings.ContainsAny(it.Kind, " \r\n") {
			return nil, fmt.Errorf("manifest: bad kind %q", it.Kind)
		}
		if err := DisplaySafeName(it.Name); err != nil {
			return nil, fmt.Errorf("manifest: file name %q: %w", it.Name, err)
		}
		if !isHexSHA256(it.SHA256) {
			return nil, fmt.Errorf("manifest: %s: bad SHA-256 %q", it.Name, it.SHA256)
		}
		fmt.Fprintf(&b, "%s %s %s\n", it.Kind, it.SHA256, it.Name)
	}
	return &Manifest{Deployment: deployment, Replaces: replaces, Items: append([]Item(nil), items...), Text: []byte(b.String())}, nil
}

// DisplaySafeName returns an error unless name is what approvers can
// read as it is: 1 to 4096 bytes of printable ASCII (0x20 to 0x7e), not
// starting or ending with a space. Approvers compare the names and
// hashes `tssgate policy manifest` prints with their own copy of the
// files before they sign; a control character (a terminal escape can
// rewrite the line shown), a bidirectional override, an invisible or
// other non-ASCII character would let the text shown differ from the
// text signed. Spaces inside are unambiguous: the name is the rest of
// its line.
func DisplaySafeName(name string) error {
	if name == "" {
		return fmt.Errorf("empty")
	}
	if len(name) > 4096 {
		return fmt.Errorf("longer than 4096 bytes")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("byte %d (0x%02x) is not printable ASCII: file names in a manifest must be printable ASCII (no control, invisible, bidirectional or other non-ASCII characters), so that what approvers read is what they sign; rename the file", i, c)
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return fmt.Errorf("starts or ends with a space; rename the file")
	}
	return nil
}

func isHexSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// PolicyManifest is the manifest of p signed under the governance g: the
// policy file and every list file it names, hashed from the bytes p was
// compiled from, after g's deployment line when g names a deployment. g
// may be nil (no governance known: no deployment line); serve always
// passes the governance in force.
func PolicyManifest(p *policy.Policy, g *Governance) (*Manifest, error) {
	var items []Item
	for _, s := range p.Sources() {
		items = append(items, Item{Kind: s.Kind, SHA256: s.SHA256, Name: s.Name})
	}
	return NewManifestFor(deploymentOf(g), "", items)
}

// ChangeManifest is the manifest of a change from the governance in force
// to next: inForce's deployment line (when it names one), the line
// "replaces <inForce's sha256>", and the one item "governance <sha256>
// <name>" of next. Approvers of inForce sign it. Naming the governance
// replaced binds the signatures to this one step: after G0 -> G1 -> G2,
// the signatures that made G1 replace G0 are over "replaces <G0>" and do
// not verify for a change from G2 back to G1.
func ChangeManifest(next, inForce *Governance) (*Manifest, error) {
	if inForce == nil {
		return nil, fmt.Errorf("manifest: a governance change needs the governance in force it replaces")
	}
	return NewManifestFor(inForce.Deployment, inForce.SHA256, []Item{{Kind: "governance", SHA256: next.SHA256, Name: next.Name}})
}

func deploymentOf(g *Governance) string {
	if g == nil {
		return ""
	}
	return g.Deployment
}
