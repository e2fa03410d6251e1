package egress_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestCheckTransition(t *testing.T) {
	all := append([]egress.Status{""}, egress.Statuses...)
	allowed := map[[2]egress.Status]bool{
		{"", egress.StatusProcessing}:                       true,
		{egress.StatusProcessing, egress.StatusIGApproved}:  true,
		{egress.StatusProcessing, egress.StatusRejected}:    true,
		{egress.StatusProcessing, egress.StatusFailed}:      true,
		{egress.StatusProcessing, egress.StatusExpired}:     true,
		{egress.StatusIGApproved, egress.StatusRITApproved}: true,
		{egress.StatusIGApproved, egress.StatusRejected}:    true,
		{egress.StatusIGApproved, egress.StatusFailed}:      true,
		{egress.StatusIGApproved, egress.StatusExpired}:     true,
		{egress.StatusRITApproved, egress.StatusFailed}:     true,
		{egress.StatusRejected, egress.StatusFailed}:        true,
		{egress.StatusIGApproved, egress.StatusRevoked}:     true, // a single-stage chain's release
		{egress.StatusRITApproved, egress.StatusRevoked}:    true,
		{egress.StatusReturned, egress.StatusFailed}:        true,
		{egress.StatusCancelled, egress.StatusFailed}:       true,
		{egress.StatusProcessing, egress.StatusBlocked}:     true, // automated checks, before any review
		{egress.StatusBlocked, egress.StatusFailed}:         true,
	}
	// Every awaiting status may end without release.
	awaiting := []egress.Status{egress.StatusProcessing, egress.StatusIGApproved, "STAGE2APPROVED", "STAGE3APPROVED", "STAGE4APPROVED"}
	for i, a := range awaiting {
		for _, to := range []egress.Status{egress.StatusRejected, egress.StatusReturned, egress.StatusCancelled, egress.StatusFailed, egress.StatusExpired} {
			allowed[[2]egress.Status{a, to}] = true
		}
		if i+1 < len(awaiting) {
			allowed[[2]egress.Status{a, awaiting[i+1]}] = true // to the next stage
		}
		if i > 0 {
			allowed[[2]egress.Status{a, egress.StatusRITApproved}] = true // the last stage approves
		}
	}
	// Every pair of statuses, so a new status can't slip in unreviewed.
	for _, from := range all {
		for _, to := range append(all, "BOGUS") {
			err := egress.CheckTransition(from, to)
			want := allowed[[2]egress.Status{from, to}]
			if want && err != nil {
				t.Errorf("%q -> %q: unexpected error %v", from, to, err)
			}
			if !want {
				var te *egress.TransitionError
				if !errors.As(err, &te) || te.From != from || te.To != to {
					t.Errorf("%q -> %q: want *TransitionError, got %v", from, to, err)
				}
				if egress.ErrorCode(err) != egress.ECONFLICT {
					t.Errorf("%q -> %q: code %q, want ECONFLICT", from, to, egress.ErrorCode(err))
				}
			}
		}
	}
}

func TestNewChain(t *testing.T) {
	tests := []struct {
		name    string
		roles   []string
		single  bool
		want    string
		wantErr string
	}{
		{"default two stage", []string{"InformationGovernance", "TREAdmin"}, false, "IG(InformationGovernance) -> RIT(TREAdmin)", ""},
		{"single approval keeps IG", []string{"InformationGovernance", "TREAdmin"}, true, "IG(InformationGovernance)", ""},
		{"one role", []string{"IG"}, false, "IG(IG)", ""},
		{"none", nil, false, "", "at least one reviewer group"},
		{"too many", []string{"a", "b", "c"}, false, "", "at most 2 reviewer groups"},
		{"empty name", []string{"a", " "}, false, "", "egress_reviewer_roles[1]: empty group name"},
		{"duplicate", []string{"a", "a"}, false, "", `group "a" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := egress.NewChain(tt.roles, tt.single)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
				}
				if egress.ErrorCode(err) != egress.EINVALID {
					t.Fatalf("code = %s", egress.ErrorCode(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Fatalf("chain = %s, want %s", c, tt.want)
			}
			if c.SingleApproval() != (len(c.Stages) == 1) {
				t.Fatal("SingleApproval inconsistent")
			}
		})
	}
}

func TestChainFinalAndAwaiting(t *testing.T) {
	two, one := egress.DefaultChain(false), egress.DefaultChain(true)
	tests := []struct {
		chain    egress.Chain
		status   egress.Status
		final    bool
		awaiting int
	}{
		{two, egress.StatusProcessing, false, 0},
		{two, egress.StatusIGApproved, false, 1},
		{two, egress.StatusRITApproved, true, -1},
		{two, egress.StatusRejected, true, -1},
		{two, egress.StatusFailed, true, -1},
		{two, egress.StatusExpired, true, -1},
		{one, egress.StatusProcessing, false, 0},
		{one, egress.StatusIGApproved, true, -1},
	}
	for _, tt := range tests {
		if got := tt.chain.Final(tt.status); got != tt.final {
			t.Errorf("%s Final(%s) = %v", tt.chain, tt.status, got)
		}
		if got := tt.chain.StageAwaiting(tt.status); got != tt.awaiting {
			t.Errorf("%s StageAwaiting(%s) = %d", tt.chain, tt.status, got)
		}
	}
}

var (
	requester = egress.Identity{Subject: "sub-req", Email: "researcher@example.org", Name: "Rita Researcher", Groups: []string{egress.GroupIG, egress.GroupRIT}}
	ig1       = egress.Identity{Subject: "sub-ig1", Email: "ig1@example.org", Name: "Ida", Groups: []string{egress.GroupIG}}
	rit1      = egress.Identity{Subject: "sub-rit1", Email: "rit1@example.org", Name: "Rob", Groups: []string{egress.GroupRIT}}
	both      = egress.Identity{Subject: "sub-both", Email: "both@example.org", Name: "Bo", Groups: []string{egress.GroupIG, egress.GroupRIT}}
	substr    = egress.Identity{Subject: "sub-x", Email: "x@example.org", Groups: []string{"InformationGovernanceReadOnly", "TREAdminX"}}
)

func newRequest() egress.Request {
	return egress.Request{ID: "req-1", Status: egress.StatusProcessing, RequestedBy: "u-2Zk8q1", RequestedByEmail: "Researcher@Example.org", TaskToken: "secret-token", CurrentReviewerGroup: egress.GroupIG}
}

func TestDecide(t *testing.T) {
	two, one := egress.DefaultChain(false), egress.DefaultChain(true)
	igApproved := func() egress.Request {
		r, _, err := two.Decide(newRequest(), ig1, egress.Approved, "", now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	bothApprovedIG := func() egress.Request {
		r, _, err := two.Decide(newRequest(), both, egress.Approved, "", now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name     string
		chain    egress.Chain
		req      egress.Request
		who      egress.Identity
		decision egress.Decision
		reason   string
		want     egress.Status
		wantCode string
		wantMsg  string
	}{
		{"IG approves", two, newRequest(), ig1, egress.Approved, "", egress.StatusIGApproved, "", ""},
		{"IG rejects with reason", two, newRequest(), ig1, egress.Rejected, "contains identifiers", egress.StatusRejected, "", ""},
		{"reject needs reason", two, newRequest(), ig1, egress.Rejected, "  ", "", egress.EINVALID, "reason is required"},
		{"longest reason", two, newRequest(), ig1, egress.Rejected, strings.Repeat("é", egress.MaxReasonLength), egress.StatusRejected, "", ""},
		{"reason too long", two, newRequest(), ig1, egress.Rejected, strings.Repeat("é", egress.MaxReasonLength+1), "", egress.EINVALID, "reason: 4001 characters, at most 4000"},
		{"bad decision", two, newRequest(), ig1, "MAYBE", "", "", egress.EINVALID, "APPROVED, REJECTED or RETURNED"},
		{"lower-case decision", two, newRequest(), ig1, "approved", "", "", egress.EINVALID, "APPROVED, REJECTED or RETURNED"},
		{"RIT cannot decide IG stage", two, newRequest(), rit1, egress.Approved, "", "", egress.EFORBIDDEN, "group InformationGovernance"},
		{"substring group no match", two, newRequest(), substr, egress.Approved, "", "", egress.EFORBIDDEN, "not in"},
		{"requester by email", two, newRequest(), requester, egress.Approved, "", "", egress.EFORBIDDEN, "own request"},
		// The e-mail the requester uses now is not SWB's; the SWB user id
		// the identity provider maps them to is.
		{"requester by SWB user id", two, newRequest(), egress.Identity{Subject: "sub-req", UserID: "u-2Zk8q1", Email: "rita@home.example", Groups: []string{egress.GroupIG}}, egress.Approved, "", "", egress.EFORBIDDEN, "own request"},
		// Cognito's sub is not an SWB user id: equal strings mean nothing.
		{"subject is not a user id", two, newRequest(), egress.Identity{Subject: "u-2Zk8q1", Email: "ig1@example.org", Groups: []string{egress.GroupIG}}, egress.Approved, "", egress.StatusIGApproved, "", ""},
		{"another SWB user id", two, newRequest(), egress.Identity{Subject: "sub-ig1", UserID: "u-other", Email: "ig1@example.org", Groups: []string{egress.GroupIG}}, egress.Approved, "", egress.StatusIGApproved, "", ""},
		{"no e-mail fails closed", two, newRequest(), egress.Identity{Subject: "sub-x", Groups: []string{egress.GroupIG}}, egress.Approved, "", "", egress.EFORBIDDEN, "no verified e-mail"},
		{"a user id without an e-mail fails closed", two, newRequest(), egress.Identity{Subject: "sub-x", UserID: "u-other", Groups: []string{egress.GroupIG}}, egress.Approved, "", "", egress.EFORBIDDEN, "no verified e-mail"},
		{"RIT approves", two, igApproved(), rit1, egress.Approved, "", egress.StatusRITApproved, "", ""},
		{"RIT rejects", two, igApproved(), rit1, egress.Rejected, "too big", egress.StatusRejected, "", ""},
		{"IG member cannot decide RIT stage", two, igApproved(), ig1, egress.Approved, "", "", egress.EFORBIDDEN, "group TREAdmin"},
		{"one person one stage", two, bothApprovedIG(), both, egress.Approved, "", "", egress.EFORBIDDEN, "already voted at the IG stage"},
		{"single approval final after IG", one, igApproved(), rit1, egress.Approved, "", "", egress.ECONFLICT, "awaits no decision"},
		{"rejected awaits nothing", two, egress.Request{ID: "r", Status: egress.StatusRejected}, ig1, egress.Approved, "", "", egress.ECONFLICT, "awaits no decision"},
		{"failed awaits nothing", two, egress.Request{ID: "r", Status: egress.StatusFailed}, rit1, egress.Approved, "", "", egress.ECONFLICT, "awaits no decision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.req
			got, ev, err := tt.chain.Decide(tt.req, tt.who, tt.decision, tt.reason, now)
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
			if got.Status != tt.want || ev.To != tt.want || ev.From != before.Status {
				t.Fatalf("status %s event %s->%s, want %s", got.Status, ev.From, ev.To, tt.want)
			}
			last := got.Reviews[len(got.Reviews)-1]
			if last.Email != tt.who.Email || last.Subject != tt.who.Subject || !last.At.Equal(now) || last.Decision != tt.decision {
				t.Fatalf("review = %+v", last)
			}
			if got.TaskToken != "" || got.CurrentReviewerGroup != "" {
				t.Fatal("decision must consume the task token and clear the reviewer group")
			}
			if got.ResumeToken != before.TaskToken {
				t.Fatal("decision must keep the consumed token aside until the workflow acknowledges it")
			}
			if ev.Actor != tt.who.Email || ev.Kind != egress.EventDecision || ev.Stage != last.Stage {
				t.Fatalf("event = %+v", ev)
			}
			if len(before.Reviews) == len(got.Reviews) || before.Status != tt.req.Status {
				t.Fatal("Decide must not modify its input")
			}
		})
	}
}

func TestTransition(t *testing.T) {
	r := newRequest()
	r.ResumeToken = "token-of-a-decided-stage"
	got, ev, err := egress.Transition(r, egress.StatusFailed, "copy: NoSuchVersion", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != egress.StatusFailed || got.FailureCause != "copy: NoSuchVersion" || got.TaskToken != "" || got.ResumeToken != "" || ev.From != egress.StatusProcessing || ev.Actor != egress.ActorWorkflow {
		t.Fatalf("got %+v event %+v", got, ev)
	}
	if _, _, err := egress.Transition(got, egress.StatusProcessing, "", now); err == nil {
		t.Fatal("FAILED must be terminal")
	}
}

func TestIdentityInGroupExact(t *testing.T) {
	id := egress.Identity{Groups: []string{"InformationGovernanceX", "xTREAdmin"}}
	for _, g := range []string{egress.GroupIG, egress.GroupRIT, "InformationGovernance ", ""} {
		if id.InGroup(g) {
			t.Errorf("InGroup(%q) = true", g)
		}
	}
	if !ig1.InGroup(egress.GroupIG) {
		t.Error("exact match refused")
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	err := errors.Join(errors.New("ctx"), egress.Errorf(egress.ELIMIT, "download limit of %d reached", 3))
	if egress.ErrorCode(err) != egress.ELIMIT || egress.ErrorMessage(err) != "download limit of 3 reached" {
		t.Fatalf("code %q message %q", egress.ErrorCode(err), egress.ErrorMessage(err))
	}
	plain := errors.New("dial tcp: secret-host")
	if egress.ErrorCode(plain) != egress.EINTERNAL || egress.ErrorMessage(plain) != "internal error" {
		t.Fatal("internal errors must not leak their text")
	}
	if egress.ErrorCode(nil) != "" {
		t.Fatal("nil has no code")
	}
}
