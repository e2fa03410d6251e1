package objects

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// maxPresignExpiry is the longest validity SigV4 query signing allows.
const maxPresignExpiry = 7 * 24 * time.Hour

// Presigner presigns S3 requests; *s3.PresignClient implements it.
type Presigner interface {
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Presign returns a URL that GETs bucket/key for expiry. The URL is a bearer
// credential: never log it.
func (s *Client) Presign(ctx context.Context, bucket, key string, expiry time.Duration) (string, error) {
	return s.presign(ctx, bucket, key, "", expiry)
}

// PresignVersion returns a URL that GETs exactly version versionID of
// bucket/key for expiry, so a later write to the key cannot change what
// the link serves (S3 authorises it as s3:GetObjectVersion). The URL is a
// bearer credential: never log it.
func (s *Client) PresignVersion(ctx context.Context, bucket, key, versionID string, expiry time.Duration) (string, error) {
	if versionID == "" {
		return "", egress.Errorf(egress.EINVALID, "presign %s/%s: a version id is required", bucket, key)
	}
	return s.presign(ctx, bucket, key, versionID, expiry)
}

func (s *Client) presign(ctx context.Context, bucket, key, versionID string, expiry time.Duration) (string, error) {
	if expiry < time.Second || expiry > maxPresignExpiry {
		return "", egress.Errorf(egress.EINVALID, "presign expiry must be between 1s and %s, got %s", maxPresignExpiry, expiry)
	}
	if s.Presigner == nil {
		return "", fmt.Errorf("presign %s/%s: the store has no Presigner", bucket, key)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	req, err := s.Presigner.PresignGetObject(ctx, in, s3.WithPresignExpires(expiry))
	if err != nil {
		return "", fmt.Errorf("presign %s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}
