package bench

import (
	"archive/zip"
	"bytes"
	stdflate "compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/flate"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/lambdamain"
	"github.com/tre-egress/egress/shared/objects"
)

// childEnv names the spec file of a release child: the bench binary (or
// test binary) re-executed so that the release runs alone in a process
// whose peak RSS can be read.
const childEnv = "EGRESS_BENCH_CHILD"

// Release modes: ours and the baselines.
const (
	modeZip      = "zip"      // objects.Client.WriteZip: streaming zip → multipart upload
	modeRaw      = "raw"      // the same objects streamed into one multipart upload, not zipped
	modeDisk     = "disk"     // download all to disk, zip on disk, upload the file
	modeOriginal = "original" // the original's release as its code ran it
)

// releaseSpec is what a child is asked to do.
type releaseSpec struct {
	Mode       string   `json:"mode"`
	Conn       s3Conn   `json:"conn"`
	Objects    []object `json:"objects"` // the input, in zip order
	DstBucket  string   `json:"dst_bucket"`
	DstKey     string   `json:"dst_key"`
	TempDir    string   `json:"temp_dir"`    // for modeDisk and modeOriginal
	CPUProfile string   `json:"cpu_profile"` // written if set
}

// releaseResult is what a child reports on stdout.
type releaseResult struct {
	Seconds   float64 `json:"seconds"`    // the release alone, not process start
	OutSize   int64   `json:"out_size"`   // bytes of the uploaded object
	DiskBytes int64   `json:"disk_bytes"` // local disk used at the peak (modeDisk, modeOriginal)
	VmHWM     int64   `json:"vm_hwm"`     // peak RSS in bytes, as the kernel saw it at the end
	// CPUSeconds is the child's user+system time, start and JSON included
	// (set by the parent from the process's rusage): on a loaded machine
	// the figure that still compares the sides.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// MaybeRunChild runs the release child if this process was started as one
// and returns its exit code and true; otherwise it returns 0, false. main
// functions (and TestMain) call it first.
func MaybeRunChild() (int, bool) {
	path := os.Getenv(childEnv)
	if path == "" {
		return 0, false
	}
	if err := runChild(path); err != nil {
		fmt.Fprintln(os.Stderr, "release child:", err)
		return 1, true
	}
	return 0, true
}

func runChild(specPath string) error {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec releaseSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("spec %s: %w", specPath, err)
	}
	// Every side runs with the release function's memory limit, as its
	// main sets it, so that peak RSS is the working set rather than when
	// the collector happened to run.
	release, _ := functions.Lookup("copy-to-datalake")
	lambdamain.SetMemoryLimit(release, os.Getenv)
	ctx := context.Background()
	c := spec.Conn.client()
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var res releaseResult
	start := time.Now()
	switch spec.Mode {
	case modeZip:
		res, err = releaseZip(ctx, c, spec)
	case modeRaw:
		res, err = releaseRaw(ctx, c, spec)
	case modeDisk:
		res, err = releaseDisk(ctx, c, spec)
	case modeOriginal:
		res, err = releaseOriginal(ctx, c, spec)
	default:
		err = fmt.Errorf("unknown mode %q", spec.Mode)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", spec.Mode, err)
	}
	res.Seconds = time.Since(start).Seconds()
	if res.VmHWM, err = vmHWM(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// vmHWM reads the peak resident set size of this process.
func vmHWM() (int64, error) { return procKB("/proc/self/status", "VmHWM") }

// procKB reads the "key: N kB" line of a /proc file, in bytes.
func procKB(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// releaseZip is ours: WriteZip, which checks every entry's SHA-256.
func releaseZip(ctx context.Context, c *s3.Client, spec releaseSpec) (releaseResult, error) {
	entries := make([]egress.ZipEntry, len(spec.Objects))
	for i, o := range spec.Objects {
		entries[i] = egress.ZipEntry{Path: o.Path, Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID, SHA256: o.SHA256, Size: o.Size}
	}
	res, err := objects.New(c).WriteZip(ctx, spec.DstBucket, spec.DstKey, entries)
	if err != nil {
		return releaseResult{}, err
	}
	return releaseResult{OutSize: res.Size}, nil
}

// readAheadWindow and readAheadMax are WriteZip's: up to 16 objects of at
// most 1 MiB are fetched ahead of the one being copied.
const (
	readAheadWindow = 16
	readAheadMax    = 1 << 20
)

// releaseRaw is the ceiling: the same objects, read the same way (small
// ones fetched ahead), each checked against its SHA-256, streamed into one
// multipart upload with one part uploading while the next fills, as
// WriteZip's, but without zipping.
func releaseRaw(ctx context.Context, c *s3.Client, spec releaseSpec) (releaseResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type upload struct {
		size int64
		err  error
	}
	done := make(chan upload, 1)
	go func() {
		n, _, err := uploadStream(ctx, c, spec.DstBucket, spec.DstKey, pr, 1)
		pr.CloseWithError(err) // unblocks the writer if the upload failed
		done <- upload{n, err}
	}()

	ahead := prefetch(ctx, c, spec.Objects)
	buf := make([]byte, 256<<10)
	copyAll := func() error {
		for i, o := range spec.Objects {
			body, err := ahead.next(ctx, i)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.CopyBuffer(io.MultiWriter(pw, h), body, buf)
			body.Close()
			if err != nil {
				return fmt.Errorf("copy %s: %w", o.Key, err)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != o.SHA256 {
				return fmt.Errorf("%s: SHA-256 %s, want %s", o.Key, sum, o.SHA256)
			}
		}
		return nil
	}
	err := copyAll()
	pw.CloseWithError(err)
	ahead.stop()
	up := <-done
	// A failed upload is the cause of a failed copy (its pipe closed), and
	// a failed copy is wrapped in the upload's error.
	if up.err != nil {
		return releaseResult{}, up.err
	}
	if err != nil {
		return releaseResult{}, err
	}
	return releaseResult{OutSize: up.size}, nil
}

// prefetcher fetches small objects ahead, in a bounded window.
type prefetcher struct {
	c       *s3.Client
	objs    []object
	window  chan struct{}
	results []chan fetched
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type fetched struct {
	body io.ReadCloser // nil: too big, open at its turn
	err  error
}

func prefetch(ctx context.Context, c *s3.Client, objs []object) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{c: c, objs: objs, window: make(chan struct{}, readAheadWindow), results: make([]chan fetched, len(objs)), cancel: cancel}
	for i := range p.results {
		p.results[i] = make(chan fetched, 1)
	}
	p.wg.Go(func() {
		for i, o := range objs {
			select {
			case p.window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if o.Size > readAheadMax {
				p.results[i] <- fetched{}
				continue
			}
			p.wg.Go(func() {
				body, err := get(ctx, c, o)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(body)
					body.Close()
					body = io.NopCloser(bytes.NewReader(b))
				}
				p.results[i] <- fetched{body: body, err: err}
			})
		}
	})
	return p
}

// next returns object i's body; objects must be taken in order.
func (p *prefetcher) next(ctx context.Context, i int) (io.ReadCloser, error) {
	select {
	case f := <-p.results[i]:
		<-p.window
		if f.err != nil || f.body != nil {
			return f.body, f.err
		}
		return get(ctx, p.c, p.objs[i])
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *prefetcher) stop() {
	p.cancel()
	p.wg.Wait()
}

func get(ctx context.Context, c *s3.Client, o object) (io.ReadCloser, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), VersionId: optional(o.VersionID)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", o.Key, err)
	}
	return out.Body, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// releaseDisk is the original design's steps with our encoder, so that a
// ratio compares the designs alone: download every object to local disk
// (16 at a time, each checked against its SHA-256), zip the folder with
// archive/zip into a file, compressing as WriteZipJob does (method by
// objects.Method, klauspost/compress's deflate at its fastest level, one
// stream per file), then upload the file with four parts in flight.
func releaseDisk(ctx context.Context, c *s3.Client, spec releaseSpec) (releaseResult, error) {
	dir, err := os.MkdirTemp(spec.TempDir, "disk-release-")
	if err != nil {
		return releaseResult{}, err
	}
	defer os.RemoveAll(dir)
	files := filesIn(dir)

	errs := make([]error, len(spec.Objects))
	modified := make([]time.Time, len(spec.Objects))
	sem := make(chan struct{}, readAheadWindow)
	var wg sync.WaitGroup
	for i, o := range spec.Objects {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			modified[i], errs[i] = download(ctx, c, o, filepath.Join(files, filepath.FromSlash(o.Path)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return releaseResult{}, err
		}
	}

	// WriteZipJob's compressor, in one stream per file.
	fastest := func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) }
	return zipAndUpload(ctx, c, spec, dir, modified, objects.Method, fastest, 4)
}

// filesIn is where the disk designs download into under their folder dir.
func filesIn(dir string) string { return filepath.Join(dir, "files") }

// zipAndUpload is the disk designs' second half: zip the files downloaded
// under dir/files into dir/egress_data.zip (zipFolder), then upload that
// file with inflight parts at a time.
func zipAndUpload(ctx context.Context, c *s3.Client, spec releaseSpec, dir string, modified []time.Time,
	method func(name string) uint16, compressor zip.Compressor, inflight int) (releaseResult, error) {
	zipPath := filepath.Join(dir, "egress_data.zip")
	if err := zipFolder(zipPath, filesIn(dir), spec.Objects, modified, method, compressor); err != nil {
		return releaseResult{}, err
	}
	f, err := os.Open(zipPath)
	if err != nil {
		return releaseResult{}, err
	}
	defer f.Close()
	size, _, err := uploadStream(ctx, c, spec.DstBucket, spec.DstKey, f, inflight)
	if err != nil {
		return releaseResult{}, err
	}
	return releaseResult{OutSize: size, DiskBytes: totalSize(spec.Objects) + size}, nil
}

// download writes object o to path and checks its SHA-256.
func download(ctx context.Context, c *s3.Client, o object, path string) (time.Time, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), VersionId: optional(o.VersionID)})
	if err != nil {
		return time.Time{}, fmt.Errorf("get %s: %w", o.Key, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return time.Time{}, err
	}
	f, err := os.Create(path)
	if err != nil {
		return time.Time{}, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), out.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("download %s: %w", o.Key, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != o.SHA256 {
		return time.Time{}, fmt.Errorf("%s: SHA-256 %s, want %s", o.Key, sum, o.SHA256)
	}
	return aws.ToTime(out.LastModified), nil
}

// zipFolder zips the downloaded files in order into zipPath, each with
// method(name) and deflated by compressor, ending with SHA256SUMS as
// WriteZip does.
func zipFolder(zipPath, dir string, objs []object, modified []time.Time, method func(name string) uint16, compressor zip.Compressor) error {
	out, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, compressor)
	buf := make([]byte, 256<<10)
	add := func(name string, when time.Time, r io.Reader) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method(name), Modified: when})
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(w, r, buf)
		return err
	}
	var sums strings.Builder
	for i, o := range objs {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(o.Path)))
		if err != nil {
			return err
		}
		err = add(o.Path, modified[i], f)
		f.Close()
		if err != nil {
			return fmt.Errorf("zip %s: %w", o.Path, err)
		}
		sums.WriteString(o.SHA256 + "  " + o.Path + "\n")
	}
	if err := add(egress.ZipSumsName, time.Now(), strings.NewReader(sums.String())); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// The original's transfers, boto3's defaults (s3transfer's
// TransferConfig): objects above 8 MiB go in 8 MiB parts, 10 at a time.
const (
	boto3Chunk       = 8 << 20
	boto3Concurrency = 10
)

// releaseOriginal is the original's release as its Lambda function ran it
// (copy_egress_candidates_to_datalake.py of HicResearch's
// treehoose-egress-app-backend): boto3's download_file of one object after
// another (an object above 8 MiB in 8 MiB ranges, 10 at a time), then
// Python's zipfile writing every file with ZIP_DEFLATED, that is zlib at
// its default level 6, stored types too, then upload_file (8 MiB parts,
// 10 at a time). Go's compress/flate at level 6 stands in for zlib: on
// this mix it deflates at the same overall speed as CPython's zlib (README,
// Performance). Kinder than the original ran: local disk rather than EFS,
// no HEAD before each download, and this bench's 16 MiB parts (partSize),
// 10 in flight.
func releaseOriginal(ctx context.Context, c *s3.Client, spec releaseSpec) (releaseResult, error) {
	dir, err := os.MkdirTemp(spec.TempDir, "original-release-")
	if err != nil {
		return releaseResult{}, err
	}
	defer os.RemoveAll(dir)
	files := filesIn(dir)
	modified := make([]time.Time, len(spec.Objects))
	for i, o := range spec.Objects {
		if modified[i], err = downloadFile(ctx, c, o, filepath.Join(files, filepath.FromSlash(o.Path))); err != nil {
			return releaseResult{}, err
		}
	}
	zlibDefault := func(w io.Writer) (io.WriteCloser, error) { return stdflate.NewWriter(w, stdflate.DefaultCompression) }
	deflateAll := func(string) uint16 { return zip.Deflate }
	return zipAndUpload(ctx, c, spec, dir, modified, deflateAll, zlibDefault, boto3Concurrency)
}

// downloadFile writes object o to path as boto3's download_file does: in
// one GET up to boto3Chunk, else in ranges of boto3Chunk, boto3Concurrency
// at a time. Unlike download it checks no SHA-256: the original did not.
func downloadFile(ctx context.Context, c *s3.Client, o object, path string) (time.Time, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return time.Time{}, err
	}
	f, err := os.Create(path)
	if err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := byteRanges(o.Size, boto3Chunk)
	modified := make([]time.Time, len(parts))
	errs := make([]error, len(parts))
	sem := make(chan struct{}, boto3Concurrency)
	var wg sync.WaitGroup
	for i, r := range parts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			in := &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), VersionId: optional(o.VersionID)}
			if len(parts) > 1 {
				in.Range = aws.String(r.header())
			}
			modified[i], errs[i] = getInto(ctx, c, in, io.NewOffsetWriter(f, r.first))
			if errs[i] != nil {
				cancel() // the other ranges are of no use now
			}
		})
	}
	wg.Wait()
	err = errors.Join(errs...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("download %s: %w", o.Key, err)
	}
	return modified[0], nil
}

// getInto writes the body of a GET to w.
func getInto(ctx context.Context, c *s3.Client, in *s3.GetObjectInput, w io.Writer) (time.Time, error) {
	out, err := c.GetObject(ctx, in)
	if err != nil {
		return time.Time{}, err
	}
	defer out.Body.Close()
	_, err = io.Copy(w, out.Body)
	return aws.ToTime(out.LastModified), err
}

// byteRange is the bytes first to last of an object, inclusive.
type byteRange struct{ first, last int64 }

// header is the range as an HTTP Range header.
func (r byteRange) header() string { return fmt.Sprintf("bytes=%d-%d", r.first, r.last) }

// byteRanges splits size bytes into ranges of chunk bytes, the last one
// shorter; an empty object is one empty range, fetched whole.
func byteRanges(size, chunk int64) []byteRange {
	if size <= chunk {
		return []byteRange{{0, size - 1}}
	}
	var rs []byteRange
	for first := int64(0); first < size; first += chunk {
		rs = append(rs, byteRange{first, min(size, first+chunk) - 1})
	}
	return rs
}
