package lambdabuild

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// The recipe gives a static linux/arm64 bootstrap per function, byte for
// byte the same on a rebuild (the CDK asset hash depends on it).
func TestFunctionsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a function")
	}
	const name = "pre-token-generation" // the smallest function
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var bins [][]byte
	for range 2 {
		dir := t.TempDir()
		if err := Functions(root, dir, []string{name}); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != name {
			t.Fatalf("%s holds %v, want only %s/", dir, entries, name)
		}
		path := filepath.Join(dir, name, "bootstrap")
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		machine, interp := f.Machine, f.Section(".interp")
		f.Close()
		if machine != elf.EM_AARCH64 || interp != nil {
			t.Fatalf("bootstrap is %v, dynamic %v; want a static arm64 binary", machine, interp != nil)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("two builds of the same source differ")
	}
}

func TestFunctionsNoNames(t *testing.T) {
	if err := Functions(".", t.TempDir(), nil); err == nil {
		t.Fatal("no names: want an error")
	}
}
