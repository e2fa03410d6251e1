package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/shared/egress"
)

// MaxReadSize bounds Read: object lists are small, and a huge one must not
// exhaust a Lambda's memory.
const MaxReadSize = 64 << 20

// Read returns a small object's bytes (an SWB object list). A missing
// object is ENOTFOUND; one larger than MaxReadSize is EINVALID.
func (s *Client) Read(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, notFound(bucket, key, "")
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, MaxReadSize+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if len(data) > MaxReadSize {
		return nil, egress.Errorf(egress.EINVALID, "s3://%s/%s is larger than %d bytes", bucket, key, MaxReadSize)
	}
	return data, nil
}

// ReadHead returns at most the first n bytes of version versionID of
// bucket/key with one ranged GET: a quick look at a file of any size. A
// missing version is ENOTFOUND; an empty object has no bytes.
func (s *Client) ReadHead(ctx context.Context, bucket, key, versionID string, n int64) ([]byte, error) {
	if n < 1 {
		return nil, egress.Errorf(egress.EINVALID, "read head of s3://%s/%s: n must be at least 1, got %d", bucket, key, n)
	}
	if versionID == "" {
		return nil, egress.Errorf(egress.EINVALID, "read head of s3://%s/%s: a version id is required", bucket, key)
	}
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		VersionId: aws.String(versionID), Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
	if err != nil {
		switch {
		case isNotFound(err):
			return nil, notFound(bucket, key, versionID)
		case isInvalidRange(err): // S3 refuses any range of an empty object
			return []byte{}, nil
		}
		return nil, fmt.Errorf("read head of s3://%s/%s (version %s): %w", bucket, key, versionID, err)
	}
	defer out.Body.Close()
	// Bounded again: a server that ignored the range sends the whole object.
	data, err := io.ReadAll(io.LimitReader(out.Body, n))
	if err != nil {
		return nil, fmt.Errorf("read head of s3://%s/%s (version %s): %w", bucket, key, versionID, err)
	}
	return data, nil
}

// isInvalidRange reports whether S3 refused a range as unsatisfiable (416).
func isInvalidRange(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestedRangeNotSatisfiable
}

// OpenRange streams length bytes of obj's pinned version from offset
// (length < 0: to the end) with one GET; the caller closes it. A missing
// version is ENOTFOUND; a range past the end of the object (an empty one)
// reads as no bytes. The reader never yields more than asked for, even
// from a server that ignored the range.
func (s *Client) OpenRange(ctx context.Context, obj egress.ObjectVersion, offset, length int64) (io.ReadCloser, error) {
	if obj.VersionID == "" {
		return nil, egress.Errorf(egress.EINVALID, "open s3://%s/%s: a version id is required", obj.Bucket, obj.Key)
	}
	if offset < 0 || length == 0 {
		return nil, egress.Errorf(egress.EINVALID, "open s3://%s/%s: bad range (offset %d, length %d)", obj.Bucket, obj.Key, offset, length)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key), VersionId: aws.String(obj.VersionID)}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.S3.GetObject(ctx, in)
	if err != nil {
		switch {
		case isNotFound(err):
			return nil, notFound(obj.Bucket, obj.Key, obj.VersionID)
		case isInvalidRange(err):
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, fmt.Errorf("open s3://%s/%s (version %s): %w", obj.Bucket, obj.Key, obj.VersionID, err)
	}
	if length < 0 {
		return out.Body, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(out.Body, length), out.Body}, nil
}
