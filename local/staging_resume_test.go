package local

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// TestStagingOverManyInvocations gives copy-to-staging the smallest
// budget, so that every invocation copies one file, saves the files
// copied so far under copies/ in staging and returns done false for the
// state machine's StagingDone? loop to call it again. The request must be
// staged and released exactly as in one call (the scenario checks the
// zip against the submitted files), with every file in the manifest once,
// in the list's order, and nothing left under copies/. Without GetObject
// on copies/ the checkpoint cannot be read and the request fails.
func TestStagingOverManyInvocations(t *testing.T) {
	tests := []struct {
		name    string
		without string // the grant taken away, if any
		want    egress.Status
	}{
		{"resumed staging", "", egress.StatusIGApproved},
		{"without the grant to read the checkpoint", "copies/", egress.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{SingleApproval: true, CopyBudget: time.Nanosecond, ClamdOwnSignaturesOnly: true}
			s := startResumable(t, "CopyToStaging", "s3:GetObject", tt.without, opts)
			var (
				mu    sync.Mutex
				calls int
			)
			s.SetFail(func(function string, _ json.RawMessage) error {
				if function == "copy-to-staging" {
					mu.Lock()
					calls++
					mu.Unlock()
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
				t.Fatalf("status %s (cause %q) after %d invocations, want %s", rep.Status, rep.FailureCause, calls, tt.want)
			}
			r, err := s.Requests.Get(ctx(t), rep.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			left, err := s.countVersions(ctx(t), StagingBucket, "copies/"+r.WorkspaceID+"/"+r.ID+"/")
			if err != nil || left != 0 {
				t.Fatalf("%d checkpoint versions left under copies/ (%v)", left, err)
			}
			if tt.without != "" {
				// Without it even the first invocation's look for a
				// checkpoint is refused (a 403, not a 404).
				if !strings.Contains(rep.FailureCause, "read staging checkpoint") || calls != 1 {
					t.Fatalf("cause %q after %d invocations; want a failure to read the checkpoint in the first", rep.FailureCause, calls)
				}
				return
			}
			if !rep.ExpectedResult || !rep.SourceMatches {
				t.Fatalf("staging over %d invocations: %+v", calls, rep)
			}
			if calls < 3 || r.FileCount != 4 {
				t.Fatalf("staged %d files in %d invocations, want 4 files in at least 3", r.FileCount, calls)
			}
			t.Logf("staged %d files over %d invocations", r.FileCount, calls)
		})
	}
}
