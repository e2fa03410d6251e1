package objects

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// maxZipMetaBytes bounds manifest.json and SHA256SUMS as read back; both
// are a line or so per file.
const maxZipMetaBytes = MaxReadSize

// ReadZip reads the zip at bucket/key back, entry by entry, hashing each
// one, in bounded memory: ranged GETs stream the zip (a seek reopens the
// stream), each pinned by If-Match to the ETag its first HEAD saw, so a
// zip replaced midway is an error rather than a mix of two. manifest.json
// and SHA256SUMS are parsed, not returned as entries. A missing object is
// ENOTFOUND.
func (s *Client) ReadZip(ctx context.Context, bucket, key string) (egress.ZipReadback, error) {
	head, err := s.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return egress.ZipReadback{}, notFound(bucket, key, "")
		}
		return egress.ZipReadback{}, fmt.Errorf("head s3://%s/%s: %w", bucket, key, err)
	}
	size := aws.ToInt64(head.ContentLength)
	ra := &streamReaderAt{ctx: ctx, s: s, bucket: bucket, key: key, etag: head.ETag, size: size}
	defer ra.close()
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return egress.ZipReadback{}, fmt.Errorf("read s3://%s/%s as a zip: %w", bucket, key, err)
	}
	out := egress.ZipReadback{Size: size, VersionID: aws.ToString(head.VersionId)}
	buf := make([]byte, 256<<10)
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		switch zf.Name {
		case egress.ZipManifestName:
			out.HasManifest, out.ManifestErr = true, readZipJSON(zf, &out.Manifest)
			continue
		case egress.ZipSumsName:
			out.HasSums = true
			out.Sums, out.SumsErr = readSums(zf)
			continue
		}
		sum, n, err := hashEntry(zf, buf)
		if err != nil {
			if ra.err != nil { // storage, not the zip
				return egress.ZipReadback{}, fmt.Errorf("read s3://%s/%s: %w", bucket, key, ra.err)
			}
			out.Entries = append(out.Entries, egress.ZipReadEntry{Path: zf.Name, Size: n, Err: err.Error()})
			continue
		}
		out.Entries = append(out.Entries, egress.ZipReadEntry{Path: zf.Name, Size: n, SHA256: sum})
	}
	if ra.err != nil {
		return egress.ZipReadback{}, fmt.Errorf("read s3://%s/%s: %w", bucket, key, ra.err)
	}
	return out, nil
}

func hashEntry(zf *zip.File, buf []byte) (string, int64, error) {
	rc, err := zf.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, buf)
	if err != nil {
		return "", n, err // archive/zip checks the CRC-32 at the end
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func readZipJSON(zf *zip.File, v *egress.ZipManifest) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(io.LimitReader(rc, maxZipMetaBytes))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", egress.ZipManifestName, err)
	}
	return nil
}

// readSums parses sha256sum lines into path → sum (sumsLine's format).
func readSums(zf *zip.File) (map[string]string, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(rc, maxZipMetaBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		escaped := strings.HasPrefix(line, `\`)
		line = strings.TrimPrefix(line, `\`)
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, fmt.Errorf("%s: a line is not \"<sha256>  <path>\"", egress.ZipSumsName)
		}
		if escaped {
			name = strings.NewReplacer(`\n`, "\n", `\r`, "\r").Replace(name)
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", egress.ZipSumsName, err)
	}
	return sums, nil
}

// streamReaderAt serves archive/zip's reads from one streaming GET from
// the offset asked for to the end of the object: entries are read in
// order, so reads mostly follow each other; a short gap forward is read
// through, anything else reopens the stream there.
type streamReaderAt struct {
	ctx         context.Context
	s           *Client
	bucket, key string
	etag        *string
	size        int64
	body        io.ReadCloser
	pos         int64 // offset of body's next byte
	err         error // a storage error, kept to tell it from a damaged zip
}

// maxSkip is the furthest forward a read goes through the open stream
// rather than opening another.
const maxSkip = 1 << 20

func (r *streamReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil || off < r.pos || off-r.pos > maxSkip {
		if err := r.open(off); err != nil {
			return 0, err
		}
	}
	if off > r.pos {
		n, err := io.CopyN(io.Discard, r.body, off-r.pos)
		r.pos += n
		if err != nil {
			r.err = err
			return 0, err
		}
	}
	want := min(int64(len(p)), r.size-off)
	n, err := io.ReadFull(r.body, p[:want])
	r.pos += int64(n)
	if err != nil {
		r.err = err
		return n, err
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *streamReaderAt) open(off int64) error {
	r.close()
	out, err := r.s.S3.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-", off)), IfMatch: r.etag,
	})
	if err != nil {
		r.err = fmt.Errorf("get from byte %d: %w", off, err)
		return r.err
	}
	r.body, r.pos = out.Body, off
	return nil
}

func (r *streamReaderAt) close() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}
