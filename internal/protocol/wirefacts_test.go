package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestVersionPath(t *testing.T) {
	tests := []struct {
		name string
		v    Version
		want string
	}{
		{"v1", V1, "/v1/check"},
		{"v2", V2, "/v2/check"},
		{"empty", "", ""},
		{"unknown", "v3", ""},
		{"case matters", "V2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Path(); got != tt.want {
				t.Errorf("Version(%q).Path() = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
	if FormField != "TSS_JWT_MSG" {
		t.Errorf("FormField = %q, want TSS_JWT_MSG (PROTOCOL.md 1.1)", FormField)
	}
}

// TestWireFactsSpelledOnce keeps the wire facts in this package: outside
// it, no non-test Go file of the module spells the form field or an
// endpoint path as a string literal of its own, and no file (tests
// included) writes out the transaction-verifier function type instead of
// naming TxVerifier. A second spelling is how a route and the simulator
// drift apart, or how two verifier types stop being interchangeable.
func TestWireFactsSpelledOnce(t *testing.T) {
	root := moduleRoot(t)
	facts := map[string]bool{FormField: true, PathV1: true, PathV2: true}
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.Dir(path) == self {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		// testkit is imported by tests only and spells the wire facts on
		// purpose, so that tests check the code's spelling instead of
		// sharing it.
		isTest := strings.HasSuffix(path, "_test.go") || strings.HasPrefix(filepath.ToSlash(rel0(root, path)), "internal/testkit/")
		bodies := map[*ast.FuncType]bool{} // types of declared and literal functions
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				bodies[n.Type] = true
			case *ast.FuncLit:
				bodies[n.Type] = true
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING || isTest {
					return true
				}
				if s, err := strconv.Unquote(n.Value); err == nil && facts[s] {
					t.Errorf("%s:%d spells %q; use the protocol constant", rel, fset.Position(n.Pos()).Line, s)
				}
			case *ast.FuncType:
				if !bodies[n] && isTxVerifierType(n) {
					t.Errorf("%s:%d writes out func(*protocol.Request) *protocol.Verification; use protocol.TxVerifier",
						rel, fset.Position(n.Pos()).Line)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// isTxVerifierType reports whether ft is func(*protocol.Request)
// *protocol.Verification, parameter names aside.
func isTxVerifierType(ft *ast.FuncType) bool {
	one := func(fl *ast.FieldList, name string) bool {
		if fl == nil || len(fl.List) != 1 || len(fl.List[0].Names) > 1 {
			return false
		}
		star, ok := fl.List[0].Type.(*ast.StarExpr)
		if !ok {
			return false
		}
		sel, ok := star.X.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "protocol" && sel.Sel.Name == name
	}
	return one(ft.Params, "Request") && one(ft.Results, "Verification")
}

// moduleRoot returns the directory holding go.mod, walking up from the
// package directory; the walk stays inside the module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

func rel0(root, path string) string {
	rel, _ := filepath.Rel(root, path)
	return rel
}
