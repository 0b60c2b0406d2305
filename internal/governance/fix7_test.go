package governance

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"tssgate/internal/policy"
)

// TestDeploymentAndNames: a valid deployment and names at the edges of
// the allowed alphabet parse, and the parsed fields are what the file
// says.
func TestDeploymentAndNames(t *testing.T) {
	_, alice := keygen(t, "alice")
	_, bob := keygen(t, "bob")
	long := strings.Repeat("n", 64)
	tests := []struct {
		name, yaml, deployment string
		names                  []string
	}{
		{"no deployment", governanceYAML("1", [2]string{"alice", alice}), "", []string{"alice"}},
		{"deployment", "deployment: prod-eu.1_b\n" + governanceYAML("2", [2]string{"alice@desk", alice}, [2]string{"B.o_b-2", bob}), "prod-eu.1_b", []string{"alice@desk", "B.o_b-2"}},
		{"name of 64 bytes", governanceYAML("1", [2]string{long, alice}), "", []string{long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse("gov.yaml", []byte(tt.yaml))
			must(t, err)
			if g.Deployment != tt.deployment {
				t.Errorf("deployment %q, want %q", g.Deployment, tt.deployment)
			}
			var got []string
			for _, a := range g.Approvers {
				got = append(got, a.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.names, ",") {
				t.Errorf("names %v, want %v", got, tt.names)
			}
		})
	}
}

// TestManifestLines checks the deployment and replaces lines against
// text written out here, and that a signature over one manifest counts
// for no other: another deployment, another governance replaced.
func TestManifestLines(t *testing.T) {
	priv, pub := keygen(t, "alice")
	dir := t.TempDir()
	pol := "version: 1\nserial: 3\nrules:\n  - name: ping\n    when: request.type == \"PING\"\n    action: approve\n"
	must(t, os.WriteFile(filepath.Join(dir, "POLICY.yaml"), []byte(pol), 0o644))
	p, err := policy.Load(filepath.Join(dir, "POLICY.yaml"))
	must(t, err)
	parse := func(text string) *Governance {
		t.Helper()
		g, err := Parse("governance.yaml", []byte(text))
		must(t, err)
		return g
	}
	g0 := parse(governanceYAML("1", [2]string{"alice", pub}))
	prod := parse("deployment: prod\n" + governanceYAML("1", [2]string{"alice", pub}))
	staging := parse("deployment: staging\n" + governanceYAML("1", [2]string{"alice", pub}))
	next := parse("deployment: prod\n" + governanceYAML("1", [2]string{"alice", pub}) + "# v2\n")

	polLine := "policy " + hexSHA([]byte(pol)) + " POLICY.yaml\n"
	tests := []struct {
		name string
		make func() (*Manifest, error)
		want string
	}{
		{"policy, no deployment", func() (*Manifest, error) { return PolicyManifest(p, g0) }, "tssgate-manifest v1\n" + polLine},
		{"policy, nil governance", func() (*Manifest, error) { return PolicyManifest(p, nil) }, "tssgate-manifest v1\n" + polLine},
		{"policy, deployment prod", func() (*Manifest, error) { return PolicyManifest(p, prod) }, "tssgate-manifest v1\ndeployment prod\n" + polLine},
		{"policy, deployment staging", func() (*Manifest, error) { return PolicyManifest(p, staging) }, "tssgate-manifest v1\ndeployment staging\n" + polLine},
		{"change from g0", func() (*Manifest, error) { return ChangeManifest(next, g0) },
			"tssgate-manifest v1\nreplaces " + hexSHA(g0.Content) + "\ngovernance " + hexSHA(next.Content) + " governance.yaml\n"},
		{"change from prod", func() (*Manifest, error) { return ChangeManifest(next, prod) },
			"tssgate-manifest v1\ndeployment prod\nreplaces " + hexSHA(prod.Content) + "\ngovernance " + hexSHA(next.Content) + " governance.yaml\n"},
	}
	texts := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.make()
			must(t, err)
			if string(m.Text) != tt.want {
				t.Fatalf("manifest:\n%s\nwant:\n%s", m.Text, tt.want)
			}
		})
		texts[tt.want] = true
	}
	// One signature, over the prod policy manifest: it counts for that
	// text only.
	want := "tssgate-manifest v1\ndeployment prod\n" + polLine
	sig, err := Sign(priv, []byte(want))
	must(t, err)
	for text := range texts {
		if met := g0.Check([]byte(text), [][]byte{sig}).Met; met != (text == want) {
			t.Errorf("signature over the prod manifest counted %v for:\n%s", met, text)
		}
	}
	if _, err := ChangeManifest(next, nil); err == nil {
		t.Error("a change manifest without the governance in force was built")
	}
}

// TestReadRegularFileRefuses: anything but a regular file is refused at
// once, naming the path and what it is; a regular file reads.
func TestReadRegularFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	regular := filepath.Join(dir, "file")
	must(t, os.WriteFile(regular, []byte("ok"), 0o600))
	tests := []struct {
		name, path, want string
	}{
		{"named pipe", fifo, "is not a regular file (a named pipe)"},
		{"directory", dir, "is not a regular file (a directory)"},
		{"device", "/dev/null", "is not a regular file (a device)"},
		{"too large", regular, "is larger than 1 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRegularFile(tt.path, 1)
			if err == nil || !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q naming %s", err, tt.want, tt.path)
			}
		})
	}
	data, err := ReadRegularFile(regular, 2)
	if err != nil || string(data) != "ok" {
		t.Fatalf("regular file: %q, %v", data, err)
	}
}

// TestParseSignatureRefusesWeakKeys: a signature whose embedded key is a
// small-order or non-canonical point is refused when parsed, so that it
// can never be counted, whatever governance it is checked against.
func TestParseSignatureRefusesWeakKeys(t *testing.T) {
	for _, wk := range weakKeys {
		t.Run(wk.name, func(t *testing.T) {
			_, err := ParseSignature(forgedSignature(wk.key))
			if err == nil || !strings.Contains(err.Error(), "signature public key: ssh-ed25519 key is a") {
				t.Fatalf("got %v, want the weak key refused", err)
			}
		})
	}
}
