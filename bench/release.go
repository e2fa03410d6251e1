package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// Release input sizes at scale 1: scenario 2 compares the peak memory of
// the two; scenario 1 reports the throughput of the bigger.
var releaseSizes = []int64{256 << 20, 2 << 30}

const (
	releaseIn  = "bench-release-in"
	releaseOut = "bench-release-out"
)

// runRelease measures scenarios 1 and 2 with the same child runs: for each
// input size, ours and both baselines each run alone in a child process
// that reports its time and peak RSS; the parent verifies what it
// uploaded.
func runRelease(ctx context.Context, env *Env) ([]Row, error) {
	srv, err := env.S3TLS(ctx)
	if err != nil {
		return nil, err
	}
	conn := connOf(srv)
	c := conn.client()
	for _, b := range []string{releaseIn, releaseOut} {
		if err := newBucket(ctx, c, b, true); err != nil {
			return nil, err
		}
	}
	modes := []string{modeZip, modeRaw, modeDisk, modeOriginal}
	runs := make([]map[string]releaseResult, len(releaseSizes))
	inputs := make([]int64, len(releaseSizes))
	for i, size := range releaseSizes {
		files := mix(uint64(i+1), env.scaled(size, 1<<20))
		objs, err := upload(ctx, c, releaseIn, fmt.Sprintf("in-%d", i), files)
		if err != nil {
			return nil, err
		}
		inputs[i] = totalSize(objs)
		env.Logf("release: %s in %d files uploaded", mib(inputs[i]), len(objs))
		runs[i] = map[string]releaseResult{}
		for _, mode := range modes {
			key := fmt.Sprintf("out-%d/%s/egress_data.zip", i, mode)
			r, err := env.releaseChild(ctx, releaseSpec{Mode: mode, Conn: conn, Objects: objs, DstBucket: releaseOut, DstKey: key, TempDir: env.Dir},
				fmt.Sprintf("release-%s-%d", mode, i))
			if err != nil {
				return nil, err
			}
			env.Logf("release: %s %s in %.2fs, peak RSS %s", mode, mib(inputs[i]), r.Seconds, mib(r.VmHWM))
			var stats []Compression
			if mode == modeRaw {
				err = verifyRaw(ctx, c, releaseOut, key, inputs[i])
			} else {
				stats, err = verifyZip(ctx, c, releaseOut, key, objs)
			}
			if err != nil {
				return nil, fmt.Errorf("verify %s release of %s: %w", mode, mib(inputs[i]), err)
			}
			if mode == modeZip && i == len(releaseSizes)-1 {
				env.compression = stats
			}
			runs[i][mode] = r
		}
	}
	return releaseRows(inputs, runs), nil
}

func releaseRows(inputs []int64, runs []map[string]releaseResult) []Row {
	const s1, s2 = "1 Release (zip) throughput", "2 Release peak memory"
	last := len(inputs) - 1
	big := runs[last]
	rate := func(r releaseResult) float64 { return float64(inputs[last]) / (1 << 20) / r.Seconds }
	cpu := func(mode string) string {
		return fmt.Sprintf("%.1f s CPU (%.0f MiB/s per CPU second)", big[mode].CPUSeconds, float64(inputs[last])/(1<<20)/big[mode].CPUSeconds)
	}
	zipNote := fmt.Sprintf("zip %s for %s in, over HTTPS (uploads with an unsigned payload and a trailing checksum); each side checks every object's SHA-256 as it streams it, S3 every part's CRC32, and the zip's directory is checked against every source's size and CRC32; the release's child used %s, the raw copy's %s",
		mib(big[modeZip].OutSize), mib(inputs[last]), cpu(modeZip), cpu(modeRaw))
	rows := []Row{
		newRow(Row{Scenario: s1, Name: fmt.Sprintf("%s mix: streaming zip vs raw copy", mib(inputs[last])),
			Ours: rate(big[modeZip]), Baseline: rate(big[modeRaw]), Unit: "MiB/s",
			BaseName: "same objects streamed S3→S3 into one multipart upload, no zip (ceiling)",
			Goal:     ratioAtLeast(0.8), Note: zipNote}),
		newRow(Row{Scenario: s1, Name: fmt.Sprintf("%s mix: streaming zip vs original design", mib(inputs[last])),
			Ours: rate(big[modeZip]), Baseline: rate(big[modeOriginal]), Unit: "MiB/s",
			BaseName: "the original's release: download each object in turn to disk, zip the folder deflating every file at zlib's default level, upload the file",
			Goal:     ratioAtLeast(2),
			Note: fmt.Sprintf("as copy_egress_candidates_to_datalake.py ran it with boto3's transfer defaults, zlib level 6 played by Go's compress/flate level 6 (as fast on this mix), "+
				"on local disk rather than EFS; it also used %s of disk; its child used %s", mib(big[modeOriginal].DiskBytes), cpu(modeOriginal))}),
		// What the design alone is worth: the original's steps with our
		// encoder, our methods and 16 downloads at a time.
		newRow(Row{Scenario: s1, Name: fmt.Sprintf("%s mix: streaming zip vs original design with our encoder", mib(inputs[last])),
			Ours: rate(big[modeZip]), Baseline: rate(big[modeDisk]), Unit: "MiB/s",
			BaseName: "download all to disk (16 at a time), zip the folder compressing as WriteZip does, upload the file",
			Note:     fmt.Sprintf("klauspost/compress deflate at level 1, stored types stored; it also used %s of disk; its child used %s", mib(big[modeDisk].DiskBytes), cpu(modeDisk))}),
		// A release is written over as many invocations as it takes; this
		// is what one writes at the measured speed before it stops with
		// the margin workflow.Handlers.releaseStop keeps (2 minutes of 15).
		newRow(Row{Scenario: s1, Name: "largest release one 15-minute invocation writes at this speed",
			Ours: rate(big[modeZip]) * (15*60 - releaseMargin) / 1024, Baseline: rate(big[modeOriginal]) * 15 * 60 / 1024, Unit: "GiB",
			BaseName: "the original's release at its speed, 900 s, and no further",
			Note: fmt.Sprintf("%.0f MiB/s × (900 s − %d s margin); a bigger release continues in the next invocation from its checkpoint, "+
				"while the original fails past its 900 s (and past Lambda's 10 GiB of /tmp for the files and the zip)", rate(big[modeZip]), releaseMargin)}),
	}
	for i := range inputs {
		rows = append(rows, newRow(Row{Scenario: s2, Name: fmt.Sprintf("peak RSS, %s input", mib(inputs[i])),
			Ours: mibf(runs[i][modeZip].VmHWM), Baseline: mibf(runs[i][modeRaw].VmHWM), Unit: "MiB",
			BaseName: "raw streaming copy, same buffers", Goal: oursAtMost(128, "MiB"),
			Note: fmt.Sprintf("the original design with our encoder: %s RSS plus %s of disk", mib(runs[i][modeDisk].VmHWM), mib(runs[i][modeDisk].DiskBytes))}))
	}
	growth := func(mode string) float64 {
		return float64(runs[last][mode].VmHWM) / float64(runs[0][mode].VmHWM)
	}
	rows = append(rows, newRow(Row{Scenario: s2, Name: fmt.Sprintf("peak RSS growth, %s → %s", mib(inputs[0]), mib(inputs[last])),
		Ours: growth(modeZip), Baseline: growth(modeRaw), Unit: "×", BaseName: "raw streaming copy",
		Goal: &Goal{Of: "ours", Op: "<", Value: 1.1, Unit: "×"}}))
	return rows
}

// releaseMargin is the seconds a 15-minute Release invocation keeps
// before its deadline to save its checkpoint (workflow.Handlers.releaseStop).
const releaseMargin = 120

func mibf(n int64) float64 { return float64(n) / (1 << 20) }

// releaseChild runs spec in a child process (this executable again, see
// MaybeRunChild) and returns its report.
func (e *Env) releaseChild(ctx context.Context, spec releaseSpec, name string) (releaseResult, error) {
	if e.ProfileDir != "" {
		spec.CPUProfile = filepath.Join(e.ProfileDir, name+".pprof")
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return releaseResult{}, err
	}
	specPath := filepath.Join(e.Dir, name+".json")
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return releaseResult{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return releaseResult{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe)
	// The child sets the release function's memory limit (runChild).
	cmd.Env = append(os.Environ(), childEnv+"="+specPath, "GOMEMLIMIT=")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return releaseResult{}, fmt.Errorf("%s child: %w: %s", spec.Mode, err, strings.TrimSpace(stderr.String()))
	}
	// The peak RSS is the child's own VmHWM: rusage's ru_maxrss would not
	// do, as Linux carries the parent's peak into a child started with
	// vfork+exec, as Go starts them.
	var r releaseResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return releaseResult{}, fmt.Errorf("%s child output %q: %w", spec.Mode, stdout.String(), err)
	}
	r.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// verifyRaw checks that the uploaded concatenation has the size of the
// input. Its bytes were checked on the way: the child checked every
// object's SHA-256 as it streamed it, and S3 checked every part's CRC32.
func verifyRaw(ctx context.Context, c *s3.Client, bucket, key string, size int64) error {
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	if n := aws.ToInt64(head.ContentLength); n != size {
		return fmt.Errorf("uploaded %d bytes, want %d", n, size)
	}
	return nil
}

// verifyZip reads an uploaded zip's central directory (without reading
// the data) and checks that it lists exactly the objects, plus
// SHA256SUMS (and manifest.json if present), each with the size and CRC32
// of its source: archive/zip computes the CRC32 over the bytes it zipped.
// It returns how each file type was compressed.
func verifyZip(ctx context.Context, c *s3.Client, bucket, key string, objs []object) ([]Compression, error) {
	ra, size, err := newTailReader(ctx, c, bucket, key)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, err
	}
	want := make(map[string]object, len(objs))
	for _, o := range objs {
		want[o.Path] = o
	}
	byExt := map[string]*Compression{}
	seen, sums := 0, false
	for _, f := range zr.File {
		o, ok := want[f.Name]
		switch {
		case !ok && f.Name == egress.ZipSumsName:
			sums = true
			continue
		case !ok && f.Name == egress.ZipManifestName:
			continue
		case !ok:
			return nil, fmt.Errorf("unexpected entry %q", f.Name)
		case f.CRC32 != o.CRC32 || int64(f.UncompressedSize64) != o.Size:
			return nil, fmt.Errorf("%s: %d bytes, CRC32 %08x; source has %d, %08x", f.Name, f.UncompressedSize64, f.CRC32, o.Size, o.CRC32)
		}
		seen++
		ext := strings.ToLower(path.Ext(f.Name))
		method := map[uint16]string{zip.Store: "store", zip.Deflate: "deflate"}[f.Method]
		cs := byExt[ext+method]
		if cs == nil {
			cs = &Compression{Ext: ext, Method: method}
			byExt[ext+method] = cs
		}
		cs.Files++
		cs.Bytes += int64(f.UncompressedSize64)
		cs.Compressed += int64(f.CompressedSize64)
	}
	if seen != len(objs) || !sums {
		return nil, fmt.Errorf("zip has %d of %d files (SHA256SUMS present: %t)", seen, len(objs), sums)
	}
	var stats []Compression
	for _, cs := range byExt {
		stats = append(stats, *cs)
	}
	slices.SortFunc(stats, func(a, b Compression) int { return strings.Compare(a.Ext+a.Method, b.Ext+b.Method) })
	return stats, nil
}

// tailSize is how much of a zip's end tailReader fetches at once: enough
// for the directory of tens of thousands of entries.
const tailSize = 8 << 20

// tailReader is an io.ReaderAt over an S3 object that holds the object's
// last bytes, where a zip's directory is, and fetches anything else with
// a ranged GET.
type tailReader struct {
	ctx    context.Context
	c      *s3.Client
	bucket string
	key    string
	off    int64 // of tail in the object
	tail   []byte
}

func newTailReader(ctx context.Context, c *s3.Client, bucket, key string) (*tailReader, int64, error) {
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, 0, err
	}
	size := aws.ToInt64(head.ContentLength)
	r := &tailReader{ctx: ctx, c: c, bucket: bucket, key: key, off: max(size-tailSize, 0)}
	r.tail = make([]byte, size-r.off)
	if _, err := r.fetch(r.tail, r.off); err != nil {
		return nil, 0, err
	}
	return r, size, nil
}

func (r *tailReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.off {
		n := copy(p, r.tail[off-r.off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	return r.fetch(p, off)
}

func (r *tailReader) fetch(p []byte, off int64) (int, error) {
	out, err := r.c.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return io.ReadFull(out.Body, p)
}
