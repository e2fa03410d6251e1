package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const updateMutation = `mutation UpdateRequest($request: UpdateRequestInput!) { updateRequest(request: $request) }`

// Reviewers of one stage deciding at once: exactly one decision stands,
// the workflow is resumed once, every other reviewer gets a ConflictError.
func TestConcurrentDecisions(t *testing.T) {
	e := newEnv(t)
	stages := []struct {
		fixture fixture
		group   string
		field   string
	}{
		{fixtures[0], egress.GroupIG, "ig_reviewer_1_decision"},
		{fixtures[1], egress.GroupRIT, "rit_reviewer_2_decision"},
	}
	for _, st := range stages {
		t.Run(st.group, func(t *testing.T) {
			r := e.seed(t, st.fixture)
			const reviewers = 8
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				won    []string
				errs   = map[string]int{}
				start  = make(chan struct{})
				decide = []string{"APPROVED", "REJECTED"}
			)
			for i := range reviewers {
				who := egress.Identity{Subject: fmt.Sprintf("sub-%d", i), Email: fmt.Sprintf("reviewer-%d@example.org", i), Name: "R", Groups: []string{st.group}}
				in := map[string]any{"egress_request_id": r.ID, "task_token": api.TokenRef(r.TaskToken), st.field: decide[i%2], "ig_reviewer_1_reason": "no", "rit_reviewer_2_reason": "no"}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resp := e.gql(who, updateMutation, map[string]any{"request": in})
					mu.Lock()
					defer mu.Unlock()
					if len(resp.Errors) == 0 {
						won = append(won, who.Email)
					}
					for _, ge := range resp.Errors {
						errs[ge.ErrorType]++
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(won) != 1 || errs[egress.ECONFLICT] != reviewers-1 {
				t.Fatalf("winners %v, errors %v", won, errs)
			}
			got, _ := e.table.Get(context.Background(), r.ID)
			last := got.Reviews[len(got.Reviews)-1]
			if last.Email != won[0] || len(got.Reviews) != len(r.Reviews)+1 {
				t.Fatalf("reviews %+v, winner %s", got.Reviews, won[0])
			}
			calls := e.wf.calls(r.TaskToken)
			if len(calls) != 1 || calls[0].Decision != last.Decision {
				t.Fatalf("workflow resumed %+v, decision stored %s", calls, last.Decision)
			}
			decisions := 0
			events, _ := e.table.Events(context.Background(), r.ID)
			for _, ev := range events {
				if ev.Kind == egress.EventDecision {
					decisions++
				}
			}
			if decisions != 1 {
				t.Fatalf("%d decision events", decisions)
			}
		})
	}
}

// A RIT reviewer cannot release a request IG rejected, whatever they send.
func TestRITCannotOverrideIGRejection(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	ref := api.TokenRef(r.TaskToken)
	if _, err := e.svc.UpdateRequest(context.Background(), igReviewer, api.UpdateInput{RequestID: r.ID, TaskToken: ref, IGDecision: "REJECTED", IGReason: "identifiable"}); err != nil {
		t.Fatal(err)
	}
	attempts := []api.UpdateInput{
		{RequestID: r.ID, TaskToken: ref, IGDecision: "APPROVED", RITDecision: "APPROVED"},
		{RequestID: r.ID, TaskToken: r.TaskToken, IGDecision: "APPROVED", RITDecision: "APPROVED"},
		{RequestID: r.ID, TaskToken: "", RITDecision: "APPROVED"},
		{RequestID: r.ID, TaskToken: "forged", IGDecision: "APPROVED", IGName: "Ida IG", IGEmail: igReviewer.Email},
	}
	for _, who := range []egress.Identity{ritReviewer, bothGroups} {
		for i, in := range attempts {
			want := egress.ECONFLICT // the request awaits no decision, whatever is sent
			if _, err := e.svc.UpdateRequest(context.Background(), who, in); egress.ErrorCode(err) != want {
				t.Errorf("%s attempt %d: %v, want %s", who.Email, i, err, want)
			}
		}
	}
	got, _ := e.table.Get(context.Background(), r.ID)
	if got.Status != egress.StatusRejected || len(got.Reviews) != 1 || got.Released() {
		t.Fatalf("request %s, %d reviews", got.Status, len(got.Reviews))
	}
	if calls := e.wf.calls(r.TaskToken); len(calls) != 1 || calls[0].Decision != egress.Rejected {
		t.Fatalf("workflow got %+v", calls)
	}

	// At the IG stage a RIT reviewer sending an IG approval is refused too.
	r2 := e.seed(t, fixtures[0])
	_, err := e.svc.UpdateRequest(context.Background(), ritReviewer, api.UpdateInput{RequestID: r2.ID, TaskToken: api.TokenRef(r2.TaskToken), IGDecision: "APPROVED", RITDecision: "APPROVED"})
	if egress.ErrorCode(err) != egress.EFORBIDDEN {
		t.Fatalf("RIT at IG stage: %v", err)
	}
}

func TestUpdateRequestInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		in   func(r egress.Request) api.UpdateInput
		want string
	}{
		{"stale or wrong token", func(r egress.Request) api.UpdateInput {
			return api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef("token-of-an-earlier-stage"), IGDecision: "APPROVED"}
		}, egress.ECONFLICT},
		{"lower-case decision", func(r egress.Request) api.UpdateInput {
			return api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), IGDecision: "approved"}
		}, egress.EINVALID},
		{"reject without reason", func(r egress.Request) api.UpdateInput {
			return api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), IGDecision: "REJECTED", IGReason: " "}
		}, egress.EINVALID},
		{"no such request", func(r egress.Request) api.UpdateInput {
			return api.UpdateInput{RequestID: "nope", TaskToken: "x", IGDecision: "APPROVED"}
		}, egress.ENOTFOUND},
		{"the raw stored token is accepted", func(r egress.Request) api.UpdateInput {
			return api.UpdateInput{RequestID: r.ID, TaskToken: r.TaskToken, IGDecision: "APPROVED"}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.seed(t, fixtures[0])
			_, err := e.svc.UpdateRequest(context.Background(), igReviewer, tt.in(r))
			if got := egress.ErrorCode(err); got != tt.want {
				t.Fatalf("code %q (%v), want %q", got, err, tt.want)
			}
			if strings.Contains(fmt.Sprint(err), r.TaskToken) {
				t.Fatal("error shows the task token")
			}
		})
	}
}

// When the workflow does not take a recorded decision (timed out, token
// used) the decision stays, the request says so, and the caller gets a
// ConflictError.
func TestResumeFailureIsRecorded(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	e.wf.mu.Lock()
	e.wf.fail = egress.Errorf(egress.ECONFLICT, "the workflow stopped waiting for this decision (timed out)")
	e.wf.mu.Unlock()
	_, err := e.call(igReviewer, "Mutation", "updateRequest", map[string]any{"request": map[string]any{
		"egress_request_id": r.ID, "task_token": api.TokenRef(r.TaskToken), "ig_reviewer_1_decision": "APPROVED"}}, nil)
	if errorType(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "decision recorded") {
		t.Fatalf("err %v", err)
	}
	got, _ := e.table.Get(context.Background(), r.ID)
	if got.Status != egress.StatusIGApproved || len(got.Reviews) != 1 || !strings.Contains(got.FailureCause, "timed out") {
		t.Fatalf("request %s, reviews %d, cause %q", got.Status, len(got.Reviews), got.FailureCause)
	}
	out, err := e.call(igReviewer, "Query", "getRequest", map[string]any{"egress_request_id": r.ID}, nil)
	if err != nil || !strings.Contains(string(out), `"failure_cause":"decision recorded, but the workflow did not accept it`) {
		t.Fatalf("getRequest %s %v", out, err)
	}
	events, _ := e.table.Events(context.Background(), r.ID)
	if last := events[len(events)-1]; !strings.Contains(last.Reason, "timed out") {
		t.Fatalf("last event %+v", last)
	}

	// An unexpected failure is an internal error to the caller, with no
	// detail, and logged without the token.
	r2 := e.seed(t, fixtures[0])
	e.wf.mu.Lock()
	e.wf.fail = errors.New("send task result: dial tcp: token " + r2.TaskToken + " https://states.example/?X-Amz-Signature=abc")
	e.wf.mu.Unlock()
	_, err = e.call(igReviewer, "Mutation", "updateRequest", map[string]any{"request": map[string]any{
		"egress_request_id": r2.ID, "task_token": api.TokenRef(r2.TaskToken), "ig_reviewer_1_decision": "APPROVED"}}, nil)
	if errorType(err) != egress.EINTERNAL || strings.Contains(err.Error(), "dial") || !strings.Contains(err.Error(), "decision recorded") {
		t.Fatalf("err %v", err)
	}
	if got, _ := e.table.Get(context.Background(), r2.ID); got.Status != egress.StatusIGApproved || !strings.Contains(got.FailureCause, "could not be reached") {
		t.Fatalf("request %s, cause %q", got.Status, got.FailureCause)
	}
}

// Logs never carry task tokens or presigned URLs.
func TestLogsRedact(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("AQCEAAAAKgAAAAMAAAAAAAAAAe", 10) // the shape of a real task token
	r := newRequest()
	r.TaskToken = long
	fixtures[0].build(e, &r)
	if _, err := e.table.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.wf.mu.Lock()
	e.wf.fail = fmt.Errorf("resume: %s at https://sfn.example/x?X-Amz-Signature=secret", long)
	e.wf.mu.Unlock()
	e.svc.UpdateRequest(context.Background(), igReviewer, api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(long), IGDecision: "APPROVED"})
	rel := e.seed(t, fixtures[3])
	url, err := e.svc.Download(context.Background(), igReviewer, rel.ID)
	if err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	for _, secret := range []string{long, url, "X-Amz-Signature", "secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %.40q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "download granted") || !strings.Contains(logs, "could not be resumed") {
		t.Errorf("logs lack the events:\n%s", logs)
	}
}

// A decision on a request awaiting one must carry the listed task token.
func TestUpdateRequestNeedsTaskToken(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	_, err := e.svc.UpdateRequest(context.Background(), igReviewer, api.UpdateInput{RequestID: r.ID, IGDecision: "APPROVED"})
	if egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(err.Error(), "task_token is required") {
		t.Fatalf("err = %v", err)
	}
	if got, _ := e.table.Get(context.Background(), r.ID); got.Status != r.Status || len(got.Reviews) != 0 {
		t.Fatalf("request changed: %s", got.Status)
	}
}
