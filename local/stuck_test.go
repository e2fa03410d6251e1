package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
)

const retryRequest = `mutation($id: String!) { retryRequest(egress_request_id: $id) { egress_request_id egress_status } }`

// stuckKinds returns what the check found for request id, sorted.
func stuckKinds(out workflow.StuckOutput, id string) []string {
	var kinds []string
	for _, s := range out.Stuck {
		if s.RequestID == id {
			kinds = append(kinds, s.Stuck)
		}
	}
	slices.Sort(kinds)
	return kinds
}

// Issue 16's stuck requests on the embedded stack, with the stack's fake
// clock: a request whose reminder was never sent, one whose execution was
// stopped while execution-ended was down (SWB store left PROCESSING), and
// one whose decision never reached the workflow are each found by the
// scheduled check; send-reminders fixes the first and retryRequest the
// others (settled as the failure path would, and delivered), after which
// the check finds none of them. retryRequest on a request that is not
// stuck is a ConflictError naming its status.
func TestStuckRequestsFoundAndRetried(t *testing.T) {
	fake := sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	stages := []egress.StageSpec{
		{Name: "IG", Group: egress.GroupIG, ReminderAfterHours: 24, MaxReminders: 1},
		{Name: "RIT", Group: egress.GroupRIT, ReminderAfterHours: 24, MaxReminders: 1},
	}
	s, err := startLogged(t, context.Background(), Options{Clock: fake, Stages: stages, StageTimeout: 5 * 24 * time.Hour, ClamdOwnSignaturesOnly: true})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	chain, _ := s.Config.Chain()
	admin := Reviewer(chain, 1) // the RIT stage's group is TREAdmin
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))

	unreminded, ended, undelivered := submit(t, s), submit(t, s), submit(t, s)
	for _, sub := range []Submission{unreminded, ended, undelivered} {
		awaiting(t, s, sub.RequestID, 0)
	}

	// An outage of execution-ended while an execution is stopped.
	s.SetFail(func(function string, _ json.RawMessage) error {
		if function == "execution-ended" {
			return errors.New("outage")
		}
		return nil
	})
	endedArn := s.ExecutionArn(ended.RequestID)
	if _, err := s.Clients.SFN.StopExecution(ctx(t), &awssfn.StopExecutionInput{ExecutionArn: aws.String(endedArn)}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitEnded(ctx(t), endedArn); err != nil {
		t.Fatal(err)
	}
	s.SetFail(nil)
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	stuckReq, _ := s.Requests.Get(ctx(t), ended.RequestID)
	if st, _ := swb.StoreStatus(ctx(t), stuckReq.StoreID); stuckReq.Status != egress.StatusProcessing || st != "PROCESSING" {
		t.Fatalf("set-up: after the stop the request is %s, its store %s", stuckReq.Status, st)
	}
	// What the outage left half-done: an unfinished upload under the
	// staged copies and one under the release's prefix.
	for _, u := range []struct{ bucket, key string }{
		{StagingBucket, egress.StagingPrefix(stuckReq) + "partial.bin"},
		{DatalakeBucket, egress.DatalakePrefix(stuckReq) + "egress_data.zip"},
	} {
		if _, err := s.Clients.S3.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key)}); err != nil {
			t.Fatal(err)
		}
	}

	// A decision whose delivery fails, as in TestDecisionRetriedAfterResumeFailure.
	transport := &failingTransport{next: http.DefaultTransport}
	cfg := s.awsConfig(s.URL)
	cfg.HTTPClient = &http.Client{Transport: transport}
	svc := *s.API
	svc.Workflow = stepfunctions.New(awssfn.NewFromConfig(cfg, func(o *awssfn.Options) { o.RetryMaxAttempts = 1 }), s.StateMachineArn)
	srv := httptest.NewServer(newGraphQLHandler(&svc, s.Dir, s.opts.Logger))
	t.Cleanup(srv.Close)
	transport.armed.Store(1)
	if err := s.GraphQLDecider().withEndpoint(srv.URL+"/graphql").Decide(ctx(t), Reviewer(chain, 0), undelivered.RequestID, egress.Approved, "fine"); err == nil {
		t.Fatal("set-up: the decision was delivered")
	}

	fake.Advance(24*time.Hour + 31*time.Minute)
	out, err := s.CheckStuck(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := stuckKinds(out, unreminded.RequestID); !slices.Equal(got, []string{workflow.StuckUnreminded}) {
		t.Errorf("unreminded request found %v", got)
	}
	if got := stuckKinds(out, ended.RequestID); !slices.Contains(got, workflow.StuckNoExecution) {
		t.Errorf("request without execution found %v", got)
	}
	if got := stuckKinds(out, undelivered.RequestID); !slices.Contains(got, workflow.StuckUndelivered) {
		t.Errorf("undelivered decision found %v", got)
	}
	if out.Unreminded < 1 || out.NoExec != 1 || out.Undeliver != 1 || out.Failed != 0 {
		t.Errorf("counts %+v", out)
	}

	retry := func(id string) (string, error) {
		t.Helper()
		var res struct {
			R struct {
				Status string `json:"egress_status"`
			} `json:"retryRequest"`
		}
		err := d.Do(ctx(t), admin, retryRequest, map[string]any{"id": id}, &res)
		return res.R.Status, err
	}
	// Not stuck: its execution runs.
	if _, err := retry(unreminded.RequestID); err == nil || !strings.Contains(err.Error(), "is PROCESSING") {
		t.Errorf("retry of a request whose execution runs: %v", err)
	}
	if err := d.Do(ctx(t), Reviewer(chain, 0), retryRequest, map[string]any{"id": ended.RequestID}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("an IG reviewer's retry: %v", err)
	}

	// The unreminded request: the reminders run fixes it.
	if rem, err := s.SendReminders(ctx(t)); err != nil || rem.Sent < 1 {
		t.Fatalf("reminders %+v: %v", rem, err)
	}

	// The ended request: settled as the failure path would, twice alike.
	for range 2 {
		if st, err := retry(ended.RequestID); err != nil || st != string(egress.StatusFailed) {
			t.Fatalf("retry of the ended request: %s %v", st, err)
		}
	}
	got, _ := s.Requests.Get(ctx(t), ended.RequestID)
	if !strings.Contains(got.FailureCause, "ABORTED") || got.TaskToken != "" {
		t.Errorf("settled request: cause %q, task token kept %v", got.FailureCause, got.TaskToken != "")
	}
	if st, _ := swb.StoreStatus(ctx(t), got.StoreID); st != "PENDING" {
		t.Errorf("store %s after the retry, want PENDING", st)
	}
	for _, where := range []struct{ bucket, prefix string }{{StagingBucket, egress.StagingPrefix(got)}, {DatalakeBucket, egress.DatalakePrefix(got)}} {
		if n, err := s.countVersions(ctx(t), where.bucket, where.prefix); err != nil || n != 0 {
			t.Errorf("%d versions (%v) left under %s/%s", n, err, where.bucket, where.prefix)
		}
		ups, err := s.Clients.S3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(where.bucket), Prefix: aws.String(where.prefix)})
		if err != nil || len(ups.Uploads) != 0 {
			t.Errorf("uploads left under %s/%s: %d (%v)", where.bucket, where.prefix, len(ups.Uploads), err)
		}
	}
	events, _ := s.Requests.Events(ctx(t), ended.RequestID)
	retries, failed := 0, false
	for _, ev := range events {
		retries += map[bool]int{true: 1}[ev.Kind == egress.EventRetry && ev.Actor == admin.Email]
		failed = failed || ev.To == egress.StatusFailed && ev.Actor == admin.Email
	}
	if retries != 1 || !failed {
		t.Errorf("history: %d RETRY events by the admin (want 1), FAILED by the admin %v", retries, failed)
	}
	if _, err := s.WaitFor(ctx(t), ended.RequestID, func(egress.Request) bool {
		mails, _ := requestMail(s, ended.RequestID)
		return len(mailTo(mails, researcher, "")) > 0 && len(mailTo(mails, AdminEmail, "failed")) > 0
	}); err != nil {
		t.Errorf("the requester and the admin were not e-mailed: %v", err)
	}

	// The undelivered decision: delivered, the workflow moves on.
	if st, err := retry(undelivered.RequestID); err != nil || st != string(egress.StatusIGApproved) {
		t.Fatalf("retry of the undelivered decision: %s %v", st, err)
	}
	awaiting(t, s, undelivered.RequestID, 1)
	if _, err := s.WaitFor(ctx(t), undelivered.RequestID, func(r egress.Request) bool { return r.ResumeToken == "" }); err != nil {
		t.Fatal(err)
	}

	out, err = s.CheckStuck(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []Submission{unreminded, ended, undelivered} {
		if got := stuckKinds(out, sub.RequestID); len(got) != 0 {
			t.Errorf("request %s still found %v", sub.RequestID, got)
		}
	}
}

// Issue 16's scheduled verification: a release whose zip is rewritten in
// the datalake is reported by verify-releases with the entry named, and
// an untouched one is not.
func TestVerifyReleasesReportsDrift(t *testing.T) {
	s := stack(t, false)
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	kept, drifted := released(t, s, d), released(t, s, d)
	entry, err := s.CorruptReleaseEntry(ctx(t), drifted.ZipKey)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.VerifyReleases(ctx(t))
	if err != nil && out.Failed == 0 {
		t.Fatal(err)
	}
	found := map[string][]egress.ReleaseProblem{}
	for _, dr := range out.Drifted {
		found[dr.RequestID] = dr.Problems
	}
	if _, ok := found[kept.ID]; ok {
		t.Errorf("untouched release reported: %+v", found[kept.ID])
	}
	ps := found[drifted.ID]
	if len(ps) == 0 {
		t.Fatalf("drifted release not reported; run %+v", out)
	}
	for _, p := range ps {
		if p.Path != entry {
			t.Errorf("problem at %q (%s), want only %q", p.Path, p.Problem, entry)
		}
	}
	if out.Checked < 2 || out.Drift < 1 || out.Unfinished {
		t.Errorf("run %+v", out)
	}
}

// verify-releases needs s3:GetObject on the released zips and their
// manifests (one statement): without it the run fails for the release,
// naming it, as in AWS.
func TestVerifyReleasesNeedsItsGrant(t *testing.T) {
	s, _ := startWithoutLogged(t, []string{"VerifyReleases"}, "s3:GetObject", "approved_egress")
	r := released(t, s, s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s)))
	_, err := s.VerifyReleases(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "request "+r.ID) || !strings.Contains(err.Error(), "not authorized to perform: s3:GetObject") {
		t.Fatalf("run without the grant: %v", err)
	}
}
