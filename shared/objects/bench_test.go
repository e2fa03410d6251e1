package objects

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/config"
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

// BenchmarkCopyAll copies 64 small objects to staging, as many at a time
// as the functions do by default, with S3 computing each copy's SHA-256
// and with every copy read back instead (ReadBackCopies, the path
// before), and reports the CPU (user+sys of this process, so not MinIO's)
// per copied object.
func BenchmarkCopyAll(b *testing.B) {
	const files = 64
	c := testenv.S3(b)
	src := testenv.NewBucket(b, c, true)
	dst := testenv.NewBucket(b, c, true)
	var jobs []egress.CopyJob
	for i := range files {
		key := fmt.Sprintf("ws/f-%03d.csv", i)
		v := put(b, c, src, key, randomBytes(1<<10+i*(99<<10)/files))
		jobs = append(jobs, egress.CopyJob{Path: key, Source: egress.ObjectVersion{Bucket: src, Key: key, VersionID: v}, DstBucket: dst, DstKey: "staged/" + key})
	}
	for _, readBack := range []bool{false, true} {
		b.Run(fmt.Sprintf("readback=%v", readBack), func(b *testing.B) {
			store := New(c)
			store.ReadBackCopies = readBack
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := store.CopyAll(context.Background(), jobs, config.DefaultCopyConcurrency); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N*files), "cpu-µs/object")
		})
	}
}

// processCPU is the user+sys CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
