package objects

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// faultyS3 passes calls to a real S3 and injects failures: reads of failKey
// fail after failAfter bytes, and onPart runs before each UploadPart and
// may fail it.
type faultyS3 struct {
	S3
	failKey   string
	failAfter int
	onPart    func(n int32) error
	parts     atomic.Int32 // UploadPart calls
}

func (f *faultyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := f.S3.GetObject(ctx, in, opts...)
	if err == nil && aws.ToString(in.Key) == f.failKey {
		out.Body = &failingBody{r: out.Body, left: f.failAfter}
	}
	return out, err
}

func (f *faultyS3) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	n := f.parts.Add(1)
	if f.onPart != nil {
		if err := f.onPart(n); err != nil {
			return nil, err
		}
	}
	return f.S3.UploadPart(ctx, in, opts...)
}

var errInjected = errors.New("injected failure")

// failingBody returns errInjected once left bytes have been read.
type failingBody struct {
	r    io.ReadCloser
	left int
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errInjected
	}
	n, err := b.r.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func (b *failingBody) Close() error { return b.r.Close() }

// zipFixture is a staging bucket holding files to zip.
type zipFixture struct {
	c       *s3.Client
	staging string
	entries []egress.ZipEntry
	content map[string][]byte // by path
}

func newZipFixture(t *testing.T, c *s3.Client) *zipFixture {
	t.Helper()
	f := &zipFixture{c: c, staging: testenv.NewBucket(t, c, true), content: map[string][]byte{}}
	csv := func(seed string, n int) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "%s,%d,%d.%03d\n", seed, i, i*7, i%1000)
		}
		return b.Bytes()
	}
	files := []struct {
		path string
		body []byte
	}{
		{"a/summary.csv", csv("a", 10000)},
		{"b/summary.csv", csv("b", 20000)},
		{"images/scan.PNG", randomBytes(100 << 10)},
		{"données/résumé 1+1=2 %.txt", []byte("bonjour\n")},
		{"empty.txt", nil},
		// Bigger than read-ahead, so streamed at their turn; the stored one
		// fills the first 5 MiB part.
		{"big/random.bin.gz", randomBytes(6 << 20)},
		{"big/table.csv", csv("big", 3<<19)},
	}
	for _, file := range files {
		key := "ws1/req1/" + file.path
		v := put(t, c, f.staging, key, file.body)
		f.content[file.path] = file.body
		f.entries = append(f.entries, egress.ZipEntry{
			Path: file.path, Bucket: f.staging, Key: key, VersionID: v, SHA256: sum(file.body), Size: int64(len(file.body)),
			SourceKey: "ws1/" + file.path, SourceVersionID: "swb-" + v,
		})
	}
	// The zip must hold the staged version, not what came later.
	put(t, c, f.staging, "ws1/req1/a/summary.csv", []byte("overwritten after staging"))
	return f
}

// readZip downloads and opens a zip, returning each entry's bytes by name
// in zip order.
func readZip(t *testing.T, c *s3.Client, bucket, key string) (*zip.Reader, map[string][]byte) {
	t.Helper()
	b := get(t, c, bucket, key, "")
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		files[f.Name] = data
	}
	return zr, files
}

func TestWriteZip(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)
	store := &Client{S3: c, ZipPartSize: 5 << 20}

	tests := []struct {
		name      string
		entries   []egress.ZipEntry
		wantParts int32
	}{
		{"files", f.entries, 2},
		{"no files", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "approved_egress/ws1/req1/" + strings.ReplaceAll(tt.name, " ", "_") + "/egress_data.zip"
			res, err := store.WriteZip(ctx, datalake, key, tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			zr, files := readZip(t, c, datalake, key)

			var names, wantNames []string
			for _, zf := range zr.File {
				names = append(names, zf.Name)
				if want := Method(zf.Name); zf.Method != want {
					t.Errorf("%s: method %d, want %d", zf.Name, zf.Method, want)
				}
			}
			var sums strings.Builder
			for i, e := range tt.entries {
				wantNames = append(wantNames, e.Path)
				want := f.content[e.Path]
				if got := files[e.Path]; !bytes.Equal(got, want) {
					t.Errorf("%s: zip holds %d bytes (sha256 %s), want the staged %d (sha256 %s)", e.Path, len(got), sum(got), len(want), sum(want))
				}
				wantFile := egress.File{Path: e.Path, SourceKey: e.SourceKey, VersionID: e.SourceVersionID, Size: int64(len(want)), SHA256: sum(want)}
				if !reflect.DeepEqual(res.Entries[i], wantFile) {
					t.Errorf("result entry %d = %+v, want %+v", i, res.Entries[i], wantFile)
				}
				fmt.Fprintf(&sums, "%s  %s\n", sum(want), e.Path)
			}
			wantNames = append(wantNames, egress.ZipSumsName, egress.ZipManifestName)
			if !reflect.DeepEqual(names, wantNames) {
				t.Fatalf("zip entries %q, want %q", names, wantNames)
			}
			if got := string(files[egress.ZipSumsName]); got != sums.String() {
				t.Errorf("SHA256SUMS = %q, want %q", got, sums.String())
			}
			var m struct{ Files []egress.File }
			if err := json.Unmarshal(files[egress.ZipManifestName], &m); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			if len(m.Files) != len(tt.entries) || len(tt.entries) > 0 && !reflect.DeepEqual(m.Files, res.Entries) {
				t.Errorf("manifest.json files = %+v, want %+v", m.Files, res.Entries)
			}

			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(datalake), Key: aws.String(key), PartNumber: aws.Int32(1)})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToInt32(head.PartsCount); got != tt.wantParts {
				t.Errorf("zip uploaded in %d parts, want %d", got, tt.wantParts)
			}
			if res.Size != int64(len(get(t, c, datalake, key, ""))) || res.Key != key || res.Bucket != datalake || res.VersionID == "" {
				t.Errorf("result %+v does not describe the zip", res)
			}
			if n := openUploads(t, c, datalake, key); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
		})
	}
}

func TestWriteZipFailureLeavesNothing(t *testing.T) {
	_, c := newStore(t)
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)

	with := func(change func(e []egress.ZipEntry)) []egress.ZipEntry {
		e := append([]egress.ZipEntry(nil), f.entries...)
		change(e)
		return e
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tests := []struct {
		name      string
		entries   []egress.ZipEntry
		fault     *faultyS3
		ctx       context.Context
		wantCode  string
		wantErr   error
		wantParts int32 // UploadPart calls made before the failure, at least
	}{
		{name: "third entry missing", entries: with(func(e []egress.ZipEntry) { e[2].Key = "ws1/req1/missing.png" }),
			fault: &faultyS3{}, wantCode: egress.ENOTFOUND},
		{name: "streamed read fails after a part was uploaded", entries: f.entries,
			fault: &faultyS3{failKey: f.entries[5].Key, failAfter: 5<<20 + 1000}, wantErr: errInjected, wantParts: 1},
		{name: "read-ahead read fails", entries: f.entries,
			fault: &faultyS3{failKey: f.entries[1].Key, failAfter: 100}, wantErr: errInjected},
		{name: "checksum mismatch", entries: with(func(e []egress.ZipEntry) { e[6].SHA256 = sum([]byte("something else")) }),
			fault: &faultyS3{}, wantCode: egress.ECONFLICT, wantParts: 1},
		{name: "part upload fails", entries: f.entries,
			fault: &faultyS3{onPart: func(int32) error { return errInjected }}, wantErr: errInjected, wantParts: 1},
		{name: "context cancelled during upload", entries: f.entries, ctx: ctx,
			fault: &faultyS3{onPart: func(int32) error { cancel(); return nil }}, wantErr: context.Canceled, wantParts: 1},
		{name: "invalid path", entries: with(func(e []egress.ZipEntry) { e[3].Path = "../escape.txt" }),
			fault: &faultyS3{}, wantCode: egress.EINVALID},
		{name: "reserved path", entries: with(func(e []egress.ZipEntry) { e[3].Path = egress.ZipManifestName }),
			fault: &faultyS3{}, wantCode: egress.EINVALID},
		{name: "duplicate path", entries: with(func(e []egress.ZipEntry) { e[3].Path = e[0].Path }),
			fault: &faultyS3{}, wantCode: egress.EINVALID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.S3 = c
			store := &Client{S3: tt.fault, ZipPartSize: 5 << 20}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			key := fmt.Sprintf("approved_egress/ws1/req%d/egress_data.zip", i)
			_, err := store.WriteZip(ctx, datalake, key, tt.entries)
			switch {
			case err == nil:
				t.Fatal("WriteZip succeeded")
			case tt.wantCode != "":
				wantCode(t, err, tt.wantCode)
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := tt.fault.parts.Load(); got < tt.wantParts {
				t.Fatalf("%d parts uploaded before the failure, want at least %d", got, tt.wantParts)
			}
			if exists(t, c, datalake, key) {
				t.Fatal("a failed zip is visible")
			}
			if n := openUploads(t, c, datalake, key); n != 0 {
				t.Fatalf("%d multipart uploads left open", n)
			}
		})
	}
}

// memS3 serves GetObject from memory and everything else from S3: a zip of
// 65,536 entries need not wait for as many requests to the test server.
type memS3 struct {
	S3
	body []byte
}

func (m memS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: aws.Int64(int64(len(m.body))),
		LastModified:  aws.Time(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)),
	}, nil
}

// TestWriteZipManyEntries checks the zip switches to Zip64 beyond 65,535
// entries and still opens.
func TestWriteZipManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("65,537 entries")
	}
	c := testenv.S3(t)
	datalake := testenv.NewBucket(t, c, false)
	body := []byte("tiny\n")
	store := &Client{S3: memS3{S3: c, body: body}}
	const n = 1<<16 + 1
	entries := make([]egress.ZipEntry, n)
	for i := range entries {
		// Stored (.gz) entries: deflate is not what this test is about, and
		// it is slow under the race detector.
		entries[i] = egress.ZipEntry{Path: fmt.Sprintf("d%03d/%05d.gz", i/1000, i), Bucket: "staging", Key: "tiny", SHA256: sum(body), Size: int64(len(body))}
	}
	res, err := store.WriteZip(context.Background(), datalake, "many.zip", entries)
	if err != nil {
		t.Fatal(err)
	}
	zr, files := readZip(t, c, datalake, "many.zip")
	if len(zr.File) != n+2 || len(res.Entries) != n {
		t.Fatalf("zip has %d entries and result %d, want %d+2 and %d", len(zr.File), len(res.Entries), n, n)
	}
	for _, i := range []int{0, 65535, 65536} {
		if got := files[entries[i].Path]; !bytes.Equal(got, body) {
			t.Errorf("%s = %q, want %q", entries[i].Path, got, body)
		}
	}
	if lines := strings.Count(string(files[egress.ZipSumsName]), "\n"); lines != n {
		t.Errorf("SHA256SUMS has %d lines, want %d", lines, n)
	}
}

// sparseZip keeps the start and end of what is written to it, and reads
// zeros in between: enough for zip.NewReader, which reads the directory at
// the end, to check an archive too big to keep.
type sparseZip struct {
	head, tail []byte
	size       int64
}

const sparseKeep = 1 << 20

func (s *sparseZip) Write(p []byte) (int, error) {
	if len(s.head) < sparseKeep {
		s.head = append(s.head, p[:min(len(p), sparseKeep-len(s.head))]...)
	}
	s.tail = append(s.tail, p...)
	if len(s.tail) > 4*sparseKeep {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-sparseKeep:]...)
	}
	s.size += int64(len(p))
	return len(p), nil
}

func (s *sparseZip) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(s.head)) {
		copy(p, s.head[off:])
	}
	tailStart := s.size - int64(len(s.tail))
	if end := off + int64(len(p)); end > tailStart {
		from := max(off, tailStart)
		copy(p[from-off:], s.tail[from-tailStart:])
	}
	if off+int64(len(p)) > s.size {
		return int(max(s.size-off, 0)), io.EOF
	}
	return len(p), nil
}

// zeros reads n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// zerosS3 serves every GET as size zero bytes.
type zerosS3 struct {
	S3
	size int64
}

func (z zerosS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(&zeros{n: z.size}), ContentLength: aws.Int64(z.size), LastModified: aws.Time(time.Now())}, nil
}

// TestZip64LargeEntry streams an entry over 4 GiB through zipEntries, the
// code WriteZipJob uses, and checks archive/zip reads it as Zip64.
func TestZip64LargeEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 4 GiB")
	}
	const size = 1<<32 + 1
	out := &sparseZip{}
	name := "big/scan.nii.gz" // stored: no time spent deflating
	s := &Client{S3: zerosS3{size: size}}
	z := &zipStream{blockSize: DefaultZipBlockSize, out: out}
	files, done, err := s.zipEntries(context.Background(), z, egress.ZipJob{Entries: []egress.ZipEntry{{Path: name, Bucket: "b", Key: "k"}}}, time.Now(), nil)
	if err != nil || !done {
		t.Fatalf("done %t, error %v", done, err)
	}
	if n := files[0].Size; n != size {
		t.Fatalf("wrote %d bytes, want %d", n, size)
	}
	zr, err := zip.NewReader(out, out.size)
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	if len(zr.File) != 3 {
		t.Fatalf("zip has %d entries, want 3", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != name || f.UncompressedSize64 != size || f.CompressedSize64 != size || f.Method != zip.Store {
		t.Fatalf("entry %s: sizes %d/%d, method %d; want %s, %d, stored", f.Name, f.UncompressedSize64, f.CompressedSize64, f.Method, name, uint64(size))
	}
}

func TestMethod(t *testing.T) {
	tests := []struct {
		path string
		want uint16
	}{
		{"a/summary.csv", zip.Deflate},
		{"notes", zip.Deflate},
		{"data.parquet", zip.Store},
		{"scan.nii.gz", zip.Store},
		{"Photo.JPG", zip.Store},
		{"archive.tar.zst", zip.Store},
		{"report.pdf", zip.Store},
		{"gz/readme.txt", zip.Deflate},
	}
	for _, tt := range tests {
		if got := Method(tt.path); got != tt.want {
			t.Errorf("Method(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

func TestSumsLine(t *testing.T) {
	tests := []struct{ name, want string }{
		{"a b.csv", "abc  a b.csv\n"},
		{"odd\nname", `\abc  odd\nname` + "\n"},
	}
	for _, tt := range tests {
		if got := sumsLine("abc", tt.name); got != tt.want {
			t.Errorf("sumsLine(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPartLen(t *testing.T) {
	w := &partWriter{partSize: 16 << 20}
	tests := []struct {
		part int
		want int64
	}{
		{1, 16 << 20}, {1000, 16 << 20}, {1001, 32 << 20}, {10000, 160 << 20},
	}
	var total int64
	for n := 1; n <= maxParts; n++ {
		total += w.partLen(n)
	}
	for _, tt := range tests {
		if got := w.partLen(tt.part); got != tt.want {
			t.Errorf("partLen(%d) = %d, want %d", tt.part, got, tt.want)
		}
	}
	if total < 800<<30 {
		t.Errorf("10,000 parts hold %d GiB, want at least 800", total>>30)
	}
}

// TestWriteZipScratchDir: with a scratch directory (the EFS option) the zip
// is the same, and its directory is gone afterwards, on success and on
// failure alike.
func TestWriteZipScratchDir(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)
	scratch := t.TempDir()
	store := &Client{S3: c, ZipPartSize: 5 << 20, ScratchDir: scratch}

	key := "approved_egress/ws1/req1/egress_data.zip"
	res, err := store.WriteZip(ctx, datalake, key, f.entries)
	if err != nil {
		t.Fatal(err)
	}
	_, files := readZip(t, c, datalake, key)
	for _, e := range f.entries {
		if !bytes.Equal(files[e.Path], f.content[e.Path]) {
			t.Errorf("%s differs from the staged file", e.Path)
		}
	}
	if len(res.Entries) != len(f.entries) {
		t.Fatalf("%d entries", len(res.Entries))
	}
	left, _ := os.ReadDir(scratch)
	if len(left) != 0 {
		t.Fatalf("scratch directory not removed: %v", left)
	}

	bad := append(append([]egress.ZipEntry(nil), f.entries...), egress.ZipEntry{Path: "missing.csv", Bucket: f.staging, Key: "ws1/req1/missing.csv"})
	if _, err := store.WriteZip(ctx, datalake, "approved_egress/ws1/req2/egress_data.zip", bad); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Fatalf("missing entry: %v", err)
	}
	if left, _ := os.ReadDir(scratch); len(left) != 0 {
		t.Fatalf("scratch directory left after a failure: %v", left)
	}
	if n := openUploads(t, c, datalake, "approved_egress/ws1/req2/egress_data.zip"); n != 0 {
		t.Fatalf("%d uploads left open", n)
	}
}
