package objects

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// HideObject puts a delete marker on key in a versioned bucket: a GET that
// names no version, as every presigned download link does, then finds no
// object, while the versions are kept.
func (s *Client) HideObject(ctx context.Context, bucket, key string) error {
	if key == "" {
		return egress.Errorf(egress.EINVALID, "hide object in bucket %s: key is required", bucket)
	}
	if _, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("hide %s/%s: %w", bucket, key, err)
	}
	return nil
}

// DeleteVersions permanently deletes every version and delete marker of
// exactly key (not of the keys it prefixes), one DeleteObject with a
// version id each, and returns how many it deleted. A link handed out
// before stops working at once: no version is left for it to read.
func (s *Client) DeleteVersions(ctx context.Context, bucket, key string) (int, error) {
	if key == "" {
		return 0, egress.Errorf(egress.EINVALID, "delete versions in bucket %s: key is required", bucket)
	}
	var ids []*string
	p := s3.NewListObjectVersionsPaginator(s.S3, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("delete versions of %s/%s: list versions: %w", bucket, key, err)
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == key {
				ids = append(ids, v.VersionId)
			}
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) == key {
				ids = append(ids, m.VersionId)
			}
		}
	}
	for i, id := range ids {
		if _, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: id}); err != nil {
			return i, fmt.Errorf("delete %s/%s version %s: %w", bucket, key, versionLabel(aws.ToString(id)), err)
		}
	}
	return len(ids), nil
}
