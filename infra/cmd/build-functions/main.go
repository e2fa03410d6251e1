// Command build-functions builds the named functions with the CDK app's
// recipe (package infra/lambdabuild) to <dir>/<name>/bootstrap; `make build`
// runs it.
//
//	go run ./infra/cmd/build-functions -o bin start-workflow notify ...
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tre-egress/egress/infra/lambdabuild"
)

func main() {
	dir := flag.String("o", "bin", "output folder")
	flag.Parse()
	if err := run(*dir, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "build-functions:", err)
		os.Exit(1)
	}
}

func run(dir string, names []string) error {
	// The packages are ./functions/<name> of the module, wherever this runs.
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	return lambdabuild.Functions(root, dir, names)
}
