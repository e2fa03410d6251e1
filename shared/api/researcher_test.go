package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const researcherGroup = api.SchemaResearcherGroup

// Researchers, matched to requests by the SWB user id an administrator set
// (UserID) only: sameEmail has the owner's e-mail but another user id, and
// unmapped has the e-mail and no user id.
var (
	owner     = egress.Identity{Subject: "sub-owner", Email: "owner@example.org", Name: "Olga Owner", UserID: "u-owner", Groups: []string{researcherGroup}}
	sameEmail = egress.Identity{Subject: "sub-same", Email: "owner@example.org", Name: "Sam Same", UserID: "u-other", Groups: []string{researcherGroup}}
	unmapped  = egress.Identity{Subject: "sub-unmapped", Email: "owner@example.org", Name: "Una Unmapped", Groups: []string{researcherGroup}}
)

// researcherEnv is newEnv with researchers enabled.
func researcherEnv(t *testing.T) *env {
	e := newEnv(t)
	e.svc.ResearcherGroup = researcherGroup
	return e
}

// seedOwned stores a request in state f submitted by SWB user userID from
// workspace ws.
func (e *env) seedOwned(t *testing.T, f fixture, userID, ws string) egress.Request {
	t.Helper()
	return e.seed(t, fixture{f.name, func(e *env, r *egress.Request) {
		f.build(e, r)
		r.RequestedBy, r.RequestedByEmail, r.WorkspaceID, r.StoreID = userID, "owner@example.org", ws, ws
	}})
}

// Every read as every kind of caller: a researcher reads only their own
// requests, another's reads as missing, one without an SWB user id reads
// nothing; reviewers read everything; the frontend's operations stay
// reviewers'.
func TestResearcherAuthorization(t *testing.T) {
	e := researcherEnv(t)
	const (
		ok        = ""
		forbidden = egress.EFORBIDDEN
		notFound  = egress.ENOTFOUND
	)
	ws := fmt.Sprintf("ws-auth-%d", idSeq.Add(1))
	r := e.seedOwned(t, fixtureNamed(t, "REJECTED"), owner.UserID, ws)
	callers := []struct {
		name string
		who  egress.Identity
	}{
		{"owner", owner}, {"same e-mail, other SWB user", sameEmail}, {"unmapped", unmapped},
		{"IG", igReviewer}, {"TREAdmin", ritReviewer}, {"no group", noGroup},
	}
	reads := map[string]string{"owner": ok, "same e-mail, other SWB user": notFound, "unmapped": forbidden, "IG": ok, "TREAdmin": ok, "no group": forbidden}
	mine := map[string]string{"owner": ok, "same e-mail, other SWB user": ok, "unmapped": forbidden, "IG": forbidden, "TREAdmin": forbidden, "no group": forbidden}
	reviewers := map[string]string{"owner": forbidden, "same e-mail, other SWB user": forbidden, "unmapped": forbidden, "IG": ok, "TREAdmin": ok, "no group": forbidden}
	source := api.NewRequestView(r)

	ops := []struct {
		name   string
		expect map[string]string
		run    func(who egress.Identity) (json.RawMessage, error)
		// listed says whether a successful answer must hold the request.
		listed map[string]bool
		// researchers: the operation is open to researchers.
		researchers bool
	}{
		{"getRequest", reads, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Query", "getRequest", map[string]any{"egress_request_id": r.ID}, nil)
		}, nil, true},
		{"history", reads, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Request", "history", nil, source)
		}, nil, true},
		{"files", reads, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Request", "files", nil, source)
		}, nil, true},
		{"filePage", reads, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Request", "filePage", map[string]any{"limit": 1}, source)
		}, nil, true},
		{"myRequests", mine, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Query", "myRequests", map[string]any{"limit": 10}, nil)
		}, map[string]bool{"owner": true, "same e-mail, other SWB user": false}, true},
		{"workspaceRequests", reviewers, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Query", "workspaceRequests", map[string]any{"workspace_id": ws}, nil)
		}, map[string]bool{"IG": true, "TREAdmin": true}, false},
		{"listRequests", reviewers, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Query", "listRequests", nil, nil)
		}, nil, false},
		{"requests", reviewers, func(who egress.Identity) (json.RawMessage, error) {
			return e.call(who, "Query", "requests", map[string]any{"filter": map[string]any{"workspace_id": ws}}, nil)
		}, nil, false},
		{"updateRequest", map[string]string{"owner": forbidden, "same e-mail, other SWB user": forbidden, "unmapped": forbidden, "no group": forbidden},
			func(who egress.Identity) (json.RawMessage, error) {
				in := map[string]any{"egress_request_id": r.ID, "task_token": "x", "ig_reviewer_1_decision": "APPROVED"}
				return e.call(who, "Mutation", "updateRequest", map[string]any{"request": in}, nil)
			}, nil, false},
		{"downloadData", map[string]string{"owner": forbidden, "same e-mail, other SWB user": forbidden, "unmapped": forbidden, "no group": forbidden},
			func(who egress.Identity) (json.RawMessage, error) {
				in := map[string]any{"egress_request_id": r.ID, "workspace_id": ws, "download_count": "0"}
				return e.call(who, "Mutation", "downloadData", map[string]any{"request": in}, nil)
			}, nil, false},
	}
	for _, o := range ops {
		for _, c := range callers {
			want, ok := o.expect[c.name]
			if !ok {
				continue // reviewers' decisions and downloads are TestAuthorizationMatrix's
			}
			t.Run(o.name+"/"+c.name, func(t *testing.T) {
				out, err := o.run(c.who)
				if got := errorType(err); got != want {
					t.Fatalf("errorType %q (%v), want %q", got, err, want)
				}
				if err != nil {
					var ie messages.InvokeResponse_Error
					errors.As(err, &ie)
					msg := ie.Message
					if c.name == "unmapped" && o.researchers && !strings.Contains(msg, "not mapped to an SWB user") {
						t.Errorf("unmapped researcher told %q, want it to say the account is not mapped", msg)
					}
					if want == notFound && msg != fmt.Sprintf("request %s not found", r.ID) {
						t.Errorf("another's request refused with %q, not as a missing one", msg)
					}
					return
				}
				if listed, check := o.listed[c.name]; check && strings.Contains(string(out), r.ID) != listed {
					t.Errorf("%s lists %s: %v, want %v\n%s", o.name, r.ID, !listed, listed, out)
				}
			})
		}
	}

	// A request that does not exist reads to a researcher as another's does.
	_, err := e.call(owner, "Query", "getRequest", map[string]any{"egress_request_id": "req-missing"}, nil)
	if errorType(err) != notFound {
		t.Errorf("missing request: %v", err)
	}
}

// Without researcher_group, a researcher's group grants nothing.
func TestResearchersDisabled(t *testing.T) {
	e := newEnv(t)
	r := e.seedOwned(t, fixtureNamed(t, "PROCESSING"), owner.UserID, "ws-disabled")
	for _, call := range []struct{ parent, field string }{{"Query", "getRequest"}, {"Query", "myRequests"}} {
		_, err := e.call(owner, call.parent, call.field, map[string]any{"egress_request_id": r.ID}, nil)
		if errorType(err) != egress.EFORBIDDEN {
			t.Errorf("%s: %v, want ForbiddenError", call.field, err)
		}
	}
	_, err := e.call(igReviewer, "Query", "myRequests", nil, nil)
	if errorType(err) != egress.EFORBIDDEN || !strings.Contains(err.Error(), "researcher_group") {
		t.Errorf("a reviewer's myRequests without researchers: %v, want it to name researcher_group", err)
	}
}

// A researcher sees statuses, decisions and reasons, but each reviewer as
// their stage and no task token; a reviewer sees the reviewers.
func TestResearcherView(t *testing.T) {
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-view-%d", idSeq.Add(1))
	r := e.seedOwned(t, fixture{"RITAPPROVED with a pending token", func(e *env, r *egress.Request) {
		fixtureNamed(t, "RITAPPROVED").build(e, r)
		r.Reviews[1].StageIndex, r.Reviews[1].Reason = 1, "checked twice"
		r.UpdatedBy, r.ResumeToken = earlierRIT.Email, "resume-secret"
	}}, owner.UserID, ws)
	// A decision event as the API records it, by the reviewer's e-mail.
	next := r
	next.UpdatedBy = earlierRIT.Email
	if _, err := e.table.Update(t.Context(), next, egress.Event{Kind: egress.EventDecision, Actor: earlierRIT.Email, Stage: "RIT",
		From: egress.StatusIGApproved, To: egress.StatusRITApproved, Reason: "checked twice", At: now}); err != nil {
		t.Fatal(err)
	}
	awaitingToken := e.seedOwned(t, fixtureNamed(t, "PROCESSING"), owner.UserID, ws)

	const query = `query($id: String!) {
	  getRequest(egress_request_id: $id) {
	    egress_status updated_by task_token
	    ig_reviewer_1_name ig_reviewer_1_email ig_reviewer_1_decision
	    rit_reviewer_2_name rit_reviewer_2_email rit_reviewer_2_decision rit_reviewer_2_reason
	    history { kind actor stage reason }
	  }
	}`
	type view struct {
		GetRequest struct {
			Status      string  `json:"egress_status"`
			UpdatedBy   string  `json:"updated_by"`
			TaskToken   *string `json:"task_token"`
			IGName      string  `json:"ig_reviewer_1_name"`
			IGEmail     string  `json:"ig_reviewer_1_email"`
			IGDecision  string  `json:"ig_reviewer_1_decision"`
			RITName     string  `json:"rit_reviewer_2_name"`
			RITEmail    string  `json:"rit_reviewer_2_email"`
			RITDecision string  `json:"rit_reviewer_2_decision"`
			RITReason   string  `json:"rit_reviewer_2_reason"`
			History     []struct{ Kind, Actor, Stage, Reason string }
		}
	}
	get := func(who egress.Identity, id string) (view, string) {
		t.Helper()
		resp := e.gql(who, query, map[string]any{"id": id})
		if len(resp.Errors) > 0 {
			t.Fatalf("errors %+v", resp.Errors)
		}
		var v view
		decode(t, resp, &v)
		b, _ := json.Marshal(resp.Data)
		return v, string(b)
	}

	v, raw := get(owner, r.ID)
	g := v.GetRequest
	if g.Status != string(egress.StatusRITApproved) || g.IGDecision != "APPROVED" || g.RITDecision != "APPROVED" || g.RITReason != "checked twice" {
		t.Errorf("researcher's view lacks the outcome: %+v", g)
	}
	if g.IGName != "IG" || g.IGEmail != "IG" || g.RITName != "RIT" || g.RITEmail != "RIT" || g.UpdatedBy != "RIT" {
		t.Errorf("reviewers not shown by stage: %+v", g)
	}
	for _, secret := range []string{earlierIG.Email, earlierIG.Name, earlierRIT.Email, earlierRIT.Name, "resume-secret"} {
		if strings.Contains(raw, secret) {
			t.Errorf("researcher's view shows %q: %s", secret, raw)
		}
	}
	var decision bool
	for _, h := range g.History {
		if h.Kind == egress.EventDecision {
			decision = h.Actor == "RIT" && h.Reason == "checked twice"
		}
		if h.Kind == egress.EventCreated && h.Actor != "owner@example.org" {
			t.Errorf("the researcher's own event shows actor %q", h.Actor)
		}
	}
	if !decision {
		t.Errorf("history's decision not shown by stage with its reason: %+v", g.History)
	}

	// A request awaiting a decision has a task token, which only a
	// reviewer sees (as its reference).
	if v, _ := get(owner, awaitingToken.ID); v.GetRequest.TaskToken != nil {
		t.Errorf("researcher sees task_token %q", *v.GetRequest.TaskToken)
	}
	if v, _ := get(igReviewer, awaitingToken.ID); v.GetRequest.TaskToken == nil || *v.GetRequest.TaskToken != api.TokenRef(awaitingToken.TaskToken) {
		t.Errorf("reviewer's task_token %v", v.GetRequest.TaskToken)
	}
	rv, _ := get(igReviewer, r.ID)
	if rv.GetRequest.RITEmail != earlierRIT.Email || rv.GetRequest.UpdatedBy != earlierRIT.Email {
		t.Errorf("reviewer's view hides reviewers: %+v", rv.GetRequest)
	}
}

// myRequests and workspaceRequests page newest first with tokens that
// carry on only their own listing.
func TestResearcherPages(t *testing.T) {
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-pages-%d", idSeq.Add(1))
	var mine []string // newest first
	for i := range 5 {
		f := fixtureNamed(t, "REJECTED")
		r := e.seedOwned(t, fixture{f.name, func(e *env, r *egress.Request) {
			f.build(e, r)
			r.RequestedAt = now.Add(-time5m(10 - i))
		}}, owner.UserID, ws)
		mine = append([]string{r.ID}, mine...)
	}
	e.seedOwned(t, fixtureNamed(t, "PROCESSING"), sameEmail.UserID, "ws-elsewhere")

	page := func(who egress.Identity, field string, args map[string]any) (ids []string, next string) {
		t.Helper()
		out, err := e.call(who, "Query", field, args, nil)
		if err != nil {
			t.Fatalf("%s %v: %v", field, args, err)
		}
		var p api.PageView
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Items {
			ids = append(ids, v.ID)
		}
		return ids, p.NextToken
	}
	all := func(who egress.Identity, field string, args map[string]any) []string {
		var ids []string
		for n := 0; ; n++ {
			got, next := page(who, field, args)
			ids = append(ids, got...)
			if next == "" || n > 10 {
				return ids
			}
			args["nextToken"] = next
		}
	}
	if got := all(owner, "myRequests", map[string]any{"limit": 2}); !slices.Equal(got, mine) {
		t.Errorf("myRequests = %v, want %v", got, mine)
	}
	if got := all(igReviewer, "workspaceRequests", map[string]any{"workspace_id": ws, "limit": 2}); !slices.Equal(got, mine) {
		t.Errorf("workspaceRequests = %v, want %v", got, mine)
	}

	// Another researcher cannot carry on the owner's listing with its token.
	_, ownerNext := page(owner, "myRequests", map[string]any{"limit": 1})
	if _, err := e.call(sameEmail, "Query", "myRequests", map[string]any{"nextToken": ownerNext}, nil); errorType(err) != egress.EINVALID {
		t.Errorf("another researcher's token: %v, want ValidationError", err)
	}
	_, wsNext := page(igReviewer, "workspaceRequests", map[string]any{"workspace_id": ws, "limit": 1})
	if _, err := e.call(igReviewer, "Query", "workspaceRequests", map[string]any{"workspace_id": "ws-elsewhere", "nextToken": wsNext}, nil); errorType(err) != egress.EINVALID {
		t.Errorf("a token of another workspace: %v, want ValidationError", err)
	}
	for _, args := range []map[string]any{{}, {"workspace_id": " "}, {"workspace_id": ws, "limit": 0}, {"workspace_id": ws, "limit": -1}} {
		if _, err := e.call(igReviewer, "Query", "workspaceRequests", args, nil); errorType(err) != egress.EINVALID {
			t.Errorf("workspaceRequests %v: %v, want ValidationError", args, err)
		}
	}
}

func time5m(n int) time.Duration { return time.Duration(n) * 5 * time.Minute }
