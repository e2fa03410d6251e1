package bench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// partSize is the part size of every multipart upload the baselines make:
// objects.DefaultZipPartSize, so both sides of a ratio send the same parts.
const partSize = 16 << 20

// uploadStream uploads everything r yields to bucket/key as a multipart
// upload with CRC32 part checksums (as WriteZip does), reading the next part
// while up to inflight parts upload. It holds inflight+1 part buffers. The
// upload is aborted on error. It returns the size and the version.
func uploadStream(ctx context.Context, c *s3.Client, bucket, key string, r io.Reader, inflight int) (size int64, versionID string, err error) {
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return 0, "", fmt.Errorf("upload %s: create multipart upload: %w", key, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if err != nil {
			actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer acancel()
			_, aerr := c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId})
			err = errors.Join(err, aerr)
		}
	}()

	free := make(chan []byte, inflight+1)
	for range inflight + 1 {
		free <- make([]byte, partSize)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []types.CompletedPart
		first error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel()
		}
	}
	for number := int32(1); ; number++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if buf == nil {
			break
		}
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			fail(fmt.Errorf("upload %s: read: %w", key, rerr))
			break
		}
		if n == 0 && number > 1 {
			break
		}
		size += int64(n)
		wg.Go(func() {
			defer func() { free <- buf }()
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
				PartNumber: aws.Int32(number), Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n)),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			})
			if err != nil {
				fail(fmt.Errorf("upload %s: part %d: %w", key, number, err))
				return
			}
			mu.Lock()
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(number), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
			mu.Unlock()
		})
		if n < len(buf) {
			break
		}
	}
	wg.Wait()
	if first != nil {
		return 0, "", first
	}
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return 0, "", fmt.Errorf("upload %s: complete: %w", key, err)
	}
	return size, aws.ToString(out.VersionId), nil
}
