package objects

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/egress"
)

// maxDeleteBatch is the most keys one DeleteObjects call takes.
const maxDeleteBatch = 1000

// DeletePrefix permanently deletes every version and delete marker of every
// key under prefix, and aborts every unfinished multipart upload there (a
// copy or zip whose process died holds invisible parts of the data), and
// returns how many versions it deleted. prefix must name a
// folder ("ws/req/"): an empty or root prefix is refused so a bucket is
// never wiped, and the trailing slash keeps "ws/req1" from taking "ws/req10"
// with it.
func (s *Client) DeletePrefix(ctx context.Context, bucket, prefix string) (int, error) {
	if strings.Trim(prefix, "/") == "" || !strings.HasSuffix(prefix, "/") {
		return 0, egress.Errorf(egress.EINVALID, "refusing to delete prefix %q of bucket %s: it must be a folder such as \"ws/req/\"", prefix, bucket)
	}
	deleted := 0
	del := func(ids []types.ObjectIdentifier) error {
		n, err := s.deleteBatch(ctx, bucket, ids)
		deleted += n
		if err != nil {
			return fmt.Errorf("delete %s/%s: %w", bucket, prefix, err)
		}
		return nil
	}
	var batch []types.ObjectIdentifier
	p := s3.NewListObjectVersionsPaginator(s.S3, &s3.ListObjectVersionsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return deleted, fmt.Errorf("delete %s/%s: list versions: %w", bucket, prefix, err)
		}
		for _, v := range page.Versions {
			batch = append(batch, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			batch = append(batch, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		// Deleting listed versions does not disturb the listing, which
		// continues after its key and version markers.
		for len(batch) >= maxDeleteBatch {
			if err := del(batch[:maxDeleteBatch]); err != nil {
				return deleted, err
			}
			batch = batch[maxDeleteBatch:]
		}
	}
	if len(batch) > 0 {
		if err := del(batch); err != nil {
			return deleted, err
		}
	}
	if err := s.abortUploads(ctx, bucket, prefix); err != nil {
		return deleted, fmt.Errorf("delete %s/%s: %w", bucket, prefix, err)
	}
	return deleted, nil
}

// AbortUploads aborts the multipart uploads open under prefix: what a
// crashed writer left behind.
func (s *Client) AbortUploads(ctx context.Context, bucket, prefix string) error {
	if err := s.abortUploads(ctx, bucket, prefix); err != nil {
		return fmt.Errorf("abort uploads under %s/%s: %w", bucket, prefix, err)
	}
	return nil
}

// abortUploads aborts the multipart uploads open under prefix. (MinIO lists
// uploads by exact key only; the local servers' clients list them by prefix
// as S3 does, servers.ListUploadsByPrefix. The buckets'
// AbortIncompleteMultipartUpload lifecycle rule is the backstop.)
func (s *Client) abortUploads(ctx context.Context, bucket, prefix string) error {
	p := s3.NewListMultipartUploadsPaginator(s.S3, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list multipart uploads: %w", err)
		}
		for _, u := range page.Uploads {
			if err := s.abort(ctx, bucket, aws.ToString(u.Key), u.UploadId); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteBatch deletes up to 1000 versions; DeleteObjects succeeds as a call
// even when some keys fail, so the per-key errors are checked too.
func (s *Client) deleteBatch(ctx context.Context, bucket string, ids []types.ObjectIdentifier) (int, error) {
	out, err := s.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range out.Errors {
		errs = append(errs, fmt.Errorf("%q (version %s): %s: %s",
			aws.ToString(e.Key), versionLabel(aws.ToString(e.VersionId)), aws.ToString(e.Code), aws.ToString(e.Message)))
	}
	return len(ids) - len(out.Errors), errors.Join(errs...)
}
