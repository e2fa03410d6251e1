package objects

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// pastSigner signs as if it were an hour ago, so a URL can be expired the
// moment it is made, without waiting.
type pastSigner struct{ *v4.Signer }

func (p pastSigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.Signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, t.Add(-time.Hour), optFns...)
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// tamper changes one character of the signature.
func tamper(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	if len(sig) == 0 {
		t.Fatal("URL has no X-Amz-Signature")
	}
	if sig[0] == '0' {
		sig[0] = '1'
	} else {
		sig[0] = '0'
	}
	q.Set("X-Amz-Signature", string(sig))
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

func TestPresign(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	key := "approved_egress/ws 1/req+1/egress_data é.zip"
	body := []byte("zip bytes")
	put(t, c, bucket, key, body)

	expired := &Client{S3: c, Presigner: s3.NewPresignClient(c, func(o *s3.PresignOptions) {
		o.Presigner = pastSigner{v4.NewSigner()}
	})}
	tests := []struct {
		name       string
		store      *Client
		change     func(*testing.T, string) string
		wantStatus int
		wantText   string // in the body: the reason of a refusal
	}{
		{"valid", store, nil, http.StatusOK, string(body)},
		{"tampered signature", store, tamper, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"expired", expired, nil, http.StatusForbidden, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.store.Presign(ctx, bucket, key, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				u = tt.change(t, u)
			}
			status, got := fetch(t, u)
			if status != tt.wantStatus {
				t.Fatalf("GET status %d, want %d (body %s)", status, tt.wantStatus, got)
			}
			if !strings.Contains(string(got), tt.wantText) {
				t.Fatalf("GET body %q does not contain %q", got, tt.wantText)
			}
		})
	}

	for _, expiry := range []time.Duration{0, time.Millisecond, -time.Minute, 8 * 24 * time.Hour} {
		if _, err := store.Presign(ctx, bucket, key, expiry); egress.ErrorCode(err) != egress.EINVALID {
			t.Errorf("Presign with expiry %s: err %v, want EINVALID", expiry, err)
		}
	}
}
