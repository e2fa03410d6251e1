package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// copyCalls counts the calls that move or describe a copy's bytes.
type copyCalls struct {
	S3
	gets, heads atomic.Int32
}

func (c *copyCalls) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.gets.Add(1)
	return c.S3.GetObject(ctx, in, opts...)
}

func (c *copyCalls) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	c.heads.Add(1)
	return c.S3.HeadObject(ctx, in, opts...)
}

// TestCopyVersionSHA256 proves the SHA-256 recorded for a copy is the
// SHA-256 of its bytes, whether S3 computed it (one CopyObject: no GET) or
// it was read back (multipart copies, ReadBackCopies), whatever checksum
// the source was uploaded with.
func TestCopyVersionSHA256(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, true)

	// upload stores body as one PutObject, or in parts of 5 MiB, with a
	// checksum of alg (none if empty).
	upload := func(t *testing.T, key string, body []byte, alg types.ChecksumAlgorithm, multipart bool) string {
		t.Helper()
		if !multipart {
			out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &src, Key: &key, Body: bytes.NewReader(body), ChecksumAlgorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.VersionId)
		}
		created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &src, Key: &key, ChecksumAlgorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		var parts []types.CompletedPart
		for n, off := int32(1), 0; off < len(body); n, off = n+1, off+minPartSize {
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &src, Key: &key, UploadId: created.UploadId, PartNumber: aws.Int32(n),
				Body: bytes.NewReader(body[off:min(off+minPartSize, len(body))]), ChecksumAlgorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(n), ChecksumSHA256: up.ChecksumSHA256, ChecksumCRC32: up.ChecksumCRC32})
		}
		out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &src, Key: &key, UploadId: created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}

	single := func(s S3) *Client { return &Client{S3: s} }
	parts := func(s S3) *Client { return &Client{S3: s, MultipartThreshold: 5 << 20, CopyPartSize: 5 << 20} }
	readBack := func(s S3) *Client { return &Client{S3: s, ReadBackCopies: true} }
	tests := []struct {
		name         string
		store        func(S3) *Client
		size         int
		alg          types.ChecksumAlgorithm // the source's
		multipartSrc bool
		wantReadBack bool
	}{
		{"single copy", single, 100 << 10, "", false, false},
		{"single copy, empty", single, 0, "", false, false},
		{"single copy, source with a SHA-256", single, 1000, types.ChecksumAlgorithmSha256, false, false},
		{"single copy, source with a CRC32", single, 1000, types.ChecksumAlgorithmCrc32, false, false},
		// The source's SHA-256 is composite; the copy's must be of its bytes.
		{"single copy, multipart source with a SHA-256", single, 11 << 20, types.ChecksumAlgorithmSha256, true, false},
		{"multipart copy", parts, 11<<20 + 7, "", false, true},
		{"multipart copy, multipart source with a SHA-256", parts, 11 << 20, types.ChecksumAlgorithmSha256, true, true},
		{"read-back mode", readBack, 100 << 10, "", false, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := randomBytes(tt.size)
			key := fmt.Sprintf("ws/sum/%d.bin", i)
			version := upload(t, key, body, tt.alg, tt.multipartSrc)
			put(t, c, src, key, []byte("changed after submission"))
			calls := &copyCalls{S3: c}
			got, err := tt.store(calls).CopyVersion(ctx, egress.ObjectVersion{Bucket: src, Key: key, VersionID: version}, dst, "staged/"+key)
			if err != nil {
				t.Fatal(err)
			}
			if want := sum(get(t, c, dst, "staged/"+key, got.VersionID)); got.SHA256 != sum(body) || got.SHA256 != want || got.Size != int64(len(body)) {
				t.Fatalf("copy = %+v, want size %d and sha256 %s (the copy's bytes hash to %s)", got, len(body), sum(body), want)
			}
			if gets := calls.gets.Load(); got.ReadBack != tt.wantReadBack || (gets > 0) != tt.wantReadBack {
				t.Fatalf("read back %v with %d GETs, want read back %v", got.ReadBack, gets, tt.wantReadBack)
			}
			if heads := calls.heads.Load(); heads != 1 {
				t.Fatalf("%d HeadObject calls, want 1 (the source's)", heads)
			}
		})
	}
}

// TestCopiedSHA256 reads S3's digest of a copy from the two places stores
// put it: the CopyObjectResult body (AWS S3) and the x-amz-checksum-*
// headers (MinIO), and takes nothing that is not a full-object SHA-256.
func TestCopiedSHA256(t *testing.T) {
	digest := sha256.Sum256([]byte("staged bytes"))
	b64 := base64.StdEncoding.EncodeToString(digest[:])
	hexSum := fmt.Sprintf("%x", digest)
	body := func(inner string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"e"</ETag>` + inner + `</CopyObjectResult>`
	}
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		want    string
	}{
		{"AWS: in the result", nil, body("<ChecksumSHA256>" + b64 + "</ChecksumSHA256><ChecksumType>FULL_OBJECT</ChecksumType>"), hexSum},
		{"in the result, no type", nil, body("<ChecksumSHA256>" + b64 + "</ChecksumSHA256>"), hexSum},
		{"MinIO: in headers", map[string]string{"X-Amz-Checksum-Sha256": b64, "X-Amz-Checksum-Type": "FULL_OBJECT"}, body(""), hexSum},
		{"composite", nil, body("<ChecksumSHA256>" + b64 + "</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType>"), ""},
		{"composite in headers", map[string]string{"X-Amz-Checksum-Sha256": b64, "X-Amz-Checksum-Type": "COMPOSITE"}, body(""), ""},
		{"composite with part count", nil, body("<ChecksumSHA256>" + b64 + "-3</ChecksumSHA256>"), ""},
		{"not base64", nil, body("<ChecksumSHA256>not a digest!</ChecksumSHA256>"), ""},
		{"wrong length", nil, body("<ChecksumSHA256>" + base64.StdEncoding.EncodeToString(digest[:20]) + "</ChecksumSHA256>"), ""},
		{"only a CRC", map[string]string{"X-Amz-Checksum-Crc64nvme": "AAAAAAAAAAA="}, body("<ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME>"), ""},
		{"none", nil, body(""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/xml")
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c := s3.New(s3.Options{Region: "eu-west-2", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
			out, err := c.CopyObject(context.Background(), &s3.CopyObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), CopySource: aws.String("a/k"),
				ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
			if err != nil {
				t.Fatal(err)
			}
			if got := copiedSHA256(out); got != tt.want {
				t.Fatalf("copiedSHA256 = %q, want %q", got, tt.want)
			}
		})
	}
}

// The digests and sizes CopyAll records are the ones the release checks
// each entry against: a release of the staged versions passes; a staged
// version whose bytes differ from its recorded digest fails it, naming the
// file, and so does a listed size that is not the version's. With listed
// sizes of pinned versions a copy is one CopyObject: no HEAD, no GET.
func TestCopyAllDigestsVerifiedAtRelease(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	staging := testenv.NewBucket(t, c, true)
	var jobs []egress.CopyJob
	for i, size := range []int{0, 10, 64 << 10} {
		p := fmt.Sprintf("out/file-%d.csv", i)
		v := put(t, c, src, "ws/"+p, randomBytes(size))
		jobs = append(jobs, egress.CopyJob{Path: p, Source: egress.ObjectVersion{Bucket: src, Key: "ws/" + p, VersionID: v}, DstBucket: staging, DstKey: "req/" + p,
			Size: int64(size), Listed: true})
	}
	calls := &copyCalls{S3: c}
	files, err := (&Client{S3: calls}).CopyAll(ctx, jobs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if h, g := calls.heads.Load(), calls.gets.Load(); h != 0 || g != 0 {
		t.Errorf("copies of listed sizes made %d HEADs and %d GETs, want none", h, g)
	}
	entries := func(files []egress.File) []egress.ZipEntry {
		var e []egress.ZipEntry
		for _, f := range files {
			e = append(e, egress.ZipEntry{Path: f.Path, Bucket: staging, Key: "req/" + f.Path, VersionID: f.StagedVersionID, SHA256: f.SHA256, Size: f.Size})
		}
		return e
	}
	if _, err := store.WriteZip(ctx, staging, "release/ok.zip", entries(files)); err != nil {
		t.Fatalf("release of the staged versions: %v", err)
	}
	// A new staged version that is not what was copied and hashed.
	bad := append([]egress.File(nil), files...)
	bad[1].StagedVersionID = put(t, c, staging, "req/"+bad[1].Path, []byte("not what was copied"))
	_, err = store.WriteZip(ctx, staging, "release/bad.zip", entries(bad))
	wantCode(t, err, egress.ECONFLICT, bad[1].Path, bad[1].SHA256)

	// A list that gave a wrong size: the copy records it, the release
	// refuses it.
	wrong := jobs[2]
	wrong.Size, wrong.DstKey = 1000, "req/wrong.csv"
	files, err = store.CopyAll(ctx, []egress.CopyJob{wrong}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.WriteZip(ctx, staging, "release/wrong.zip", []egress.ZipEntry{{Path: "out/wrong.csv", Bucket: staging, Key: wrong.DstKey,
		VersionID: files[0].StagedVersionID, SHA256: files[0].SHA256, Size: files[0].Size}})
	wantCode(t, err, egress.ECONFLICT, "out/wrong.csv", "65536 bytes", "says 1000")
}

// overwriteAfterHead replaces the object after its HEAD answered, as a
// writer racing the copy of an unversioned key would.
type overwriteAfterHead struct {
	S3
	c    *s3.Client
	body []byte
}

func (o overwriteAfterHead) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	out, err := o.S3.HeadObject(ctx, in, opts...)
	if err == nil {
		_, err = o.c.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key, Body: bytes.NewReader(o.body)})
	}
	return out, err
}

// Without a version to pin, the copy is of the object the HEAD saw or
// fails: the size recorded is the HEAD's, and S3's digest is of what it
// copied, so a copy of a replaced object would pair one file's size with
// another's digest.
func TestCopyVersionUnversionedSourceReplacedAfterHead(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, false)
	dst := testenv.NewBucket(t, c, true)
	put(t, c, src, "ws/a.csv", []byte("first content"))
	store := &Client{S3: overwriteAfterHead{S3: c, c: c, body: []byte("replaced with longer content")}}
	got, err := store.CopyVersion(ctx, egress.ObjectVersion{Bucket: src, Key: "ws/a.csv"}, dst, "staged/a.csv")
	if err == nil {
		t.Fatalf("copy of a replaced object succeeded: %+v", got)
	}
	if exists(t, c, dst, "staged/a.csv") {
		t.Fatal("a failed copy left an object")
	}
}
