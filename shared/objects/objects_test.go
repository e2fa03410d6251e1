package objects

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

func newStore(t testing.TB) (*Client, *s3.Client) {
	t.Helper()
	c := testenv.S3(t)
	return New(c), c
}

// put stores body at bucket/key and returns the new version id.
func put(t testing.TB, c *s3.Client, bucket, key string, body []byte) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

// get reads bucket/key at version (latest if empty).
func get(t testing.TB, c *s3.Client, bucket, key, version string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), VersionId: optional(version),
	})
	if err != nil {
		t.Fatalf("get %s (version %q): %v", key, version, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// exists reports whether bucket/key has a current version.
func exists(t testing.TB, c *s3.Client, bucket, key string) bool {
	t.Helper()
	_, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil && !isNotFound(err) {
		t.Fatalf("head %s: %v", key, err)
	}
	return err == nil
}

// openUploads returns the number of multipart uploads open under prefix
// (a key or a folder: the local server lists them as S3 does).
func openUploads(t testing.TB, c *s3.Client, bucket, prefix string) int {
	t.Helper()
	out, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix),
	})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	return len(out.Uploads)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// wantCode fails unless err carries the egress error code and mentions
// every one of parts.
func wantCode(t testing.TB, err error, code string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := egress.ErrorCode(err); got != code {
		t.Fatalf("error code = %s, want %s (error: %v)", got, code, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestCopySource(t *testing.T) {
	tests := []struct {
		key, version, want string
	}{
		{"a/b.csv", "", "bkt/a/b.csv"},
		{"a b/c+d%e.csv", "v1", "bkt/a%20b/c%2Bd%25e.csv?versionId=v1"},
		{"données/é.txt", "", "bkt/donn%C3%A9es/%C3%A9.txt"},
		{"q?x=1&y#z", "a+b/c=", "bkt/q%3Fx%3D1%26y%23z?versionId=a%2Bb%2Fc%3D"},
	}
	for _, tt := range tests {
		if got := copySource("bkt", tt.key, tt.version); got != tt.want {
			t.Errorf("copySource(%q, %q) = %q, want %q", tt.key, tt.version, got, tt.want)
		}
	}
}

func TestIsNotFoundIgnoresOtherErrors(t *testing.T) {
	for _, err := range []error{errors.New("boom"), context.Canceled} {
		if isNotFound(err) {
			t.Errorf("isNotFound(%v) = true", err)
		}
	}
}

// NewS3's clients keep a connection per concurrent call: the SDK's 10 per
// host would make every 16-way round of copies dial (and on AWS, TLS
// handshake) again for the calls above 10.
func TestNewS3KeepsIdleConnections(t *testing.T) {
	tests := []struct {
		name string
		http aws.HTTPClient
		want int
	}{
		{"SDK's client", nil, IdleConnsPerHost},
		{"configured client", awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 2 }), IdleConnsPerHost},
		{"larger pool kept", awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 500 }), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewS3(aws.Config{Region: "eu-west-2", HTTPClient: tt.http}, true)
			hc, ok := c.Options().HTTPClient.(*awshttp.BuildableClient)
			if !ok {
				t.Fatalf("HTTP client is %T", c.Options().HTTPClient)
			}
			if got := hc.GetTransport().MaxIdleConnsPerHost; got != tt.want {
				t.Fatalf("MaxIdleConnsPerHost = %d, want %d", got, tt.want)
			}
		})
	}
}
