package objects

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/flate"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// bytesS3 serves GETs of objects held in memory.
type bytesS3 struct {
	S3
	objects  map[string][]byte
	modified time.Time
}

func (m bytesS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b, ok := m.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, fmt.Errorf("no object %s", aws.ToString(in.Key))
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b))), LastModified: aws.Time(m.modified)}, nil
}

// TestZipFormatMatchesArchiveZip holds the zip records the release writes
// to archive/zip's: entries of one block each, zipped by both with the same
// compressor, give the same bytes, names needing the UTF-8 flag and empty
// files included.
func TestZipFormatMatchesArchiveZip(t *testing.T) {
	modified := time.Date(2026, 11, 30, 17, 4, 33, 0, time.UTC)
	files := []struct {
		path string
		body []byte
	}{
		{"a/summary.csv", bytes.Repeat([]byte("a,1,2.5\n"), 5000)},
		{"images/scan.png", randomBytes(50 << 10)},
		{"données/résumé.txt", []byte("bonjour\n")},
		{"empty.txt", nil},
	}
	m := bytesS3{objects: map[string][]byte{}, modified: modified}
	var entries []egress.ZipEntry
	var want bytes.Buffer
	zw := zip.NewWriter(&want)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	var sums bytes.Buffer
	for _, f := range files {
		m.objects[f.path] = f.body
		entries = append(entries, egress.ZipEntry{Path: f.path, Bucket: "b", Key: f.path})
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.path, Method: Method(f.path), Modified: modified})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.body)
		sums.WriteString(sumsLine(sum(f.body), f.path))
	}

	got := &bytes.Buffer{}
	z := &zipStream{blockSize: DefaultZipBlockSize, out: got}
	s := &Client{S3: m}
	if _, done, err := s.zipEntries(context.Background(), z, egress.ZipJob{Entries: entries}, modified, nil); err != nil || !done {
		t.Fatalf("done %t, error %v", done, err)
	}
	// The trailer files as WriteZipJob writes them, read back from ours.
	zr, err := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File[len(files):] {
		rc, _ := f.Open()
		body, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: Method(f.Name), Modified: modified})
		w.Write(body)
		if f.Name == egress.ZipSumsName && !bytes.Equal(body, sums.Bytes()) {
			t.Errorf("SHA256SUMS = %q, want %q", body, sums.Bytes())
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("ours: %d bytes, archive/zip's: %d bytes; they differ at byte %d", got.Len(), want.Len(), firstDiff(got.Bytes(), want.Bytes()))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// crashS3 fails the first PUT of key (a checkpoint) made after a part was
// uploaded in the same call: the call "crashes" with its part uploaded
// but not recorded.
type crashS3 struct {
	S3
	key     string
	parts   atomic.Int32 // uploaded since the test reset it
	crashed bool
}

func (f *crashS3) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	f.parts.Add(1)
	return f.S3.UploadPart(ctx, in, opts...)
}

func (f *crashS3) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if !f.crashed && f.parts.Load() > 0 && aws.ToString(in.Key) == f.key {
		f.crashed = true
		return nil, errInjected
	}
	return f.S3.PutObject(ctx, in, opts...)
}

// TestWriteZipJobResumes writes the same zip in one call and over many,
// each call stopping after one block (the smallest budget), some within
// an entry, one of them "crashing" after uploading a part but before
// saving its checkpoint, and checks the two objects are the same bytes,
// that unzip accepts them, and that a checkpoint of another job is not
// resumed.
func TestWriteZipJobResumes(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)
	modified := time.Date(2026, 11, 30, 17, 4, 33, 0, time.UTC)
	const block = 1 << 20
	oneShot := &Client{S3: c, ZipPartSize: 5 << 20, ZipBlockSize: block}
	job := egress.ZipJob{Bucket: datalake, Key: "approved_egress/ws1/req1/one/egress_data.zip", Entries: f.entries, Modified: modified,
		LeftOut: []egress.LeftOut{{Path: "x.csv", Stage: "second", Comment: "no"}}}
	want, done, err := oneShot.WriteZipJob(ctx, job)
	if err != nil || !done {
		t.Fatalf("one call: done %t, error %v", done, err)
	}
	wantSum := sum(get(t, c, datalake, job.Key, ""))

	fs := &crashS3{S3: c}
	resumed := &Client{S3: fs, ZipPartSize: 5 << 20, ZipBlockSize: block}
	job.Key = "approved_egress/ws1/req1/many/egress_data.zip"
	job.CheckpointBucket, job.CheckpointKey = f.staging, "releases/ws1/req1/checkpoint"
	fs.key = job.CheckpointKey
	job.Stop = time.Now().Add(-time.Hour) // every call stops after one block
	calls := 0
	var res egress.ZipResult
	for done = false; !done; {
		calls++
		if calls > 100 {
			t.Fatal("no end after 100 calls")
		}
		fs.parts.Store(0)
		crashed := fs.crashed
		res, done, err = resumed.WriteZipJob(ctx, job)
		if !crashed && fs.crashed {
			if !errors.Is(err, errInjected) {
				t.Fatalf("call %d: error %v, want the injected one", calls, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("call %d: %v", calls, err)
		}
	}
	if calls < 3 || !fs.crashed {
		t.Fatalf("%d calls (crashed %t), want at least 3 and one crash", calls, fs.crashed)
	}
	got := get(t, c, datalake, job.Key, "")
	if gotSum := sum(got); gotSum != wantSum || res.Size != want.Size {
		t.Fatalf("zip over %d calls: %d bytes, SHA-256 %s; in one call: %d bytes, %s", calls, res.Size, gotSum, want.Size, wantSum)
	}
	if fmt.Sprint(res.Entries) != fmt.Sprint(want.Entries) {
		t.Errorf("entries over %d calls %+v, in one call %+v", calls, res.Entries, want.Entries)
	}
	if n := openUploads(t, c, datalake, job.Key); n != 0 {
		t.Errorf("%d multipart uploads left open", n)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.staging), Key: aws.String(job.CheckpointKey)}); !isNotFound(err) {
		t.Errorf("checkpoint still there once the zip is complete: %v", err)
	}
	unzipTest(t, got)
	t.Logf("%d calls, one crashed; zip of %d bytes identical", calls, len(got))

	// A checkpoint of another job (here: other entries) is not resumed:
	// the zip starts afresh.
	if _, _, err := resumed.WriteZipJob(ctx, egress.ZipJob{Bucket: datalake, Key: job.Key, Entries: f.entries, CheckpointBucket: job.CheckpointBucket,
		CheckpointKey: job.CheckpointKey, Stop: job.Stop}); err != nil {
		t.Fatal(err)
	}
	job.Entries = f.entries[:2]
	job.Stop = time.Time{}
	res, done, err = resumed.WriteZipJob(ctx, job)
	if err != nil || !done || len(res.Entries) != 2 {
		t.Fatalf("after another job's checkpoint: done %t, %d entries, error %v", done, len(res.Entries), err)
	}
}

// unzipTest runs `unzip -t` on a zip, when unzip is installed.
func unzipTest(t *testing.T, b []byte) {
	t.Helper()
	if _, err := exec.LookPath("unzip"); err != nil {
		t.Log("unzip not installed: skipping unzip -t")
		return
	}
	path := filepath.Join(t.TempDir(), "egress_data.zip")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unzip", "-t", path).CombinedOutput(); err != nil {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
}

// TestWriteZipJobConflictDropsCheckpoint: a file that is not what the
// manifest says fails the zip for good, checkpoint or not: the upload is
// aborted and the checkpoint deleted, so nothing is left for a retry to
// resume.
func TestWriteZipJobConflictDropsCheckpoint(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)
	entries := slices.Clone(f.entries)
	entries[3].SHA256 = sum([]byte("something else"))
	job := egress.ZipJob{Bucket: datalake, Key: "approved_egress/ws1/req1/egress_data.zip", Entries: entries,
		CheckpointBucket: f.staging, CheckpointKey: "releases/ws1/req1/checkpoint", Stop: time.Now().Add(-time.Hour)}
	s := &Client{S3: c, ZipPartSize: 5 << 20}
	var err error
	for done, calls := false, 0; !done && err == nil; calls++ {
		if calls > 20 {
			t.Fatal("no end after 20 calls")
		}
		_, done, err = s.WriteZipJob(ctx, job)
	}
	if egress.ErrorCode(err) != egress.ECONFLICT {
		t.Fatalf("error %v, want a conflict", err)
	}
	if n := openUploads(t, c, datalake, job.Key); n != 0 {
		t.Errorf("%d multipart uploads left open", n)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.staging), Key: aws.String(job.CheckpointKey)}); !isNotFound(err) {
		t.Errorf("checkpoint still there: %v", err)
	}
}
