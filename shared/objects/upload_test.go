package objects

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/testenv"
)

func TestPartWriter(t *testing.T) {
	c := testenv.S3(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, false)
	const part = minPartSize
	tests := []struct {
		name      string
		size      int
		chunk     int // bytes per Write
		wantParts int32
	}{
		{"empty", 0, 1, 1},
		{"small", 1000, 7, 1},
		{"exactly one part", part, 1 << 20, 1},
		{"one byte over", part + 1, 64 << 10, 2},
		{"three parts in one write", 2*part + 12345, 3 * part, 3},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("part-writer/%d", i)
			created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			})
			if err != nil {
				t.Fatal(err)
			}
			w := &partWriter{ctx: ctx, s3: c, bucket: bucket, key: key, uploadID: created.UploadId, partSize: part}
			data := randomBytes(tt.size)
			for p := data; len(p) > 0; {
				n := min(tt.chunk, len(p))
				if _, err := w.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			parts, err := w.finish()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
			}); err != nil {
				t.Fatal(err)
			}
			if got := get(t, c, bucket, key, ""); !bytes.Equal(got, data) || w.size != int64(len(data)) {
				t.Fatalf("object has %d bytes (writer counted %d), want the %d written", len(got), w.size, len(data))
			}
			if int32(len(parts)) != tt.wantParts {
				t.Fatalf("%d parts, want %d", len(parts), tt.wantParts)
			}
		})
	}
}
