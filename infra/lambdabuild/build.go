// Package lambdabuild is the one recipe that compiles the Lambda
// functions, used by the CDK app (infra), by `make build`
// (infra/cmd/build-functions) and by the cold-start benchmark, so what is
// deployed is what was built, size-checked and measured locally.
package lambdabuild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Env is the target: the provided.al2023 runtime on arm64, statically
// linked.
var Env = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

// Flags are the go build flags. They make the binaries reproducible (no
// paths, VCS stamp or build ID), so an unchanged function keeps its asset
// hash and is not redeployed.
var Flags = []string{"-trimpath", "-buildvcs=false", "-tags", Tags, "-ldflags", "-s -w -buildid="}

// Tags are the build tags of a function: aws-lambda-go without the RPC
// mode only the retired go1.x runtime used.
const Tags = "lambda.norpc"

// Functions compiles root/functions/<name> for each name, in one go build,
// to dir/<name>/bootstrap: the layout of a provided.al2023 deployment
// package.
func Functions(root, dir string, names []string) error {
	if len(names) == 0 {
		return errors.New("build functions: no function names")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	// go build writes every binary into out, named after its package;
	// each is then moved to dir/<name>/bootstrap.
	out, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	defer os.RemoveAll(out)
	args := append(append([]string{"build"}, Flags...), "-o", out+string(filepath.Separator))
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), Env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return fmt.Errorf("build functions: %w", err)
		}
		if err := os.Rename(filepath.Join(out, n), filepath.Join(dir, n, "bootstrap")); err != nil {
			return fmt.Errorf("build functions: %w", err)
		}
	}
	return nil
}
