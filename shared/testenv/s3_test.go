package testenv

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartS3Close(t *testing.T) {
	srv, err := StartS3(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := srv.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("close-test")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if resp, err := http.Get(srv.Endpoint + "/minio/health/live"); err == nil {
		resp.Body.Close()
		t.Fatalf("server still answers after Close: %s", resp.Status)
	}
}

func TestStartS3MissingBinary(t *testing.T) {
	t.Setenv("EGRESS_TOOLS_DIR", t.TempDir())
	_, err := StartS3(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("err = %v, want one telling to run make tools", err)
	}
}

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
