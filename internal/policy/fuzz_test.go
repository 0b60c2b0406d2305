package policy

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"tssgate/internal/protocol"
)

// FuzzParse feeds the policy loader arbitrary bytes: it must never panic,
// must return exactly one of a policy or an error, and a policy it accepts
// must decide a request without panicking. List files come from the
// examples directory through an in-memory reader, so generated paths never
// reach the real file system.
func FuzzParse(f *testing.F) {
	lists := map[string][]byte{}
	for _, path := range examplePolicies(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if data, err := os.ReadFile("testdata/issue-example.yaml"); err == nil {
		f.Add(data)
	}
	listFiles, _ := filepath.Glob(filepath.Join(examplesDir, "lists", "*.txt"))
	for _, path := range listFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		lists[filepath.Join(examplesDir, "lists", filepath.Base(path))] = data
	}
	for _, seed := range []string{
		"version: 1\n",
		"version: 1\ndefault: approve\nrules:\n  - {name: a, when: 'tx.amount > decimal(\"1\")', action: reject}\n",
		"version: 1\nlists:\n  a: &x [\"0x0f76F604fd7762Bd94B48CA2523F69ab9665c97f\"]\n  b: *x\nrules:\n  - {name: a, when: '\"x\" in lists.a', action: approve, mode: shadow}\n",
		"version: 1\nrules:\n  - &r {name: a, when: 'true', action: approve}\n  - *r\n",
		"version: 1\nlimits: {}\n",
		"{",
	} {
		f.Add([]byte(seed))
	}
	readFile := func(path string) ([]byte, error) {
		if data, ok := lists[filepath.Clean(path)]; ok {
			return data, nil
		}
		return nil, fs.ErrNotExist
	}
	req := func() *protocol.Request {
		return &protocol.Request{Version: protocol.V2, ID: "r", Type: protocol.TypeKeyGen, Detail: map[string]any{"threshold": "2"}, KeyGen: &protocol.KeyGen{Threshold: 2}}
	}()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := parseWith(&parser{name: "fuzz.yaml", baseDir: examplesDir, readFile: readFile}, data)
		if (p == nil) == (err == nil) {
			t.Fatalf("parse returned policy %v and error %v", p != nil, err)
		}
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Issues) == 0 {
				t.Fatalf("error %T %q is not a LoadError with issues", err, err)
			}
			for _, is := range le.Issues {
				if is.File == "" || is.Msg == "" {
					t.Fatalf("issue %+v names no file or says nothing", is)
				}
			}
			return
		}
		p.version = versionOf(data, nil)
		_ = p.Summary().String()
		d, err := p.Decide(context.Background(), req)
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		if d.Action != protocol.ActionApprove && d.Action != protocol.ActionReject {
			t.Fatalf("Decide returned action %q", d.Action)
		}
	})
}
