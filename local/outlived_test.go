package local

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/workflow"
)

// TestTaskOutlivingItsRequest: a stopped or timed-out execution does not
// stop a running task, and execution-ended may clean up (FAILED, store
// unlocked) while it runs. Here the clean-up is done, as one that missed
// the task's later writes would leave it, just before the task records its
// work. The task then records nothing and, with its own role, deletes what
// it wrote and leaves the store unlocked, before anything else runs.
func TestTaskOutlivingItsRequest(t *testing.T) {
	tests := []struct {
		name      string
		function  string
		single    bool
		decisions []egress.Decision
		bucket    string
		prefix    func(egress.Request) string
		recorded  func(egress.Request) bool // the task's work is on the request
	}{
		{"staging", "copy-to-staging", false, nil, StagingBucket, egress.StagingPrefix,
			func(r egress.Request) bool { return r.StagingObjectMetadataVersion != "" }},
		{"release", "copy-to-datalake", true, []egress.Decision{egress.Approved}, DatalakeBucket, workflow.DatalakePrefix,
			func(r egress.Request) bool { return r.Released() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stack(t, tt.single)
			sub, _ := submitted(t, s)
			var once sync.Once
			ended := make(chan error, 1)
			// The task's write of its work is the transaction after its
			// copies or its zip: end the request just before it.
			s.SetFailCall(func(ctx context.Context, c Call) error {
				if c.Function != tt.function || c.Operation != "TransactWriteItems" {
					return nil
				}
				once.Do(func() { ended <- endAsCleanUpWould(ctx, s, sub.RequestID) })
				return nil
			})
			defer s.SetFailCall(nil)
			// What the task left, seen as the next task (HandleFailure) starts.
			type left struct {
				objects int
				store   string
				r       egress.Request
				err     error
			}
			leftBehind := make(chan left, 1)
			s.SetFail(func(function string, payload json.RawMessage) error {
				if function != "handle-failure" || !bytes.Contains(payload, []byte(sub.RequestID)) {
					return nil
				}
				var l left
				ctx := context.Background()
				if l.r, l.err = s.Requests.Get(ctx, sub.RequestID); l.err == nil {
					l.objects, l.err = s.countVersions(ctx, tt.bucket, tt.prefix(l.r))
				}
				l.store, _ = SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}.StoreStatus(ctx, l.r.StoreID)
				select {
				case leftBehind <- l:
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
			finished(t, s, sub, egress.StatusFailed)
			if err := <-ended; err != nil {
				t.Fatalf("set-up: %v", err)
			}
			select {
			case l := <-leftBehind:
				switch {
				case l.err != nil:
					t.Fatal(l.err)
				case tt.recorded(l.r):
					t.Errorf("%s recorded its work on an ended request: zip %q, manifest %q", tt.function, l.r.ZipKey, l.r.StagingObjectMetadataVersion)
				case l.objects != 0:
					t.Errorf("%s left %d objects under %s/%s", tt.function, l.objects, tt.bucket, tt.prefix(l.r))
				case l.store != "PENDING":
					t.Errorf("store %s after %s, want PENDING", l.store, tt.function)
				}
			default:
				t.Fatal("HandleFailure never ran")
			}
		})
	}
}

// endAsCleanUpWould marks request id FAILED and unlocks its SWB store, as
// execution-ended's clean-up does, with the stack's own clients.
func endAsCleanUpWould(ctx context.Context, s *Stack, id string) error {
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return err
	}
	next, ev, err := egress.Transition(r, egress.StatusFailed, "ExecutionAborted", s.opts.Clock.Now())
	if err != nil {
		return err
	}
	if _, err := s.Requests.Update(ctx, next, ev); err != nil {
		return err
	}
	return swbstore.New(s.Clients.DynamoDB, SWBStoreTable).SetStatus(ctx, r.StoreID, r.ID, swb.StorePending)
}
