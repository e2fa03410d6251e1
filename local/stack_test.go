package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

var (
	stacksMu sync.Mutex
	stacks   = map[bool]*Stack{}
	clock    = sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
)

// stack returns the shared stack for the chain kind. Tests in this file run
// one at a time (no t.Parallel) because they share it and its fault hook.
func stack(t *testing.T, single bool) *Stack {
	t.Helper()
	stacksMu.Lock()
	defer stacksMu.Unlock()
	if s := stacks[single]; s != nil {
		s.SetFail(nil)
		return s
	}
	s, err := Start(context.Background(), Options{Clock: clock, SingleApproval: single, StageTimeout: 48 * time.Hour})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	stacks[single] = s
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range stacks {
		s.Close()
	}
	os.Exit(checkIAMCoverage(code))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name      string
		single    bool
		decisions []string
		want      egress.Status
		store     string
		emails    []string // subjects expected, in order
	}{
		{"two-stage approval", false, []string{"approve", "approve"}, egress.StatusRITApproved, "PROCESSED",
			[]string{"awaits the IG decision", "awaits the RIT decision", "approved"}},
		{"single approval", true, []string{"approve"}, egress.StatusIGApproved, "PROCESSED",
			[]string{"awaits the IG decision", "approved"}},
		{"rejected at IG", false, []string{"reject"}, egress.StatusRejected, "PENDING",
			[]string{"awaits the IG decision", "rejected"}},
		{"rejected at RIT", false, []string{"approve", "reject"}, egress.StatusRejected, "PENDING",
			[]string{"awaits the IG decision", "awaits the RIT decision", "rejected"}},
		{"single approval rejected", true, []string{"reject"}, egress.StatusRejected, "PENDING",
			[]string{"awaits the IG decision", "rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stack(t, tt.single)
			rep, err := s.Scenario(ctx(t), "testdata/sample-store", tt.decisions, s.GraphQLDecider())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.ExpectedResult || rep.Status != tt.want || rep.StoreStatus != tt.store {
				t.Fatalf("report: %+v", rep)
			}
			if len(rep.EmailsSent) != len(tt.emails) {
				t.Fatalf("emails %q, want %d", rep.EmailsSent, len(tt.emails))
			}
			for i, e := range tt.emails {
				if !strings.Contains(rep.EmailsSent[i], e) {
					t.Errorf("email %d = %q, want it to mention %q", i, rep.EmailsSent[i], e)
				}
			}
			if tt.want != egress.StatusRejected && len(rep.ZipEntries) != 6 { // 4 files + SHA256SUMS + manifest.json
				t.Errorf("zip entries %+v", rep.ZipEntries)
			}
		})
	}
}

// submit uploads the sample store and publishes its message.
func submit(t *testing.T, s *Stack) Submission {
	t.Helper()
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", "researcher@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return sub
}

// finished waits for the execution and checks that nothing is left half-done.
func finished(t *testing.T, s *Stack, sub Submission, want egress.Status) egress.Request {
	t.Helper()
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), sub.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("status %s (cause %q), want %s", r.Status, r.FailureCause, want)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, err := swb.StoreStatus(ctx(t), r.StoreID); err != nil || st != "PENDING" {
		t.Fatalf("SWB store %q, %v; want PENDING", st, err)
	}
	for _, p := range []struct{ bucket, prefix string }{
		{StagingBucket, workflow.StagingPrefix(r)},
		{DatalakeBucket, workflow.DatalakePrefix(r)},
	} {
		if n, err := s.countVersions(ctx(t), p.bucket, p.prefix); err != nil || n != 0 {
			t.Fatalf("%d objects left under %s/%s (%v)", n, p.bucket, p.prefix, err)
		}
	}
	if r.TaskToken != "" || r.ZipKey != "" {
		t.Fatalf("token or zip key left on a failed request")
	}
	return r
}

func TestStageTimeoutExpires(t *testing.T) {
	s := stack(t, false)
	sub := submit(t, s)
	chain, _ := s.Config.Chain()
	if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
		t.Fatal(err)
	}
	// The engine arms the stage's timeout before invoking store-task-token,
	// so one timer is pending; advancing past it expires the stage.
	if err := clock.WaitForTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(s.Config.StageTimeout + time.Second)
	r := finished(t, s, sub, egress.StatusExpired)
	if !strings.Contains(r.FailureCause, "States.Timeout") || chain.Final(r.Status) != true {
		t.Fatalf("cause %q", r.FailureCause)
	}
	// A decision after expiry is refused and changes nothing.
	_, err := s.API.Decide(ctx(t), Reviewer(chain, 0), r.ID, egress.Approved, "", "")
	if egress.ErrorCode(err) != egress.ECONFLICT {
		t.Fatalf("late decision: %v", err)
	}
}

func TestInjectedFailures(t *testing.T) {
	for _, fn := range []string{"copy-to-staging", "store-task-token", "copy-to-datalake", "handle-rejection"} {
		t.Run(fn, func(t *testing.T) {
			s := stack(t, false)
			chain, _ := s.Config.Chain()
			s.SetFail(func(function string, _ json.RawMessage) error {
				if function == fn {
					return egress.Errorf(egress.EINVALID, "injected failure in %s", fn)
				}
				return nil
			})
			defer s.SetFail(nil)
			sub := submit(t, s)
			decisions := map[string][]egress.Decision{
				"copy-to-datalake": {egress.Approved, egress.Approved},
				"handle-rejection": {egress.Rejected},
			}[fn]
			for i, d := range decisions {
				if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool {
					return r.TaskToken != "" && chain.StageAwaiting(r.Status) == i
				}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.API.Decide(ctx(t), Reviewer(chain, i), sub.RequestID, d, "no", ""); err != nil {
					t.Fatal(err)
				}
			}
			r := finished(t, s, sub, egress.StatusFailed)
			if !strings.Contains(r.FailureCause, "injected failure in "+fn) {
				t.Fatalf("cause %q", r.FailureCause)
			}
			var adminMail bool
			for _, m := range s.Outbox.Sent() {
				adminMail = adminMail || (m.To[0] == AdminEmail && strings.Contains(m.Subject, r.ID))
			}
			if !adminMail {
				t.Fatal("TRE admin was not told")
			}
		})
	}
}

func TestNotifyFailureDoesNotFailRelease(t *testing.T) {
	s := stack(t, true)
	s.SetFail(func(function string, _ json.RawMessage) error {
		if function == "notify" {
			return errors.New("SES down")
		}
		return nil
	})
	rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve"}, ServiceDecider{S: s})
	if err != nil || !rep.ExpectedResult {
		t.Fatalf("%v %+v", err, rep)
	}
}

func TestReplayStartsOneExecution(t *testing.T) {
	s := stack(t, false)
	sub := submit(t, s)
	for range 3 {
		if err := s.Publish(ctx(t), sub.Message); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.Clients.SFN.ListExecutions(ctx(t), &awssfn.ListExecutionsInput{StateMachineArn: aws.String(s.StateMachineArn)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range out.Executions {
		if aws.ToString(e.Name) == sub.RequestID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d executions for one request", n)
	}
	events, err := s.Requests.Events(ctx(t), sub.RequestID)
	if err != nil || events[0].Kind != egress.EventCreated {
		t.Fatalf("events %v %v", events, err)
	}
	created := 0
	for _, e := range events {
		if e.Kind == egress.EventCreated {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d CREATED events", created)
	}
	// Finish it so the shared stack is left clean.
	chain, _ := s.Config.Chain()
	if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Rejected, "replay test", ""); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, sub)
	// A replay after the request finished starts nothing and changes nothing.
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, sub)
}

func finishedRejected(t *testing.T, s *Stack, sub Submission) {
	t.Helper()
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), sub.RequestID)
	if err != nil || r.Status != egress.StatusRejected {
		t.Fatalf("status %s %v", r.Status, err)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, _ := swb.StoreStatus(ctx(t), r.StoreID); st != "PENDING" {
		t.Fatalf("store %s", st)
	}
}

func TestDefinitionIsValidASL(t *testing.T) {
	s := stack(t, false)
	out, err := s.Clients.SFN.DescribeStateMachine(ctx(t), &awssfn.DescribeStateMachineInput{StateMachineArn: aws.String(s.StateMachineArn)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sfn.Validate([]byte(aws.ToString(out.Definition))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(aws.ToString(out.Definition), "${") {
		t.Fatal("placeholder left in the running definition")
	}
}

// TestTransientErrorsAreRetried fails each task once with TransientError:
// the definition retries it (after a backoff the fake clock skips) and the
// request completes as if nothing happened.
func TestTransientErrorsAreRetried(t *testing.T) {
	s := stack(t, true)
	var mu sync.Mutex
	failed := map[string]bool{}
	s.SetFail(func(function string, _ json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		if failed[function] {
			return nil
		}
		failed[function] = true
		return &sfn.TaskFailure{ErrorName: "TransientError", Cause: "injected throttling"}
	})
	sub := submit(t, s)
	chain, _ := s.Config.Chain()
	skipRetries(t, s, sub.RequestID)
	if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
		t.Fatal(err)
	}
	desc, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID))
	if err != nil || desc.Status != sfn.StatusSucceeded {
		t.Fatalf("execution %+v %v", desc, err)
	}
	r, _ := s.Requests.Get(ctx(t), sub.RequestID)
	if r.Status != egress.StatusIGApproved || !r.Released() {
		t.Fatalf("request %s released=%v", r.Status, r.Released())
	}
	for _, fn := range []string{"copy-to-staging", "store-task-token", "copy-to-datalake", "notify"} {
		if !failed[fn] {
			t.Errorf("%s was never failed", fn)
		}
	}
}

// TestSecondRequestForBusyStoreIsRefused: a message for a store that has a
// request in flight must not start a second workflow, nor touch the store.
func TestSecondRequestForBusyStoreIsRefused(t *testing.T) {
	s := stack(t, false)
	first := submit(t, s)
	var msg map[string]any
	if err := json.Unmarshal([]byte(first.Message), &msg); err != nil {
		t.Fatal(err)
	}
	msg["id"] = first.RequestID + "-2"
	second, _ := json.Marshal(msg)
	if err := s.Publish(ctx(t), string(second)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), first.RequestID+"-2")
	if err != nil || r.Status != egress.StatusFailed || !strings.Contains(r.FailureCause, "PROCESSING") {
		t.Fatalf("second request %s %q %v", r.Status, r.FailureCause, err)
	}
	if _, err := s.Engine.Describe(s.ExecutionArn(r.ID)); err == nil {
		t.Fatal("an execution was started for the second request")
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, _ := swb.StoreStatus(ctx(t), r.StoreID); st != "PROCESSING" {
		t.Fatalf("store %s, want the first request's PROCESSING", st)
	}
	// The first request goes on undisturbed.
	chain, _ := s.Config.Chain()
	if _, err := s.WaitFor(ctx(t), first.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), first.RequestID, egress.Rejected, "busy store test", ""); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, first)
}

// skipRetries advances the fake clock past every retry backoff of request
// id's execution (any timer shorter than an hour) until it ends.
func skipRetries(t *testing.T, s *Stack, id string) {
	done := make(chan struct{})
	skipCtx, stopSkipping := context.WithCancel(ctx(t))
	t.Cleanup(func() { stopSkipping(); <-done })
	go func() {
		defer close(done)
		for {
			if err := clock.WaitForTimers(skipCtx, 2); err != nil {
				return
			}
			for _, d := range clock.PendingDurations() {
				if d < time.Hour {
					clock.Advance(d)
					break
				}
			}
			if desc, err := s.Engine.Describe(s.ExecutionArn(id)); err == nil && desc.Status != sfn.StatusRunning {
				return
			}
		}
	}()
}

// TestHandleFailureFailingIsRetried: the catch-all itself failing once
// (a throttled DynamoDB, say) must not leave the store locked.
func TestHandleFailureFailingIsRetried(t *testing.T) {
	s := stack(t, false)
	var mu sync.Mutex
	failedOnce := false
	s.SetFail(func(function string, _ json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case function == "copy-to-staging":
			return egress.Errorf(egress.EINVALID, "injected failure in copy-to-staging")
		case function == "handle-failure" && !failedOnce:
			failedOnce = true
			return errors.New("injected internal error in handle-failure")
		}
		return nil
	})
	defer s.SetFail(nil)
	sub := submit(t, s)
	skipRetries(t, s, sub.RequestID)
	r := finished(t, s, sub, egress.StatusFailed)
	if !failedOnce || !strings.Contains(r.FailureCause, "injected failure in copy-to-staging") {
		t.Fatalf("cause %q, handle-failure failed once: %v", r.FailureCause, failedOnce)
	}
}

// TestDecisionRacingTheStageTimeout: the RIT decision is stored just as the
// stage times out, so the workflow never takes it. The request must still
// end cleanly: FAILED, store PENDING, nothing staged or released.
func TestDecisionRacingTheStageTimeout(t *testing.T) {
	for _, d := range []egress.Decision{egress.Approved, egress.Rejected} {
		t.Run(string(d), func(t *testing.T) {
			s := stack(t, false)
			chain, _ := s.Config.Chain()
			sub := submit(t, s)
			if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.TaskToken != "" }); err != nil {
				t.Fatal(err)
			}
			if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool {
				return r.TaskToken != "" && r.Status == egress.StatusIGApproved
			}); err != nil {
				t.Fatal(err)
			}
			// When the timeout's catch-all starts, the RIT reviewer's
			// decision lands first; resuming the timed-out task fails.
			var decideErr error
			s.SetFail(func(function string, _ json.RawMessage) error {
				if function == "handle-failure" && decideErr == nil {
					_, decideErr = s.API.Decide(ctx(t), Reviewer(chain, 1), sub.RequestID, d, "late", "")
					if decideErr == nil {
						decideErr = errors.New("decision was accepted after the timeout")
					}
				}
				return nil
			})
			defer s.SetFail(nil)
			if err := clock.WaitForTimers(ctx(t), 1); err != nil {
				t.Fatal(err)
			}
			clock.Advance(s.Config.StageTimeout + time.Second)
			r := finished(t, s, sub, egress.StatusFailed)
			if egress.ErrorCode(decideErr) != egress.ECONFLICT {
				t.Fatalf("late decision: %v", decideErr)
			}
			if !strings.Contains(r.FailureCause, "States.Timeout") {
				t.Fatalf("cause %q", r.FailureCause)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:4566", "example.org:80"} {
		if _, err := Start(context.Background(), Options{Addr: addr}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Start(%s) = %v, want a loopback error", addr, err)
		}
	}
}

// TestForgedBucketsAreRefused: a message naming a bucket other than SWB's
// own must not stage anything from it.
func TestForgedBucketsAreRefused(t *testing.T) {
	s := stack(t, false)
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", "researcher@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for i, forge := range []func(m map[string]any){
		func(m map[string]any) { m["s3_bucketname"] = StagingBucket },
		func(m map[string]any) {
			m["egress_store_object_list_location"] = strings.Replace(m["egress_store_object_list_location"].(string), NotificationBucket, DatalakeBucket, 1)
		},
	} {
		var m map[string]any
		json.Unmarshal([]byte(sub.Message), &m)
		m["id"] = fmt.Sprintf("%s-forged-%d", sub.RequestID, i)
		forge(m)
		b, _ := json.Marshal(m)
		if err := s.Publish(ctx(t), string(b)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Requests.Get(ctx(t), m["id"].(string)); egress.ErrorCode(err) != egress.ENOTFOUND {
			t.Fatalf("forged message %d created a request: %v", i, err)
		}
	}
	if st, _ := swb.StoreStatus(ctx(t), sub.WorkspaceID); st != "PENDING" {
		t.Fatalf("store %s after forged messages, want PENDING", st)
	}
}
