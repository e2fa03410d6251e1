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
	if err := s.WriteJSON(ctx, bucket, key, m); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// ReadManifest reads the manifest at bucket/key; a missing one is an
// egress.ENOTFOUND error.
func (s *Client) ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error) {
	var m egress.Manifest
	if err := s.ReadJSON(ctx, bucket, key, &m); err != nil {
		return egress.Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	return m, nil
}

// WriteJSON stores v as a JSON object at bucket/key.
func (s *Client) WriteJSON(ctx context.Context, bucket, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", bucket, key, err)
	}
	_, err = s.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(b),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// ReadJSON decodes the JSON object at bucket/key into v; a missing one is
// an egress.ENOTFOUND error.
func (s *Client) ReadJSON(ctx context.Context, bucket, key string, v any) error {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return egress.Errorf(egress.ENOTFOUND, "%q not found in bucket %s", key, bucket)
		}
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := json.NewDecoder(out.Body).Decode(v); err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
