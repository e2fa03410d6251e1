package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// TestAuthorizationMatrix runs every operation as every kind of caller
// against a request in every state, through the Lambda handler, and
// checks each cell: allowed (""), or the errorType AppSync would show.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	const (
		ok        = ""
		forbidden = egress.EFORBIDDEN
		conflict  = egress.ECONFLICT
	)
	type caller struct {
		name string
		who  egress.Identity
	}
	callers := []caller{{"IG", igReviewer}, {"TREAdmin", ritReviewer}, {"requester", requester}, {"no group", noGroup}, {"both groups", bothGroups}}
	// Reads are open to every reviewer group member, whatever the state.
	reads := map[string]string{"IG": ok, "TREAdmin": ok, "requester": ok, "no group": forbidden, "both groups": ok}
	// update[state][caller]
	update := map[string]map[string]string{
		"PROCESSING": {"IG": ok, "TREAdmin": forbidden, "requester": forbidden, "no group": forbidden, "both groups": ok},
		"IGAPPROVED": {"IG": forbidden, "TREAdmin": ok, "requester": forbidden, "no group": forbidden, "both groups": ok},
	}
	finalUpdate := map[string]string{"IG": conflict, "TREAdmin": conflict, "requester": conflict, "no group": forbidden, "both groups": conflict}
	released := map[string]string{"IG": ok, "TREAdmin": forbidden, "requester": ok, "no group": forbidden, "both groups": ok}
	notReleased := map[string]string{"IG": conflict, "TREAdmin": forbidden, "requester": conflict, "no group": forbidden, "both groups": conflict}
	download := map[string]map[string]string{
		"IGAPPROVED single approval, released": released,
		"RITAPPROVED":                          released,
	}

	type op struct {
		name   string
		expect func(state, caller string) string
		run    func(t *testing.T, who egress.Identity, r egress.Request) error
	}
	ops := []op{
		{"listRequests", func(_, c string) string { return reads[c] }, func(t *testing.T, who egress.Identity, r egress.Request) error {
			out, err := e.call(who, "Query", "listRequests", nil, nil)
			if err == nil && !strings.Contains(string(out), r.ID) {
				t.Errorf("listing lacks %s", r.ID)
			}
			return err
		}},
		{"getRequest", func(_, c string) string { return reads[c] }, func(t *testing.T, who egress.Identity, r egress.Request) error {
			out, err := e.call(who, "Query", "getRequest", map[string]any{"egress_request_id": r.ID}, nil)
			if err == nil {
				var v api.RequestView
				json.Unmarshal(out, &v)
				if v.ID != r.ID || v.Status != string(r.Status) {
					t.Errorf("getRequest = %+v", v)
				}
			}
			return err
		}},
		{"requests", func(_, c string) string { return reads[c] }, func(t *testing.T, who egress.Identity, r egress.Request) error {
			_, err := e.call(who, "Query", "requests", map[string]any{"filter": map[string]any{"status": r.Status}, "limit": 5}, nil)
			return err
		}},
		{"files", func(_, c string) string { return reads[c] }, func(t *testing.T, who egress.Identity, r egress.Request) error {
			out, err := e.call(who, "Request", "files", nil, api.NewRequestView(r))
			if err == nil && !strings.Contains(string(out), `"path":"results/a.csv"`) {
				t.Errorf("files = %s", out)
			}
			return err
		}},
		{"history", func(_, c string) string { return reads[c] }, func(t *testing.T, who egress.Identity, r egress.Request) error {
			out, err := e.call(who, "Request", "history", nil, api.NewRequestView(r))
			if err == nil && !strings.Contains(string(out), `"kind":"CREATED"`) {
				t.Errorf("history = %s", out)
			}
			return err
		}},
		{"updateRequest", func(s, c string) string {
			if m, ok := update[s]; ok {
				return m[c]
			}
			return finalUpdate[c]
		}, func(t *testing.T, who egress.Identity, r egress.Request) error {
			// What the frontend sends: both stages' fields at the RIT stage.
			in := map[string]any{"egress_request_id": r.ID, "task_token": api.TokenRef(r.TaskToken),
				"ig_reviewer_1_decision": "APPROVED", "rit_reviewer_2_decision": "APPROVED"}
			out, err := e.call(who, "Mutation", "updateRequest", map[string]any{"request": in}, nil)
			if err == nil {
				got, _ := e.table.Get(context.Background(), r.ID)
				if got.Status == r.Status || !strings.Contains(string(out), string(got.Status)) {
					t.Errorf("after %s: status %s", out, got.Status)
				}
				if calls := e.wf.calls(r.TaskToken); len(calls) != 1 || calls[0].Decision != egress.Approved {
					t.Errorf("workflow resumed %+v", calls)
				}
			} else if calls := e.wf.calls(r.TaskToken); len(calls) != 0 {
				t.Errorf("refused decision resumed the workflow: %+v", calls)
			}
			return err
		}},
		{"downloadData", func(s, c string) string {
			if m, ok := download[s]; ok {
				return m[c]
			}
			return notReleased[c]
		}, func(t *testing.T, who egress.Identity, r egress.Request) error {
			in := map[string]any{"egress_request_id": r.ID, "workspace_id": r.WorkspaceID, "download_count": "0"}
			out, err := e.call(who, "Mutation", "downloadData", map[string]any{"request": in}, nil)
			if err == nil && !strings.Contains(string(out), "X-Amz-Signature") {
				t.Errorf("downloadData = %s", out)
			}
			return err
		}},
	}
	for _, o := range ops {
		for _, f := range fixtures {
			for _, c := range callers {
				t.Run(o.name+"/"+f.name+"/"+c.name, func(t *testing.T) {
					t.Parallel() // each cell has its own request
					r := e.seed(t, f)
					want := o.expect(f.name, c.name)
					err := o.run(t, c.who, r)
					if got := errorType(err); got != want {
						t.Fatalf("errorType %q (%v), want %q", got, err, want)
					}
				})
			}
		}
	}
}
