package servers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestListUploadsByPrefix: the local S3 server lists multipart uploads
// under a prefix as S3 does, in pages, also while the caller aborts what
// each page listed (objects.DeletePrefix does), and leaves neighbours out.
func TestListUploadsByPrefix(t *testing.T) {
	srv, err := StartS3(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	c := srv.Client()
	under := []string{"ws/req1/a.csv", "ws/req1/a.csv", "ws/req1/sub/b.csv", "ws/req1/z z+.csv"}
	neighbours := []string{"ws/req10/c.csv", "ws/req1.csv", "other/ws/req1/d.csv"}
	tests := []struct {
		name       string
		maxUploads int32
		abort      bool // abort each page's uploads before asking for the next
	}{
		{"one page", 0, false},
		{"pages of one", 1, false},
		{"pages of two, aborted as listed", 2, true},
		{"pages of one, aborted as listed", 1, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := fmt.Sprintf("uploads-%d", i)
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			for _, k := range slices.Concat(under, neighbours) {
				if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
					t.Fatal(err)
				}
			}
			in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("ws/req1/")}
			if tt.maxUploads > 0 {
				in.MaxUploads = aws.Int32(tt.maxUploads)
			}
			var keys, ids []string
			pages := 0
			for p := s3.NewListMultipartUploadsPaginator(c, in); p.HasMorePages(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if tt.maxUploads > 0 && len(page.Uploads) > int(tt.maxUploads) {
					t.Fatalf("page of %d uploads, want at most %d", len(page.Uploads), tt.maxUploads)
				}
				for _, u := range page.Uploads {
					keys, ids = append(keys, aws.ToString(u.Key)), append(ids, aws.ToString(u.UploadId))
					if tt.abort {
						if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if !slices.Equal(keys, under) {
				t.Fatalf("listed %q, want %q in key order", keys, under)
			}
			if n := len(slices.Compact(slices.Sorted(slices.Values(ids)))); n != len(ids) {
				t.Fatalf("upload ids %q listed more than once", ids)
			}
			if want := (len(under) + int(tt.maxUploads) - 1) / max(int(tt.maxUploads), 1); tt.maxUploads > 0 && pages != want {
				t.Fatalf("%d pages, want %d", pages, want)
			}
			left, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("ws/")})
			if err != nil {
				t.Fatal(err)
			}
			want := len(under) + 2 // ws/req10/ and ws/req1.csv
			if tt.abort {
				want = 2
			}
			if len(left.Uploads) != want {
				t.Fatalf("%d uploads left under ws/, want %d", len(left.Uploads), want)
			}
		})
	}
	t.Run("delimiter", func(t *testing.T) {
		_, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("uploads-0"), Prefix: aws.String("ws/"), Delimiter: aws.String("/")})
		if err == nil || !strings.Contains(err.Error(), "not emulated") {
			t.Fatalf("err = %v, want one saying it is not emulated", err)
		}
	})
}
