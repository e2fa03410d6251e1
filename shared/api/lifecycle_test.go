package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/statemachine"
)

// staged is a fixture awaiting IG with its two seeded files counted.
var staged = fixture{"PROCESSING, 2 files", func(e *env, r *egress.Request) { r.FileCount = 2 }}

// TestReviewFiles: per-file decisions must name the request's files; a
// deciding vote resumes the workflow with the stored outcome.
func TestReviewFiles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	files := func(fs ...api.FileDecisionInput) []api.FileDecisionInput { return fs }
	reject := func(p string) api.FileDecisionInput {
		return api.FileDecisionInput{Path: p, Decision: "REJECTED", Comment: "has names"}
	}
	tests := []struct {
		name     string
		in       api.ReviewInput
		want     egress.Status
		wantOut  egress.Decision
		wantCode string
		wantMsg  string
	}{
		{"one file rejected, the request approved", api.ReviewInput{Decision: "APPROVED", Files: files(reject("README.txt"))}, egress.StatusIGApproved, egress.Approved, "", ""},
		{"every file rejected", api.ReviewInput{Decision: "APPROVED", Files: files(reject("README.txt"), reject("results/a.csv"))}, egress.StatusRejected, egress.Rejected, "", ""},
		{"returned with a file rejected", api.ReviewInput{Decision: "RETURNED", Reason: "fix it", Files: files(reject("results/a.csv"))}, egress.StatusReturned, egress.Returned, "", ""},
		{"unknown path", api.ReviewInput{Decision: "APPROVED", Files: files(reject("README.txt"), reject("results/secret.csv"))}, "", "", egress.EINVALID, `files: "results/secret.csv" not among the 2 files of request`},
		{"a path differing in case", api.ReviewInput{Decision: "APPROVED", Files: files(reject("readme.txt"))}, "", "", egress.EINVALID, `"readme.txt" not among`},
		{"too many file decisions", api.ReviewInput{Decision: "APPROVED", Files: make([]api.FileDecisionInput, api.MaxFileDecisions+1)}, "", "", egress.ELIMIT, "files: 10001 decisions, at most 10000 in one vote"},
		{"a file rejected without a comment", api.ReviewInput{Decision: "APPROVED", Files: files(api.FileDecisionInput{Path: "README.txt", Decision: "REJECTED"})}, "", "", egress.EINVALID, "a comment is required to reject a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.seed(t, staged)
			tt.in.RequestID, tt.in.TaskToken = r.ID, api.TokenRef(r.TaskToken)
			got, err := e.svc.Review(ctx, igReviewer, tt.in)
			stored, gerr := e.table.Get(ctx, r.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.wantCode != "" {
				if egress.ErrorCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %s containing %q", err, tt.wantCode, tt.wantMsg)
				}
				if stored.Status != r.Status || len(stored.Reviews) != 0 || len(e.wf.calls(r.TaskToken)) != 0 {
					t.Fatalf("a refused vote changed %s (%d reviews) or resumed the workflow", stored.Status, len(stored.Reviews))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want || stored.Status != tt.want || len(stored.Reviews) != 1 || len(stored.Reviews[0].Files) != len(tt.in.Files) {
				t.Fatalf("status %s (stored %s), reviews %+v", got.Status, stored.Status, stored.Reviews)
			}
			calls := e.wf.calls(r.TaskToken)
			if want := (statemachine.DecisionOutput{Decision: tt.wantOut, Stage: 0}); len(calls) != 1 || calls[0] != want {
				t.Fatalf("resumed %+v, want once with %+v", calls, want)
			}
			if stored.ResumeToken != "" || stored.TaskToken != "" {
				t.Fatal("an acknowledged decision keeps a token")
			}
		})
	}
}

// blinded is a request whose IG stage needs two reviewers, then RIT.
var blinded = fixture{"PROCESSING, blinded IG", func(e *env, r *egress.Request) {
	r.Stages = []egress.StageSpec{{Name: "IG", Group: egress.GroupIG, Reviewers: 2}, {Name: "RIT", Group: egress.GroupRIT}}
	r.FileCount = 2
}}

// TestReviewBlindedStage: the first vote of a two-reviewer stage is
// stored, hidden from everyone but its voter, and does not resume the
// workflow; the second decides, resumes and shows both.
func TestReviewBlindedStage(t *testing.T) {
	ctx := context.Background()
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-blind-%d", idSeq.Add(1))
	r := e.seedOwned(t, blinded, owner.UserID, ws)
	secondIG := egress.Identity{Subject: "sub-ig2", Email: "ig2@example.org", Name: "Ivo IG", Groups: []string{egress.GroupIG}}

	first, err := e.svc.Review(ctx, igReviewer, api.ReviewInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), Decision: "REJECTED", Reason: "names in a.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != egress.StatusProcessing || first.TaskToken != r.TaskToken || len(e.wf.calls(r.TaskToken)) != 0 {
		t.Fatalf("first vote: status %s, token kept %v, resumed %v", first.Status, first.TaskToken == r.TaskToken, e.wf.calls(r.TaskToken))
	}
	voters := func(who egress.Identity) []string {
		t.Helper()
		rs, err := e.svc.Reviews(ctx, who, r.ID)
		if err != nil {
			t.Fatalf("%s: %v", who.Email, err)
		}
		out := []string{}
		for _, v := range rs {
			out = append(out, v.Name+"/"+string(v.Decision))
		}
		return out
	}
	pending := []struct {
		who  egress.Identity
		want []string
	}{
		{igReviewer, []string{"Ida IG/REJECTED"}},
		{secondIG, []string{}},
		{ritReviewer, []string{}},
		{owner, []string{}},
	}
	for _, tt := range pending {
		if got := voters(tt.who); !slices.Equal(got, tt.want) {
			t.Errorf("while blinded, %s sees %v, want %v", tt.who.Email, got, tt.want)
		}
	}
	if _, err := e.svc.Review(ctx, igReviewer, api.ReviewInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), Decision: "APPROVED"}); egress.ErrorCode(err) != egress.EFORBIDDEN {
		t.Fatalf("a second vote by the same reviewer: %v", err)
	}

	second, err := e.svc.Review(ctx, secondIG, api.ReviewInput{RequestID: r.ID, TaskToken: api.TokenRef(r.TaskToken), Decision: "APPROVED"})
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.wf.calls(r.TaskToken); second.Status != egress.StatusRejected || len(calls) != 1 || calls[0].Decision != egress.Rejected {
		t.Fatalf("second vote: status %s, resumed %+v", second.Status, calls)
	}
	decided := []struct {
		who  egress.Identity
		want []string
	}{
		{secondIG, []string{"Ida IG/REJECTED", "Ivo IG/APPROVED"}},
		{ritReviewer, []string{"Ida IG/REJECTED", "Ivo IG/APPROVED"}},
		// A researcher sees the stage instead of who voted.
		{owner, []string{"IG/REJECTED", "IG/APPROVED"}},
	}
	for _, tt := range decided {
		if got := voters(tt.who); !slices.Equal(got, tt.want) {
			t.Errorf("once decided, %s sees %v, want %v", tt.who.Email, got, tt.want)
		}
	}
	rs, err := e.svc.Reviews(ctx, owner, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rs {
		if v.Email != "IG" || v.Subject != "" {
			t.Errorf("a researcher sees reviewer %q %q", v.Email, v.Subject)
		}
	}
	if _, err := e.svc.Reviews(ctx, sameEmail, r.ID); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Errorf("another researcher's reviews: %v, want NotFoundError", err)
	}
}

// TestCancel: who may cancel a request awaiting a decision, and what the
// workflow is told.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-cancel-%d", idSeq.Add(1))
	// A reviewer (no admin) with the owner's e-mail: e-mail never makes a
	// requester.
	ownerEmailReviewer := egress.Identity{Subject: "sub-oe", Email: "owner@example.org", Groups: []string{egress.GroupIG}}
	tests := []struct {
		name     string
		fixture  string
		who      egress.Identity
		reason   string
		wantCode string
		wantMsg  string
		stage    int
	}{
		{"the requester at IG", "PROCESSING", owner, "wrong files", "", "", 0},
		{"the requester at RIT", "IGAPPROVED", owner, "wrong files", "", "", 1},
		{"a TRE admin", "PROCESSING", ritReviewer, "duplicate", "", "", 0},
		{"another researcher with the same e-mail", "PROCESSING", sameEmail, "x", egress.ENOTFOUND, "not found", 0},
		{"a researcher without an SWB user id", "PROCESSING", unmapped, "x", egress.EFORBIDDEN, "not mapped to an SWB user", 0},
		{"a reviewer who is no admin", "PROCESSING", igReviewer, "x", egress.EFORBIDDEN, "only the requester or a TRE admin", 0},
		{"a reviewer with the requester's e-mail", "PROCESSING", ownerEmailReviewer, "x", egress.EFORBIDDEN, "only the requester or a TRE admin", 0},
		{"no group", "PROCESSING", noGroup, "x", egress.EFORBIDDEN, "only members of", 0},
		{"no reason", "PROCESSING", owner, " ", egress.EINVALID, "a reason is required to cancel", 0},
		{"released", "RITAPPROVED", ritReviewer, "x", egress.ECONFLICT, "is released (RITAPPROVED)", 0},
		{"released, single approval", "IGAPPROVED single approval, released", owner, "x", egress.ECONFLICT, "is released (IGAPPROVED)", 0},
		{"rejected", "REJECTED", owner, "x", egress.ECONFLICT, "nothing to cancel", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.seedOwned(t, fixtureNamed(t, tt.fixture), owner.UserID, ws)
			got, err := e.svc.Cancel(ctx, tt.who, r.ID, tt.reason)
			stored, gerr := e.table.Get(ctx, r.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.wantCode != "" {
				if egress.ErrorCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %s containing %q", err, tt.wantCode, tt.wantMsg)
				}
				if stored.Status != r.Status || len(e.wf.calls(r.TaskToken)) != 0 {
					t.Fatalf("a refused cancel stored %s or resumed the workflow", stored.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			calls := e.wf.calls(r.TaskToken)
			if want := (statemachine.DecisionOutput{Decision: egress.Cancelled, Stage: tt.stage}); len(calls) != 1 || calls[0] != want {
				t.Fatalf("resumed %+v, want once with %+v", calls, want)
			}
			if got.Status != egress.StatusCancelled || stored.Status != egress.StatusCancelled || stored.EndedBy != tt.who.Email || stored.ResumeToken != "" || stored.TaskToken != "" {
				t.Fatalf("stored %s ended by %q, tokens kept %v", stored.Status, stored.EndedBy, stored.ResumeToken != "" || stored.TaskToken != "")
			}
			// A researcher's answer carries no token.
			if tt.who.UserID != "" && (got.TaskToken != "" || got.ResumeToken != "") {
				t.Fatal("the requester's answer shows a token")
			}
		})
	}
}

// TestCancelResent: a cancellation the workflow did not get is sent again
// when the same person cancels again, and only then.
func TestCancelResent(t *testing.T) {
	ctx := context.Background()
	e := researcherEnv(t)
	r := e.seedOwned(t, fixtureNamed(t, "PROCESSING"), owner.UserID, fmt.Sprintf("ws-resend-%d", idSeq.Add(1)))
	e.wf.mu.Lock()
	e.wf.fail = errors.New("dial tcp: i/o timeout")
	e.wf.mu.Unlock()
	if _, err := e.svc.Cancel(ctx, owner, r.ID, "wrong files"); egress.ErrorCode(err) != egress.EINTERNAL {
		t.Fatalf("undelivered cancel: %v", err)
	}
	stored, err := e.table.Get(ctx, r.ID)
	if err != nil || stored.Status != egress.StatusCancelled || stored.ResumeToken != r.TaskToken {
		t.Fatalf("stored %s, token kept %v (%v)", stored.Status, stored.ResumeToken == r.TaskToken, err)
	}
	e.wf.mu.Lock()
	e.wf.fail = nil
	e.wf.mu.Unlock()
	// Someone else's cancel is no resend: the request awaits nothing.
	if _, err := e.svc.Cancel(ctx, ritReviewer, r.ID, "me too"); egress.ErrorCode(err) != egress.ECONFLICT || len(e.wf.calls(r.TaskToken)) != 0 {
		t.Fatalf("another's cancel of a cancelled request: %v, resumed %v", err, e.wf.calls(r.TaskToken))
	}
	got, err := e.svc.Cancel(ctx, owner, r.ID, "wrong files")
	if err != nil || got.Status != egress.StatusCancelled || got.ResumeToken != "" {
		t.Fatalf("resend: %v, %+v", err, got)
	}
	if calls := e.wf.calls(r.TaskToken); len(calls) != 1 || calls[0].Decision != egress.Cancelled {
		t.Fatalf("resumed %+v, want one CANCELLED", calls)
	}
	if stored, _ = e.table.Get(ctx, r.ID); stored.ResumeToken != "" || stored.FailureCause != "" {
		t.Fatalf("after the resend: token kept %v, cause %q", stored.ResumeToken != "", stored.FailureCause)
	}
}

// TestChanges: what changed since the previous attempt, paged, with
// counts over every change.
func TestChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	manifest := func(r egress.Request, files ...egress.File) {
		t.Helper()
		if err := e.objects.WriteManifest(ctx, e.staging, r.StagingObjectMetadataVersion, egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: files}); err != nil {
			t.Fatal(err)
		}
	}
	f := func(p, sum string) egress.File { return egress.File{Path: p, SHA256: sum} }
	prev := e.seed(t, fixture{"RETURNED", func(e *env, r *egress.Request) { r.Status, r.TaskToken = egress.StatusReturned, "" }})
	manifest(prev, f("a", "1"), f("b", "2"), f("c", "3"), f("d", "4"))
	r := e.seed(t, fixture{"resubmitted", func(e *env, r *egress.Request) { r.PreviousRequestID = prev.ID }})
	manifest(r, f("a", "1"), f("b", "22"), f("d", "44"), f("e", "5"), f("f", "6"))

	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		p, err := e.svc.Changes(ctx, igReviewer, r, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		if p.Added != 2 || p.Removed != 1 || p.Changed != 2 || len(p.Changes) > 2 {
			t.Fatalf("page %d: %+v", pages, p)
		}
		for _, c := range p.Changes {
			got = append(got, c.Path+":"+c.Change)
		}
		if token = p.NextToken; token == "" {
			break
		}
	}
	if want := []string{"b:CHANGED", "c:REMOVED", "d:CHANGED", "e:ADDED", "f:ADDED"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}

	first := e.seed(t, staged)
	other := e.seed(t, fixture{"resubmitted too", func(e *env, r *egress.Request) { r.PreviousRequestID = prev.ID }})
	manifest(other, f("a", "1"), f("z", "9"))
	tests := []struct {
		name     string
		who      egress.Identity
		r        egress.Request
		token    string
		wantCode string
	}{
		{"no previous request", igReviewer, first, "", ""},
		{"a token of another request", igReviewer, other, mustToken(t, e, r), egress.EINVALID},
		{"a bad token", igReviewer, r, "!!", egress.EINVALID},
		{"no group", noGroup, r, "", egress.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.svc.Changes(ctx, tt.who, tt.r, 0, tt.token)
			if egress.ErrorCode(err) != tt.wantCode {
				t.Fatalf("err = %v, want %q", err, tt.wantCode)
			}
			if tt.wantCode == "" && (p.Changes == nil || len(p.Changes) != 0 || p.NextToken != "" || p.Added+p.Removed+p.Changed != 0) {
				t.Fatalf("page %+v, want empty", p)
			}
		})
	}
}

// mustToken is the next token of r's first page of one change.
func mustToken(t *testing.T, e *env, r egress.Request) string {
	t.Helper()
	p, err := e.svc.Changes(context.Background(), igReviewer, r, 1, "")
	if err != nil || p.NextToken == "" {
		t.Fatalf("no next token: %v", err)
	}
	return p.NextToken
}
