package servers

import (
	"context"
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

// TestStartS3TLS: the server answers HTTPS with its own certificate,
// which its clients trust and a default client does not.
func TestStartS3TLS(t *testing.T) {
	srv, err := StartS3TLS(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.Endpoint, "https://") || srv.CACert == nil {
		t.Fatalf("endpoint %s, certificate %d bytes; want https and one", srv.Endpoint, len(srv.CACert))
	}
	ctx := context.Background()
	if _, err := srv.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tls-test")}); err != nil {
		t.Fatalf("create bucket over HTTPS: %v", err)
	}
	if resp, err := http.Get(srv.Endpoint + "/minio/health/live"); err == nil {
		resp.Body.Close()
		t.Fatal("a client that does not trust the certificate got an answer")
	}
}

func TestStartS3MissingBinary(t *testing.T) {
	t.Setenv("EGRESS_TOOLS_DIR", t.TempDir())
	_, err := StartS3(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("err = %v, want one telling to run make tools", err)
	}
}
