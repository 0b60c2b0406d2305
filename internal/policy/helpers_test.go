package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

// monday10 is a fixed clock for tests: Monday 2026-01-05 10:00 in Singapore.
var monday10 = time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)

// writeFiles writes name -> content into a fresh temporary directory and
// returns the directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustParse compiles a policy whose list files, if any, resolve against
// dir ("" for none).
func mustParse(t *testing.T, src, dir string) *Policy {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src), dir)
	if err != nil {
		t.Fatalf("Parse: %v\npolicy:\n%s", err, src)
	}
	return p
}

// parseErr parses a policy that must be refused and returns the error text.
func parseErr(t *testing.T, src, dir string) string {
	t.Helper()
	p, err := Parse("test.yaml", []byte(src), dir)
	if err == nil {
		t.Fatalf("Parse accepted a policy it should refuse (version %s):\n%s", p.Version(), src)
	}
	if p != nil {
		t.Fatalf("Parse returned a policy together with an error")
	}
	return err.Error()
}

// request builds a request the way the server receives it: the built-in
// sample for (v, typ), with JSON merge patches applied to detail and extra
// (nil: unchanged), through NewCallbackRequest, json.Marshal and Decode.
func request(t testing.TB, v protocol.Version, typ protocol.RequestType, detailPatch, extraPatch string) *protocol.Request {
	t.Helper()
	detail, extra, err := protocol.Sample(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	if detailPatch != "" {
		if detail, err = mergePatch(detail, []byte(detailPatch)); err != nil {
			t.Fatal(err)
		}
	}
	if extraPatch != "" {
		if extra, err = mergePatch(extra, []byte(extraPatch)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(protocol.NewCallbackRequest("req-1", typ, detail, extra))
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.Decode(v, raw)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	req.NodeKey = "node-a"
	// Engine tests are about rules, not bytes: their KEYSIGN transactions
	// count as verified, with facts equal to the description (as a
	// `verified: true` policy test case does). The verification gate has
	// tests of its own that build requests without this.
	if req.Type == protocol.TypeKeySign {
		req.Verification = assumedVerification(req)
	}
	return req
}

// decide evaluates req at the monday10 clock and fails the test on a Go
// error.
func decide(t *testing.T, p *Policy, req *protocol.Request) Decision {
	t.Helper()
	d, err := p.decideAt(context.Background(), req, monday10)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if d.PolicyVersion != p.Version() || !strings.HasPrefix(d.PolicyVersion, "sha256:") {
		t.Fatalf("PolicyVersion = %q, want the policy's %q", d.PolicyVersion, p.Version())
	}
	return d
}

// policyWith wraps rules (YAML list items, indented by two spaces) into a
// version 1 policy with the given extra top-level YAML.
func policyWith(top, rules string) string {
	return "version: 1\n" + top + "rules:\n" + rules
}
