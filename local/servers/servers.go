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
// .tools folder beside go.mod (see InRepository).
func ToolsDir() (string, error) {
	if d := os.Getenv("EGRESS_TOOLS_DIR"); d != "" {
		return d, nil
	}
	mod, err := InRepository("go.mod")
	if err != nil {
		return "", errors.New("servers: cannot find the repository root (go.mod); set EGRESS_TOOLS_DIR")
	}
	return filepath.Join(filepath.Dir(mod), ".tools"), nil
}

// InRepository returns the path of rel (slash-separated) in the nearest
// folder holding it above the working directory (tests run in their
// package's folder), else above this source file (a binary run from
// elsewhere on the machine that built it).
func InRepository(rel string) (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			path := filepath.Join(d, filepath.FromSlash(rel))
			if _, err := os.Stat(path); err == nil {
				return path, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("%s not found above %v", rel, starts)
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
