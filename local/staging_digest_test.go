package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/sfn"
)

// TestStagingDigests: copy-to-staging records each file's SHA-256 in the
// staging manifest, S3's for a file copied with one CopyObject and read
// back from the staged version (s3:GetObjectVersion on the staging bucket)
// for a file above the multipart threshold, whose S3 SHA-256 would be a
// digest of its parts'; both are the files' own.
func TestStagingDigests(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"big.bin":   bytes.Repeat([]byte("0123456789"), multipartThreshold/10+1),
		"small.csv": []byte("a,b\n1,2\n"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A stack of its own: the request is left awaiting its first stage.
	s, err := startLogged(t, context.Background(), Options{Clock: sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)),
		MultipartThreshold: multipartThreshold, ClamdOwnSignaturesOnly: true})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	sub := submitDir(t, s, dir)
	r := awaiting(t, s, sub.RequestID, 0)
	m, err := s.Objects.ReadManifest(ctx(t), StagingBucket, r.StagingObjectMetadataVersion)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(files) {
		t.Fatalf("manifest has %d files, want %d", len(m.Files), len(files))
	}
	for _, f := range m.Files {
		body, ok := files[f.Path]
		sum := sha256.Sum256(body)
		if !ok || f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(body)) {
			t.Errorf("manifest: %s has %d bytes, SHA-256 %s; want %d, %x", f.Path, f.Size, f.SHA256, len(body), sum)
		}
	}
}
