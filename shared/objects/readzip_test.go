package objects

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// countingS3 counts GETs, and before the GET numbered replaceAt writes
// replacement over the object, as a change racing a read would.
type countingS3 struct {
	S3
	gets        atomic.Int32
	replaceAt   int32
	replacement []byte
}

func (c *countingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if n := c.gets.Add(1); n == c.replaceAt {
		if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key, Body: bytes.NewReader(c.replacement)}); err != nil {
			return nil, err
		}
	}
	return c.S3.GetObject(ctx, in, opts...)
}

// A zip WriteZip wrote reads back with the sums and sizes it recorded,
// its manifest.json and SHA256SUMS parsed, in a handful of streamed GETs
// rather than one per block.
func TestReadZip(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	f := newZipFixture(t, c)
	datalake := testenv.NewBucket(t, c, true)
	key := "approved_egress/ws1/req1/egress_data.zip"
	res, err := (&Client{S3: c, ZipPartSize: 5 << 20}).WriteZip(ctx, datalake, key, f.entries, egress.LeftOut{Path: "gone.csv", Stage: "IG"})
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingS3{S3: c}
	got, err := (&Client{S3: counting}).ReadZip(ctx, datalake, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != len(res.Entries) || got.Size != res.Size || got.VersionID != res.VersionID {
		t.Fatalf("read %d entries, %d bytes, version %q; wrote %d, %d, %q", len(got.Entries), got.Size, got.VersionID, len(res.Entries), res.Size, res.VersionID)
	}
	for i, e := range got.Entries {
		w := res.Entries[i]
		if e.Path != w.Path || e.Size != w.Size || e.SHA256 != w.SHA256 || e.Err != "" {
			t.Errorf("entry %d: %+v, wrote %+v", i, e, w)
		}
		if got.Sums[w.Path] != w.SHA256 {
			t.Errorf("SHA256SUMS has %q for %q", got.Sums[w.Path], w.Path)
		}
	}
	if !got.HasManifest || got.ManifestErr != nil || len(got.Manifest.Files) != len(res.Entries) || len(got.Manifest.LeftOut) != 1 {
		t.Errorf("manifest %v %v %+v", got.HasManifest, got.ManifestErr, got.Manifest)
	}
	if !got.HasSums || got.SumsErr != nil || len(got.Sums) != len(res.Entries) {
		t.Errorf("sums %v %v %d", got.HasSums, got.SumsErr, len(got.Sums))
	}
	if n := counting.gets.Load(); n > 6 {
		t.Errorf("%d GETs for a %d-byte zip of %d entries", n, res.Size, len(res.Entries))
	}
}

// What cannot be read as released is an error or a damaged entry, never
// a verification of something else.
func TestReadZipFailures(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	good := storedZip(t, map[string]string{"a.txt": "first entry's content", "b.txt": "second entry's content"})
	damaged := bytes.Replace(bytes.Clone(good), []byte("second entry's"), []byte("SECOND entry's"), 1)
	for _, tt := range []struct {
		name      string
		body      []byte // nil: no object
		replaceAt int32
		wantErr   string // "" : no error
		wantCode  string
		damaged   string // entry expected unreadable
	}{
		{name: "missing", wantCode: egress.ENOTFOUND},
		{name: "not a zip", body: []byte("plain text"), wantErr: "as a zip"},
		{name: "an entry's bytes changed", body: damaged, damaged: "b.txt"},
		{name: "replaced while read", body: good, replaceAt: 2, wantErr: "get from byte"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := "approved_egress/" + strings.ReplaceAll(tt.name, " ", "_") + ".zip"
			if tt.body != nil {
				put(t, c, bucket, key, tt.body)
			}
			store := &Client{S3: &countingS3{S3: c, replaceAt: tt.replaceAt, replacement: storedZip(t, map[string]string{"a.txt": "other"})}}
			got, err := store.ReadZip(ctx, bucket, key)
			switch {
			case tt.wantCode != "":
				wantCode(t, err, tt.wantCode)
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for _, e := range got.Entries {
				if (e.Err != "") != (e.Path == tt.damaged) || (e.Err == "") != (e.SHA256 != "") {
					t.Errorf("entry %+v", e)
				}
			}
		})
	}
}

// storedZip builds an uncompressed zip, so tests can change its bytes.
func storedZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"a.txt", "b.txt"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
