package governance

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// BundleSuffix is appended to a policy or governance file's path to name
// its signature bundle: POLICY.yaml.sigs beside POLICY.yaml.
const BundleSuffix = ".sigs"

// BundlePath is the bundle of the file at path.
func BundlePath(path string) string { return path + BundleSuffix }

// SplitBundle splits a bundle's text into its armored signatures, each
// returned from its BEGIN to its END line. Lines outside a signature must
// be blank or start with '#'; anything else, a BEGIN inside a signature
// or a signature without END is an error naming name and the line.
func SplitBundle(name string, data []byte) ([][]byte, error) {
	var out [][]byte
	var cur *bytes.Buffer
	start := 0
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, line := range lines {
		n, t := i+1, strings.TrimSpace(line)
		switch {
		case cur == nil && t == armorBegin:
			cur, start = &bytes.Buffer{}, n
			cur.WriteString(t + "\n")
		case cur == nil && (t == "" || strings.HasPrefix(t, "#")):
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: want a signature (%s), a comment (#) or a blank line, got %q", name, n, armorBegin, clip(t))
		case t == armorBegin:
			return nil, fmt.Errorf("%s:%d: a signature begins inside the one begun at line %d", name, n, start)
		case t == armorEnd:
			cur.WriteString(t + "\n")
			out = append(out, cur.Bytes())
			cur = nil
		default:
			cur.WriteString(t + "\n")
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the signature begun here has no %s", name, start, armorEnd)
	}
	return out, nil
}

// ReadBundle reads and splits the bundle at path; a missing file is an
// empty bundle (nothing signed yet), any other read error is returned.
func ReadBundle(path string) ([][]byte, error) {
	data, err := readLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signature bundle: %w", err)
	}
	return SplitBundle(filepath.Base(path), data)
}

// AddToBundle adds the armored signature sig, made by signer (named in
// the comment line before it; "" for an unknown key) over the manifest
// with manifestSHA, to the bundle at path, creating it with mode 0644.
// A new signer's signature is appended; one already in the bundle by the
// same key is replaced, so that re-signing a changed manifest leaves one
// signature per approver. The file is replaced atomically (a temporary
// file renamed over it). A bundle that does not split is an error, and is
// left as it is.
func AddToBundle(path string, sig []byte, signer, manifestSHA string) error {
	parsed, err := ParseSignature(sig)
	if err != nil {
		return err
	}
	old, err := readLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		old, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("signature bundle: %w", err)
	}
	existing, err := SplitBundle(filepath.Base(path), old)
	if err != nil {
		return err
	}
	replaces := false
	for _, e := range existing {
		if s, err := ParseSignature(e); err == nil && s.Key.Equal(parsed.Key) {
			replaces = true
		}
	}
	var b bytes.Buffer
	switch {
	case len(old) == 0:
		b.WriteString("# tssgate signature bundle: armored SSH signatures (namespace " + Namespace + ") over the manifest\n")
	case !replaces:
		// Appending keeps the file as it is, comments included.
		b.Write(old)
		if !bytes.HasSuffix(old, []byte("\n")) {
			b.WriteString("\n")
		}
	default:
		// Replacing rewrites it: each kept signature gets a comment with
		// its key (the original comments cannot be matched to blocks).
		b.WriteString("# tssgate signature bundle: armored SSH signatures (namespace " + Namespace + ") over the manifest\n")
		for _, e := range existing {
			s, err := ParseSignature(e)
			if err == nil && s.Key.Equal(parsed.Key) {
				continue
			}
			if err == nil {
				fmt.Fprintf(&b, "\n# kept: signature by key %s\n", Fingerprint(s.Key))
			} else {
				b.WriteString("\n# kept: a signature that does not parse\n")
			}
			b.Write(e)
		}
	}
	who := signer
	if who == "" {
		who = "unknown signer"
	}
	fmt.Fprintf(&b, "\n# %s %s, manifest sha256 %s, added %s\n", who, Fingerprint(parsed.Key), manifestSHA, time.Now().UTC().Format(time.RFC3339))
	b.Write(sig)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing the bundle: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the bundle: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the bundle: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the bundle: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the bundle: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the bundle: %w", err)
	}
	return nil
}

// Signer is an approver whose valid signature counted toward a quorum.
type Signer struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// Result is the outcome of a quorum check.
type Result struct {
	// Signers are the distinct approvers with a valid signature, in the
	// order their first valid signature appears.
	Signers []Signer
	// Problems name each signature that did not count and why (invalid,
	// unknown key, wrong namespace, repeated approver).
	Problems []string
	// Threshold is the governance's threshold; Met reports
	// len(Signers) >= Threshold.
	Threshold int
	Met       bool
}

// Check verifies each armored signature over message and counts the
// distinct approvers of g that signed it. A signature that does not parse
// or verify, whose key no approver holds, or by an approver already
// counted is a problem, never counted.
func (g *Governance) Check(message []byte, armoredSigs [][]byte) Result {
	res := Result{Threshold: g.Threshold}
	seen := map[string]bool{}
	for i, a := range armoredSigs {
		n := i + 1
		s, err := ParseSignature(a)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("signature %d: %v", n, err))
			continue
		}
		ap, known := g.Approver(s.Key)
		if !known {
			res.Problems = append(res.Problems, fmt.Sprintf("signature %d: key %s is not an approver's: not counted", n, Fingerprint(s.Key)))
			continue
		}
		if err := s.Verify(message); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("signature %d by %s: %v: not counted", n, ap.Name, err))
			continue
		}
		if seen[ap.Name] {
			res.Problems = append(res.Problems, fmt.Sprintf("signature %d: %s signed already: counted once", n, ap.Name))
			continue
		}
		seen[ap.Name] = true
		res.Signers = append(res.Signers, Signer{Name: ap.Name, Fingerprint: ap.Fingerprint})
	}
	res.Met = len(res.Signers) >= g.Threshold
	return res
}

// Quorum is Check in the form other parts use (the unfreeze command):
// the names of the distinct approvers with a valid signature over
// message, whether there are at least Threshold of them, and every
// signature that did not count with why.
func (g *Governance) Quorum(message []byte, armoredSigs [][]byte) (signers []string, met bool, problems []string) {
	res := g.Check(message, armoredSigs)
	for _, s := range res.Signers {
		signers = append(signers, s.Name)
	}
	return signers, res.Met, res.Problems
}

// ErrNoQuorum is returned (wrapped, naming who signed and what did not
// count) by Require when fewer than the threshold signed.
var ErrNoQuorum = errors.New("governance: not enough approver signatures")

// Require is Check that returns an error wrapping ErrNoQuorum unless the
// threshold is met; what names what was checked (a manifest, a file).
func (g *Governance) Require(what string, message []byte, armoredSigs [][]byte) (Result, error) {
	res := g.Check(message, armoredSigs)
	if res.Met {
		return res, nil
	}
	names := make([]string, len(res.Signers))
	for i, s := range res.Signers {
		names[i] = s.Name
	}
	signed := "nobody"
	if len(names) > 0 {
		signed = strings.Join(names, ", ")
	}
	msg := fmt.Sprintf("%s: %d of %d required approver signatures (signed: %s)", what, len(res.Signers), g.Threshold, signed)
	if len(res.Problems) > 0 {
		msg += "; " + strings.Join(res.Problems, "; ")
	}
	return res, fmt.Errorf("%w: %s", ErrNoQuorum, msg)
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
