package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The zip holds every file of the bundle at its slash-separated path, the
// same bytes, index.html at the root; zipping twice gives the same zip.
func TestZipDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":             "<!doctype html><script type=module src=app.js></script>",
		"app.js":                 strings.Repeat("console.log(1);", 100),
		"app.css":                "body{}",
		"config.json":            `{"graphqlUrl":"https://x"}`,
		"chunks/cognito-ABCD.js": "export{}",
	}
	writeFiles(t, dir, files)
	b, err := zipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(data)
	}
	if len(got) != len(files) {
		t.Errorf("entries %v, want %d", keys(got), len(files))
	}
	for name, want := range files {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
	again, err := zipDir(dir)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("a second zip of the same files differs (%v)", err)
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func TestZipDirRefuses(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"not built", func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{"app.js": "x"}) }, "has no index.html: build the console first (make web)"},
		{"missing directory", func(t *testing.T, dir string) { os.Remove(dir) }, "has no index.html"},
		{"a symbolic link", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"index.html": "x"})
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
				t.Skip(err)
			}
		}, "is not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dist")
			os.Mkdir(dir, 0o755)
			tt.setup(t, dir)
			if _, err := zipDir(dir); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// zipEntries lists a zip's entry names.
func zipEntries(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}
