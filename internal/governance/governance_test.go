package governance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tssgate/internal/policy"
)

// keygen makes an unencrypted Ed25519 key pair with the real ssh-keygen
// in a temporary directory and returns the private key path and the
// public key line.
func keygen(t *testing.T, name string) (priv, pubLine string) {
	t.Helper()
	bin := sshKeygen(t)
	priv = filepath.Join(t.TempDir(), name)
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(pub))
}

// sshKeygen finds ssh-keygen; the tests that need it skip only when it
// is truly absent (CI installs openssh-client).
func sshKeygen(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen is not installed (apt-get install openssh-client)")
	}
	return bin
}

func governanceYAML(threshold string, approvers ...[2]string) string {
	var b strings.Builder
	b.WriteString("threshold: " + threshold + "\napprovers:\n")
	for _, a := range approvers {
		b.WriteString("  - {name: " + a[0] + ", key: \"" + a[1] + "\"}\n")
	}
	return b.String()
}

func TestParseErrors(t *testing.T) {
	_, alice := keygen(t, "alice")
	_, bob := keygen(t, "bob")
	rsaKey := "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 x@y"
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "gov.yaml: empty file"},
		{"not a mapping", "- 1\n", "gov.yaml:1: want a mapping"},
		{"unknown field", "threshold: 1\nquorum: 2\napprovers: []\n", "gov.yaml:2: quorum: unknown field"},
		{"no approvers", "threshold: 1\n", "gov.yaml:1: approvers: missing"},
		{"empty approvers", "threshold: 1\napprovers: []\n", "gov.yaml:2: approvers: want a non-empty list"},
		{"threshold zero", governanceYAML("0", [2]string{"alice", alice}), "gov.yaml:1: threshold: must be between 1 and the number of approvers (1), got 0"},
		{"threshold too high", governanceYAML("3", [2]string{"alice", alice}, [2]string{"bob", bob}), "gov.yaml:1: threshold: must be between 1 and the number of approvers (2), got 3"},
		{"threshold text", governanceYAML("two", [2]string{"alice", alice}), "gov.yaml:1: threshold: want an integer"},
		{"duplicate name", governanceYAML("1", [2]string{"alice", alice}, [2]string{"alice", bob}), "gov.yaml:4: approvers[1].name: duplicate name \"alice\""},
		{"duplicate key", governanceYAML("1", [2]string{"alice", alice}, [2]string{"bob", alice}), "gov.yaml:4: approvers[1].key: the same key as approver \"alice\""},
		{"rsa key", governanceYAML("1", [2]string{"alice", rsaKey}), "gov.yaml:3: approvers[0].key:"},
		{"garbage key", governanceYAML("1", [2]string{"alice", "ssh-ed25519 notbase64!"}), "gov.yaml:3: approvers[0].key: not an OpenSSH public key line"},
		{"missing key", "threshold: 1\napprovers:\n  - {name: alice}\n", "gov.yaml:3: approvers[0].key: missing"},
		{"approver extra field", "threshold: 1\napprovers:\n  - {name: alice, key: \"" + alice + "\", role: x}\n", "gov.yaml:3: approvers[0].role: unknown field"},
		{"name with space", "threshold: 1\napprovers:\n  - {name: \"al ice\", key: \"" + alice + "\"}\n", "gov.yaml:3: approvers[0].name: want a name of 1 to 64 letters"},
		{"name with zero-width space", "threshold: 1\napprovers:\n  - {name: \"ali\u200bce\", key: \"" + alice + "\"}\n", "gov.yaml:3: approvers[0].name: want a name of 1 to 64 letters"},
		{"name of 65 bytes", governanceYAML("1", [2]string{strings.Repeat("a", 65), alice}), "gov.yaml:3: approvers[0].name: want a name of 1 to 64 letters"},
		{"name a number", "threshold: 1\napprovers:\n  - {name: 7, key: \"" + alice + "\"}\n", "gov.yaml:3: approvers[0].name: want a string"},
		{"small-order key", governanceYAML("1", [2]string{"alice", sshPublicKeyLine(weakKeys[0].key, "x")}), "gov.yaml:3: approvers[0].key: ssh-ed25519 key is a small-order point"},
		{"order-2 key", governanceYAML("1", [2]string{"alice", sshPublicKeyLine(weakKeys[2].key, "x")}), "gov.yaml:3: approvers[0].key: ssh-ed25519 key is a small-order point"},
		{"non-canonical key", governanceYAML("1", [2]string{"alice", sshPublicKeyLine(weakKeys[1].key, "x")}), "gov.yaml:3: approvers[0].key: ssh-ed25519 key is a non-canonical encoding"},
		{"deployment with space", "deployment: \"prod eu\"\n" + governanceYAML("1", [2]string{"alice", alice}), "gov.yaml:1: deployment: want a name of 1 to 64"},
		{"deployment a number", "deployment: 7\n" + governanceYAML("1", [2]string{"alice", alice}), "gov.yaml:1: deployment: want a name of 1 to 64"},
		{"deployment empty", "deployment: \"\"\n" + governanceYAML("1", [2]string{"alice", alice}), "gov.yaml:1: deployment: want a name of 1 to 64"},
		{"deployment of 65 bytes", "deployment: " + strings.Repeat("d", 65) + "\n" + governanceYAML("1", [2]string{"alice", alice}), "gov.yaml:1: deployment: want a name of 1 to 64"},
		{"deployment twice", "deployment: a\ndeployment: b\n" + governanceYAML("1", [2]string{"alice", alice}), "gov.yaml:2: deployment: given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("gov.yaml", []byte(tt.yaml))
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("Parse: got %v, want an *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse error:\n got %q\nwant prefix %q", err, tt.want)
			}
		})
	}
	t.Run("rsa key names the type", func(t *testing.T) {
		_, err := Parse("gov.yaml", []byte(governanceYAML("1", [2]string{"alice", rsaKey})))
		if err == nil || !strings.Contains(err.Error(), "only ssh-ed25519") && !strings.Contains(err.Error(), "not an OpenSSH") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("valid", func(t *testing.T) {
		g, err := Parse("gov.yaml", []byte(governanceYAML("2", [2]string{"alice", alice}, [2]string{"bob", bob})))
		if err != nil {
			t.Fatal(err)
		}
		if g.Threshold != 2 || len(g.Approvers) != 2 || g.Approvers[1].Name != "bob" {
			t.Fatalf("got %+v", g)
		}
	})
}

// TestFingerprintMatchesSSHKeygen compares Fingerprint with ssh-keygen -l.
func TestFingerprintMatchesSSHKeygen(t *testing.T) {
	priv, pub := keygen(t, "alice")
	out, err := exec.Command(sshKeygen(t), "-l", "-E", "sha256", "-f", priv+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if fp := strings.Fields(string(out))[1]; fp != Fingerprint(k) {
		t.Fatalf("Fingerprint %s, ssh-keygen says %s", Fingerprint(k), fp)
	}
}

// TestOurSignatureVerifiedBySSHKeygen signs with Sign and has the real
// ssh-keygen -Y verify check it, and refuse it for another message.
func TestOurSignatureVerifiedBySSHKeygen(t *testing.T) {
	bin := sshKeygen(t)
	priv, pub := keygen(t, "alice")
	dir := t.TempDir()
	msg := []byte("tssgate-manifest v1\npolicy " + strings.Repeat("ab", 32) + " POLICY.yaml\n")
	sig, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	sigPath, allowed := filepath.Join(dir, "m.sig"), filepath.Join(dir, "allowed")
	must(t, os.WriteFile(sigPath, sig, 0o600))
	must(t, os.WriteFile(allowed, []byte("alice "+pub+"\n"), 0o600))
	verify := func(m []byte) ([]byte, error) {
		cmd := exec.Command(bin, "-Y", "verify", "-f", allowed, "-I", "alice", "-n", Namespace, "-s", sigPath)
		cmd.Stdin = bytes.NewReader(m)
		return cmd.CombinedOutput()
	}
	if out, err := verify(msg); err != nil {
		t.Fatalf("ssh-keygen -Y verify refused our signature: %v\n%s", err, out)
	}
	if out, err := verify(append(msg, 'x')); err == nil {
		t.Fatalf("ssh-keygen -Y verify accepted our signature for another message:\n%s", out)
	}
}

// TestSSHKeygenSignatureVerifiedByUs has the real ssh-keygen -Y sign sign
// a manifest (sha512, its default) and checks that Check counts it, and
// not for an altered manifest or another namespace.
func TestSSHKeygenSignatureVerifiedByUs(t *testing.T) {
	priv, pub := keygen(t, "alice")
	g, err := Parse("gov.yaml", []byte(governanceYAML("1", [2]string{"alice", pub})))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("tssgate-manifest v1\npolicy " + strings.Repeat("cd", 32) + " POLICY.yaml\n")
	sig := sshSign(t, priv, Namespace, msg)
	if res := g.Check(msg, [][]byte{sig}); !res.Met || len(res.Signers) != 1 || res.Signers[0].Name != "alice" {
		t.Fatalf("ssh-keygen's signature not counted: %+v", res)
	}
	if res := g.Check(append(msg, '\n'), [][]byte{sig}); res.Met || len(res.Problems) != 1 {
		t.Fatalf("a signature of another message counted: %+v", res)
	}
	other := sshSign(t, priv, "git", msg)
	if res := g.Check(msg, [][]byte{other}); res.Met || !strings.Contains(strings.Join(res.Problems, ""), "namespace") {
		t.Fatalf("a signature in another namespace counted: %+v", res)
	}
}

// sshSign signs msg with ssh-keygen -Y sign and returns the armored text.
func sshSign(t *testing.T, priv, namespace string, msg []byte) []byte {
	t.Helper()
	m := filepath.Join(t.TempDir(), "m")
	must(t, os.WriteFile(m, msg, 0o600))
	if out, err := exec.Command(sshKeygen(t), "-Y", "sign", "-f", priv, "-n", namespace, m).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
	}
	sig, err := os.ReadFile(m + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestSHA256Signature checks the sha256 variant with a blob built here
// from the specification, independently of SignWith.
func TestSHA256Signature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("unfreeze f-1\n")
	str := func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, uint32(len(b))) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	h := sha256Sum(msg)
	signed := cat([]byte("SSHSIG"), str([]byte(Namespace)), []byte(Namespace), str(nil), str([]byte("sha256")), []byte("sha256"), str(h), h)
	sig := ed25519.Sign(priv, signed)
	keyBlob := cat(str([]byte("ssh-ed25519")), []byte("ssh-ed25519"), str(pub), pub)
	sigBlob := cat(str([]byte("ssh-ed25519")), []byte("ssh-ed25519"), str(sig), sig)
	blob := cat([]byte("SSHSIG"), []byte{0, 0, 0, 1}, str(keyBlob), keyBlob, str([]byte(Namespace)), []byte(Namespace),
		str(nil), str([]byte("sha256")), []byte("sha256"), str(sigBlob), sigBlob)
	armored := []byte("-----BEGIN SSH SIGNATURE-----\n" + base64.StdEncoding.EncodeToString(blob) + "\n-----END SSH SIGNATURE-----\n")
	s, err := ParseSignature(armored)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(msg); err != nil {
		t.Fatalf("sha256 signature: %v", err)
	}
	if err := s.Verify([]byte("unfreeze f-2\n")); err == nil {
		t.Fatal("a sha256 signature verified for another message")
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func hexSHA(b []byte) string { return hex.EncodeToString(sha256Sum(b)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestQuorum counts distinct approvers with valid signatures only.
func TestQuorum(t *testing.T) {
	alicePriv, alice := keygen(t, "alice")
	bobPriv, bob := keygen(t, "bob")
	carolPriv, carol := keygen(t, "carol")
	malloryPriv, _ := keygen(t, "mallory")
	g, err := Parse("gov.yaml", []byte(governanceYAML("2", [2]string{"alice", alice}, [2]string{"bob", bob}, [2]string{"carol", carol})))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("tssgate-manifest v1\npolicy " + strings.Repeat("01", 32) + " p.yaml\n")
	sign := func(priv string) []byte { s, err := Sign(priv, msg); must(t, err); return s }
	a, b, c, m := sign(alicePriv), sign(bobPriv), sign(carolPriv), sign(malloryPriv)
	aOther, err := Sign(alicePriv, []byte("something else"))
	must(t, err)
	tests := []struct {
		name     string
		sigs     [][]byte
		signers  string
		met      bool
		problems int
	}{
		{"none", nil, "", false, 0},
		{"one of two (M-1)", [][]byte{a}, "alice", false, 0},
		{"two (M)", [][]byte{a, b}, "alice,bob", true, 0},
		{"three", [][]byte{c, a, b}, "carol,alice,bob", true, 0},
		{"duplicate counted once", [][]byte{a, a}, "alice", false, 1},
		{"unknown signer not counted", [][]byte{a, m}, "alice", false, 1},
		{"other message not counted", [][]byte{aOther, b}, "bob", false, 1},
		{"garbage not counted", [][]byte{[]byte("junk"), a, b}, "alice,bob", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signers, met, problems := g.Quorum(msg, tt.sigs)
			if strings.Join(signers, ",") != tt.signers || met != tt.met || len(problems) != tt.problems {
				t.Fatalf("got signers %v met %v problems %q; want %s %v %d", signers, met, problems, tt.signers, tt.met, tt.problems)
			}
		})
	}
}

func TestLoadPrivateKeyRefusals(t *testing.T) {
	bin := sshKeygen(t)
	dir := t.TempDir()
	enc := filepath.Join(dir, "enc")
	if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "secret", "-f", enc).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ecdsa := filepath.Join(dir, "ecdsa")
	if out, err := exec.Command(bin, "-q", "-t", "ecdsa", "-N", "", "-f", ecdsa).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tests := []struct{ name, path, want string }{
		{"encrypted", enc, "protected by a passphrase"},
		{"ecdsa", ecdsa, "not Ed25519"},
		{"public key", ecdsa + ".pub", "not an OpenSSH private key"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.path, []byte("m"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPolicyManifest checks the manifest text against hashes computed
// here with sha256sum's algorithm, and that changing a list file changes
// it, so that a signature over the old one no longer counts.
func TestPolicyManifest(t *testing.T) {
	priv, pub := keygen(t, "alice")
	g, err := Parse("gov.yaml", []byte(governanceYAML("1", [2]string{"alice", pub})))
	must(t, err)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "lists"), 0o755))
	pol := "version: 1\ndefault: reject\nlists:\n  nodes: {file: lists/nodes.txt}\nrules:\n  - name: ping\n    when: request.type == \"PING\"\n    action: approve\n"
	must(t, os.WriteFile(filepath.Join(dir, "POLICY.yaml"), []byte(pol), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "lists", "nodes.txt"), []byte("node-1\n"), 0o644))
	load := func() *Manifest {
		p, err := policy.Load(filepath.Join(dir, "POLICY.yaml"))
		must(t, err)
		m, err := PolicyManifest(p, g)
		must(t, err)
		return m
	}
	m := load()
	want := "tssgate-manifest v1\npolicy " + hexSHA([]byte(pol)) + " POLICY.yaml\nlist " + hexSHA([]byte("node-1\n")) + " lists/nodes.txt\n"
	if string(m.Text) != want {
		t.Fatalf("manifest:\n%s\nwant:\n%s", m.Text, want)
	}
	sig, err := Sign(priv, m.Text)
	must(t, err)
	if !g.Check(m.Text, [][]byte{sig}).Met {
		t.Fatal("signature over the manifest not counted")
	}
	must(t, os.WriteFile(filepath.Join(dir, "lists", "nodes.txt"), []byte("node-1\nnode-2\n"), 0o644))
	if m2 := load(); g.Check(m2.Text, [][]byte{sig}).Met {
		t.Fatal("a changed list file left the signature valid")
	}
	must(t, os.WriteFile(filepath.Join(dir, "lists", "nodes.txt"), []byte("node-1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "POLICY.yaml"), []byte(pol+"# edited\n"), 0o644))
	if m3 := load(); g.Check(m3.Text, [][]byte{sig}).Met {
		t.Fatal("a changed policy file left the signature valid")
	}
}

func TestSplitBundle(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	s1, s2 := SignWith(priv, []byte("a")), SignWith(priv, []byte("b"))
	good := "# comment\n\n" + string(s1) + "\n# second\n" + string(s2)
	got, err := SplitBundle("p.sigs", []byte(good))
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], s1) || !bytes.Equal(got[1], s2) {
		t.Fatalf("got %d signatures, %v", len(got), err)
	}
	tests := []struct{ name, text, want string }{
		{"stray text", "# ok\nhello\n", "p.sigs:2: want a signature"},
		{"unterminated", "-----BEGIN SSH SIGNATURE-----\nAAAA\n", "p.sigs:1: the signature begun here has no"},
		{"nested", "-----BEGIN SSH SIGNATURE-----\n-----BEGIN SSH SIGNATURE-----\n", "p.sigs:2: a signature begins inside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SplitBundle("p.sigs", []byte(tt.text))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAddToBundleReplacesSameKey(t *testing.T) {
	_, alice, _ := ed25519.GenerateKey(nil)
	_, bob, _ := ed25519.GenerateKey(nil)
	path := filepath.Join(t.TempDir(), "POLICY.yaml.sigs")
	must(t, AddToBundle(path, SignWith(alice, []byte("old")), "alice", "x"))
	must(t, AddToBundle(path, SignWith(bob, []byte("new")), "bob", "x"))
	must(t, AddToBundle(path, SignWith(alice, []byte("new")), "alice", "x"))
	sigs, err := ReadBundle(path)
	must(t, err)
	if len(sigs) != 2 {
		t.Fatalf("bundle holds %d signatures, want 2 (alice's replaced)", len(sigs))
	}
	for _, s := range sigs {
		p, err := ParseSignature(s)
		must(t, err)
		if err := p.Verify([]byte("new")); err != nil {
			t.Fatalf("a signature over the old message stayed: %v", err)
		}
	}
}
