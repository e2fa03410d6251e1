package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxBundleBytes bounds the zip held in memory; the console's bundle is
// well under a megabyte.
const maxBundleBytes = 64 << 20

// zipModTime is every entry's time, so one bundle always zips the same.
var zipModTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// zipDir zips the files under dir, by their slash-separated paths relative
// to it, as Amplify Hosting deploys them: index.html must be at the root.
// Only regular files and directories are allowed (a symbolic link could
// publish a file from outside the bundle).
func zipDir(dir string) ([]byte, error) {
	if fi, err := os.Stat(filepath.Join(dir, "index.html")); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s has no index.html: build the console first (make web)", dir)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// WalkDir visits in lexical order: the zip is the same for the same files.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate, Modified: zipModTime})
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if buf.Len() > maxBundleBytes {
			return fmt.Errorf("the bundle is over %d MiB zipped", maxBundleBytes>>20)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}
