package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestPublicAPI pins what package store exports: the domain types, the
// Store interface, the sentinel errors, RequestHashOf, Monitor and the
// freeze types (Freezer, the chain rows of an operator freeze, freeze ids). The logic
// the SQLite and PostgreSQL stores share (the chain hash, validation, the
// limit decision, migrations) lives under internal/, where the compiler
// keeps it to the store's own sub-packages; an exported helper reappearing
// here would let the request flow or the CLI depend on it again. A new
// export is a change of the store's contract: add it here on purpose.
func TestPublicAPI(t *testing.T) {
	want := []string{
		"ActionApprove", "ActionReject",
		"Break",
		"DefaultProbeInterval", "DefaultProbeTimeout",
		"ErrConflict", "ErrGovernanceChanged", "ErrInvalid", "ErrLifted", "ErrNotFound", "ErrOutcomeUnknown", "ErrSchemaTooNew",
		"Filter", "Freeze", "FreezeRecord", "Freezer", "GovernanceState", "LiftSignature", "LimitUse", "MaxFreezeReason", "Monitor",
		"NewFreezeID", "NewMonitor", "OutpointClaim", "OutpointConflict", "Record", "RequestHashOf", "RuleFrozen",
		"Store", "UnfreezeRecord", "Usage", "ValidFreezeID", "ValidOutpoint", "VerifyReport",
	}
	got := exportedNames(t, ".")
	if !slices.Equal(got, want) {
		t.Errorf("package store exports\n  %s\nwant\n  %s",
			strings.Join(got, " "), strings.Join(want, " "))
	}
}

// exportedNames returns the sorted exported top-level names (functions,
// types, constants and variables, not methods) of the non-test Go files in
// dir.
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, id := range s.Names {
							if id.IsExported() {
								names = append(names, id.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}
