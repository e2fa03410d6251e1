package api_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/statemachine"
)

// flaky is a Workflow that fails its next calls with the queued errors,
// then passes calls on to the recorder; failed calls reach no recorder.
type flaky struct {
	mu   sync.Mutex
	errs []error
	next api.Workflow
	sent []string // tokens of every call, failed or not
}

func (f *flaky) failNext(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, errs...)
}

func (f *flaky) Resume(ctx context.Context, token string, out statemachine.DecisionOutput) error {
	f.mu.Lock()
	f.sent = append(f.sent, token)
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.next.Resume(ctx, token, out)
}

func (f *flaky) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func lastEvent(t *testing.T, e *env, id string) egress.Event {
	t.Helper()
	events, err := e.table.Events(context.Background(), id)
	if err != nil || len(events) == 0 {
		t.Fatalf("events of %s: %v %v", id, events, err)
	}
	return events[len(events)-1]
}

// A decision whose resume fails transiently is stored with its stage's
// token kept; the same decision sent again delivers it, and only then is
// the token forgotten. Other reviewers and other decisions cannot use the
// kept token.
func TestDecisionRetriedAfterTransientResumeFailure(t *testing.T) {
	e := newEnv(t)
	wf := &flaky{next: e.wf}
	e.svc.Workflow = wf
	stages := []struct {
		name     string
		fixture  fixture
		who      egress.Identity
		other    egress.Identity
		in       func(r egress.Request, token, decision string) api.UpdateInput
		stage    int
		statusTo egress.Status
	}{
		{"IG", fixtures[0], igReviewer, bothGroups, func(r egress.Request, token, d string) api.UpdateInput {
			return api.UpdateInput{RequestID: r.ID, TaskToken: token, IGDecision: d, IGReason: "fine"}
		}, 0, egress.StatusIGApproved},
		{"RIT", fixtures[1], ritReviewer, bothGroups, func(r egress.Request, token, d string) api.UpdateInput {
			// The frontend resends the IG decision at the RIT stage.
			return api.UpdateInput{RequestID: r.ID, TaskToken: token, IGDecision: "APPROVED", RITDecision: d, RITReason: "fine"}
		}, 1, egress.StatusRITApproved},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			r := e.seed(t, st.fixture)
			ref := api.TokenRef(r.TaskToken)
			wf.failNext(errors.New("send task result: connection reset by peer"))
			_, err := e.svc.UpdateRequest(ctx, st.who, st.in(r, ref, "APPROVED"))
			if egress.ErrorCode(err) != egress.EINTERNAL || !strings.Contains(err.Error(), "send the same decision again") {
				t.Fatalf("first attempt: %v", err)
			}
			got, _ := e.table.Get(ctx, r.ID)
			if got.Status != st.statusTo || got.ResumeToken != r.TaskToken || got.TaskToken != "" || !strings.Contains(got.FailureCause, "could not be reached") {
				t.Fatalf("after the failed resume: status %s, token kept %v, awaiting token %q, cause %q",
					got.Status, got.ResumeToken == r.TaskToken, got.TaskToken, got.FailureCause)
			}

			// Not a retry: another reviewer, or another decision, with the
			// kept token. Neither reaches the workflow.
			before := wf.attempts()
			for name, try := range map[string]func() error{
				"other reviewer": func() error {
					_, err := e.svc.UpdateRequest(ctx, st.other, st.in(r, ref, "APPROVED"))
					return err
				},
				"other decision": func() error {
					_, err := e.svc.UpdateRequest(ctx, st.who, st.in(r, ref, "REJECTED"))
					return err
				},
			} {
				if err := try(); egress.ErrorCode(err) != egress.ECONFLICT {
					t.Errorf("%s: %v, want %s", name, err, egress.ECONFLICT)
				}
			}
			if wf.attempts() != before {
				t.Fatalf("a refused retry reached the workflow")
			}

			msg, err := e.svc.UpdateRequest(ctx, st.who, st.in(r, ref, "APPROVED"))
			if err != nil || !strings.Contains(msg, "status is now "+string(st.statusTo)) {
				t.Fatalf("retry: %q %v", msg, err)
			}
			calls := e.wf.calls(r.TaskToken)
			if len(calls) != 1 || calls[0] != (statemachine.DecisionOutput{Decision: egress.Approved, Stage: st.stage}) {
				t.Fatalf("workflow got %+v", calls)
			}
			got, _ = e.table.Get(ctx, r.ID)
			if got.ResumeToken != "" || got.FailureCause != "" || len(got.Reviews) != st.stage+1 {
				t.Fatalf("after delivery: token kept %v, cause %q, %d reviews", got.ResumeToken != "", got.FailureCause, len(got.Reviews))
			}
			if ev := lastEvent(t, e, r.ID); ev.Kind != egress.EventDelivered || ev.Stage != st.name {
				t.Fatalf("last event %+v", ev)
			}
			// Delivered: the token is spent, and sending it again is stale.
			if _, err := e.svc.UpdateRequest(ctx, st.who, st.in(r, ref, "APPROVED")); egress.ErrorCode(err) != egress.ECONFLICT {
				t.Fatalf("after delivery: %v", err)
			}
			if len(e.wf.calls(r.TaskToken)) != 1 {
				t.Fatal("a spent token was sent again")
			}
		})
	}
}

// A kept token does not confuse the next stage: once the workflow stored
// the next stage's token, that stage is decided with its own token, and the
// earlier stage's retry still resumes the earlier task.
func TestKeptTokenAndNextStage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.seed(t, fixtures[1]) // IGAPPROVED, awaiting RIT with TaskToken
	igToken := "token-ig-" + r.ID
	r.ResumeToken = igToken // IG's delivery acknowledged, but not yet cleared
	r.Reviews[0] = review("IG", igReviewer, egress.Approved, "")
	stored, err := e.table.Update(ctx, r, egress.Event{Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, Stage: "RIT"})
	if err != nil {
		t.Fatal(err)
	}
	// The IG token's reference is not the RIT stage's token.
	if _, err := e.svc.UpdateRequest(ctx, ritReviewer, api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(igToken), RITDecision: "APPROVED"}); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Fatalf("RIT with the IG token: %v", err)
	}
	if _, err := e.svc.UpdateRequest(ctx, ritReviewer, api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(stored.TaskToken), RITDecision: "APPROVED"}); err != nil {
		t.Fatal(err)
	}
	if calls := e.wf.calls(stored.TaskToken); len(calls) != 1 || calls[0].Stage != 1 {
		t.Fatalf("RIT task got %+v", calls)
	}
	if calls := e.wf.calls(igToken); len(calls) != 0 {
		t.Fatalf("IG task got %+v", calls)
	}
	if got, _ := e.table.Get(ctx, r.ID); got.ResumeToken != "" || got.Status != egress.StatusRITApproved {
		t.Fatalf("status %s, token kept %v", got.Status, got.ResumeToken != "")
	}
}

// When the task no longer waits (timed out, used, invalid token) the stage
// is over: the kept token is forgotten, the request says why, and a retry
// is a ConflictError that does not reach the workflow.
func TestResumeOfEndedStage(t *testing.T) {
	e := newEnv(t)
	wf := &flaky{next: e.wf}
	e.svc.Workflow = wf
	ctx := context.Background()
	r := e.seed(t, fixtures[0])
	in := api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), IGDecision: "APPROVED"}
	wf.failNext(egress.Errorf(egress.ECONFLICT, "the workflow stopped waiting for this decision (timed out)"))
	if _, err := e.svc.UpdateRequest(ctx, igReviewer, in); egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "stage ended") {
		t.Fatalf("err %v", err)
	}
	got, _ := e.table.Get(ctx, r.ID)
	if got.ResumeToken != "" || !strings.Contains(got.FailureCause, "timed out") {
		t.Fatalf("token kept %v, cause %q", got.ResumeToken != "", got.FailureCause)
	}
	n := wf.attempts()
	if _, err := e.svc.UpdateRequest(ctx, igReviewer, in); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Fatalf("retry: %v", err)
	}
	if wf.attempts() != n {
		t.Fatal("a retry of an ended stage reached the workflow")
	}
}

// movedOn is a Workflow that, as the real one may, has already stored the
// next stage's token when its Resume answers.
type movedOn struct {
	next  api.Workflow
	table *requests.Table
	id    string
}

func (m *movedOn) Resume(ctx context.Context, token string, out statemachine.DecisionOutput) error {
	if err := m.next.Resume(ctx, token, out); err != nil {
		return err
	}
	r, err := m.table.Get(ctx, m.id)
	if err != nil {
		return err
	}
	r.TaskToken = "the next stage's token"
	_, err = m.table.Update(ctx, r, egress.Event{RequestID: r.ID, Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, From: r.Status, To: r.Status, At: time.Now()})
	return err
}

// The reviewer is told what their vote did, even when the workflow has
// already moved on to the next stage, with a token again.
func TestDecidedMessageWhenTheWorkflowMovedOn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.seed(t, fixtures[0])
	e.svc.Workflow = &movedOn{next: e.wf, table: e.table, id: r.ID}
	msg, err := e.svc.UpdateRequest(ctx, igReviewer, api.UpdateInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), IGDecision: "APPROVED", IGReason: "fine"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "status is now IGAPPROVED") {
		t.Errorf("message %q, want the stage decided", msg)
	}
	if got, _ := e.table.Get(ctx, r.ID); got.TaskToken != "the next stage's token" {
		t.Fatalf("the workflow did not move on first: token %q", got.TaskToken)
	}
}
