package objects

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// versions counts the versions and delete markers under prefix.
func versions(t *testing.T, c *s3.Client, bucket, prefix string) int {
	t.Helper()
	n := 0
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Versions) + len(page.DeleteMarkers)
	}
	return n
}

func TestDeletePrefix(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)

	// Under ws/req1/: a key with two versions, a deleted key (version and
	// delete marker), a folder marker, and enough small files to make 1,001
	// versions: two listing pages and two delete batches.
	put(t, c, bucket, "ws/req1/a/summary.csv", []byte("1"))
	put(t, c, bucket, "ws/req1/a/summary.csv", []byte("2"))
	put(t, c, bucket, "ws/req1/gone file+%.csv", []byte("x"))
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("ws/req1/gone file+%.csv")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, bucket, "ws/req1/folder/", nil)
	const many = 996
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range many {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			put(t, c, bucket, fmt.Sprintf("ws/req1/many/%04d.txt", i), []byte("x"))
		})
	}
	wg.Wait()
	// Neighbours that must survive.
	put(t, c, bucket, "ws/req10/keep.csv", []byte("keep"))
	put(t, c, bucket, "ws/req1.csv", []byte("keep"))
	put(t, c, bucket, "ws/other/keep.csv", []byte("keep"))
	// Unfinished multipart uploads, as a copy or zip whose process died
	// leaves them, under the prefix and beside it.
	for _, k := range []string{"ws/req1/a/summary.csv", "ws/req1/big.bin", "ws/req10/big.bin"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := openUploads(t, c, bucket, "ws/req1/"); n != 2 {
		t.Fatalf("set-up: %d uploads under ws/req1/, want 2", n)
	}
	want := 2 + 2 + 1 + many
	if n := versions(t, c, bucket, "ws/req1/"); n != want {
		t.Fatalf("set-up: %d versions under ws/req1/, want %d", n, want)
	}

	refused := []string{"", "/", "//", "ws/req1", "ws"}
	for _, prefix := range refused {
		t.Run(fmt.Sprintf("refuse %q", prefix), func(t *testing.T) {
			n, err := store.DeletePrefix(ctx, bucket, prefix)
			wantCode(t, err, egress.EINVALID, bucket)
			if n != 0 {
				t.Fatalf("deleted %d", n)
			}
		})
	}
	if n := versions(t, c, bucket, ""); n != want+3 {
		t.Fatalf("refused deletes removed something: %d versions left, want %d", n, want+3)
	}

	t.Run("delete", func(t *testing.T) {
		n, err := store.DeletePrefix(ctx, bucket, "ws/req1/")
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("deleted %d, want %d", n, want)
		}
		if n := versions(t, c, bucket, "ws/req1/"); n != 0 {
			t.Fatalf("%d versions or delete markers left under ws/req1/", n)
		}
		if n := versions(t, c, bucket, ""); n != 3 {
			t.Fatalf("%d versions left in the bucket, want the 3 neighbours", n)
		}
		if n := openUploads(t, c, bucket, "ws/req1/"); n != 0 {
			t.Fatalf("%d multipart uploads left under ws/req1/", n)
		}
		if n := openUploads(t, c, bucket, "ws/"); n != 1 {
			t.Fatalf("%d multipart uploads under ws/, want the neighbour's", n)
		}
	})
	t.Run("again", func(t *testing.T) {
		n, err := store.DeletePrefix(ctx, bucket, "ws/req1/")
		if err != nil || n != 0 {
			t.Fatalf("second delete = %d, %v; want 0, nil", n, err)
		}
	})
}
