package objects

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

func TestReadHead(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	key := "ws 1/req+1/tables/a é.csv"
	first := randomBytes(100 << 10)
	v1 := put(t, c, bucket, key, first)
	v2 := put(t, c, bucket, key, []byte("short"))
	empty := put(t, c, bucket, "ws/req/empty.txt", nil)
	gone := put(t, c, bucket, "ws/req/gone.csv", []byte("deleted"))
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("ws/req/gone.csv"), VersionId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, key, version string
		n                  int64
		want               []byte
		code               string
	}{
		{"the head of a large version", key, v1, 64 << 10, first[:64<<10], ""},
		{"a version shorter than n, whole", key, v2, 64 << 10, []byte("short"), ""},
		{"one byte", key, v1, 1, first[:1], ""},
		{"an empty object", "ws/req/empty.txt", empty, 64 << 10, []byte{}, ""},
		{"a deleted version", "ws/req/gone.csv", gone, 10, nil, egress.ENOTFOUND},
		{"a missing key", "ws/req/missing.csv", v1, 10, nil, egress.ENOTFOUND},
		{"no version", key, "", 10, nil, egress.EINVALID},
		{"n of zero", key, v1, 0, nil, egress.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ReadHead(ctx, bucket, tt.key, tt.version, tt.n)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) || got == nil {
				t.Fatalf("got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}

// A versioned link serves its version, whatever is written to the key
// later, and only that version: changing the version id breaks the
// signature.
func TestPresignVersion(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	key := "ws 1/req+1/results é.csv"
	v1 := put(t, c, bucket, key, []byte("staged bytes"))
	u, err := store.PresignVersion(ctx, bucket, key, v1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v2 := put(t, c, bucket, key, []byte("written later"))
	if status, body := fetch(t, u); status != http.StatusOK || string(body) != "staged bytes" {
		t.Fatalf("GET %d %q, want the staged version", status, body)
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	q.Set("versionId", v2)
	parsed.RawQuery = q.Encode()
	if status, _ := fetch(t, parsed.String()); status != http.StatusForbidden {
		t.Errorf("GET with another version id: HTTP %d, want 403", status)
	}
	if _, err := store.PresignVersion(ctx, bucket, key, "", time.Minute); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("no version: %v, want EINVALID", err)
	}
	if _, err := store.PresignVersion(ctx, bucket, key, v1, 8*24*time.Hour); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("expiry past SigV4's: %v, want EINVALID", err)
	}
}

func TestOpenRange(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	bucket := testenv.NewBucket(t, c, true)
	key := "ws/req/data.bin"
	first := randomBytes(300 << 10)
	v1 := put(t, c, bucket, key, first)
	put(t, c, bucket, key, []byte("later"))
	empty := put(t, c, bucket, "ws/req/empty.txt", nil)
	obj := func(k, v string) egress.ObjectVersion {
		return egress.ObjectVersion{Bucket: bucket, Key: k, VersionID: v}
	}
	tests := []struct {
		name           string
		obj            egress.ObjectVersion
		offset, length int64
		want           []byte
		code           string
	}{
		{"the whole pinned version", obj(key, v1), 0, -1, first, ""},
		{"a head", obj(key, v1), 0, 3072, first[:3072], ""},
		{"a middle", obj(key, v1), 1000, 500, first[1000:1500], ""},
		{"a tail", obj(key, v1), 200 << 10, -1, first[200<<10:], ""},
		{"past the end", obj(key, v1), 1 << 30, 10, []byte{}, ""},
		{"an empty object", obj("ws/req/empty.txt", empty), 0, 3072, []byte{}, ""},
		{"a missing key", obj("ws/req/missing", v1), 0, -1, nil, egress.ENOTFOUND},
		{"no version", obj(key, ""), 0, -1, nil, egress.EINVALID},
		{"a zero length", obj(key, v1), 0, 0, nil, egress.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := store.OpenRange(ctx, tt.obj, tt.offset, tt.length)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}
