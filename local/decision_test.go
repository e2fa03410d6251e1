package local

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/stepfunctions"
)

// failingTransport fails the next SendTaskSuccess calls it is armed for
// before they leave the process, as a dropped connection does.
type failingTransport struct {
	armed atomic.Int32
	next  http.RoundTripper
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Target") == "AWSStepFunctions.SendTaskSuccess" && f.armed.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer")
	}
	return f.next.RoundTrip(r)
}

// A decision whose SendTaskSuccess fails is stored with its task token
// kept; the reviewer sending the same decision again resumes the workflow
// through the real SDK and the local engine, and the request goes on to be
// released.
func TestDecisionRetriedAfterResumeFailure(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	transport := &failingTransport{next: http.DefaultTransport}
	cfg := s.awsConfig(s.URL)
	cfg.HTTPClient = &http.Client{Transport: transport}
	// One attempt per call, so one armed failure fails the call whatever
	// the SDK's retry policy.
	client := awssfn.NewFromConfig(cfg, func(o *awssfn.Options) { o.RetryMaxAttempts = 1 })
	svc := *s.API
	svc.Workflow = stepfunctions.New(client, s.StateMachineArn)
	srv := httptest.NewServer(newGraphQLHandler(&svc, s.Dir, s.opts.Logger))
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/graphql"

	sub := submit(t, s)
	r := awaiting(t, s, sub.RequestID, 0)
	ig := Reviewer(chain, 0)
	body := map[string]any{"query": frontendOperation(t, "updateRequest"), "variables": map[string]any{"request": map[string]any{
		"egress_request_id": r.ID, "task_token": api.TokenRef(r.TaskToken), "ig_reviewer_1_decision": "APPROVED", "ig_reviewer_1_reason": "fine"}}}

	transport.armed.Store(1)
	if _, resp := post(t, endpoint, token(t, s, ig), body); len(resp.Errors) != 1 || resp.Errors[0].ErrorType != egress.EINTERNAL ||
		!strings.Contains(resp.Errors[0].Message, "send the same decision again") {
		t.Fatalf("first attempt: %+v", resp.Errors)
	}
	got, _ := s.Requests.Get(ctx(t), r.ID)
	if got.Status != egress.StatusIGApproved || got.ResumeToken != r.TaskToken {
		t.Fatalf("after the failed resume: %s, token kept %v", got.Status, got.ResumeToken == r.TaskToken)
	}
	if n := resumedWaits(t, s, sub.RequestID); n != 0 {
		t.Fatalf("%d resumed waits before the retry", n)
	}

	if _, resp := post(t, endpoint, token(t, s, ig), body); len(resp.Errors) != 0 {
		t.Fatalf("retry: %+v", resp.Errors)
	}
	// The workflow moved on to the RIT stage; the IG token is forgotten.
	next := awaiting(t, s, sub.RequestID, 1)
	if next.TaskToken == r.TaskToken {
		t.Fatal("the RIT stage awaits with the IG token")
	}
	if _, err := s.WaitFor(ctx(t), r.ID, func(r egress.Request) bool { return r.ResumeToken == "" }); err != nil {
		t.Fatal(err)
	}
	if err := s.GraphQLDecider().withEndpoint(endpoint).Decide(ctx(t), Reviewer(chain, 1), r.ID, egress.Approved, "fine"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	done, _ := s.Requests.Get(ctx(t), r.ID)
	if done.Status != egress.StatusRITApproved || !done.Released() || done.ResumeToken != "" || done.FailureCause != "" {
		t.Fatalf("request %s, released %v, token kept %v, cause %q", done.Status, done.Released(), done.ResumeToken != "", done.FailureCause)
	}
	if n := resumedWaits(t, s, sub.RequestID); n != 2 {
		t.Fatalf("%d resumed waits, want 2", n)
	}
}

// resumedWaits counts the decision waits of an execution that a
// SendTaskSuccess ended.
func resumedWaits(t *testing.T, s *Stack, id string) int {
	t.Helper()
	history, err := s.Engine.History(s.ExecutionArn(id))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range history {
		if h.Type == sfn.EventTaskSucceeded && strings.Contains(h.Resource, "waitForTaskToken") {
			n++
		}
	}
	return n
}
