package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildFunctions compiles functions/<name> for each name, in one go build,
// to dir/<name>/bootstrap: the layout of a provided.al2023 deployment
// package. The flags make the binaries reproducible, so an unchanged
// function keeps its asset hash and is not redeployed.
func buildFunctions(root, dir string, names []string) error {
	out := filepath.Join(dir, "bin")
	args := []string{"build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc",
		"-ldflags", "-s -w -buildid=", "-o", out + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(out, n), filepath.Join(dir, n, "bootstrap")); err != nil {
			return fmt.Errorf("build functions: %w", err)
		}
	}
	return nil
}
