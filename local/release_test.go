package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// TestReleaseOverManyInvocations gives copy-to-datalake the smallest
// budget, so that every invocation writes one block (one small file),
// saves its checkpoint under releases/ in staging and returns done false
// for the state machine's ReleaseDone? loop to call it again. The zip the
// invocations wrote must be the same bytes as the one a single call
// writes of the same request (written here, as the first invocation
// starts, while the staged copies exist), and nothing may be left under
// releases/. Without PutObject on releases/ the checkpoint cannot be
// saved and the release fails.
func TestReleaseOverManyInvocations(t *testing.T) {
	tests := []struct {
		name    string
		without string // the grant taken away, if any
		want    egress.Status
	}{
		{"resumed release", "", egress.StatusIGApproved},
		{"without the grant to save a checkpoint", "releases/", egress.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{SingleApproval: true, ReleaseBudget: time.Nanosecond, ClamdOwnSignaturesOnly: true}
			s := startResumable(t, "CopyToDatalake", "s3:PutObject", tt.without, opts)
			var (
				mu       sync.Mutex
				calls    int
				oneShot  string // SHA-256 of the zip written in one call
				shotErr  error
				released egress.Request
			)
			s.SetFail(func(function string, payload json.RawMessage) error {
				if function != "copy-to-datalake" {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls == 1 && tt.without == "" {
					oneShot, released, shotErr = writeOneShot(s, payload)
				}
				return nil
			})
			rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve"}, ServiceDecider{S: s})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if rep.Status != tt.want {
				t.Fatalf("status %s (cause %q), want %s", rep.Status, rep.FailureCause, tt.want)
			}
			if tt.without != "" {
				if !strings.Contains(rep.FailureCause, "checkpoint") || calls != 1 {
					t.Fatalf("cause %q after %d invocations; want a failure to save the checkpoint in the first", rep.FailureCause, calls)
				}
				return
			}
			if shotErr != nil {
				t.Fatalf("one-call zip: %v", shotErr)
			}
			if !rep.ExpectedResult || !rep.SourceMatches {
				t.Fatalf("release over %d invocations: %+v", calls, rep)
			}
			if calls < 3 {
				t.Fatalf("released in %d invocations, want at least 3", calls)
			}
			got, err := objectSHA256(ctx(t), s, DatalakeBucket, rep.ZipKey)
			if err != nil {
				t.Fatal(err)
			}
			if got != oneShot {
				t.Fatalf("zip written over %d invocations has SHA-256 %s; written in one call, %s", calls, got, oneShot)
			}
			if n, err := s.countVersions(ctx(t), StagingBucket, "releases/"+released.WorkspaceID+"/"+released.ID+"/"); err != nil || n != 0 {
				t.Fatalf("%d checkpoint versions left (%v)", n, err)
			}
			t.Logf("released over %d invocations; the zip is the one-call zip, SHA-256 %s", calls, got)
		})
	}
}

// writeOneShot writes, in one call, the zip Release is about to write over
// several, to a key of its own, and returns its SHA-256.
func writeOneShot(s *Stack, payload json.RawMessage) (string, egress.Request, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var in workflow.RequestInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return "", egress.Request{}, err
	}
	r, err := s.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return "", r, err
	}
	m, err := s.Objects.ReadManifest(ctx, StagingBucket, r.StagingObjectMetadataVersion)
	if err != nil {
		return "", r, err
	}
	entries, leftOut := workflow.ReleaseEntries(r, m, StagingBucket)
	key := "one-shot/" + r.ID + "/egress_data.zip"
	// Release's time is the stack's clock, which stands still meanwhile.
	if _, _, err := s.Objects.WriteZipJob(ctx, egress.ZipJob{Bucket: DatalakeBucket, Key: key, Entries: entries, LeftOut: leftOut, Modified: s.opts.Clock.Now().UTC()}); err != nil {
		return "", r, err
	}
	sum, err := objectSHA256(ctx, s, DatalakeBucket, key)
	return sum, r, err
}

func objectSHA256(ctx context.Context, s *Stack, bucket, key string) (string, error) {
	out, err := s.Clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// startResumable starts a stack for a test of a step that continues over
// invocations: with without set, task's function lacks action on the
// resources matching it; else the stack runs with every grant, its logs
// scanned for leaks.
func startResumable(t *testing.T, task, action, without string, opts Options) *Stack {
	t.Helper()
	if without != "" {
		s, _ := startWithoutOpts(t, []string{task}, action, without, opts)
		return s
	}
	opts.Clock = clock
	s, err := startLogged(t, context.Background(), opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	return s
}
