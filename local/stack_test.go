package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
)

var (
	stacksMu sync.Mutex
	stacks   = map[bool]*Stack{}
	// stackLogs are the shared stacks' logs, every level, scanned for
	// secrets once all tests ran (TestMain).
	stackLogs = map[bool]*logBuffer{}
	clock     = sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
)

// multipartThreshold is the shared stacks' Options.MultipartThreshold.
const multipartThreshold = 5 << 20

// stack returns the shared stack for the chain kind. Tests in this file run
// one at a time (no t.Parallel) because they share it and its fault hook.
func stack(t *testing.T, single bool) *Stack {
	t.Helper()
	stacksMu.Lock()
	defer stacksMu.Unlock()
	if s := stacks[single]; s != nil {
		s.SetFail(nil)
		s.SetFailCall(nil)
		return s
	}
	// The lowest multipart threshold, so a test's file of a few MiB is
	// copied in parts; the sample store's files are far smaller.
	logs := &logBuffer{}
	s, err := Start(context.Background(), Options{Clock: clock, SingleApproval: single, StageTimeout: 48 * time.Hour, MultipartThreshold: multipartThreshold, ClamdOwnSignaturesOnly: true,
		Logger: capturedLogger(logs)})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	stacks[single], stackLogs[single] = s, logs
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	for single, s := range stacks {
		// Every test that used a shared stack: nothing secret got out.
		if found := stackLeaks(s, stackLogs[single].String()); len(found) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: secrets leaked by the shared stack (single approval %v):\n%s\n", single, strings.Join(found, "\n"))
			code = max(code, 1)
		}
		s.Close()
	}
	for _, s := range closeAtExit {
		s.Close()
	}
	if r := &reliability; r.attempts+r.crashPoints+r.races > 0 {
		fmt.Printf("reliability: %d faults injected in %d attempts over %d requests, %d crash points, %d races\n",
			r.faults, r.attempts, r.requests, r.crashPoints, r.races)
	}
	os.Exit(checkIAMCoverage(code))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// Addresses of the local stack's users (DirectoryUsers) and requester.
const (
	researcher = "researcher@example.org"
	igReviewer = "ig-reviewer-1@example.org"
	igOther    = "ida@example.org"
)

func TestScenarios(t *testing.T) {
	ig := []string{igReviewer + ": awaits the IG decision", igOther + ": awaits the IG decision"}
	rit := []string{"rit-reviewer-2@example.org: awaits the RIT decision", "rob@example.org: awaits the RIT decision"}
	submitted := researcher + ": submitted"
	final := func(outcome string) string { return researcher + " cc: " + igReviewer + ": " + outcome }
	tests := []struct {
		name      string
		single    bool
		decisions []string
		want      egress.Status
		store     string
		emails    []string // "recipients: subject fragment", in any order
		notices   []string // the groups told on their topic
	}{
		{"two-stage approval", false, []string{"approve", "approve"}, egress.StatusRITApproved, "PROCESSED",
			slices.Concat([]string{submitted}, ig, rit, []string{final("approved")}), []string{egress.GroupIG, egress.GroupRIT}},
		{"single approval", true, []string{"approve"}, egress.StatusIGApproved, "PROCESSED",
			slices.Concat([]string{submitted}, ig, []string{final("approved")}), []string{egress.GroupIG}},
		{"rejected at IG", false, []string{"reject"}, egress.StatusRejected, "PENDING",
			slices.Concat([]string{submitted}, ig, []string{final("rejected")}), []string{egress.GroupIG}},
		{"rejected at RIT", false, []string{"approve", "reject"}, egress.StatusRejected, "PENDING",
			slices.Concat([]string{submitted}, ig, rit, []string{final("rejected")}), []string{egress.GroupIG, egress.GroupRIT}},
		{"single approval rejected", true, []string{"reject"}, egress.StatusRejected, "PENDING",
			slices.Concat([]string{submitted}, ig, []string{final("rejected")}), []string{egress.GroupIG}},
		// The outcomes beyond approve/reject: their e-mails are checked in
		// lifecycle_test.go, so nil here skips them.
		{"returned at RIT", false, []string{"approve", "return"}, egress.StatusReturned, "PENDING", nil, nil},
		{"cancelled at IG", false, []string{"cancel"}, egress.StatusCancelled, "PENDING", nil, nil},
		{"cancelled at RIT", false, []string{"approve", "cancel"}, egress.StatusCancelled, "PENDING", nil, nil},
		{"two files left out at IG", false, []string{"approve:reject=tables/summary.csv+models/v2/summary.csv", "approve"}, egress.StatusRITApproved, "PROCESSED", nil, nil},
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
			if rep.ExpectedStatus != tt.want {
				t.Errorf("expected_status %s, want %s", rep.ExpectedStatus, tt.want)
			}
			if tt.emails != nil {
				sameEntries(t, "e-mails", rep.EmailsSent, tt.emails)
				var notices []string
				for _, g := range tt.notices {
					notices = append(notices, s.ReviewerTopics[g]+": awaits the")
				}
				sameEntries(t, "notices", rep.Notices, notices)
			}
			// 4 files + SHA256SUMS + manifest.json, less those left out.
			var leftOut []string
			for _, d := range tt.decisions {
				if _, files, ok := strings.Cut(d, ":reject="); ok {
					leftOut = append(leftOut, strings.Split(files, "+")...)
				}
			}
			wantEntries := 6 - len(leftOut)
			if tt.store != "PROCESSED" {
				wantEntries = 0
			}
			if len(rep.ZipEntries) != wantEntries || len(rep.LeftOut) != len(leftOut) {
				t.Errorf("zip entries %+v, left out %v; want %d entries, %v left out", rep.ZipEntries, rep.LeftOut, wantEntries, leftOut)
			}
			for _, e := range rep.ZipEntries {
				if slices.Contains(leftOut, e.Path) {
					t.Errorf("%s was left out, yet is in the zip", e.Path)
				}
			}
		})
	}
}

// sameEntries checks that each report entry "who: subject" matches one
// wanted "who: fragment" (the same who, the fragment in the subject), one
// to one, in any order: intake's e-mail and the first stage's notice race.
func sameEntries(t *testing.T, what string, got, want []string) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		i := strings.LastIndex(w, ": ")
		who, fragment := w[:i+2], w[i+2:]
		found := false
		for j, g := range got {
			if !used[j] && strings.HasPrefix(g, who) && !strings.Contains(g[len(who):], ": ") && strings.Contains(g[len(who):], fragment) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("%s: none matches %q in\n%s", what, w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n"))
	}
}

// submit uploads the sample store and publishes its message.
func submit(t *testing.T, s *Stack) Submission {
	t.Helper()
	sub, _ := submitted(t, s)
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
		{StagingBucket, egress.StagingPrefix(r)},
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
			// A rejection stands when its clean-up fails; the cause is noted.
			want := egress.StatusFailed
			if fn == "handle-rejection" {
				want = egress.StatusRejected
			}
			r := finished(t, s, sub, want)
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
//
// A request is in flight once its execution has locked the store, in its
// first task; TestConcurrentRequestsForOneStore covers the moment before.
func TestSecondRequestForBusyStoreIsRefused(t *testing.T) {
	s := stack(t, false)
	first := submit(t, s)
	awaitStage(t, s, first.RequestID, 0)
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

// TestConcurrentRequestsForOneStore: two requests for one store published
// back to back, before either execution has locked it. Exactly one runs;
// the other ends FAILED without touching the store (refused at intake, or
// by the lock of its first task), and the admin is told.
func TestConcurrentRequestsForOneStore(t *testing.T) {
	s := stack(t, false)
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	first, _ := submitted(t, s)
	var msg map[string]any
	if err := json.Unmarshal([]byte(first.Message), &msg); err != nil {
		t.Fatal(err)
	}
	msg["id"] = first.RequestID + "-2"
	second, _ := json.Marshal(msg)
	ids := []string{first.RequestID, first.RequestID + "-2"}
	var wg sync.WaitGroup
	for _, m := range []string{first.Message, string(second)} {
		wg.Go(func() {
			if err := s.Publish(ctx(t), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	chain, _ := s.Config.Chain()
	var winner, loser egress.Request
	for _, id := range ids {
		r, err := s.WaitFor(ctx(t), id, func(r egress.Request) bool {
			return r.Status == egress.StatusFailed || r.TaskToken != ""
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == egress.StatusFailed {
			loser = r
		} else {
			winner = r
		}
	}
	if winner.ID == "" || loser.ID == "" {
		t.Fatalf("winner %q, loser %q: want one of each", winner.ID, loser.ID)
	}
	if !strings.Contains(loser.FailureCause, "PROCESSING") {
		t.Fatalf("loser's cause %q", loser.FailureCause)
	}
	if _, err := s.Engine.Describe(s.ExecutionArn(loser.ID)); err == nil {
		if err := s.WaitEnded(ctx(t), s.ExecutionArn(loser.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := swb.StoreStatus(ctx(t), first.WorkspaceID); st != "PROCESSING" {
		t.Fatalf("store %s, want the winner's PROCESSING", st)
	}
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), winner.ID, egress.Rejected, "concurrent test", ""); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, Submission{RequestID: winner.ID})
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
// end cleanly: FAILED (a late rejection stands: REJECTED), store PENDING,
// nothing staged or released.
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
			// A timeout never approves: a late approval fails the request;
			// a late rejection stands (nothing is released either way).
			want := egress.StatusFailed
			if d == egress.Rejected {
				want = egress.StatusRejected
			}
			r := finished(t, s, sub, want)
			if egress.ErrorCode(decideErr) != egress.ECONFLICT {
				t.Fatalf("late decision: %v", decideErr)
			}
			if d == egress.Approved && !strings.Contains(r.FailureCause, "States.Timeout") {
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
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	sub, _ := submitted(t, s)
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

// cleanedUp waits until the execution of sub has ended and execution-ended
// has handled it, then checks what finished checks and that the TRE admin
// was told by execution-ended.
func cleanedUp(t *testing.T, s *Stack, sub Submission, want egress.Status, status sfn.ExecutionStatus) egress.Request {
	t.Helper()
	if err := s.WaitEnded(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	if desc, _ := s.Engine.Describe(s.ExecutionArn(sub.RequestID)); desc.Status != status {
		t.Fatalf("execution %s, want %s", desc.Status, status)
	}
	r := finished(t, s, sub, want)
	if !adminTold(s, r.ID, "workflow execution "+string(status)) {
		t.Fatalf("TRE admin was not told of the %s execution", status)
	}
	return r
}

// adminTold reports whether the TRE admin got an e-mail about request id
// whose subject mentions about.
func adminTold(s *Stack, id, about string) bool {
	for _, m := range s.Outbox.Sent() {
		if m.To[0] == AdminEmail && strings.Contains(m.Subject, id) && strings.Contains(m.Subject, about) {
			return true
		}
	}
	return false
}

// awaitStage waits until request id awaits stage i's decision.
func awaitStage(t *testing.T, s *Stack, id string, i int) {
	t.Helper()
	chain, _ := s.Config.Chain()
	if _, err := s.WaitFor(ctx(t), id, func(r egress.Request) bool {
		return r.TaskToken != "" && chain.StageAwaiting(r.Status) == i
	}); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedExecutionIsCleanedUp: an execution stopped from the console
// (ABORTED) never reaches HandleFailure; the EventBridge rule's target
// cleans up: FAILED, store PENDING, staged copies gone, admin told.
func TestStoppedExecutionIsCleanedUp(t *testing.T) {
	s := stack(t, false)
	sub := submit(t, s)
	awaitStage(t, s, sub.RequestID, 0)
	r, _ := s.Requests.Get(ctx(t), sub.RequestID)
	if n, err := s.countVersions(ctx(t), StagingBucket, egress.StagingPrefix(r)); err != nil || n == 0 {
		t.Fatalf("%d staged versions (%v) before the stop", n, err)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, _ := swb.StoreStatus(ctx(t), r.StoreID); st != "PROCESSING" {
		t.Fatalf("store %s before the stop, want PROCESSING", st)
	}
	if _, err := s.Clients.SFN.StopExecution(ctx(t), &awssfn.StopExecutionInput{ExecutionArn: aws.String(s.ExecutionArn(sub.RequestID))}); err != nil {
		t.Fatal(err)
	}
	r = cleanedUp(t, s, sub, egress.StatusFailed, sfn.StatusAborted)
	if !strings.Contains(r.FailureCause, "ExecutionAborted") {
		t.Fatalf("cause %q", r.FailureCause)
	}
}

// TestExecutionTimeoutIsCleanedUp: an execution that hits the
// definition's TimeoutSeconds (TIMED_OUT) — here while the release is
// stuck — is cleaned up as well.
func TestExecutionTimeoutIsCleanedUp(t *testing.T) {
	s := stack(t, true)
	entered, release := make(chan struct{}), make(chan struct{})
	s.SetFail(func(function string, _ json.RawMessage) error {
		if function != "copy-to-datalake" {
			return nil
		}
		close(entered)
		<-release
		return errors.New("the stuck release gives up")
	})
	defer s.SetFail(nil)
	sub := submit(t, s)
	awaitStage(t, s, sub.RequestID, 0)
	chain, _ := s.Config.Chain()
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-ctx(t).Done():
		t.Fatal("the release never started")
	}
	// The only timer left is the execution's timeout.
	pending := clock.PendingDurations()
	if len(pending) != 1 || pending[0] < 20*24*time.Hour {
		t.Fatalf("pending timers %v, want the execution's timeout only", pending)
	}
	clock.Advance(pending[0])
	r := cleanedUp(t, s, sub, egress.StatusFailed, sfn.StatusTimedOut)
	close(release)
	if !strings.Contains(r.FailureCause, "States.Timeout") {
		t.Fatalf("cause %q", r.FailureCause)
	}
}

// TestStartFailingNeverLocksStore: StartExecution failing through all of
// Lambda's tries leaves the SWB store unlocked (the execution's first task
// locks it, and there is none); a later replay starts the request.
func TestStartFailingNeverLocksStore(t *testing.T) {
	s := stack(t, false)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"__type":"ServiceUnavailable","message":"injected outage"}`)
	}))
	defer down.Close()
	intake := *s.tasks["start-workflow"].handlers
	intake.Executions = stepfunctions.New(awssfn.NewFromConfig(s.awsConfig(down.URL), func(o *awssfn.Options) { o.RetryMaxAttempts = 1 }), s.StateMachineArn)

	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", "researcher@example.org")
	if err != nil {
		t.Fatal(err)
	}
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m-1", Message: sub.Message}}}}
	for range 3 { // Lambda's asynchronous invocation and its two retries
		if err := intake.Intake(ctx(t), ev); err == nil || !workflow.Transient(err) {
			t.Fatalf("Intake = %v, want a transient error", err)
		}
	}
	if st, _ := swb.StoreStatus(ctx(t), sub.WorkspaceID); st != "PENDING" {
		t.Fatalf("store %s after the start failed, want PENDING", st)
	}
	if _, err := s.Engine.Describe(s.ExecutionArn(sub.RequestID)); err == nil {
		t.Fatal("an execution exists")
	}
	// The message redriven from the dead-letter queue starts it.
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	awaitStage(t, s, sub.RequestID, 0)
	if st, _ := swb.StoreStatus(ctx(t), sub.WorkspaceID); st != "PROCESSING" {
		t.Fatalf("store %s once running, want PROCESSING", st)
	}
	chain, _ := s.Config.Chain()
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Rejected, "start test", ""); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, sub)
}

// TestDuplicateDeliveries: SNS delivers at least once. 20 copies at once,
// then 20 more while the request awaits IG and 20 after it finished, give
// one request, one execution and one STARTED event, and the request
// completes as decided.
func TestDuplicateDeliveries(t *testing.T) {
	s := stack(t, false)
	s.SetSNSDeliveries(20)
	defer s.SetSNSDeliveries(0)
	sub := submit(t, s)
	check := func(when string) {
		t.Helper()
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
		evs, err := s.Requests.Events(ctx(t), sub.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range evs {
			kinds[e.Kind]++
		}
		if n != 1 || kinds[egress.EventCreated] != 1 || kinds[egress.EventStarted] != 1 || kinds[egress.EventTransition] > 1 {
			t.Fatalf("%s: %d executions, events %v", when, n, kinds)
		}
		r, _ := s.Requests.Get(ctx(t), sub.RequestID)
		if r.Status == egress.StatusFailed || r.ExecutionArn != s.ExecutionArn(sub.RequestID) {
			t.Fatalf("%s: request %s (%q), execution %q", when, r.Status, r.FailureCause, r.ExecutionArn)
		}
	}
	awaitStage(t, s, sub.RequestID, 0)
	check("20 at once")
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	check("20 more awaiting IG")
	chain, _ := s.Config.Chain()
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Rejected, "duplicates test", ""); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, sub)
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	check("20 more after it finished")
	finishedRejected(t, s, sub)
}

// TestManyMissingVersions: thousands of listed versions that cannot be
// copied end the request FAILED through HandleFailure with a short cause,
// not with an execution failing States.DataLimitExceeded unnoticed.
func TestManyMissingVersions(t *testing.T) {
	s := stack(t, false)
	sub, listKey := submitted(t, s)
	got, err := s.Objects.Read(ctx(t), NotificationBucket, listKey)
	if err != nil {
		t.Fatal(err)
	}
	var list map[string][]map[string]any
	if err := json.Unmarshal(got, &list); err != nil {
		t.Fatal(err)
	}
	// About 200 bytes of error each: unbounded, 2,000 pass 256 KiB.
	for i := range 2000 {
		list["objects"] = append(list["objects"], map[string]any{
			"Key": fmt.Sprintf("%s/deleted/%04d %s.csv", sub.WorkspaceID, i, strings.Repeat("results ", 12)), "Size": 10,
			"VersionId": uuid(), "ETag": `"e"`,
		})
	}
	body, _ := json.Marshal(list)
	if _, err := s.Clients.S3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(NotificationBucket), Key: aws.String(listKey), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	desc, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID))
	if err != nil || desc.Error != workflow.ErrRequestFailed {
		t.Fatalf("execution %s %s: %.300s (%v)", desc.Status, desc.Error, desc.Cause, err)
	}
	r := finished(t, s, sub, egress.StatusFailed)
	if !strings.Contains(r.FailureCause, "not found") {
		t.Fatalf("cause %q", r.FailureCause)
	}
	hist, err := s.Engine.History(s.ExecutionArn(sub.RequestID))
	if err != nil {
		t.Fatal(err)
	}
	counted := false
	for _, h := range hist {
		if h.Error == sfn.StatesDataLimitExceeded || len(h.Cause) > 16<<10 {
			t.Fatalf("history event %s: %s with a cause of %d bytes", h.Type, h.Error, len(h.Cause))
		}
		// CopyToStaging's error names 10 and counts the rest of the
		// first 1,000 files (staging copies 1,000 at a time and stops at
		// the first chunk that fails): 4 are there, 996 missing.
		counted = counted || strings.Contains(h.Cause, "and 986 more")
	}
	if !counted {
		t.Fatal("no task error counted the missing versions beyond the first 10")
	}
}

// TestReleaseKeptWhenStoreCannotBeProcessed: once the zip is recorded,
// failing to mark SWB's store PROCESSED (SWB terminated it meanwhile) does
// not delete the release or fail the request; the admin is told.
func TestReleaseKeptWhenStoreCannotBeProcessed(t *testing.T) {
	s := stack(t, true)
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	var storeID string
	s.SetFail(func(function string, _ json.RawMessage) error {
		if function == "copy-to-datalake" {
			_, err := s.Clients.DynamoDB.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(SWBStoreTable),
				Key:              map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: storeID}},
				UpdateExpression: aws.String("SET #s = :t"), ExpressionAttributeNames: map[string]string{"#s": "status"},
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":t": &dbtypes.AttributeValueMemberS{Value: "TERMINATED"}}})
			return err
		}
		return nil
	})
	defer s.SetFail(nil)
	sub := submit(t, s)
	storeID = sub.WorkspaceID
	awaitStage(t, s, sub.RequestID, 0)
	chain, _ := s.Config.Chain()
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitEnded(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), sub.RequestID)
	if err != nil || r.Status != egress.StatusIGApproved || !r.Released() {
		t.Fatalf("request %s released=%v (%v), want IGAPPROVED and released", r.Status, r.Released(), err)
	}
	if !strings.Contains(r.FailureCause, "could not be marked PROCESSED") {
		t.Fatalf("cause %q", r.FailureCause)
	}
	if n, err := s.countVersions(ctx(t), DatalakeBucket, r.ZipKey); err != nil || n != 1 {
		t.Fatalf("%d versions of the zip (%v), want it kept", n, err)
	}
	if n, err := s.countVersions(ctx(t), StagingBucket, egress.StagingPrefix(r)); err != nil || n != 0 {
		t.Fatalf("%d staged versions left (%v)", n, err)
	}
	if st, _ := swb.StoreStatus(ctx(t), storeID); st != "TERMINATED" {
		t.Fatalf("store %s, want SWB's TERMINATED untouched", st)
	}
	var told bool
	for _, m := range s.Outbox.Sent() {
		told = told || m.To[0] == AdminEmail && strings.Contains(m.Subject, r.ID) && strings.Contains(m.Text, "the zip was kept")
	}
	if !told {
		t.Fatal("TRE admin was not told")
	}
	// Its links keep working.
	if _, err := s.API.Download(ctx(t), Reviewer(chain, 0), r.ID); err != nil {
		t.Fatalf("download: %v", err)
	}
}

// A bad decision word, or decisions that cannot end the request, are
// refused before anything is submitted, naming what is wrong.
func TestScenarioBadDecisions(t *testing.T) {
	s := stack(t, false)
	tests := []struct {
		decisions []string
		want      string
	}{
		{[]string{"aprove", "approve"}, `"aprove"`},
		{[]string{"reject", "approve"}, "reject ends the request"},
		{[]string{"approve"}, "1 approvals for a 2-stage chain"},
		{[]string{"approve", "approve", "approve"}, "3 decisions for a 2-stage chain"},
		{[]string{"reject:reject=a.csv"}, "only approve names files"},
		{[]string{"approve:reject=a.csv+", "approve"}, "an empty path"},
		{[]string{}, "no decisions"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.decisions, ","), func(t *testing.T) {
			before := len(s.Outbox.Sent())
			_, err := s.Scenario(ctx(t), "testdata/sample-store", tt.decisions, s.GraphQLDecider())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
			if n := len(s.Outbox.Sent()); n != before {
				t.Errorf("%d e-mails sent: something was submitted", n-before)
			}
		})
	}
}

// --stages 3 --blinded: the numbered chain, its first stage with two
// voters, runs each outcome.
func TestScenarioStages(t *testing.T) {
	stages, err := NumberedStages(3, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := startLogged(t, ctx(t), Options{Clock: clock, Stages: stages, StageTimeout: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		decisions []string
		want      egress.Status
	}{
		{[]string{"approve", "approve", "approve"}, egress.StatusRITApproved},
		{[]string{"approve:reject=tables/summary.csv", "approve", "approve"}, egress.StatusRITApproved},
		{[]string{"return"}, egress.StatusReturned},
		{[]string{"approve", "approve", "reject"}, egress.StatusRejected},
		{[]string{"approve", "approve", "cancel"}, egress.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.decisions, ","), func(t *testing.T) {
			rep, err := s.Scenario(ctx(t), "testdata/sample-store", tt.decisions, s.GraphQLDecider())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.ExpectedResult || rep.Status != tt.want {
				t.Fatalf("report: %+v", rep)
			}
		})
	}
	for _, bad := range []int{0, 6} {
		if _, err := NumberedStages(bad, false); err == nil || !strings.Contains(err.Error(), "want 1 to 5") {
			t.Errorf("NumberedStages(%d): %v", bad, err)
		}
	}
}

// The demo's two chained scenarios: returned, resubmitted with a changed
// file (linked, its change listed) and approved; approved, downloaded and
// revoked (the earlier link and a new download refused).
func TestScenarioResubmitAndRevoke(t *testing.T) {
	s := stack(t, false)
	d := s.GraphQLDecider()
	dir := storeDir(t, map[string]string{"a.csv": "x,n\na,5\n", "b.csv": "x,n\nb,50\n"})
	returned, err := s.Scenario(ctx(t), dir, []string{"approve", "return"}, d)
	if err != nil || !returned.ExpectedResult || returned.Status != egress.StatusReturned {
		t.Fatalf("return: %+v, %v", returned, err)
	}
	changed := storeDir(t, map[string]string{"a.csv": "x,n\na,<10\n", "b.csv": "x,n\nb,50\n"})
	rep, err := s.ResubmitScenario(ctx(t), returned, changed, []string{"approve", "approve"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ExpectedResult || rep.PreviousRequestID != returned.RequestID || !slices.Equal(rep.Changes, []string{"a.csv CHANGED"}) || rep.WorkspaceID != returned.WorkspaceID {
		t.Fatalf("resubmission: %+v", rep)
	}
	rep, err = s.RevokeScenario(ctx(t), dir, d)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ExpectedResult || rep.Revocation == nil || rep.Revocation.Status != egress.StatusRevoked || rep.Revocation.EarlierLinkHTTP != http.StatusNotFound {
		t.Fatalf("revoke: %+v %+v", rep, rep.Revocation)
	}
}
