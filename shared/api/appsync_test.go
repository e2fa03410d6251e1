package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/api/apitest"
	"github.com/tre-egress/egress/shared/egress"
)

// frontend reads one of the frontend's operations, kept verbatim in
// testdata/frontend.
func frontend(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "frontend", name+".graphql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The frontend's three operations, through the executor, for a request's
// whole life: list, IG decides, RIT decides (resending the IG decision),
// then download.
func TestFrontendOperations(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	contractFields := apitest.RequestFieldNames(t)
	list := func(who egress.Identity) map[string]any {
		t.Helper()
		resp := e.gql(who, frontend(t, "listRequests"), nil)
		if len(resp.Errors) > 0 {
			t.Fatalf("listRequests: %+v", resp.Errors)
		}
		var data struct {
			ListRequests []map[string]any `json:"listRequests"`
		}
		decode(t, resp, &data)
		for _, item := range data.ListRequests {
			if item["egress_request_id"] == r.ID {
				if len(item) != len(contractFields) {
					t.Fatalf("item has %d fields, want %d: %v", len(item), len(contractFields), item)
				}
				for _, f := range contractFields {
					if v, ok := item[f]; !ok {
						t.Errorf("field %s missing", f)
					} else if _, isString := v.(string); v != nil && !isString {
						t.Errorf("field %s = %#v, want a string", f, v)
					}
				}
				return item
			}
		}
		t.Fatalf("%s not listed", r.ID)
		return nil
	}
	item := list(igReviewer)
	if item["egress_status"] != "PROCESSING" || item["task_token"] == r.TaskToken || item["task_token"] == "" ||
		item["current_reviewer_group"] != egress.GroupIG || item["download_count"] != "0" || item["is_single_approval_enabled"] != "false" {
		t.Fatalf("item = %v", item)
	}

	update := func(who egress.Identity, in map[string]any) appsync.Response {
		return e.gql(who, frontend(t, "updateRequest"), map[string]any{"request": in})
	}
	// IG decides, sending its own name, e-mail and time as the frontend
	// does; the server's count.
	resp := update(igReviewer, map[string]any{
		"egress_request_id": r.ID, "task_token": item["task_token"],
		"ig_reviewer_1_name": "Someone Else", "ig_reviewer_1_email": "forged@example.org",
		"ig_reviewer_1_dt": "1999-01-01T00:00:00.000Z", "ig_reviewer_1_reason": "", "ig_reviewer_1_decision": "APPROVED",
	})
	var msg struct {
		UpdateRequest string `json:"updateRequest"`
	}
	decode(t, resp, &msg)
	if len(resp.Errors) > 0 || !strings.Contains(msg.UpdateRequest, "IGAPPROVED") {
		t.Fatalf("updateRequest: %+v %q", resp.Errors, msg.UpdateRequest)
	}
	item = list(ritReviewer)
	if item["egress_status"] != "IGAPPROVED" || item["ig_reviewer_1_email"] != igReviewer.Email ||
		item["ig_reviewer_1_name"] != igReviewer.Name || item["ig_reviewer_1_dt"] != "2026-11-27T10:00:00.000Z" ||
		item["task_token"] != nil {
		t.Fatalf("after IG: %v", item)
	}
	if len(e.wf.calls(r.TaskToken)) != 1 {
		t.Fatal("workflow not resumed once")
	}

	// The workflow stores the RIT stage's token (store-task-token).
	cur, _ := e.table.Get(t.Context(), r.ID)
	cur.TaskToken, cur.CurrentReviewerGroup = "token-rit-"+r.ID, egress.GroupRIT
	if _, err := e.table.Update(t.Context(), cur, egress.Event{Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, Stage: "RIT"}); err != nil {
		t.Fatal(err)
	}
	if item = list(ritReviewer); item["current_reviewer_group"] != egress.GroupRIT || item["task_token"] != api.TokenRef(cur.TaskToken) {
		t.Fatalf("awaiting RIT: %v", item)
	}
	resp = update(ritReviewer, map[string]any{
		"egress_request_id": r.ID, "task_token": item["task_token"],
		"ig_reviewer_1_name": item["ig_reviewer_1_name"], "ig_reviewer_1_email": item["ig_reviewer_1_email"],
		"ig_reviewer_1_dt": item["ig_reviewer_1_dt"], "ig_reviewer_1_reason": "", "ig_reviewer_1_decision": "REJECTED",
		"rit_reviewer_2_name": ritReviewer.Name, "rit_reviewer_2_email": ritReviewer.Email,
		"rit_reviewer_2_dt": "2026-11-27T10:00:00.000Z", "rit_reviewer_2_reason": "", "rit_reviewer_2_decision": "APPROVED",
	})
	if len(resp.Errors) > 0 {
		t.Fatalf("RIT updateRequest: %+v", resp.Errors)
	}
	got, _ := e.table.Get(t.Context(), r.ID)
	if got.Status != egress.StatusRITApproved || got.Reviews[0].Decision != egress.Approved {
		t.Fatalf("after RIT: %s, IG decision %s (the resent IG decision must be ignored)", got.Status, got.Reviews[0].Decision)
	}

	// The workflow releases.
	got.ZipKey = e.zipKey
	if _, err := e.table.Update(t.Context(), got, egress.Event{Kind: egress.EventReleased, Actor: egress.ActorWorkflow}); err != nil {
		t.Fatal(err)
	}
	item = list(igReviewer)
	resp = e.gql(igReviewer, frontend(t, "downloadData"), map[string]any{"request": map[string]any{
		"egress_request_id": r.ID, "workspace_id": item["workspace_id"], "download_count": item["download_count"]}})
	var dl struct {
		DownloadData struct {
			PresignURL string `json:"presign_url"`
		} `json:"downloadData"`
	}
	decode(t, resp, &dl)
	if len(resp.Errors) > 0 || !strings.Contains(dl.DownloadData.PresignURL, "X-Amz-Signature=") {
		t.Fatalf("downloadData: %+v %+v", resp.Errors, dl)
	}
	if item = list(igReviewer); item["download_count"] != "1" {
		t.Fatalf("download_count %v", item["download_count"])
	}
}

// The executor behaves as AppSync does for the parts of GraphQL clients use.
func TestExecutor(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[3]) // released
	tests := []struct {
		name     string
		who      egress.Identity
		query    string
		vars     map[string]any
		wantData string // JSON; "" to skip
		wantErrs []appsync.GraphQLError
	}{
		{
			name:     "aliases, fragments, typename, nested resolvers",
			who:      ritReviewer,
			query:    `query Q($id: String!) { one: getRequest(egress_request_id: $id) { __typename ...F files { path size version } history @include(if: false) { kind } } } fragment F on Request { egress_status ig_reviewer_1_decision }`,
			vars:     map[string]any{"id": r.ID},
			wantData: `{"one":{"__typename":"Request","egress_status":"RITAPPROVED","ig_reviewer_1_decision":"APPROVED","files":[{"path":"results/a.csv","size":8,"version":"v1"},{"path":"README.txt","size":5,"version":"v2"}]}}`,
		},
		{
			name:     "history",
			who:      igReviewer,
			query:    `{ getRequest(egress_request_id: "` + r.ID + `") { history { kind actor to_status } } }`,
			wantData: `{"getRequest":{"history":[{"kind":"CREATED","actor":"researcher@example.org","to_status":"RITAPPROVED"}]}}`,
		},
		{
			// Before the document is even parsed: an invalid one gets the
			// same answer, and costs a stranger's request nothing.
			name:     "a caller in no group is refused before the document is read",
			who:      noGroup,
			query:    `{ listRequests { nope } `,
			wantData: `null`,
			wantErrs: []appsync.GraphQLError{{ErrorType: "Unauthorized", Message: "the caller is in no group that may call this API"}},
		},
		{
			name:     "schema group directive refuses before the resolver",
			who:      egress.Identity{Subject: "sub-res", Email: "res@example.org", Groups: []string{api.SchemaResearcherGroup}},
			query:    `{ listRequests { egress_request_id } }`,
			wantData: `{"listRequests":null}`,
			wantErrs: []appsync.GraphQLError{{Path: []any{"listRequests"}, ErrorType: "Unauthorized", Message: "Not Authorized to access listRequests on type Query"}},
		},
		{
			name:     "TREAdmin may not download (schema)",
			who:      ritReviewer,
			query:    `mutation { downloadData(request: {egress_request_id: "x", workspace_id: "y", download_count: "0"}) { presign_url } }`,
			wantData: `{"downloadData":null}`,
			wantErrs: []appsync.GraphQLError{{Path: []any{"downloadData"}, ErrorType: "Unauthorized", Message: "Not Authorized to access downloadData on type Mutation"}},
		},
		{
			name:     "resolver error keeps its type and the other fields",
			who:      igReviewer,
			query:    `{ a: getRequest(egress_request_id: "missing") { egress_status } b: getRequest(egress_request_id: "` + r.ID + `") { egress_status } }`,
			wantData: `{"a":null,"b":{"egress_status":"RITAPPROVED"}}`,
			wantErrs: []appsync.GraphQLError{{Path: []any{"a"}, ErrorType: egress.ENOTFOUND, Message: "request missing not found"}},
		},
		{
			name:     "unknown field is a validation error",
			who:      igReviewer,
			query:    `{ listRequests { nope } }`,
			wantData: `null`,
			wantErrs: []appsync.GraphQLError{{ErrorType: appsync.ErrorTypeValidation, Message: `Cannot query field "nope" on type "Request".`}},
		},
		{
			name:     "missing variable",
			who:      igReviewer,
			query:    `mutation M($request: UpdateRequestInput!) { updateRequest(request: $request) }`,
			wantData: `null`,
			wantErrs: []appsync.GraphQLError{{ErrorType: appsync.ErrorTypeValidation, Message: "Variable 'request': must be defined"}},
		},
		{
			name:     "a decision on a finished request is refused",
			who:      igReviewer,
			query:    `mutation { updateRequest(request: {egress_request_id: "` + r.ID + `", task_token: ""}) }`,
			wantData: `{"updateRequest":null}`,
			wantErrs: []appsync.GraphQLError{{Path: []any{"updateRequest"}, ErrorType: egress.ECONFLICT, Message: "request " + r.ID + " is RITAPPROVED and awaits no decision"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.gql(tt.who, tt.query, tt.vars)
			if tt.wantData != "" {
				b, _ := json.Marshal(resp.Data)
				if string(b) != tt.wantData {
					t.Errorf("data\n got %s\nwant %s", b, tt.wantData)
				}
			}
			if len(resp.Errors) != len(tt.wantErrs) {
				t.Fatalf("errors %+v, want %+v", resp.Errors, tt.wantErrs)
			}
			for i, want := range tt.wantErrs {
				got := resp.Errors[i]
				if got.ErrorType != want.ErrorType || !strings.Contains(got.Message, want.Message) || !reflect.DeepEqual(got.Path, want.Path) {
					t.Errorf("error %d = %+v, want %+v", i, got, want)
				}
				if len(got.Path) > 0 && len(got.Locations) == 0 {
					t.Errorf("error %d has no location", i)
				}
			}
		})
	}
}
