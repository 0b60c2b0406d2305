package governance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"tssgate/internal/policy"
	"tssgate/internal/regfile"
)

// maxFileSize bounds a governance, bundle or key file: a governance file
// of a hundred approvers is a few kilobytes; the bound only stops a wrong
// path from being read into memory.
const maxFileSize = 1 << 20

// Approver is one person who may sign: a name unique in its governance
// file and an Ed25519 public key unique in it.
type Approver struct {
	// Name is how logs, the decision log and verify name the approver.
	Name string
	// Key is the approver's Ed25519 public key.
	Key ed25519.PublicKey
	// Fingerprint is the key's OpenSSH SHA-256 fingerprint
	// ("SHA256:..."), as ssh-keygen -l prints it.
	Fingerprint string
}

// Governance is a parsed governance file: who may sign, and how many must.
// It is immutable once parsed.
type Governance struct {
	// Name is the file's base name, as its manifest names it.
	Name string
	// SHA256 is the lower-case hex SHA-256 of the file's bytes.
	SHA256 string
	// Content is the file's bytes, as the store keeps the governance in
	// force.
	Content []byte
	// Threshold is how many distinct approvers must sign.
	Threshold int
	// Deployment is the optional deployment name ("" when the file names
	// none). When set, every manifest signed under this governance carries
	// a "deployment NAME" line, so that a signature made for another
	// deployment governed by the same approvers never counts here.
	Deployment string
	// Approvers are the file's approvers in file order.
	Approvers []Approver
	// Serial is the file's optional top-level "serial: N" (0 when it has
	// none). A change to another governance needs a serial greater than
	// the one in force (see serve), so that the signatures of an earlier
	// change cannot put a governance back after it was replaced: G0 -> G1
	// -> G0 again would otherwise make the first change's manifest valid
	// once more.
	Serial uint64
}

// Error is a problem in a governance file: the file, the line (0 when
// none applies) and the field, then what is wrong.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and parses the governance file at path (see Parse).
func Load(path string) (*Governance, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("governance file: %w", err)
	}
	return Parse(filepath.Base(path), data)
}

// Parse parses a governance file's bytes; name is how errors and the
// manifest name it. It returns an *Error for: YAML that is not a mapping
// of threshold, approvers and an optional deployment; a deployment name
// that is not 1 to 64 of [A-Za-z0-9._-]; an approver without a name or
// key, or with another field; a name that is not 1 to 64 of
// [A-Za-z0-9._@-] (what verify, logs and audit show print must be what a
// person reads: no control, invisible or bidirectional characters); a key
// that is not one "ssh-ed25519 BASE64 [comment]" line, or whose point is
// not canonically encoded or has small order (see ParsePublicKey);
// duplicate names or keys; a threshold below 1 or above the number of
// approvers; a serial that is not a positive decimal integer of at most
// 15 digits without sign or leading zero.
func Parse(name string, data []byte) (*Governance, error) {
	errAt := func(line int, field, format string, a ...any) error {
		return &Error{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errAt(0, "", "empty file: want threshold and approvers")
		}
		return nil, errAt(0, "", "not YAML: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errAt(extra.Line, "", "more than one YAML document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root.Line, "", "want a mapping with threshold and approvers")
	}
	g := &Governance{Name: name, Content: append([]byte(nil), data...)}
	sum := sha256.Sum256(data)
	g.SHA256 = hex.EncodeToString(sum[:])
	var thresholdNode, approversNode, deploymentNode, serialNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "deployment":
			if deploymentNode != nil {
				return nil, errAt(k.Line, "deployment", "given twice")
			}
			deploymentNode = v
		case "serial":
			if serialNode != nil {
				return nil, errAt(k.Line, "serial", "given twice")
			}
			serialNode = v
		case "threshold":
			if thresholdNode != nil {
				return nil, errAt(k.Line, "threshold", "given twice")
			}
			thresholdNode = v
		case "approvers":
			if approversNode != nil {
				return nil, errAt(k.Line, "approvers", "given twice")
			}
			approversNode = v
		default:
			return nil, errAt(k.Line, k.Value, "unknown field; a governance file has threshold, approvers and an optional deployment and serial")
		}
	}
	if deploymentNode != nil {
		if deploymentNode.Kind != yaml.ScalarNode || deploymentNode.Tag != "!!str" || !validToken(deploymentNode.Value, 64, "._-") {
			return nil, errAt(deploymentNode.Line, "deployment", "want a name of 1 to 64 letters, digits, '.', '_' or '-', got %q", deploymentNode.Value)
		}
		g.Deployment = deploymentNode.Value
	}
	if serialNode != nil {
		n, ok := policy.ParseSerial(serialNode)
		if !ok {
			return nil, errAt(serialNode.Line, "serial", "want a positive decimal integer (1, 2, ...; at most %d digits, no sign or leading zero), got %q", policy.MaxSerialDigits, serialNode.Value)
		}
		g.Serial = n
	}
	if approversNode == nil {
		return nil, errAt(root.Line, "approvers", "missing")
	}
	if approversNode.Kind != yaml.SequenceNode || len(approversNode.Content) == 0 {
		return nil, errAt(approversNode.Line, "approvers", "want a non-empty list of {name, key}")
	}
	names, keys := map[string]int{}, map[string]string{}
	for i, a := range approversNode.Content {
		field := fmt.Sprintf("approvers[%d]", i)
		if a.Kind != yaml.MappingNode {
			return nil, errAt(a.Line, field, "want a mapping {name, key}")
		}
		var ap Approver
		var keyLine int
		for j := 0; j+1 < len(a.Content); j += 2 {
			k, v := a.Content[j], a.Content[j+1]
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				return nil, errAt(v.Line, field+"."+k.Value, "want a string")
			}
			switch k.Value {
			case "name":
				if ap.Name != "" {
					return nil, errAt(k.Line, field+".name", "given twice")
				}
				if !validToken(v.Value, 64, "._@-") {
					return nil, errAt(v.Line, field+".name", "want a name of 1 to 64 letters, digits, '.', '_', '@' or '-' (ASCII), got %q", v.Value)
				}
				ap.Name = v.Value
			case "key":
				if ap.Key != nil {
					return nil, errAt(k.Line, field+".key", "given twice")
				}
				key, err := ParsePublicKey(v.Value)
				if err != nil {
					return nil, errAt(v.Line, field+".key", "%v", err)
				}
				ap.Key, keyLine = key, v.Line
			default:
				return nil, errAt(k.Line, field+"."+k.Value, "unknown field; an approver has name and key")
			}
		}
		if ap.Name == "" {
			return nil, errAt(a.Line, field+".name", "missing")
		}
		if ap.Key == nil {
			return nil, errAt(a.Line, field+".key", "missing")
		}
		if first, dup := names[ap.Name]; dup {
			return nil, errAt(a.Line, field+".name", "duplicate name %q (also approvers[%d])", ap.Name, first)
		}
		names[ap.Name] = i
		if other, dup := keys[string(ap.Key)]; dup {
			return nil, errAt(keyLine, field+".key", "the same key as approver %q: one key is one approver", other)
		}
		keys[string(ap.Key)] = ap.Name
		ap.Fingerprint = Fingerprint(ap.Key)
		g.Approvers = append(g.Approvers, ap)
	}
	if thresholdNode == nil {
		return nil, errAt(root.Line, "threshold", "missing")
	}
	if thresholdNode.Kind != yaml.ScalarNode || thresholdNode.Tag != "!!int" {
		return nil, errAt(thresholdNode.Line, "threshold", "want an integer, got %q", thresholdNode.Value)
	}
	var t int
	if err := thresholdNode.Decode(&t); err != nil {
		return nil, errAt(thresholdNode.Line, "threshold", "want an integer: %v", err)
	}
	if t < 1 || t > len(g.Approvers) {
		return nil, errAt(thresholdNode.Line, "threshold", "must be between 1 and the number of approvers (%d), got %d", len(g.Approvers), t)
	}
	g.Threshold = t
	return g, nil
}

// validToken reports whether s is 1 to max ASCII letters, digits or bytes
// of extra: names people read in verify's output, logs and audit show
// must print as what they are.
func validToken(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// ParsePublicKey parses one OpenSSH public key line ("ssh-ed25519 BASE64
// [comment]", as in id_ed25519.pub) and returns the Ed25519 key. Other
// key types are refused: tssgate verifies Ed25519 signatures only. So are
// keys that are not a canonically encoded point of large order (see
// checkPoint).
func ParsePublicKey(line string) (ed25519.PublicKey, error) {
	line = strings.TrimSpace(line)
	if strings.ContainsAny(line, "\r\n") {
		return nil, errors.New("want one OpenSSH public key line")
	}
	pk, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("not an OpenSSH public key line (want \"ssh-ed25519 AAAA... comment\"): %v", err)
	}
	if len(options) > 0 || len(rest) > 0 {
		return nil, errors.New("want exactly one public key, without authorized_keys options")
	}
	if pk.Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("key type %s: only ssh-ed25519 keys are accepted", pk.Type())
	}
	return keyFromWire(pk.Marshal())
}

// keyFromWire reads an SSH wire-format public key blob that must be
// ssh-ed25519 with 32 key bytes, and nothing after it.
func keyFromWire(blob []byte) (ed25519.PublicKey, error) {
	r := reader{b: blob}
	typ, ok1 := r.string()
	key, ok2 := r.string()
	if !ok1 || !ok2 || len(r.b) != 0 {
		return nil, errors.New("malformed public key blob")
	}
	if string(typ) != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("key type %q: only ssh-ed25519 keys are accepted", typ)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ssh-ed25519 key of %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	if err := checkPoint(key); err != nil {
		return nil, err
	}
	return ed25519.PublicKey(append([]byte(nil), key...)), nil
}

// checkPoint refuses an Ed25519 public key that is not a point of the
// curve, is not its point's canonical encoding, or has small order.
// crypto/ed25519 checks only the length: for a small-order key (the
// identity, for one) a signature anyone can write without a private key
// verifies over every message, and the several encodings of one point are
// different bytes, which the duplicate-key check would count as several
// approvers. A real key (a multiple of the base point) passes.
func checkPoint(key []byte) error {
	p, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return errors.New("ssh-ed25519 key is not a point of the Ed25519 curve")
	}
	// SetBytes accepts non-canonical encodings (y >= p): re-encoding
	// shows them.
	if !bytes.Equal(p.Bytes(), key) {
		return errors.New("ssh-ed25519 key is a non-canonical encoding of its point: refused (a real key is always canonical)")
	}
	// The cofactor is 8: a point whose multiple by 8 is the identity has
	// order 1, 2, 4 or 8.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errors.New("ssh-ed25519 key is a small-order point, for which signatures can be forged without a private key: refused")
	}
	return nil
}

// wireKey is an Ed25519 key's SSH wire format.
func wireKey(k ed25519.PublicKey) []byte {
	var b []byte
	b = appendString(b, []byte(ssh.KeyAlgoED25519))
	return appendString(b, k)
}

// Fingerprint is k's OpenSSH SHA-256 fingerprint, "SHA256:" and the
// unpadded base64 of the SHA-256 of the key's wire format, as ssh-keygen
// -l prints it.
func Fingerprint(k ed25519.PublicKey) string {
	pk, err := ssh.NewPublicKey(k)
	if err != nil {
		return "invalid key"
	}
	return ssh.FingerprintSHA256(pk)
}

// Approver returns the approver holding key, if any.
func (g *Governance) Approver(key ed25519.PublicKey) (Approver, bool) {
	for _, a := range g.Approvers {
		if a.Key.Equal(key) {
			return a, true
		}
	}
	return Approver{}, false
}

// readLimited reads a whole regular file, refusing anything over
// maxFileSize (see ReadRegularFile).
func readLimited(path string) ([]byte, error) { return ReadRegularFile(path, maxFileSize) }

// ReadRegularFile reads the whole regular file at path, refusing one over
// limit bytes and, without blocking, anything that is not a regular file
// (regfile.Read): a named pipe put where a bundle, governance file, key or
// signature is read must not hang serve's start or reload. Errors wrap the
// fs errors (fs.ErrNotExist for a missing file).
func ReadRegularFile(path string, limit int64) ([]byte, error) { return regfile.Read(path, limit) }
