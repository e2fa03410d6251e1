package local

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// CorruptReleaseEntry rewrites the released zip at key in the datalake
// with its first file entry's content changed (every other entry copied as
// it was) and returns that entry's path: the drift verifyRelease and
// verify-releases must find.
func (s *Stack) CorruptReleaseEntry(ctx context.Context, key string) (string, error) {
	out, err := s.Clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(DatalakeBucket), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("corrupt release: %w", err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return "", fmt.Errorf("corrupt release: %w", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return "", fmt.Errorf("corrupt release: %w", err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	corrupted := ""
	for _, f := range zr.File {
		if corrupted != "" || f.Name == egress.ZipManifestName || f.Name == egress.ZipSumsName {
			if err := zw.Copy(f); err != nil {
				return "", fmt.Errorf("corrupt release: %w", err)
			}
			continue
		}
		corrupted = f.Name
		w, err := zw.Create(f.Name)
		if err != nil {
			return "", fmt.Errorf("corrupt release: %w", err)
		}
		w.Write([]byte("not what was approved\n"))
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("corrupt release: %w", err)
	}
	if corrupted == "" {
		return "", errors.New("corrupt release: the zip has no file entry")
	}
	if _, err := s.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(DatalakeBucket), Key: aws.String(key), Body: bytes.NewReader(b.Bytes())}); err != nil {
		return "", fmt.Errorf("corrupt release: %w", err)
	}
	return corrupted, nil
}
