package local

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/egress"
)

// researcherAt is a researcher of the local pool whose SWB user id is the
// one the local SWB gives email's submissions.
func researcherAt(email string) egress.Identity {
	return egress.Identity{Subject: "local-" + email, Email: email, Name: email, UserID: SWBUserID(email), Groups: []string{ResearcherGroup}}
}

// submitAs publishes the sample store as a new workspace's submission by
// the SWB user with e-mail requester.
func submitAs(t *testing.T, s *Stack, requester string) Submission {
	t.Helper()
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", requester)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return sub
}

// pageIDs runs a paged query (myRequests or workspaceRequests) for who to
// its last page over HTTP and returns the ids listed, in order. decl
// declares the field's own variables ("$ws: String!, "), args passes them
// ("workspace_id: $ws, ").
func pageIDs(t *testing.T, s *Stack, endpoint, field, decl, args string, vars map[string]any, who egress.Identity) ([]string, []appsync.GraphQLError) {
	t.Helper()
	query := "query(" + decl + "$next: String) { " + field + "(" + args + "limit: 2, nextToken: $next) { items { egress_request_id } nextToken } }"
	var ids []string
	for range 100 {
		_, resp := post(t, endpoint, token(t, s, who), map[string]any{"query": query, "variables": vars})
		if len(resp.Errors) > 0 {
			return ids, resp.Errors
		}
		var out map[string]struct {
			Items []struct {
				ID string `json:"egress_request_id"`
			}
			NextToken string
		}
		b, _ := json.Marshal(resp.Data)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		for _, it := range out[field].Items {
			ids = append(ids, it.ID)
		}
		if out[field].NextToken == "" {
			return ids, nil
		}
		vars["next"] = out[field].NextToken
	}
	t.Fatalf("%s never ends", field)
	return nil, nil
}

// Acceptance of issue 14 over HTTP with dev tokens: two SWB users submit;
// each researcher lists only their own requests and reads another's as
// missing; the reviewers' identities read as the stage; a reviewer lists
// a workspace's requests with their outcomes.
func TestResearcherSeesOnlyTheirRequests(t *testing.T) {
	s := stack(t, false)
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	ig := Reviewer(chain, 0)
	// Users of their own, so requests other tests submit to the shared
	// stack are in no listing here.
	tag := uuid()[:8]
	ana, ben := researcherAt("ana-"+tag+"@example.org"), researcherAt("ben-"+tag+"@example.org")
	subA, subB := submitAs(t, s, ana.Email), submitAs(t, s, ben.Email)
	awaiting(t, s, subA.RequestID, 0)
	awaiting(t, s, subB.RequestID, 0)
	if err := s.GraphQLDecider().Decide(ctx(t), ig, subA.RequestID, egress.Rejected, "contains identifiable rows"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(subA.RequestID)); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		who  egress.Identity
		want []string
	}{{ana, []string{subA.RequestID}}, {ben, []string{subB.RequestID}}} {
		ids, errs := pageIDs(t, s, endpoint, "myRequests", "", "", map[string]any{}, tt.who)
		if len(errs) > 0 || !slices.Equal(ids, tt.want) {
			t.Errorf("%s's myRequests = %v %+v, want %v", tt.who.Email, ids, errs, tt.want)
		}
	}

	const get = `query($id: String!) { getRequest(egress_request_id: $id) {
	  egress_status task_token ig_reviewer_1_name ig_reviewer_1_email ig_reviewer_1_decision ig_reviewer_1_reason
	  files { path } history { kind actor reason } } }`
	_, resp := post(t, endpoint, token(t, s, ana), map[string]any{"query": get, "variables": map[string]any{"id": subA.RequestID}})
	raw, _ := json.Marshal(resp.Data)
	var own struct {
		GetRequest struct {
			Status     string  `json:"egress_status"`
			TaskToken  *string `json:"task_token"`
			IGName     string  `json:"ig_reviewer_1_name"`
			IGEmail    string  `json:"ig_reviewer_1_email"`
			IGDecision string  `json:"ig_reviewer_1_decision"`
			IGReason   string  `json:"ig_reviewer_1_reason"`
			Files      []struct{ Path string }
			History    []struct{ Kind, Actor, Reason string }
		}
	}
	json.Unmarshal(raw, &own)
	g := own.GetRequest
	if len(resp.Errors) > 0 || g.Status != string(egress.StatusRejected) || g.IGDecision != "REJECTED" || g.IGReason != "contains identifiable rows" ||
		g.IGName != "IG" || g.IGEmail != "IG" || g.TaskToken != nil || len(g.Files) == 0 || len(g.History) == 0 {
		t.Errorf("researcher's own request: %s %+v", raw, resp.Errors)
	}
	if strings.Contains(string(raw), ig.Email) || strings.Contains(string(raw), ig.Name) {
		t.Errorf("researcher sees the reviewer: %s", raw)
	}

	// Another's request reads as a missing one, with none of its fields.
	_, resp = post(t, endpoint, token(t, s, ana), map[string]any{"query": get, "variables": map[string]any{"id": subB.RequestID}})
	if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != egress.ENOTFOUND || resp.Errors[0].Message != "request "+subB.RequestID+" not found" {
		t.Errorf("another's request: %+v", resp.Errors)
	}
	if b, _ := json.Marshal(resp.Data); strings.Contains(string(b), "PROCESSING") {
		t.Errorf("another's request leaked: %s", b)
	}

	// The reviewer lists each workspace's requests with their outcomes;
	// researchers may not, nor use the frontend's listing.
	ids, errs := pageIDs(t, s, endpoint, "workspaceRequests", "$ws: String!, ", "workspace_id: $ws, ", map[string]any{"ws": subA.WorkspaceID}, ig)
	if len(errs) > 0 || !slices.Equal(ids, []string{subA.RequestID}) {
		t.Errorf("workspaceRequests(%s) = %v %+v, want [%s]", subA.WorkspaceID, ids, errs, subA.RequestID)
	}
	if _, errs := pageIDs(t, s, endpoint, "workspaceRequests", "$ws: String!, ", "workspace_id: $ws, ", map[string]any{"ws": subA.WorkspaceID}, ana); len(errs) == 0 || errs[0].ErrorType != appsync.ErrorTypeUnauthorized {
		t.Errorf("a researcher's workspaceRequests: %+v, want Unauthorized", errs)
	}
	status, resp := post(t, endpoint, token(t, s, ana), map[string]any{"query": frontendOperation(t, "listRequests")})
	if status != http.StatusOK || len(resp.Errors) == 0 || resp.Errors[0].ErrorType != appsync.ErrorTypeUnauthorized {
		t.Errorf("a researcher's listRequests: HTTP %d %+v, want Unauthorized", status, resp.Errors)
	}

	// The sample researcher is the scenarios' submitter.
	if SampleResearcher.UserID != SWBUserID(researcher) || !SampleResearcher.InGroup(ResearcherGroup) {
		t.Errorf("SampleResearcher %+v is not the submitter %s in %s", SampleResearcher, researcher, ResearcherGroup)
	}
}

// egress-api queries the by-workspace and by-requester indexes under its
// role: without dynamodb:Query on them the listings fail and the refusal
// names each index.
func TestResearcherQueriesNeedTheGrant(t *testing.T) {
	// The indexes share one statement; all of them lose the grant.
	s, logs := startWithoutLogged(t, []string{"EgressApi"}, "dynamodb:Query", "/index/by-")
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	tests := []struct {
		field, decl, args string
		vars              map[string]any
		who               egress.Identity
		index             string
	}{
		{"workspaceRequests", "$ws: String!, ", "workspace_id: $ws, ", map[string]any{"ws": "ws-any"}, Reviewer(chain, 0), "by-workspace"},
		{"myRequests", "", "", map[string]any{}, SampleResearcher, "by-requester"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, errs := pageIDs(t, s, endpoint, tt.field, tt.decl, tt.args, tt.vars, tt.who)
			if len(errs) == 0 {
				t.Fatalf("%s succeeded without dynamodb:Query on %s", tt.field, tt.index)
			}
			want := "is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:" + Region + ":" + Account + ":table/" + RequestsTable + "/index/" + tt.index
			if !strings.Contains(logs.String(), want) {
				t.Errorf("no refusal logged containing %q in:\n%s", want, logs.String())
			}
		})
	}
}
