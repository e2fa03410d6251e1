// Package servers starts the real S3- and DynamoDB-protocol servers that
// the local stack, the benchmarks and tests (through shared/testenv) run
// against: MinIO (faithful versioned copy, UploadPartCopy and presign
// checks) and Amazon's DynamoDB Local. Both are installed, pinned, into the
// repository's .tools folder by `make tools`. It does not import testing,
// so binaries that start the servers do not link it.
package servers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
)

// ToolsDir returns the repository's .tools folder: $EGRESS_TOOLS_DIR, or the
// .tools folder beside go.mod found by walking up from the working directory
// (tests run in their package directory) and from this source file.
func ToolsDir() (string, error) {
	if d := os.Getenv("EGRESS_TOOLS_DIR"); d != "" {
		return d, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return filepath.Join(d, ".tools"), nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("servers: cannot find the repository root (go.mod); set EGRESS_TOOLS_DIR")
}

// toolPath returns the path of a tool under .tools, or an error telling the
// user how to install it.
func toolPath(rel string) (string, error) {
	dir, err := ToolsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("servers: %s not found; run `make tools` first: %w", p, err)
	}
	return p, nil
}

// FreeAddr returns a free loopback address "127.0.0.1:PORT".
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("servers: find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
