package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// Unfinished multipart uploads hold data nobody sees: a copy or zip whose
// process died leaves one. These tests leave them where a crash would, or
// make a copy fail once its upload is open, and check that the functions
// abort them, each with its own role, and leave nothing behind.

// openUpload starts a multipart upload at bucket/key and uploads a part of
// it with the stack's own credentials, as a process that died mid-copy
// leaves it.
func openUpload(ctx context.Context, s *Stack, bucket, key string) error {
	created, err := s.Clients.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("open an upload at %s/%s: %w", bucket, key, err)
	}
	if _, err := s.Clients.S3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part of a crashed copy")}); err != nil {
		return fmt.Errorf("upload a part at %s/%s: %w", bucket, key, err)
	}
	return nil
}

// uploadsUnder returns the keys of the multipart uploads open under prefix.
func uploadsUnder(ctx context.Context, s *Stack, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListMultipartUploadsPaginator(s.Clients.S3, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list uploads under %s/%s: %w", bucket, prefix, err)
		}
		for _, u := range page.Uploads {
			keys = append(keys, aws.ToString(u.Key))
		}
	}
	return keys, nil
}

// noUploads fails the test if a multipart upload is open under a
// request's staging or datalake prefix.
func noUploads(t *testing.T, s *Stack, r egress.Request) {
	t.Helper()
	for _, p := range []struct{ bucket, prefix string }{
		{StagingBucket, egress.StagingPrefix(r)},
		{DatalakeBucket, workflow.DatalakePrefix(r)},
	} {
		keys, err := uploadsUnder(ctx(t), s, p.bucket, p.prefix)
		if err != nil || len(keys) != 0 {
			t.Fatalf("uploads left under %s/%s: %q (%v)", p.bucket, p.prefix, keys, err)
		}
	}
}

// TestUnfinishedStagedUploadIsAborted: an upload a crashed copy left under
// the request's staging folder is aborted with the staged copies when the
// request is rejected (HandleRejection) or released (CopyToDatalake).
func TestUnfinishedStagedUploadIsAborted(t *testing.T) {
	tests := []struct {
		name     string
		single   bool
		decision egress.Decision
		want     egress.Status
		store    string
	}{
		{"rejected", false, egress.Rejected, egress.StatusRejected, "PENDING"},
		{"released", true, egress.Approved, egress.StatusIGApproved, "PROCESSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stack(t, tt.single)
			sub := submit(t, s)
			awaitStage(t, s, sub.RequestID, 0)
			r, err := s.Requests.Get(ctx(t), sub.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			if err := openUpload(ctx(t), s, StagingBucket, egress.StagingPrefix(r)+"tables/summary.csv"); err != nil {
				t.Fatal(err)
			}
			if keys, err := uploadsUnder(ctx(t), s, StagingBucket, egress.StagingPrefix(r)); err != nil || len(keys) != 1 {
				t.Fatalf("set-up: uploads %q (%v), want the crashed copy's", keys, err)
			}
			chain, _ := s.Config.Chain()
			if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), r.ID, tt.decision, "uploads test", ""); err != nil {
				t.Fatal(err)
			}
			if desc, err := s.Engine.Wait(ctx(t), s.ExecutionArn(r.ID)); err != nil || desc.Status != sfn.StatusSucceeded {
				t.Fatalf("execution %s %s: %.300s (%v)", desc.Status, desc.Error, desc.Cause, err)
			}
			if r, err = s.Requests.Get(ctx(t), r.ID); err != nil || r.Status != tt.want {
				t.Fatalf("request %s (%q), %v; want %s", r.Status, r.FailureCause, err, tt.want)
			}
			swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
			if st, err := swb.StoreStatus(ctx(t), r.StoreID); err != nil || st != tt.store {
				t.Fatalf("SWB store %q (%v), want %s", st, err, tt.store)
			}
			if n, err := s.countVersions(ctx(t), StagingBucket, egress.StagingPrefix(r)); err != nil || n != 0 {
				t.Fatalf("%d staged versions left (%v)", n, err)
			}
			released := 0
			if r.Released() {
				released = 1
			}
			if n, err := s.countVersions(ctx(t), DatalakeBucket, workflow.DatalakePrefix(r)); err != nil || n != released {
				t.Fatalf("%d versions in the datalake (%v), want %d", n, err, released)
			}
			noUploads(t, s, r)
		})
	}
}

// TestPartialReleaseIsDeleted: a release that died part-way leaves an
// unrecorded zip (an earlier attempt's, complete but never recorded), the
// retry's unfinished upload of it and a staged copy's unfinished upload.
// When the request fails (HandleFailure) or its execution is stopped
// during the release (ExecutionEnded), all of it is deleted: FAILED, SWB's
// store unlocked, nothing left in staging or the datalake.
func TestPartialReleaseIsDeleted(t *testing.T) {
	for _, stop := range []bool{false, true} {
		t.Run(map[bool]string{false: "release fails", true: "execution stopped"}[stop], func(t *testing.T) {
			s := stack(t, true)
			sub := submit(t, s)
			hookCtx := ctx(t)
			left := make(chan error, 1)
			entered, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			s.SetFail(func(function string, payload json.RawMessage) error {
				if function != "copy-to-datalake" || !bytes.Contains(payload, []byte(sub.RequestID)) {
					return nil
				}
				select {
				case left <- leavePartialRelease(hookCtx, s, sub.RequestID):
				default: // a retry: the first attempt's result stands
				}
				if stop {
					close(entered)
					<-release
				}
				return errors.New("the release died")
			})
			defer s.SetFail(nil)
			awaitStage(t, s, sub.RequestID, 0)
			chain, _ := s.Config.Chain()
			if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
				t.Fatal(err)
			}
			var r egress.Request
			if stop {
				select {
				case <-entered:
				case <-ctx(t).Done():
					t.Fatal("the release never started")
				}
				if _, err := s.Clients.SFN.StopExecution(ctx(t), &awssfn.StopExecutionInput{ExecutionArn: aws.String(s.ExecutionArn(sub.RequestID))}); err != nil {
					t.Fatal(err)
				}
				r = cleanedUp(t, s, sub, egress.StatusFailed, sfn.StatusAborted)
			} else {
				r = finished(t, s, sub, egress.StatusFailed)
			}
			if err := <-left; err != nil {
				t.Fatalf("set-up: %v", err)
			}
			if r.Released() {
				t.Fatal("the partial release was recorded")
			}
			noUploads(t, s, r)
		})
	}
}

// leavePartialRelease leaves what a release of request id that died
// part-way leaves, and checks it is there to be cleaned up.
func leavePartialRelease(ctx context.Context, s *Stack, id string) error {
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return err
	}
	zip := workflow.ZipKey(r)
	if _, err := s.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(DatalakeBucket), Key: aws.String(zip), Body: strings.NewReader("PK\x03\x04 an unrecorded zip")}); err != nil {
		return fmt.Errorf("write the unrecorded zip: %w", err)
	}
	for _, at := range []struct{ bucket, key string }{
		{DatalakeBucket, zip},
		{StagingBucket, egress.StagingPrefix(r) + "tables/summary.csv"},
	} {
		if err := openUpload(ctx, s, at.bucket, at.key); err != nil {
			return err
		}
	}
	for _, p := range []struct{ bucket, prefix string }{
		{DatalakeBucket, workflow.DatalakePrefix(r)},
		{StagingBucket, egress.StagingPrefix(r)},
	} {
		if keys, err := uploadsUnder(ctx, s, p.bucket, p.prefix); err != nil || len(keys) != 1 {
			return fmt.Errorf("uploads under %s/%s: %q (%v), want one", p.bucket, p.prefix, keys, err)
		}
	}
	return nil
}

// TestFailedCopyAbortsItsUpload: a multipart copy whose source version
// vanishes once its upload is open fails the request, and the function
// that opened the upload aborts it itself, before HandleFailure cleans up:
// CopyToStaging copying a file above the multipart threshold whose
// version SWB deletes mid-copy, and CopyToDatalake zipping a staged copy
// deleted as the zip's upload opens.
func TestFailedCopyAbortsItsUpload(t *testing.T) {
	big := t.TempDir()
	if err := os.WriteFile(filepath.Join(big, "big.bin"), bytes.Repeat([]byte("x"), multipartThreshold+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "small.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		function  string
		single    bool
		store     string
		decisions []egress.Decision
		at        string // the call at which a version the copy reads vanishes
		bucket    string // where the copy's upload is
		prefix    func(egress.Request) string
		vanish    func(ctx context.Context, s *Stack, r egress.Request, c Call) error
		cause     string
	}{
		{"staging a file in parts", "copy-to-staging", false, big, nil, "UploadPartCopy", StagingBucket, egress.StagingPrefix,
			deleteCopySource, "big.bin"},
		{"zipping the release", "copy-to-datalake", true, "testdata/sample-store", []egress.Decision{egress.Approved}, "CreateMultipartUpload", DatalakeBucket, workflow.DatalakePrefix,
			deleteStaged("tables/summary.csv"), "tables/summary.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stack(t, tt.single)
			swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
			sub, err := swb.Submit(ctx(t), tt.store, researcher)
			if err != nil {
				t.Fatal(err)
			}
			hookCtx := ctx(t)
			vanished := make(chan error, 1)
			s.SetFailCall(func(ctx context.Context, c Call) error {
				if c.Function != tt.function || c.Operation != tt.at {
					return nil
				}
				r, err := s.Requests.Get(ctx, sub.RequestID)
				if err == nil {
					err = tt.vanish(ctx, s, r, c)
				}
				select {
				case vanished <- err:
				default:
				}
				return nil
			})
			defer s.SetFailCall(nil)
			// What the failed function left, seen as HandleFailure starts.
			leftOpen := make(chan []string, 1)
			s.SetFail(func(function string, payload json.RawMessage) error {
				if function != "handle-failure" || !bytes.Contains(payload, []byte(sub.RequestID)) {
					return nil
				}
				r, err := s.Requests.Get(hookCtx, sub.RequestID)
				var keys []string
				if err == nil {
					keys, err = uploadsUnder(hookCtx, s, tt.bucket, tt.prefix(r))
				}
				if err != nil {
					keys = []string{err.Error()}
				}
				select {
				case leftOpen <- keys:
				default:
				}
				return nil
			})
			defer s.SetFail(nil)
			if err := s.Publish(ctx(t), sub.Message); err != nil {
				t.Fatal(err)
			}
			chain, _ := s.Config.Chain()
			for i, d := range tt.decisions {
				awaitStage(t, s, sub.RequestID, i)
				if _, err := s.API.Decide(ctx(t), Reviewer(chain, i), sub.RequestID, d, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			r := finished(t, s, sub, egress.StatusFailed)
			select {
			case err := <-vanished:
				if err != nil {
					t.Fatalf("set-up: %v", err)
				}
			default:
				t.Fatalf("%s never called %s", tt.function, tt.at)
			}
			if !strings.Contains(r.FailureCause, "not found") || !strings.Contains(r.FailureCause, tt.cause) {
				t.Fatalf("cause %q, want %s not found", r.FailureCause, tt.cause)
			}
			select {
			case keys := <-leftOpen:
				if len(keys) != 0 {
					t.Fatalf("%s left uploads open under %s/%s: %q", tt.function, tt.bucket, tt.prefix(r), keys)
				}
			default:
				t.Fatal("HandleFailure never ran")
			}
			noUploads(t, s, r)
		})
	}
}

// deleteCopySource permanently deletes the version an UploadPartCopy
// copies, as SWB's user deleting the file mid-copy would.
func deleteCopySource(ctx context.Context, s *Stack, _ egress.Request, c Call) error {
	in := c.Params.(*s3.UploadPartCopyInput)
	src, query, _ := strings.Cut(aws.ToString(in.CopySource), "?")
	bucket, escaped, _ := strings.Cut(src, "/")
	key, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("versionId") == "" {
		return fmt.Errorf("copy source %q names no version (%v)", aws.ToString(in.CopySource), err)
	}
	_, err = s.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(q.Get("versionId"))})
	return err
}

// deleteStaged permanently deletes every version of the staged copy of
// path, as a mistaken clean-up of staging would.
func deleteStaged(path string) func(ctx context.Context, s *Stack, r egress.Request, _ Call) error {
	return func(ctx context.Context, s *Stack, r egress.Request, _ Call) error {
		key := egress.StagingPrefix(r) + path
		out, err := s.Clients.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(StagingBucket), Prefix: aws.String(key)})
		if err != nil {
			return err
		}
		if len(out.Versions) == 0 {
			return fmt.Errorf("no staged copy at %s", key)
		}
		for _, v := range out.Versions {
			if _, err := s.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(StagingBucket), Key: v.Key, VersionId: v.VersionId}); err != nil {
				return err
			}
		}
		return nil
	}
}
