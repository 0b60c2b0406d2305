package testkit

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// importPath is this package's import path.
const importPath = "tssgate/internal/testkit"

// nonTestImporters lists the non-test .go files under root, outside
// testkit itself, that import testkit. testdata folders and hidden folders
// are skipped, as the go command skips them.
func nonTestImporters(root string) ([]string, error) {
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if f.Name.Name == "testkit" {
			return nil // the package itself
		}
		for _, imp := range f.Imports {
			if path, err := strconv.Unquote(imp.Path.Value); err == nil && path == importPath {
				rel, _ := filepath.Rel(root, p)
				found = append(found, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	return found, err
}

// moduleRoot is the folder holding go.mod, found upwards from the package
// folder (where go test runs), so the guard reads only this module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package folder")
		}
		dir = parent
	}
}

// The template keys are public: a binary that imported testkit would carry
// private keys anyone has. Only tests may import it.
func TestOnlyTestFilesImportTestkit(t *testing.T) {
	found, err := nonTestImporters(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Fatalf("non-test files import %s (only _test.go files may): %s", importPath, strings.Join(found, ", "))
	}
}

// The guard itself finds an importer, and only the non-test one.
func TestImportGuardFindsNonTestImporters(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	imports := "import _ \"" + importPath + "\"\n"
	write("go.mod", "module tssgate\n")
	write("cmd/app/main.go", "package main\n"+imports)
	write("cmd/app/main_test.go", "package main\n"+imports)
	write("internal/ok/ok.go", "package ok\nimport _ \"fmt\"\n")
	write("internal/other/x.go", "package other\nimport (\n\t\"fmt\"\n\tkit \""+importPath+"\"\n)\n")
	write("internal/testkit/kit.go", "package testkit\n"+imports)
	write("internal/x/testdata/fixture.go", "package fixture\n"+imports)
	write(".hidden/h.go", "package h\n"+imports)

	found, err := nonTestImporters(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cmd/app/main.go", "internal/other/x.go"}
	slices.Sort(found)
	if !slices.Equal(found, want) {
		t.Fatalf("found %q, want %q", found, want)
	}
}
