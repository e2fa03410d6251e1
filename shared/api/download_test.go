package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
)

const downloadMutation = `mutation DownloadData($request: DownloadDataInput!) { downloadData(request: $request) { presign_url } }`

// 50 concurrent downloadData calls with max_downloads_allowed=1 give
// exactly one URL; the URL fetches the zip; a tampered or expired URL is
// refused by the S3 server (MinIO).
func TestConcurrentDownloads(t *testing.T) {
	e := newEnv(t)
	e.svc.MaxDownloads = 1
	r := e.seed(t, fixtures[3]) // RITAPPROVED, released
	vars := map[string]any{"request": map[string]any{"egress_request_id": r.ID, "workspace_id": r.WorkspaceID, "download_count": "0"}}

	const callers = 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		urls []string
		errs = map[string]int{}
	)
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp := e.gql(igReviewer, downloadMutation, vars)
			mu.Lock()
			defer mu.Unlock()
			for _, ge := range resp.Errors {
				errs[ge.ErrorType]++
			}
			var data struct {
				DownloadData *struct {
					PresignURL string `json:"presign_url"`
				} `json:"downloadData"`
			}
			decode(t, resp, &data)
			if data.DownloadData != nil {
				urls = append(urls, data.DownloadData.PresignURL)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(urls) != 1 || errs[egress.ELIMIT] != callers-1 || len(errs) != 1 {
		t.Fatalf("%d URLs, errors %v; want 1 URL and %d %s", len(urls), errs, callers-1, egress.ELIMIT)
	}
	stored, _ := e.table.Get(context.Background(), r.ID)
	events, _ := e.table.Events(context.Background(), r.ID)
	downloads := 0
	for _, ev := range events {
		if ev.Kind == egress.EventDownload {
			downloads++
		}
	}
	if stored.DownloadCount != 1 || downloads != 1 {
		t.Fatalf("download_count %d, %d download events", stored.DownloadCount, downloads)
	}

	status, body := fetch(t, urls[0])
	if status != http.StatusOK || !bytes.Equal(body, e.zipBody) {
		t.Fatalf("GET presigned URL: %d, %d bytes (want the %d-byte zip)", status, len(body), len(e.zipBody))
	}

	// The same URL with any part changed is refused.
	u, _ := url.Parse(urls[0])
	tamper := func(f func(u *url.URL, q url.Values)) string {
		c := *u
		q := c.Query()
		f(&c, q)
		c.RawQuery = q.Encode()
		return c.String()
	}
	sig := u.Query().Get("X-Amz-Signature")
	other := "0"
	if strings.HasSuffix(sig, "0") {
		other = "1"
	}
	flipped := sig[:len(sig)-1] + other
	tampered := map[string]string{
		"signature": tamper(func(_ *url.URL, q url.Values) { q.Set("X-Amz-Signature", flipped) }),
		"key":       tamper(func(u *url.URL, _ url.Values) { u.Path = strings.Replace(u.Path, "egress_data.zip", "other.zip", 1) }),
		"expiry":    tamper(func(_ *url.URL, q url.Values) { q.Set("X-Amz-Expires", "604800") }),
		"date": tamper(func(_ *url.URL, q url.Values) {
			signed, _ := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
			q.Set("X-Amz-Date", signed.Add(time.Minute).Format("20060102T150405Z"))
		}),
	}
	for what, u := range tampered {
		if status, body := fetch(t, u); status != http.StatusForbidden || bytes.Equal(body, e.zipBody) {
			t.Errorf("URL with tampered %s: HTTP %d, want 403", what, status)
		}
	}

	// A URL signed two hours ago for one minute has expired.
	past := &objects.Client{S3: e.s3, Presigner: s3.NewPresignClient(e.s3, func(o *s3.PresignOptions) {
		o.Presigner = signedAt{v4.NewSigner(), -2 * time.Hour}
	})}
	expired, err := past.Presign(context.Background(), e.datalake, e.zipKey, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := fetch(t, expired); status != http.StatusForbidden || !strings.Contains(string(body), "expired") {
		t.Errorf("expired URL: HTTP %d %s, want 403 saying it expired", status, body)
	}
}

// signedAt presigns as if the clock were offset.
type signedAt struct {
	*v4.Signer
	offset time.Duration
}

func (s signedAt) PresignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return s.Signer.PresignHTTP(ctx, c, r, payloadHash, service, region, at.Add(s.offset), opts...)
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// downloadData checks the workspace sent and ignores the client's count.
func TestDownloadDataArguments(t *testing.T) {
	e := newEnv(t)
	e.svc.MaxDownloads = 2
	r := e.seed(t, fixtures[3])
	tests := []struct {
		name      string
		workspace string
		count     string
		want      string
	}{
		{"other workspace", "ws-other", "0", egress.EINVALID},
		{"client says 0 of 2", r.WorkspaceID, "0", ""},
		{"client lies about the count", r.WorkspaceID, "-100", ""},
		{"limit reached whatever the client says", r.WorkspaceID, "0", egress.ELIMIT},
	}
	for _, tt := range tests {
		in := api.DownloadInput{RequestID: r.ID, WorkspaceID: tt.workspace, DownloadCount: tt.count}
		_, err := e.call(igReviewer, "Mutation", "downloadData", map[string]any{"request": in}, nil)
		if got := errorType(err); got != tt.want {
			t.Errorf("%s: errorType %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
}
