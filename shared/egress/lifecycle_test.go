package egress_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// A three-stage chain whose middle stage is blinded (two reviewers).
const groupPanel = "Panel"

var (
	panel1 = egress.Identity{Subject: "sub-p1", Email: "p1@example.org", Name: "Pat", Groups: []string{groupPanel}}
	panel2 = egress.Identity{Subject: "sub-p2", Email: "p2@example.org", Name: "Pam", Groups: []string{groupPanel}}
	panel3 = egress.Identity{Subject: "sub-p3", Email: "p3@example.org", Name: "Pip", Groups: []string{groupPanel}}
	// allGroups sits in every group: only separation of duties stops them.
	allGroups = egress.Identity{Subject: "sub-all", Email: "all@example.org", Groups: []string{egress.GroupIG, groupPanel, egress.GroupRIT}}
)

func threeStages(t *testing.T) egress.Chain {
	t.Helper()
	c, err := egress.NewChainFromSpecs([]egress.StageSpec{
		{Name: "IG", Group: egress.GroupIG},
		{Name: "Panel", Group: groupPanel, Reviewers: 2},
		{Name: "RIT", Group: egress.GroupRIT},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// vote casts who's ballot on r and fails the test on an error. When the
// vote moves r to the next stage, it plays the workflow: the decision is
// acknowledged and the next stage's task token stored.
func vote(t *testing.T, c egress.Chain, r egress.Request, who egress.Identity, b egress.Ballot) egress.Request {
	t.Helper()
	next, _, decided, err := c.Vote(r, who, b, now)
	if err != nil {
		t.Fatalf("%s votes %s: %v", who.Email, b.Decision, err)
	}
	if decided && c.StageAwaiting(next.Status) >= 0 {
		next.ResumeToken, next.TaskToken = "", "secret-token-"+string(next.Status)
	}
	return next
}

var approve = egress.Ballot{Decision: egress.Approved}

func rejectFile(path string) egress.FileDecision {
	return egress.FileDecision{Path: path, Decision: egress.Rejected, Comment: "identifiable: " + path}
}

// TestVote: outcomes of a stage's votes, per-file decisions, separation of
// duties and what is refused, on a three-stage chain with a blinded stage.
func TestVote(t *testing.T) {
	c := threeStages(t)
	start := func() egress.Request { r := newRequest(); r.FileCount = 3; return r }
	atPanel := func() egress.Request { return vote(t, c, start(), ig1, approve) }
	panelVoted := func(b egress.Ballot) func() egress.Request {
		return func() egress.Request { return vote(t, c, atPanel(), panel1, b) }
	}
	atRIT := func() egress.Request { return vote(t, c, panelVoted(approve)(), panel2, approve) }
	big := strings.Repeat("x", egress.MaxCommentLength)

	tests := []struct {
		name        string
		req         func() egress.Request
		who         egress.Identity
		ballot      egress.Ballot
		want        egress.Status // "" when refused
		wantDecided bool
		wantCode    string
		wantMsg     string
	}{
		{"IG approves: the panel stage awaits", start, ig1, approve, egress.StatusIGApproved, true, "", ""},
		{"first panel vote decides nothing", atPanel, panel1, approve, egress.StatusIGApproved, false, "", ""},
		{"first panel vote to reject decides nothing either", atPanel, panel1, egress.Ballot{Decision: egress.Rejected, Reason: "no"}, egress.StatusIGApproved, false, "", ""},
		{"two approvals pass the panel", panelVoted(approve), panel2, approve, "STAGE2APPROVED", true, "", ""},
		{"approve then reject rejects", panelVoted(approve), panel2, egress.Ballot{Decision: egress.Rejected, Reason: "no"}, egress.StatusRejected, true, "", ""},
		{"reject then approve rejects", panelVoted(egress.Ballot{Decision: egress.Rejected, Reason: "no"}), panel2, approve, egress.StatusRejected, true, "", ""},
		{"return then approve returns", panelVoted(egress.Ballot{Decision: egress.Returned, Reason: "fix"}), panel2, approve, egress.StatusReturned, true, "", ""},
		{"return then reject rejects", panelVoted(egress.Ballot{Decision: egress.Returned, Reason: "fix"}), panel2, egress.Ballot{Decision: egress.Rejected, Reason: "no"}, egress.StatusRejected, true, "", ""},
		{"the last stage approves", atRIT, rit1, approve, egress.StatusRITApproved, true, "", ""},
		{"RIT returns", atRIT, rit1, egress.Ballot{Decision: egress.Returned, Reason: "drop column 3"}, egress.StatusReturned, true, "", ""},
		{"some files rejected still approves", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv"), rejectFile("b.csv")}}, egress.StatusIGApproved, true, "", ""},
		{"every file rejected rejects", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv"), rejectFile("b.csv"), rejectFile("c.csv")}}, egress.StatusRejected, true, "", ""},
		{"files rejected across stages add up", func() egress.Request {
			return vote(t, c, start(), ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv")}})
		}, panel1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("b.csv")}}, egress.StatusIGApproved, false, "", ""},
		{"the panel's first vote counts towards every file rejected", func() egress.Request {
			r := vote(t, c, start(), ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv")}})
			return vote(t, c, r, panel1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("b.csv")}})
		}, panel2, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("c.csv")}}, egress.StatusRejected, true, "", ""},
		{"a file approved after another stage rejected it stays out", func() egress.Request {
			return vote(t, c, start(), ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv"), rejectFile("b.csv")}})
		}, panel1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Path: "a.csv", Decision: egress.Approved}}}, egress.StatusIGApproved, false, "", ""},
		{"every file rejected on a return stays returned", start, ig1, egress.Ballot{Decision: egress.Returned, Reason: "fix", Files: []egress.FileDecision{rejectFile("a.csv"), rejectFile("b.csv"), rejectFile("c.csv")}}, egress.StatusReturned, true, "", ""},
		{"without a file count no file rule", func() egress.Request { return newRequest() }, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv")}}, egress.StatusIGApproved, true, "", ""},

		// Refusals.
		{"return needs a reason", start, ig1, egress.Ballot{Decision: egress.Returned, Reason: " \n"}, "", false, egress.EINVALID, "reason is required to return a request for changes"},
		{"reject needs a reason", start, ig1, egress.Ballot{Decision: egress.Rejected}, "", false, egress.EINVALID, "reason is required to reject"},
		{"CANCELLED is no vote", start, ig1, egress.Ballot{Decision: egress.Cancelled, Reason: "x"}, "", false, egress.EINVALID, "APPROVED, REJECTED or RETURNED"},
		{"the same reviewer twice on a blinded stage", panelVoted(approve), panel1, approve, "", false, egress.EFORBIDDEN, "already voted at the Panel stage"},
		{"the same reviewer by e-mail, another subject", panelVoted(approve), egress.Identity{Subject: "sub-new", Email: "P1@Example.org", Groups: []string{groupPanel}}, approve, "", false, egress.EFORBIDDEN, "already voted at the Panel stage"},
		{"the same subject, another e-mail", panelVoted(approve), egress.Identity{Subject: "sub-p1", Email: "pat@home.example", Groups: []string{groupPanel}}, approve, "", false, egress.EFORBIDDEN, "already voted"},
		{"an earlier stage's reviewer on a later stage", func() egress.Request { return vote(t, c, start(), allGroups, approve) }, allGroups, approve, "", false, egress.EFORBIDDEN, "already voted at the IG stage"},
		{"the panel's voter on the last stage", func() egress.Request {
			r := vote(t, c, atPanel(), allGroups, approve)
			return vote(t, c, r, panel2, approve)
		}, allGroups, approve, "", false, egress.EFORBIDDEN, "already voted at the Panel stage"},
		{"not in the stage's group", atPanel, rit1, approve, "", false, egress.EFORBIDDEN, "group Panel"},
		{"file path required", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Decision: egress.Approved}}}, "", false, egress.EINVALID, "files[0]: path is required"},
		{"file decided twice", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv"), {Path: "a.csv", Decision: egress.Approved}}}, "", false, egress.EINVALID, `files[1]: "a.csv" is decided twice`},
		{"file returned", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Path: "a.csv", Decision: egress.Returned, Comment: "x"}}}, "", false, egress.EINVALID, `files[0] "a.csv": decision must be APPROVED or REJECTED, got "RETURNED"`},
		{"file rejected without a comment", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Path: "a.csv", Decision: egress.Rejected, Comment: "  "}}}, "", false, egress.EINVALID, `files[0] "a.csv": a comment is required to reject a file`},
		{"longest comment", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Path: "a.csv", Decision: egress.Rejected, Comment: strings.Repeat("é", egress.MaxCommentLength)}}}, egress.StatusIGApproved, true, "", ""},
		{"comment too long", start, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{{Path: "a.csv", Decision: egress.Rejected, Comment: big + "é"}}}, "", false, egress.EINVALID, `files[0] "a.csv": comment has 1001 characters, at most 1000`},
		{"file decisions over the request's bytes", func() egress.Request { return newRequest() }, ig1, egress.Ballot{Decision: egress.Approved, Files: manyFiles(egress.MaxFileDecisionBytes/(len(big)+60)+1, big)}, "", false, egress.ELIMIT, "reject or return the request as a whole"},
		{"earlier votes' file decisions count towards the bytes", func() egress.Request {
			return vote(t, c, newRequest(), ig1, egress.Ballot{Decision: egress.Approved, Files: manyFiles(egress.MaxFileDecisionBytes/(len(big)+60)-1, big)})
		}, panel1, egress.Ballot{Decision: egress.Approved, Files: manyFiles(3, big)}, "", false, egress.ELIMIT, "per-file decisions of this request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.req()
			before := slices.Clone(in.Reviews)
			got, ev, decided, err := c.Vote(in, tt.who, tt.ballot, now)
			if !reflect.DeepEqual(in.Reviews, before) {
				t.Fatal("Vote modified its input's reviews")
			}
			if tt.wantCode != "" {
				if egress.ErrorCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %s containing %q", err, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want || decided != tt.wantDecided {
				t.Fatalf("status %s decided %v, want %s %v", got.Status, decided, tt.want, tt.wantDecided)
			}
			last := got.Reviews[len(got.Reviews)-1]
			if len(got.Reviews) != len(in.Reviews)+1 || last.Email != tt.who.Email || last.StageIndex != c.StageAwaiting(in.Status) || last.Stage != c.Stages[last.StageIndex].Name {
				t.Fatalf("recorded vote %+v", last)
			}
			if decided {
				if ev.Kind != egress.EventDecision || ev.To != tt.want || got.TaskToken != "" || got.ResumeToken != in.TaskToken || got.CurrentReviewerGroup != "" {
					t.Fatalf("decision: event %+v, task token %q, resume token %q", ev, got.TaskToken, got.ResumeToken)
				}
				return
			}
			// A vote that decides nothing keeps the stage waiting and its
			// event does not say how the vote went.
			if ev.Kind != egress.EventVote || ev.From != ev.To || got.TaskToken != in.TaskToken || got.ResumeToken != "" ||
				strings.Contains(ev.Reason, string(tt.ballot.Decision)) || ev.Reason != "vote 1 of 2" {
				t.Fatalf("vote: event %+v, task token %q", ev, got.TaskToken)
			}
		})
	}
}

func manyFiles(n int, comment string) []egress.FileDecision {
	out := make([]egress.FileDecision, n)
	for i := range out {
		out[i] = egress.FileDecision{Path: fmt.Sprintf("f%07d.csv", i), Decision: egress.Rejected, Comment: comment}
	}
	return out
}

// TestVoteAllVotesIn: a stage whose votes are all in (its token not yet
// replaced by the next stage's) takes no more.
func TestVoteAllVotesIn(t *testing.T) {
	c := threeStages(t)
	r := vote(t, c, newRequest(), ig1, approve)
	r = vote(t, c, r, panel1, approve)
	r.Reviews = append(r.Reviews, egress.Review{StageIndex: 1, Stage: "Panel", Subject: "sub-p2", Email: "p2@example.org", Decision: egress.Approved})
	_, _, _, err := c.Vote(r, panel3, approve, now)
	if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "has all 2 votes of the Panel stage") {
		t.Fatalf("err = %v", err)
	}
}

// TestVoteOutcomeReasons: the decision event carries the deciding votes'
// reasons, and an every-file rejection says so.
func TestVoteOutcomeReasons(t *testing.T) {
	c := threeStages(t)
	r := vote(t, c, newRequest(), ig1, approve)
	r = vote(t, c, r, panel1, egress.Ballot{Decision: egress.Returned, Reason: "fix the header"})
	_, ev, _, err := c.Vote(r, panel2, egress.Ballot{Decision: egress.Approved, Reason: "fine by me"}, now)
	if err != nil || ev.Reason != "fix the header" || ev.To != egress.StatusReturned {
		t.Fatalf("event %+v err %v", ev, err)
	}
	r = newRequest()
	r.FileCount = 1
	_, ev, _, err = c.Vote(r, ig1, egress.Ballot{Decision: egress.Approved, Files: []egress.FileDecision{rejectFile("a.csv")}}, now)
	if err != nil || ev.Reason != "every file was rejected" || ev.To != egress.StatusRejected {
		t.Fatalf("event %+v err %v", ev, err)
	}
}

// TestDecideIsAVoteWithoutFiles: Decide is Vote with no per-file
// decisions.
func TestDecideIsAVoteWithoutFiles(t *testing.T) {
	c := threeStages(t)
	want, wantEv, _, err := c.Vote(newRequest(), ig1, egress.Ballot{Decision: egress.Returned, Reason: "why"}, now)
	if err != nil {
		t.Fatal(err)
	}
	got, ev, err := c.Decide(newRequest(), ig1, egress.Returned, "why", now)
	if err != nil || !reflect.DeepEqual(got, want) || ev != wantEv {
		t.Fatalf("Decide = %+v %+v %v, want %+v %+v", got, ev, err, want, wantEv)
	}
}

// TestCancel: who may cancel what, and what a cancellation stores.
func TestCancel(t *testing.T) {
	two, one := egress.DefaultChain(false), egress.DefaultChain(true)
	theRequester := egress.Identity{Subject: "sub-req", UserID: "u-2Zk8q1", Email: "researcher@example.org"}
	admin := egress.Identity{Subject: "sub-admin", Email: "admin@example.org", Groups: []string{egress.GroupRIT}}
	withStatus := func(s egress.Status, edit func(*egress.Request)) func() egress.Request {
		return func() egress.Request {
			r := newRequest()
			r.Status = s
			if edit != nil {
				edit(&r)
			}
			return r
		}
	}
	released := func(r *egress.Request) { r.ZipKey, r.TaskToken = "approved_egress/ws/req/egress_data.zip", "" }
	tests := []struct {
		name     string
		chain    egress.Chain
		req      func() egress.Request
		who      egress.Identity
		admin    bool
		reason   string
		wantCode string
		wantMsg  string
	}{
		{"requester by SWB user id", two, withStatus(egress.StatusProcessing, nil), theRequester, false, "wrong files", "", ""},
		{"requester at the second stage", two, withStatus(egress.StatusIGApproved, nil), theRequester, false, "wrong files", "", ""},
		{"admin", two, withStatus(egress.StatusProcessing, nil), admin, true, "duplicate", "", ""},
		{"requester by e-mail only", two, withStatus(egress.StatusProcessing, nil), egress.Identity{Subject: "sub-req", Email: "researcher@example.org"}, false, "x", egress.EFORBIDDEN, "only the requester or a TRE admin"},
		{"subject equal to the user id", two, withStatus(egress.StatusProcessing, nil), egress.Identity{Subject: "u-2Zk8q1", Email: "x@example.org"}, false, "x", egress.EFORBIDDEN, "only the requester or a TRE admin"},
		{"another user id", two, withStatus(egress.StatusProcessing, nil), egress.Identity{UserID: "u-other", Email: "researcher@example.org"}, false, "x", egress.EFORBIDDEN, "only the requester"},
		{"no user id on either side", two, withStatus(egress.StatusProcessing, func(r *egress.Request) { r.RequestedBy = "" }), egress.Identity{Email: "researcher@example.org"}, false, "x", egress.EFORBIDDEN, "only the requester"},
		{"a reviewer who is no admin", two, withStatus(egress.StatusProcessing, nil), ig1, false, "x", egress.EFORBIDDEN, "only the requester"},
		{"reason required", two, withStatus(egress.StatusProcessing, nil), theRequester, false, " \t", egress.EINVALID, "a reason is required to cancel"},
		{"reason too long", two, withStatus(egress.StatusProcessing, nil), theRequester, false, strings.Repeat("é", egress.MaxReasonLength+1), egress.EINVALID, "at most 4000"},
		{"released two-stage", two, withStatus(egress.StatusRITApproved, released), admin, true, "x", egress.ECONFLICT, "is released (RITAPPROVED) and can no longer be cancelled"},
		{"approved, release under way", two, withStatus(egress.StatusRITApproved, func(r *egress.Request) { r.TaskToken = "" }), theRequester, false, "x", egress.ECONFLICT, "is released"},
		{"released one-stage", one, withStatus(egress.StatusIGApproved, released), theRequester, false, "x", egress.ECONFLICT, "is released (IGAPPROVED)"},
		{"one-stage final, release under way", one, withStatus(egress.StatusIGApproved, func(r *egress.Request) { r.TaskToken = "" }), admin, true, "x", egress.ECONFLICT, "is released"},
		{"rejected", two, withStatus(egress.StatusRejected, func(r *egress.Request) { r.TaskToken = "" }), admin, true, "x", egress.ECONFLICT, "awaits no decision, so there is nothing to cancel"},
		{"already cancelled", two, withStatus(egress.StatusCancelled, func(r *egress.Request) { r.TaskToken = "" }), theRequester, false, "x", egress.ECONFLICT, "nothing to cancel"},
		{"returned", two, withStatus(egress.StatusReturned, func(r *egress.Request) { r.TaskToken = "" }), theRequester, false, "x", egress.ECONFLICT, "nothing to cancel"},
		{"being staged: no task token", two, withStatus(egress.StatusProcessing, func(r *egress.Request) { r.TaskToken = "" }), theRequester, false, "x", egress.ECONFLICT, "being staged or between stages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.req()
			got, ev, err := tt.chain.Cancel(in, tt.who, tt.admin, tt.reason, now)
			if tt.wantCode != "" {
				if egress.ErrorCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %s containing %q", err, tt.wantCode, tt.wantMsg)
				}
				if strings.Contains(err.Error(), "secret-token") {
					t.Fatal("error leaks the task token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stage := tt.chain.Stages[tt.chain.StageAwaiting(in.Status)].Name
			if got.Status != egress.StatusCancelled || got.TaskToken != "" || got.ResumeToken != in.TaskToken || got.CurrentReviewerGroup != "" ||
				got.EndedBy != tt.who.Email || got.EndReason != strings.TrimSpace(tt.reason) || !got.UpdatedAt.Equal(now) {
				t.Fatalf("cancelled request %+v", got)
			}
			if ev.Kind != egress.EventCancelled || ev.From != in.Status || ev.To != egress.StatusCancelled || ev.Stage != stage || ev.Actor != tt.who.Email {
				t.Fatalf("event %+v", ev)
			}
			if in.Status == egress.StatusCancelled || in.TaskToken == "" {
				t.Fatal("Cancel modified its input")
			}
			if egress.Outcome(got) != egress.Cancelled {
				t.Fatalf("Outcome = %s", egress.Outcome(got))
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	for s, want := range map[egress.Status]egress.Decision{
		egress.StatusRejected: egress.Rejected, egress.StatusReturned: egress.Returned, egress.StatusCancelled: egress.Cancelled,
		egress.StatusIGApproved: egress.Approved, "STAGE2APPROVED": egress.Approved, egress.StatusRITApproved: egress.Approved,
	} {
		if got := egress.Outcome(egress.Request{Status: s}); got != want {
			t.Errorf("Outcome(%s) = %s, want %s", s, got, want)
		}
	}
}

// TestNewChainFromSpecs: statuses of chains of every length, and what is
// refused.
func TestNewChainFromSpecs(t *testing.T) {
	specs := func(n int) []egress.StageSpec {
		out := make([]egress.StageSpec, n)
		for i := range out {
			out[i] = egress.StageSpec{Name: fmt.Sprintf("S%d", i), Group: fmt.Sprintf("G%d", i)}
		}
		return out
	}
	tests := []struct {
		name     string
		specs    []egress.StageSpec
		awaiting []egress.Status
		approved []egress.Status
		wantErr  string
	}{
		{"one stage ends IGAPPROVED", specs(1), []egress.Status{"PROCESSING"}, []egress.Status{"IGAPPROVED"}, ""},
		{"two stages", specs(2), []egress.Status{"PROCESSING", "IGAPPROVED"}, []egress.Status{"IGAPPROVED", "RITAPPROVED"}, ""},
		{"three stages", specs(3), []egress.Status{"PROCESSING", "IGAPPROVED", "STAGE2APPROVED"}, []egress.Status{"IGAPPROVED", "STAGE2APPROVED", "RITAPPROVED"}, ""},
		{"five stages", specs(5), []egress.Status{"PROCESSING", "IGAPPROVED", "STAGE2APPROVED", "STAGE3APPROVED", "STAGE4APPROVED"},
			[]egress.Status{"IGAPPROVED", "STAGE2APPROVED", "STAGE3APPROVED", "STAGE4APPROVED", "RITAPPROVED"}, ""},
		{"none", nil, nil, nil, "approval_stages: want 1 to 5 stages, got 0"},
		{"six", specs(6), nil, nil, "approval_stages: want 1 to 5 stages, got 6"},
		{"empty name", []egress.StageSpec{{Name: " ", Group: "G"}}, nil, nil, "approval_stages[0]: empty name"},
		{"empty group", []egress.StageSpec{{Name: "A", Group: "G"}, {Name: "B", Group: "\t"}}, nil, nil, "approval_stages[1]: empty group name"},
		{"name twice", []egress.StageSpec{{Name: "A", Group: "G"}, {Name: " A", Group: "H"}}, nil, nil, `approval_stages[1]: stage name "A" appears twice`},
		{"group twice", []egress.StageSpec{{Name: "A", Group: "G"}, {Name: "B", Group: "G "}}, nil, nil, `approval_stages[1]: group "G" appears twice`},
		{"three reviewers", []egress.StageSpec{{Name: "A", Group: "G", Reviewers: 3}}, nil, nil, "approval_stages[0]: reviewers must be 1 or 2, got 3"},
		{"negative reviewers", []egress.StageSpec{{Name: "A", Group: "G", Reviewers: -1}}, nil, nil, "reviewers must be 1 or 2, got -1"},
		{"negative reminders", []egress.StageSpec{{Name: "A", Group: "G", MaxReminders: -1}}, nil, nil, "approval_stages[0]: reminder_after_hours and max_reminders cannot be negative"},
		{"negative reminder hours", []egress.StageSpec{{Name: "A", Group: "G", ReminderAfterHours: -2}}, nil, nil, "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := egress.NewChainFromSpecs(tt.specs)
			if tt.wantErr != "" {
				if egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a ValidationError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range c.Stages {
				if st.AwaitingStatus != tt.awaiting[i] || st.ApprovedStatus != tt.approved[i] || st.Reviewers != 1 {
					t.Errorf("stage %d: awaiting %s approved %s reviewers %d", i, st.AwaitingStatus, st.ApprovedStatus, st.Reviewers)
				}
				if !st.AwaitingStatus.Valid() || !st.ApprovedStatus.Valid() {
					t.Errorf("stage %d has a status the state machine does not know", i)
				}
				// Each stage's approval is a legal move, and the last one's
				// is final.
				if err := egress.CheckTransition(st.AwaitingStatus, st.ApprovedStatus); err != nil {
					t.Errorf("stage %d: %v", i, err)
				}
				if c.Final(st.ApprovedStatus) != (i == len(c.Stages)-1) {
					t.Errorf("stage %d: Final(%s) = %v", i, st.ApprovedStatus, c.Final(st.ApprovedStatus))
				}
			}
		})
	}
}

// TestSpecsRoundTrip: a chain stored on a request (Specs) builds the same
// chain again.
func TestSpecsRoundTrip(t *testing.T) {
	in := []egress.StageSpec{
		{Name: "IG", Group: egress.GroupIG, Reviewers: 1, ReminderAfterHours: 24, MaxReminders: 3},
		{Name: "Panel", Group: groupPanel, Reviewers: 2},
		{Name: "RIT", Group: egress.GroupRIT, Reviewers: 1, ReminderAfterHours: 48},
	}
	c, err := egress.NewChainFromSpecs(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Specs(); !reflect.DeepEqual(got, in) {
		t.Fatalf("Specs = %+v, want %+v", got, in)
	}
	again, err := egress.NewChainFromSpecs(c.Specs())
	if err != nil || !reflect.DeepEqual(again, c) {
		t.Fatalf("rebuilt %v (%v), want %v", again, err, c)
	}
	if c.Stages[0].ReminderAfter != 24*time.Hour || c.Stages[1].Reviewers != 2 {
		t.Fatalf("stages %+v", c.Stages)
	}
	// A spec's zero reviewers means one, and reads back as one.
	one, _ := egress.NewChainFromSpecs([]egress.StageSpec{{Name: "A", Group: "G"}})
	if got := one.Specs()[0].Reviewers; got != 1 {
		t.Fatalf("reviewers %d, want 1", got)
	}
}

// TestChainForStoredStages: a request's own chain wins over the
// configured groups and its single-approval flag.
func TestChainForStoredStages(t *testing.T) {
	stored := []egress.StageSpec{{Name: "DM", Group: "DataManager"}, {Name: "Panel", Group: groupPanel, Reviewers: 2}, {Name: "RIT", Group: egress.GroupRIT}}
	c, err := egress.ChainFor([]string{"Other"}, egress.Request{Stages: stored, SingleApproval: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); got != "DM(DataManager) -> Panel(Panel) -> RIT(TREAdmin)" {
		t.Fatalf("chain %s", got)
	}
	if _, err := egress.ChainFor(nil, egress.Request{Stages: []egress.StageSpec{{Name: "A"}}}); egress.ErrorCode(err) != egress.EINVALID {
		t.Fatalf("a broken stored chain: %v", err)
	}
	legacy, err := egress.ChainFor([]string{"DataManager"}, egress.Request{})
	if err != nil || legacy.String() != "IG(DataManager)" {
		t.Fatalf("legacy chain %v %v", legacy, err)
	}
}

// TestRequestVotes: LeftOut, Votes, Review(i) and StageDecided.
func TestRequestVotes(t *testing.T) {
	r := egress.Request{Status: "STAGE2APPROVED", Reviews: []egress.Review{
		{StageIndex: 0, Stage: "IG", Email: "ig@x", Files: []egress.FileDecision{
			{Path: "b.csv", Decision: egress.Rejected, Comment: "IG on b"},
			{Path: "a.csv", Decision: egress.Approved},
		}},
		{StageIndex: 1, Stage: "Panel", Email: "p1@x", Files: []egress.FileDecision{
			{Path: "a.csv", Decision: egress.Rejected, Comment: "panel on a"},
			{Path: "b.csv", Decision: egress.Rejected, Comment: "panel on b"},
		}},
		{StageIndex: 1, Stage: "Panel", Email: "p2@x", Files: []egress.FileDecision{
			{Path: "c.csv", Decision: egress.Rejected, Comment: "second panel vote on c"},
		}},
	}}
	want := []egress.LeftOut{
		{Path: "b.csv", Stage: "IG", Comment: "IG on b"},
		{Path: "a.csv", Stage: "Panel", Comment: "panel on a"},
		{Path: "c.csv", Stage: "Panel", Comment: "second panel vote on c"},
	}
	if got := r.LeftOut(); !reflect.DeepEqual(got, want) {
		t.Fatalf("LeftOut = %+v, want %+v", got, want)
	}
	if got := (&egress.Request{}).LeftOut(); len(got) != 0 {
		t.Fatalf("LeftOut of no votes = %+v", got)
	}
	tests := []struct {
		stage     int
		votes     []string // voters' e-mails
		first     string
		decided   bool
		hasReview bool
	}{
		{0, []string{"ig@x"}, "ig@x", true, true},
		{1, []string{"p1@x", "p2@x"}, "p1@x", true, true},
		{2, nil, "", false, false}, // STAGE2APPROVED awaits stage 2
		{3, nil, "", true, false},
	}
	for _, tt := range tests {
		var got []string
		for _, v := range r.Votes(tt.stage) {
			got = append(got, v.Email)
		}
		if !slices.Equal(got, tt.votes) {
			t.Errorf("Votes(%d) = %v, want %v", tt.stage, got, tt.votes)
		}
		rv, ok := r.Review(tt.stage)
		if ok != tt.hasReview || rv.Email != tt.first {
			t.Errorf("Review(%d) = %+v %v", tt.stage, rv, ok)
		}
		if r.StageDecided(tt.stage) != tt.decided {
			t.Errorf("StageDecided(%d) = %v", tt.stage, !tt.decided)
		}
	}
}

// TestReviewsFor: a blinded stage's first vote is its voter's alone until
// the stage is decided.
func TestReviewsFor(t *testing.T) {
	c := threeStages(t)
	atPanel := vote(t, c, newRequest(), ig1, approve)
	oneIn := vote(t, c, atPanel, panel1, egress.Ballot{Decision: egress.Rejected, Reason: "no"})
	bothIn := vote(t, c, oneIn, panel2, approve)
	cancelled, _, err := c.Cancel(oneIn, egress.Identity{UserID: oneIn.RequestedBy, Email: "researcher@example.org"}, false, "withdrawn", now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		r      egress.Request
		viewer egress.Identity
		want   []string // voters' e-mails
	}{
		{"another panel member sees the IG vote only", oneIn, panel2, []string{"ig1@example.org"}},
		{"the IG reviewer does not see the panel's first vote", oneIn, ig1, []string{"ig1@example.org"}},
		{"the voter sees their vote by subject", oneIn, egress.Identity{Subject: "sub-p1", Email: "elsewhere@example.org"}, []string{"ig1@example.org", "p1@example.org"}},
		{"the voter sees their vote by e-mail", oneIn, egress.Identity{Email: "P1@EXAMPLE.ORG"}, []string{"ig1@example.org", "p1@example.org"}},
		{"no identity sees nothing hidden", oneIn, egress.Identity{}, []string{"ig1@example.org"}},
		{"once decided, everyone sees both", bothIn, panel3, []string{"ig1@example.org", "p1@example.org", "p2@example.org"}},
		{"once cancelled, everyone sees the vote", cancelled, panel3, []string{"ig1@example.org", "p1@example.org"}},
		{"no votes", newRequest(), ig1, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			reviews := tt.r.ReviewsFor(tt.viewer)
			if reviews == nil {
				t.Fatal("ReviewsFor returned nil, want an empty list")
			}
			for _, v := range reviews {
				got = append(got, v.Email)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ReviewsFor = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDiffFiles: added, removed and changed by SHA-256, in path order.
func TestDiffFiles(t *testing.T) {
	f := func(path, sum string) egress.File { return egress.File{Path: path, SHA256: sum, Size: 1} }
	tests := []struct {
		name          string
		before, after []egress.File
		want          []egress.FileChange
	}{
		{"nothing", nil, nil, []egress.FileChange{}},
		{"unchanged omitted", []egress.File{f("a", "1")}, []egress.File{f("a", "1")}, []egress.FileChange{}},
		{"first attempt: all added", nil, []egress.File{f("b", "2"), f("a", "1")}, []egress.FileChange{
			{Path: "a", Change: egress.FileAdded, SHA256: "1"}, {Path: "b", Change: egress.FileAdded, SHA256: "2"}}},
		{"everything removed", []egress.File{f("a", "1")}, nil, []egress.FileChange{{Path: "a", Change: egress.FileRemoved, PreviousSHA256: "1"}}},
		{"mixed, path order", []egress.File{f("z/keep", "k"), f("m/changed", "old"), f("c/gone", "g")},
			[]egress.File{f("m/changed", "new"), f("z/keep", "k"), f("a/new", "n")}, []egress.FileChange{
				{Path: "a/new", Change: egress.FileAdded, SHA256: "n"},
				{Path: "c/gone", Change: egress.FileRemoved, PreviousSHA256: "g"},
				{Path: "m/changed", Change: egress.FileChanged, SHA256: "new", PreviousSHA256: "old"},
			}},
		{"same content, other size ignored", []egress.File{{Path: "a", SHA256: "1", Size: 1}}, []egress.File{{Path: "a", SHA256: "1", Size: 2}}, []egress.FileChange{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := egress.DiffFiles(tt.before, tt.after)
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DiffFiles = %#v, want %#v", got, tt.want)
			}
		})
	}
}
