package objects

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// versionsOf counts the versions and delete markers of exactly key.
func versionsOf(t *testing.T, c *s3.Client, bucket, key string) (versions, markers int) {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			versions++
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == key {
			markers++
		}
	}
	return versions, markers
}

// The two ways a revoked zip is removed, as revoke_retention_days chooses:
// 0 deletes every version at once; more hides the zip behind a delete
// marker, so a link handed out before gets 404, and keeps its version until
// DeleteVersions purges it. A key that merely starts with the zip's key
// survives both.
func TestRevokedZipRemoval(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	tests := []struct {
		name   string
		remove func(t *testing.T, key string)
		// after the removal: versions left, and the status of the earlier link
		wantVersions int
	}{
		{"retention 0: every version deleted", func(t *testing.T, key string) {
			n, err := store.DeleteVersions(ctx, bucket, key)
			if err != nil || n != 2 {
				t.Fatalf("DeleteVersions = %d, %v; want 2 versions deleted", n, err)
			}
		}, 0},
		{"retention N: hidden, version kept", func(t *testing.T, key string) {
			if err := store.HideObject(ctx, bucket, key); err != nil {
				t.Fatal(err)
			}
		}, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "approved_egress/ws/req-" + string(rune('a'+i)) + "/egress_data.zip"
			put(t, c, bucket, key, []byte("old zip"))
			put(t, c, bucket, key, []byte("zip bytes"))
			put(t, c, bucket, key+".bak", []byte("neighbour"))
			u, err := store.Presign(ctx, bucket, key, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if status, _ := fetch(t, u); status != http.StatusOK {
				t.Fatalf("set-up: link status %d", status)
			}
			tt.remove(t, key)
			if status, _ := fetch(t, u); status != http.StatusNotFound {
				t.Errorf("the earlier link got status %d after the removal, want 404", status)
			}
			if v, _ := versionsOf(t, c, bucket, key); v != tt.wantVersions {
				t.Errorf("%d versions left, want %d", v, tt.wantVersions)
			}
			if got := get(t, c, bucket, key+".bak", ""); string(got) != "neighbour" {
				t.Errorf("neighbour = %q", got)
			}
			// The sweep's purge: nothing of the key is left, the marker
			// included, and a second purge finds nothing to do.
			if _, err := store.DeleteVersions(ctx, bucket, key); err != nil {
				t.Fatal(err)
			}
			if v, m := versionsOf(t, c, bucket, key); v+m != 0 {
				t.Errorf("after the purge: %d versions and %d delete markers left", v, m)
			}
			if n, err := store.DeleteVersions(ctx, bucket, key); n != 0 || err != nil {
				t.Errorf("second purge = %d, %v", n, err)
			}
		})
	}
	if err := store.HideObject(ctx, bucket, ""); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("HideObject with no key: %v", err)
	}
	if _, err := store.DeleteVersions(ctx, bucket, ""); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("DeleteVersions with no key: %v", err)
	}
}
