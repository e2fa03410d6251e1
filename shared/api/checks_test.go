package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// findingsManifest is a manifest whose first two files carry findings, as
// the checks step writes them (blocking first, then warnings, then info).
var findingsManifest = []egress.File{
	{Path: "tables/a.csv", VersionID: "v1", Size: 10, SHA256: "aa", Findings: []egress.Finding{
		{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `row 3 ("London"), column "n": count 3 is below the threshold of 10`},
		{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `column "n": total 40 reveals the suppressed cell in row 5`},
		{Check: egress.CheckACRO, Severity: egress.SeverityInfo, Message: "results.json: output a.csv: status review, exception requested"},
	}},
	{Path: "figures/plot.png", VersionID: "v2", Size: 20, SHA256: "bb", Findings: []egress.Finding{
		{Check: egress.CheckMalware, Severity: egress.SeverityWarning, Message: "not scanned: larger than max_scan_bytes"},
	}},
	{Path: "README.txt", VersionID: "v3", Size: 5, SHA256: "cc"},
}

// seedManifest stores a request in state f whose manifest lists files.
func (e *env) seedManifest(t *testing.T, f fixture, files []egress.File) egress.Request {
	t.Helper()
	r := e.seed(t, f)
	if err := e.objects.WriteManifest(context.Background(), e.staging, r.StagingObjectMetadataVersion,
		egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: files}); err != nil {
		t.Fatal(err)
	}
	return r
}

type findingJSON struct {
	Path     *string `json:"path"`
	Check    string  `json:"check"`
	Severity string  `json:"severity"`
	Message  string  `json:"message"`
}

// wantFindings is what the API should show of files' findings, each with
// its path.
func wantFindings(files []egress.File) []findingJSON {
	out := []findingJSON{}
	for _, f := range files {
		for _, x := range f.Findings {
			out = append(out, findingJSON{Path: &f.Path, Check: x.Check, Severity: string(x.Severity), Message: x.Message})
		}
	}
	return out
}

func sameFindings(got, want []findingJSON) bool {
	return slices.EqualFunc(got, want, func(a, b findingJSON) bool {
		return (a.Path == nil) == (b.Path == nil) && (a.Path == nil || *a.Path == *b.Path) &&
			a.Check == b.Check && a.Severity == b.Severity && a.Message == b.Message
	})
}

// Each file's findings come with it in files, in the manifest's order with
// their severities, and beside the page's files in filePage; a file
// without findings has an empty list; reached from a request list too.
func TestFileFindings(t *testing.T) {
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-findings-%d", idSeq.Add(1))
	r := e.seedManifest(t, fixture{"PROCESSING", func(e *env, r *egress.Request) {
		r.RequestedBy, r.WorkspaceID, r.StoreID = owner.UserID, ws, ws
	}}, findingsManifest)
	want := wantFindings(findingsManifest)

	// files gives each file its own findings: flatten them with the path.
	fromFiles := func(files []struct {
		Path     string        `json:"path"`
		Findings []findingJSON `json:"findings"`
	}) []findingJSON {
		out := []findingJSON{}
		for _, f := range files {
			if f.Findings == nil {
				t.Errorf("%s: findings null, want a list", f.Path)
			}
			for _, x := range f.Findings {
				x.Path = &f.Path
				out = append(out, x)
			}
		}
		return out
	}
	// getRequestFiles reads the findings of getRequest's files.
	getRequestFiles := func(data json.RawMessage) []findingJSON {
		var v struct {
			GetRequest struct {
				Files []struct {
					Path     string        `json:"path"`
					Findings []findingJSON `json:"findings"`
				} `json:"files"`
			} `json:"getRequest"`
		}
		json.Unmarshal(data, &v)
		return fromFiles(v.GetRequest.Files)
	}
	tests := []struct {
		name  string
		who   egress.Identity
		query string
		read  func(data json.RawMessage) []findingJSON
	}{
		{"getRequest files", igReviewer, `query($id: String!) { getRequest(egress_request_id: $id) { files { path findings { check severity message } } } }`,
			getRequestFiles},
		{"workspaceRequests items files, five deep", ritReviewer, `query($ws: String!) { workspaceRequests(workspace_id: $ws) { items { files { path findings { check severity message } } } } }`,
			func(data json.RawMessage) []findingJSON {
				var v struct {
					WorkspaceRequests struct {
						Items []struct {
							Files []struct {
								Path     string        `json:"path"`
								Findings []findingJSON `json:"findings"`
							} `json:"files"`
						} `json:"items"`
					} `json:"workspaceRequests"`
				}
				json.Unmarshal(data, &v)
				if len(v.WorkspaceRequests.Items) != 1 {
					t.Fatalf("%d requests in the workspace, want 1", len(v.WorkspaceRequests.Items))
				}
				return fromFiles(v.WorkspaceRequests.Items[0].Files)
			}},
		{"filePage findings beside the items", igReviewer, `query($id: String!) { getRequest(egress_request_id: $id) { filePage(limit: 10) { items { path } findings { path check severity message } } } }`,
			func(data json.RawMessage) []findingJSON {
				var v struct {
					GetRequest struct {
						FilePage struct {
							Items    []struct{ Path string } `json:"items"`
							Findings []findingJSON           `json:"findings"`
						} `json:"filePage"`
					} `json:"getRequest"`
				}
				json.Unmarshal(data, &v)
				if n := len(v.GetRequest.FilePage.Items); n != len(findingsManifest) {
					t.Errorf("%d items, want %d", n, len(findingsManifest))
				}
				return v.GetRequest.FilePage.Findings
			}},
		{"the requester's own", owner, `query($id: String!) { getRequest(egress_request_id: $id) { files { path findings { check severity message } } } }`,
			getRequestFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.gql(tt.who, tt.query, map[string]any{"id": r.ID, "ws": ws})
			if len(resp.Errors) > 0 {
				t.Fatalf("errors %+v", resp.Errors)
			}
			data, _ := json.Marshal(resp.Data)
			if got := tt.read(data); !sameFindings(got, want) {
				t.Errorf("findings %s\nwant %+v", data, want)
			}
		})
	}
}

// checks shows the summary stored on the request, as stored, and null
// until the checks ran; a finding on the request as a whole has a null
// path.
func TestChecksSummary(t *testing.T) {
	e := researcherEnv(t)
	summary := egress.Summarise(egress.EngineClamAV, []egress.Finding{
		{Check: egress.CheckCount, Severity: egress.SeverityWarning, Message: "12 files, more than the 10 expected"},
	}, findingsManifest)
	const query = `query($id: String!) { getRequest(egress_request_id: $id) {
	  egress_status checks { engine blocking warnings info files notable { path check severity message } } } }`
	type checksJSON struct {
		Engine                          string
		Blocking, Warnings, Info, Files int
		Notable                         []findingJSON
	}
	tests := []struct {
		name    string
		who     egress.Identity
		checks  *egress.CheckSummary
		fixture string
	}{
		{"not run yet", igReviewer, nil, "PROCESSING"},
		{"warnings", igReviewer, &summary, "PROCESSING"},
		{"warnings, the requester", owner, &summary, "PROCESSING"},
		{"blocked", ritReviewer, nil, "BLOCKED"}, // the fixture's own summary
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fixtureNamed(t, tt.fixture)
			r := e.seedOwned(t, fixture{f.name, func(e *env, r *egress.Request) {
				f.build(e, r)
				if tt.checks != nil {
					r.Checks = tt.checks
				}
			}}, owner.UserID, "ws-checks")
			resp := e.gql(tt.who, query, map[string]any{"id": r.ID})
			if len(resp.Errors) > 0 {
				t.Fatalf("errors %+v", resp.Errors)
			}
			var v struct {
				GetRequest struct {
					Status string      `json:"egress_status"`
					Checks *checksJSON `json:"checks"`
				} `json:"getRequest"`
			}
			decode(t, resp, &v)
			got, stored := v.GetRequest.Checks, r.Checks
			if stored == nil {
				if got != nil {
					t.Fatalf("checks %+v before the checks ran, want null", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("checks null, want %+v", stored)
			}
			want := []findingJSON{}
			for _, x := range stored.Notable {
				p := &x.Path
				if x.Path == "" {
					p = nil
				}
				want = append(want, findingJSON{Path: p, Check: x.Check, Severity: string(x.Severity), Message: x.Message})
			}
			if got.Engine != stored.Engine || got.Blocking != stored.Blocking || got.Warnings != stored.Warnings ||
				got.Info != stored.Info || got.Files != stored.Files || !sameFindings(got.Notable, want) {
				t.Errorf("checks %+v, want %+v", got, stored)
			}
		})
	}
	// The summary above: a request-level warning first, path null.
	if summary.Warnings != 4 || summary.Info != 1 || summary.Files != 2 || summary.Notable[0].Path != "" {
		t.Fatalf("the test's summary is not what it means to be: %+v", summary)
	}
}

// A BLOCKED request is listed under its status, read by a reviewer of any
// stage and by its requester with why it ended, and takes no vote: it
// never awaited a decision.
func TestBlockedRequest(t *testing.T) {
	e := researcherEnv(t)
	ws := fmt.Sprintf("ws-blocked-%d", idSeq.Add(1))
	r := e.seedOwned(t, fixtureNamed(t, "BLOCKED"), owner.UserID, ws)
	other := e.seedOwned(t, fixtureNamed(t, "REJECTED"), owner.UserID, ws)
	if r.Status != egress.StatusBlocked || !strings.Contains(r.EndReason, "results/a.csv") {
		t.Fatalf("fixture %s %q", r.Status, r.EndReason)
	}

	const get = `query($id: String!) { getRequest(egress_request_id: $id) { egress_status ended_by end_reason task_token current_reviewer_group } }`
	type view struct {
		Status    string  `json:"egress_status"`
		EndedBy   string  `json:"ended_by"`
		EndReason string  `json:"end_reason"`
		TaskToken *string `json:"task_token"`
		Group     *string `json:"current_reviewer_group"`
	}
	listed := func(t *testing.T, data json.RawMessage) []string {
		var v struct {
			Page *struct {
				Items []struct {
					ID     string `json:"egress_request_id"`
					Status string `json:"egress_status"`
				} `json:"items"`
			} `json:"page"`
		}
		if err := json.Unmarshal(data, &v); err != nil || v.Page == nil {
			t.Fatalf("%s: %v", data, err)
		}
		var ids []string
		for _, it := range v.Page.Items {
			if it.ID == r.ID && it.Status != string(egress.StatusBlocked) {
				t.Errorf("%s listed as %s", it.ID, it.Status)
			}
			ids = append(ids, it.ID)
		}
		return ids
	}
	tests := []struct {
		name  string
		who   egress.Identity
		query string
		vars  map[string]any
		check func(t *testing.T, data json.RawMessage)
	}{
		{"requests filtered by BLOCKED", igReviewer,
			`query($s: String) { page: requests(filter: {status: $s}, limit: 1000) { items { egress_request_id egress_status } } }`,
			map[string]any{"s": "BLOCKED"}, func(t *testing.T, data json.RawMessage) {
				ids := listed(t, data)
				if !slices.Contains(ids, r.ID) || slices.Contains(ids, other.ID) {
					t.Errorf("BLOCKED lists %v, want %s and not %s", ids, r.ID, other.ID)
				}
			}},
		{"the requester's myRequests", owner,
			`{ page: myRequests { items { egress_request_id egress_status } } }`, nil,
			func(t *testing.T, data json.RawMessage) {
				if ids := listed(t, data); !slices.Contains(ids, r.ID) {
					t.Errorf("myRequests lists %v, want %s", ids, r.ID)
				}
			}},
	}
	for _, who := range []struct {
		name string
		id   egress.Identity
	}{{"IG reviewer", igReviewer}, {"RIT reviewer", ritReviewer}, {"the requester", owner}} {
		tests = append(tests, struct {
			name  string
			who   egress.Identity
			query string
			vars  map[string]any
			check func(t *testing.T, data json.RawMessage)
		}{"getRequest as " + who.name, who.id, get, map[string]any{"id": r.ID}, func(t *testing.T, data json.RawMessage) {
			var v struct{ GetRequest *view }
			json.Unmarshal(data, &v)
			g := v.GetRequest
			if g == nil || g.Status != string(egress.StatusBlocked) || g.EndedBy != egress.ActorWorkflow || g.EndReason != r.EndReason ||
				!strings.Contains(g.EndReason, "Eicar-Test-Signature") {
				t.Errorf("view %s, want BLOCKED ended by the workflow with %q", data, r.EndReason)
			}
			if g != nil && (g.TaskToken != nil || g.Group != nil) {
				t.Errorf("a BLOCKED request awaits someone: %s", data)
			}
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.gql(tt.who, tt.query, tt.vars)
			if len(resp.Errors) > 0 {
				t.Fatalf("errors %+v", resp.Errors)
			}
			data, _ := json.Marshal(resp.Data)
			tt.check(t, data)
		})
	}

	// No vote, whatever token is sent, and the workflow is not resumed.
	for _, who := range []egress.Identity{igReviewer, ritReviewer} {
		for _, token := range []string{"ref-made-up", api.TokenRef("token-" + r.ID)} {
			_, err := e.call(who, "Mutation", "reviewRequest", map[string]any{"request": map[string]any{
				"egress_request_id": r.ID, "task_token": token, "decision": "APPROVED"}}, nil)
			if errorType(err) != egress.ECONFLICT {
				t.Errorf("reviewRequest by %s with %s: %v, want %s", who.Name, token, err, egress.ECONFLICT)
			}
		}
	}
	if calls := e.wf.calls("token-" + r.ID); len(calls) != 0 {
		t.Errorf("workflow resumed for a BLOCKED request: %+v", calls)
	}
	if got, err := e.table.Get(context.Background(), r.ID); err != nil || got.Status != egress.StatusBlocked || got.Version != r.Version {
		t.Errorf("after the refused votes: %s v%d (%v), want BLOCKED v%d", got.Status, got.Version, err, r.Version)
	}
}

// Findings can make files large: files refuses past MaxFilesBytes,
// pointing to filePage, whose pages end early to stay within it and
// together give every file and finding once, in order.
func TestFindingsBoundResponses(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", egress.MaxFindingMessage)
	files := make([]egress.File, 220)
	for i := range files {
		files[i] = egress.File{Path: fmt.Sprintf("tables/t-%03d.csv", i), VersionID: "v", Size: 1, SHA256: "aa"}
		for j := range egress.MaxFindingsPerFile {
			files[i].Findings = append(files[i].Findings, egress.Finding{Check: egress.CheckSDC, Severity: egress.SeverityWarning,
				Message: fmt.Sprintf("cell %d: %s", j, long)[:egress.MaxFindingMessage]})
		}
	}
	r := e.seedManifest(t, fixtures[0], files)

	if _, err := e.call(igReviewer, "Request", "files", nil, api.NewRequestView(r)); errorType(err) != egress.ELIMIT ||
		!strings.Contains(errorMessage(err), "filePage") {
		t.Errorf("files: %v, want a %s pointing to filePage", err, egress.ELIMIT)
	}
	var got []findingJSON
	var paths []string
	args := map[string]any{"limit": 1000}
	pages := 0
	for {
		out, err := e.call(igReviewer, "Request", "filePage", args, api.NewRequestView(r))
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > api.MaxFilesBytes {
			t.Fatalf("page %d is %d bytes, over %d", pages, len(out), api.MaxFilesBytes)
		}
		var p struct {
			Items     []struct{ Path string } `json:"items"`
			Findings  []findingJSON           `json:"findings"`
			NextToken string                  `json:"nextToken"`
		}
		if err := json.Unmarshal(out, &p); err != nil || len(p.Items) == 0 {
			t.Fatalf("page %d: %v, %d items", pages, err, len(p.Items))
		}
		for _, it := range p.Items {
			paths = append(paths, it.Path)
		}
		got = append(got, p.Findings...)
		pages++
		if p.NextToken == "" {
			break
		}
		args["nextToken"] = p.NextToken
	}
	if pages < 2 || len(paths) != len(files) || !sameFindings(got, wantFindings(files)) {
		t.Errorf("%d pages of %d files and %d findings, want several of %d files and %d findings", pages, len(paths), len(got), len(files), len(files)*egress.MaxFindingsPerFile)
	}
}
