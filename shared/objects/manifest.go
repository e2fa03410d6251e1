package objects

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// WriteManifest stores m as a JSON object at bucket/key.
func (s *Client) WriteManifest(ctx context.Context, bucket, key string, m egress.Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", key, err)
	}
	_, err = s.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(b),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("write manifest %s/%s: %w", bucket, key, err)
	}
	return nil
}

// ReadManifest reads the manifest at bucket/key; a missing one is an
// egress.ENOTFOUND error.
func (s *Client) ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return egress.Manifest{}, egress.Errorf(egress.ENOTFOUND, "manifest %q not found in bucket %s", key, bucket)
		}
		return egress.Manifest{}, fmt.Errorf("read manifest %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	var m egress.Manifest
	if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
		return egress.Manifest{}, fmt.Errorf("read manifest %s/%s: %w", bucket, key, err)
	}
	return m, nil
}
