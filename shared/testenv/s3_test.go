package testenv

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestS3Shared(t *testing.T) {
	tests := []struct {
		name      string
		versioned bool
		versions  int // versions of one key after two puts
	}{
		{"unversioned", false, 1},
		{"versioned", true, 2},
	}
	c := S3(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := NewBucket(t, c, tt.versioned)
			for _, body := range []string{"one", "two"} {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b.txt"), Body: strings.NewReader(body)})
				if err != nil {
					t.Fatalf("put: %v", err)
				}
			}
			out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatalf("list versions: %v", err)
			}
			if len(out.Versions) != tt.versions {
				t.Fatalf("got %d versions, want %d", len(out.Versions), tt.versions)
			}
			if tt.versioned {
				// The first version must still read back: versioning works on
				// a single-drive server.
				first := out.Versions[len(out.Versions)-1]
				for _, v := range out.Versions {
					if !aws.ToBool(v.IsLatest) {
						first = v
					}
				}
				got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: first.Key, VersionId: first.VersionId})
				if err != nil {
					t.Fatalf("get old version: %v", err)
				}
				b, _ := io.ReadAll(got.Body)
				got.Body.Close()
				if string(b) != "one" {
					t.Fatalf("old version = %q, want %q", b, "one")
				}
			}
		})
	}
	if S3(t) == nil {
		t.Fatal("second S3 call returned nil")
	}
}

func TestNewBucketNames(t *testing.T) {
	c := S3(t)
	seen := map[string]bool{}
	for range 3 {
		name := NewBucket(t, c, false)
		if seen[name] || len(name) > 63 || name != strings.ToLower(name) {
			t.Fatalf("bad or repeated bucket name %q", name)
		}
		seen[name] = true
	}
	t.Run(strings.Repeat("Very_Long Sub-Test Name ", 5), func(t *testing.T) {
		if name := NewBucket(t, c, true); len(name) > 63 {
			t.Fatalf("name too long: %q", name)
		}
	})
}
