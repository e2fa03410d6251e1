package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestByteRanges(t *testing.T) {
	tests := []struct {
		size, chunk int64
		want        []byteRange
	}{
		{0, 8, []byteRange{{0, -1}}},
		{1, 8, []byteRange{{0, 0}}},
		{8, 8, []byteRange{{0, 7}}},
		{9, 8, []byteRange{{0, 7}, {8, 8}}},
		{16, 8, []byteRange{{0, 7}, {8, 15}}},
		{21, 8, []byteRange{{0, 7}, {8, 15}, {16, 20}}},
	}
	for _, tt := range tests {
		if got := byteRanges(tt.size, tt.chunk); !slices.Equal(got, tt.want) {
			t.Errorf("byteRanges(%d, %d) = %v, want %v", tt.size, tt.chunk, got, tt.want)
		}
	}
}

// downloadFile, as the original's release downloads, writes each object
// byte for byte: whole, or in ranges 10 at a time.
func TestDownloadFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	ctx := context.Background()
	env, err := NewEnv(1, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	srv, err := env.S3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := connOf(srv).client()
	if err := newBucket(ctx, c, "download", true); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{0, 1000, boto3Chunk, 2*boto3Chunk + 5} {
		f := file{Path: "d/f.csv", Size: size, Kind: text, Seed: uint64(size)}
		o, err := put(ctx, c, "download", "f", f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "f")
		if _, err := downloadFile(ctx, c, o, path); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(got); int64(len(got)) != size || hex.EncodeToString(sum[:]) != o.SHA256 {
			t.Errorf("%d bytes: downloaded %d bytes, SHA-256 %x; want %s", size, len(got), sum, o.SHA256)
		}
	}
}

// A bench killed before its cleanup leaves its MinIO's data in memory; the
// next one removes it, and nothing of a live bench or not of this form.
func TestRemoveOrphans(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	live := fmt.Sprintf("%s%d-1", memPrefix, os.Getpid())
	dead := fmt.Sprintf("%s%d-2", memPrefix, exited.Process.Pid)
	for _, name := range []string{live, dead, memPrefix + "12345", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, name, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeOrphans(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{live, memPrefix + "12345", "other"}
	slices.Sort(want) // as ReadDir lists
	if !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
