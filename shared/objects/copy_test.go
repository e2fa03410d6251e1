package objects

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

// TestCopyVersionPinned proves the submitted version is what gets copied,
// whatever happened to the key since, for keys that need escaping.
func TestCopyVersionPinned(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, true)

	overwrite := func(t *testing.T, key string) { put(t, c, src, key, []byte("changed after submission")) }
	remove := func(t *testing.T, key string) {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(src), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		key   string
		after func(t *testing.T, key string)
	}{
		{"overwritten", "ws/results/summary.csv", overwrite},
		{"deleted", "ws/results/deleted.csv", remove},
		{"spaces", "ws/my results/final table.csv", overwrite},
		{"unicode", "ws/données/résumé – 表.txt", overwrite},
		{"plus", "ws/a+b/c++.txt", remove},
		{"percent", "ws/100%/50%25 done.txt", overwrite},
		{"query characters", "ws/q?a=1&b=#2;x,y:z@!$'()*.txt", overwrite},
		{"empty object", "ws/empty.txt", overwrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("submitted content of " + tt.key)
			if tt.name == "empty object" {
				body = nil
			}
			version := put(t, c, src, tt.key, body)
			tt.after(t, tt.key)

			dstKey := "staged/" + tt.key
			got, err := store.CopyVersion(ctx, egress.ObjectVersion{Bucket: src, Key: tt.key, VersionID: version}, dst, dstKey)
			if err != nil {
				t.Fatal(err)
			}
			if got.Size != int64(len(body)) || got.SHA256 != sum(body) || got.VersionID == "" {
				t.Fatalf("copy = %+v, want size %d, sha256 %s and a version", got, len(body), sum(body))
			}
			if b := get(t, c, dst, dstKey, got.VersionID); string(b) != string(body) {
				t.Fatalf("copy holds %q, want the submitted %q", b, body)
			}
		})
	}
}

func TestCopyVersionMultipart(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, false)
	body := randomBytes(12<<20 + 12345)
	key := "ws/big data/scan+1.bin"
	version := put(t, c, src, key, body)
	put(t, c, src, key, []byte("overwritten"))

	tests := []struct {
		name      string
		store     *Client
		wantParts int32 // 0: copied with one CopyObject
	}{
		{"parts", &Client{S3: c, MultipartThreshold: 5 << 20, CopyPartSize: 5 << 20}, 3},
		{"part size raised to the minimum", &Client{S3: c, MultipartThreshold: 1, CopyPartSize: 1}, 3},
		{"below threshold", &Client{S3: c}, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dstKey := fmt.Sprintf("copy-%d/scan+1.bin", i)
			got, err := tt.store.CopyVersion(ctx, egress.ObjectVersion{Bucket: src, Key: key, VersionID: version}, dst, dstKey)
			if err != nil {
				t.Fatal(err)
			}
			if got.Size != int64(len(body)) || got.SHA256 != sum(body) {
				t.Fatalf("copy = %+v, want size %d sha256 %s", got, len(body), sum(body))
			}
			if b := get(t, c, dst, dstKey, ""); sum(b) != sum(body) {
				t.Fatal("copied bytes differ from the source version")
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(dst), Key: aws.String(dstKey), PartNumber: aws.Int32(1)})
			if err != nil {
				t.Fatal(err)
			}
			if parts := aws.ToInt32(head.PartsCount); parts != tt.wantParts {
				t.Fatalf("copy has %d parts, want %d", parts, tt.wantParts)
			}
			if n := openUploads(t, c, dst, dstKey); n != 0 {
				t.Fatalf("%d multipart uploads left open", n)
			}
		})
	}
}

// A copy carries none of its source's tags, by either copy path, whether
// CopyAll knows the size or asks: above all not a GuardDuty scan status,
// which must come from GuardDuty's scan of the copy, not from a tag the
// submitter set on the original.
func TestCopyCarriesNoTags(t *testing.T) {
	_, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, true)
	small := &Client{S3: c}
	parts := &Client{S3: c, MultipartThreshold: 5 << 20, CopyPartSize: 5 << 20}

	tests := []struct {
		name   string
		store  *Client
		size   int
		listed bool
		tags   map[string]string
	}{
		{"copy, status only", small, 100, false, map[string]string{ScanStatusTag: "NO_THREATS_FOUND"}},
		{"copy, status and others", small, 100, false, map[string]string{ScanStatusTag: "NO_THREATS_FOUND", "project": "p=1"}},
		{"copy, listed size, status and others", small, 100, true, map[string]string{ScanStatusTag: "NO_THREATS_FOUND", "project": "p=1"}},
		{"copy, ten tags", small, 100, true, tenTags()},
		{"parts, ten tags", parts, 6 << 20, false, tenTags()},
		{"parts, listed size, status and others", parts, 6 << 20, true, map[string]string{ScanStatusTag: "NO_THREATS_FOUND", "project": "p=1"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("ws/r/forged-%d.exe", i)
			version := put(t, c, src, key, randomBytes(tt.size))
			var set []types.Tag
			for k, v := range tt.tags {
				set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(src), Key: aws.String(key), VersionId: aws.String(version),
				Tagging: &types.Tagging{TagSet: set}}); err != nil {
				t.Fatal(err)
			}
			job := egress.CopyJob{Path: key, Source: egress.ObjectVersion{Bucket: src, Key: key, VersionID: version}, DstBucket: dst, DstKey: "staged/" + key,
				Size: int64(tt.size), Listed: tt.listed}
			files, err := tt.store.CopyAll(ctx, []egress.CopyJob{job}, 1)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(dst), Key: aws.String("staged/" + key), VersionId: aws.String(files[0].StagedVersionID)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.TagSet) != 0 {
				t.Fatalf("copy's tags %v, want none", out.TagSet)
			}
		})
	}
}

// tenTags is as many tags as S3 allows an object.
func tenTags() map[string]string {
	m := map[string]string{}
	for i := range 10 {
		m[fmt.Sprintf("t%d", i)] = fmt.Sprint(i)
	}
	return m
}

func TestCopyVersionNotFound(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, true)
	key := "ws/gone version.csv"
	gone := put(t, c, src, key, []byte("v1"))
	put(t, c, src, key, []byte("v2"))
	// Permanently delete the first version.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(src), Key: aws.String(key), VersionId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(src), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	marker := aws.ToString(del.VersionId)
	tests := []struct {
		name  string
		src   egress.ObjectVersion
		store *Client
	}{
		{"deleted version", egress.ObjectVersion{Bucket: src, Key: key, VersionID: gone}, store},
		{"delete marker", egress.ObjectVersion{Bucket: src, Key: key, VersionID: marker}, store},
		{"latest is a delete marker", egress.ObjectVersion{Bucket: src, Key: key}, store},
		{"missing key", egress.ObjectVersion{Bucket: src, Key: "ws/never uploaded.csv"}, store},
		{"missing key with version", egress.ObjectVersion{Bucket: src, Key: "ws/never.csv", VersionID: gone}, store},
		{"deleted version, multipart", egress.ObjectVersion{Bucket: src, Key: key, VersionID: gone}, &Client{S3: c, MultipartThreshold: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.store.CopyVersion(ctx, tt.src, dst, "staged/x")
			wantCode(t, err, egress.ENOTFOUND, tt.src.Key, versionLabel(tt.src.VersionID))
			if exists(t, c, dst, "staged/x") {
				t.Fatal("a failed copy left an object")
			}
		})
	}
}

func TestCopyAll(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	src := testenv.NewBucket(t, c, true)
	dst := testenv.NewBucket(t, c, true)

	var jobs []egress.CopyJob
	paths := []string{"a/summary.csv", "b/summary.csv", "summary.csv", "c/d/e/f.txt", "x y/z+1%.txt"}
	for i := range 12 {
		p := paths[i%len(paths)]
		if i >= len(paths) {
			p = fmt.Sprintf("more/%02d/%s", i, p)
		}
		key := "ws1/" + p
		v := put(t, c, src, key, []byte("content of "+p))
		put(t, c, src, key, []byte("overwritten"))
		jobs = append(jobs, egress.CopyJob{Path: p, Source: egress.ObjectVersion{Bucket: src, Key: key, VersionID: v}, DstBucket: dst, DstKey: "ws1/req1/" + p})
	}

	t.Run("order and content", func(t *testing.T) {
		files, err := store.CopyAll(ctx, jobs, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(jobs) {
			t.Fatalf("got %d files, want %d", len(files), len(jobs))
		}
		for i, f := range files {
			j := jobs[i]
			want := []byte("content of " + j.Path)
			if f.Path != j.Path || f.SourceKey != j.Source.Key || f.VersionID != j.Source.VersionID || f.Size != int64(len(want)) || f.SHA256 != sum(want) {
				t.Errorf("files[%d] = %+v, want job %+v with sha256 %s", i, f, j, sum(want))
			}
			if b := get(t, c, dst, j.DstKey, ""); string(b) != string(want) {
				t.Errorf("%s holds %q, want %q", j.DstKey, b, want)
			}
			// The staged version is recorded so the release reads exactly it.
			if b := get(t, c, dst, j.DstKey, f.StagedVersionID); f.StagedVersionID == "" || string(b) != string(want) {
				t.Errorf("staged version %q of %s holds %q, want %q", f.StagedVersionID, j.DstKey, b, want)
			}
		}
	})

	t.Run("missing versions", func(t *testing.T) {
		bad := append([]egress.CopyJob(nil), jobs...)
		bad[4].Source.Key = "ws1/deleted/one.csv"
		bad[4].DstKey = "ws1/req2/deleted/one.csv"
		bad[9].Source.Key = "ws1/deleted/two.csv"
		bad[9].DstKey = "ws1/req2/deleted/two.csv"
		// Asked of S3 by a HEAD, or met by the CopyObject of a listed size.
		for _, listed := range []bool{false, true} {
			for i := range bad {
				bad[i].Size, bad[i].Listed = int64(len("content of "+bad[i].Path)), listed
			}
			files, err := store.CopyAll(ctx, bad, 4)
			wantCode(t, err, egress.ENOTFOUND, "ws1/deleted/one.csv", "ws1/deleted/two.csv", bad[4].Source.VersionID)
			if files != nil {
				t.Fatalf("got files %v with an error", files)
			}
		}
	})

	// However many versions are missing, the error names a few and counts
	// the rest: it becomes a Step Functions error cause (256 KiB at most).
	t.Run("many missing versions", func(t *testing.T) {
		var missing []egress.CopyJob
		for i := range 40 {
			key := fmt.Sprintf("ws1/gone/%03d-%s.csv", i, strings.Repeat("long-name-", 20))
			missing = append(missing, egress.CopyJob{Path: key, Source: egress.ObjectVersion{Bucket: src, Key: key, VersionID: jobs[0].Source.VersionID},
				DstBucket: dst, DstKey: "ws1/req4/" + key})
		}
		_, err := store.CopyAll(ctx, missing, 8)
		wantCode(t, err, egress.ENOTFOUND, "ws1/gone/000-", "ws1/gone/009-", "and 30 more")
		if strings.Contains(err.Error(), "ws1/gone/010-") || len(err.Error()) > 4000 {
			t.Fatalf("error of %d bytes names more than 10 files: %v", len(err.Error()), err)
		}
	})

	t.Run("duplicate destination", func(t *testing.T) {
		dup := []egress.CopyJob{jobs[0], jobs[0]}
		_, err := store.CopyAll(ctx, dup, 2)
		wantCode(t, err, egress.EINVALID, jobs[0].DstKey)
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		var again []egress.CopyJob
		for _, j := range jobs {
			j.DstKey = strings.Replace(j.DstKey, "req1", "req3", 1)
			again = append(again, j)
		}
		_, err := store.CopyAll(ctx, again, 2)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if exists(t, c, dst, again[len(again)-1].DstKey) {
			t.Fatal("a copy ran after the context was cancelled")
		}
	})
}

func TestForEach(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		n, limit  int
		wantCalls int
	}{
		{"none", context.Background(), 0, 3, 0},
		{"sequential", context.Background(), 10, 1, 10},
		{"bounded", context.Background(), 20, 3, 20},
		{"limit below one", context.Background(), 5, 0, 5},
		{"limit above n", context.Background(), 3, 10, 3},
		{"cancelled", cancelled, 5, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			running, peak, calls := 0, 0, 0
			errs := forEach(tt.ctx, tt.n, tt.limit, func(i int) error {
				mu.Lock()
				running++
				calls++
				peak = max(peak, running)
				mu.Unlock()
				defer func() { mu.Lock(); running--; mu.Unlock() }()
				if i%2 == 1 {
					return fmt.Errorf("odd %d", i)
				}
				return nil
			})
			if peak > max(tt.limit, 1) {
				t.Errorf("%d calls ran at once, limit %d", peak, tt.limit)
			}
			if calls != tt.wantCalls || len(errs) != tt.n {
				t.Fatalf("%d calls and %d errors, want %d and %d", calls, len(errs), tt.wantCalls, tt.n)
			}
			for i, err := range errs {
				if (err != nil) != (i%2 == 1 && calls > 0) {
					t.Errorf("errs[%d] = %v", i, err)
				}
			}
		})
	}
}
