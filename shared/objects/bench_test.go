package objects

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// BenchmarkZipWriter zips 64 MiB from MinIO into MinIO: text files, which
// are deflated, and already-compressed files, which are stored.
func BenchmarkZipWriter(b *testing.B) {
	const files, size = 8, 8 << 20
	c := testenv.S3(b)
	bucket := testenv.NewBucket(b, c, false)
	store := New(c)
	text := func(i int) []byte {
		var buf bytes.Buffer
		for r := 0; buf.Len() < size; r++ {
			fmt.Fprintf(&buf, "%d,participant-%06d,%d.%04d,2024-01-%02d\n", i, r, r*31%997, r%10000, r%28+1)
		}
		return buf.Bytes()[:size]
	}
	kinds := []struct {
		name, ext string
		body      func(i int) []byte
	}{
		{"deflate", ".csv", text},
		{"store", ".gz", func(int) []byte { return randomBytes(size) }},
	}
	for _, k := range kinds {
		var entries []egress.ZipEntry
		for i := range files {
			p := fmt.Sprintf("%s/file%d%s", k.name, i, k.ext)
			put(b, c, bucket, p, k.body(i))
			entries = append(entries, egress.ZipEntry{Path: p, Bucket: bucket, Key: p})
		}
		b.Run(fmt.Sprintf("%s/method=%d", k.name, Method(entries[0].Path)), func(b *testing.B) {
			b.SetBytes(files * size)
			b.ReportAllocs()
			var zipSize int64
			for b.Loop() {
				res, err := store.WriteZip(context.Background(), bucket, "bench/"+k.name+".zip", entries)
				if err != nil {
					b.Fatal(err)
				}
				zipSize = res.Size
			}
			b.ReportMetric(float64(zipSize)/(files*size), "zip/src")
		})
	}
}
