package objects

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
