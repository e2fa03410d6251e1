package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// seedFiles stores a PROCESSING request whose manifest lists n files.
func (e *env) seedFiles(t *testing.T, n int) (egress.Request, []egress.File) {
	t.Helper()
	r := e.seed(t, fixtures[0])
	files := make([]egress.File, n)
	for i := range files {
		files[i] = egress.File{Path: fmt.Sprintf("results/part-%05d.csv", i), VersionID: fmt.Sprintf("v%d", i), Size: int64(i), SHA256: "aa"}
	}
	if err := e.objects.WriteManifest(context.Background(), e.staging, r.StagingObjectMetadataVersion,
		egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: files}); err != nil {
		t.Fatal(err)
	}
	return r, files
}

// filePage pages a request's files through the GraphQL executor, as a
// client of the schema does.
func (e *env) filePages(t *testing.T, r egress.Request, limit int) (paths []string, pages int) {
	t.Helper()
	const q = `query($id: String!, $limit: Int, $next: String) {
  getRequest(egress_request_id: $id) { filePage(limit: $limit, nextToken: $next) { items { path } nextToken } }
}`
	vars := map[string]any{"id": r.ID}
	if limit > 0 {
		vars["limit"] = limit
	}
	for {
		resp := e.gql(igReviewer, q, vars)
		if len(resp.Errors) > 0 {
			t.Fatalf("page %d: %+v", pages, resp.Errors)
		}
		var data struct {
			GetRequest struct {
				FilePage struct {
					Items []struct {
						Path string `json:"path"`
					} `json:"items"`
					NextToken *string `json:"nextToken"`
				} `json:"filePage"`
			} `json:"getRequest"`
		}
		decode(t, resp, &data)
		p := data.GetRequest.FilePage
		want := limit
		if want == 0 {
			want = api.DefaultFilePageLimit
		}
		if len(p.Items) > want {
			t.Fatalf("page of %d files, limit %d", len(p.Items), want)
		}
		for _, f := range p.Items {
			paths = append(paths, f.Path)
		}
		pages++
		if p.NextToken == nil {
			return paths, pages
		}
		vars["next"] = *p.NextToken
	}
}

// filePage returns every file once, in manifest order, a page at a time.
func TestFilePage(t *testing.T) {
	e := newEnv(t)
	r, files := e.seedFiles(t, 250)
	tests := []struct {
		limit, pages int
	}{{0, 3}, {100, 3}, {1, 250}, {250, 1}, {5000, 1}}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
			paths, pages := e.filePages(t, r, tt.limit)
			if pages != tt.pages || len(paths) != len(files) {
				t.Fatalf("%d files in %d pages, want %d in %d", len(paths), pages, len(files), tt.pages)
			}
			for i, f := range files {
				if paths[i] != f.Path {
					t.Fatalf("file %d is %s, want %s", i, paths[i], f.Path)
				}
			}
		})
	}
	// A request not staged yet has one empty page.
	unstaged := e.seed(t, fixtures[0])
	p, err := e.svc.FilesPage(context.Background(), igReviewer, egress.Request{ID: unstaged.ID}, 0, "")
	if err != nil || len(p.Files) != 0 || p.NextToken != "" {
		t.Fatalf("unstaged: %+v %v", p, err)
	}
}

// Page tokens are checked: made up, changed, or from another request's
// files, they are refused.
func TestFilePageTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, _ := e.seedFiles(t, 10)
	other, _ := e.seedFiles(t, 10)
	p, err := e.svc.FilesPage(ctx, igReviewer, r, 4, "")
	if err != nil || p.NextToken == "" {
		t.Fatalf("first page %+v %v", p, err)
	}
	op, _ := e.svc.FilesPage(ctx, igReviewer, other, 4, "")
	forge := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, token := range map[string]string{
		"garbage":         "not-a-token",
		"another request": op.NextToken,
		"offset 0":        forge(fmt.Sprintf(`{"r":%q,"o":0}`, r.ID)),
		"negative offset": forge(fmt.Sprintf(`{"r":%q,"o":-4}`, r.ID)),
		"past the end":    forge(fmt.Sprintf(`{"r":%q,"o":10}`, r.ID)),
		"not JSON":        forge("o=4"),
		"a requests token": func() string {
			p, _ := e.svc.RequestsPage(ctx, igReviewer, api.RequestFilter{}, 1, "")
			return p.NextToken
		}(),
	} {
		if _, err := e.svc.FilesPage(ctx, igReviewer, r, 4, token); egress.ErrorCode(err) != egress.EINVALID {
			t.Errorf("%s: %v, want %s", name, err, egress.EINVALID)
		}
	}
	if _, err := e.call(igReviewer, "Request", "filePage", map[string]any{"limit": 0}, api.NewRequestView(r)); errorType(err) != egress.EINVALID {
		t.Errorf("limit 0: %v", err)
	}
	if _, err := e.call(noGroup, "Request", "filePage", nil, api.NewRequestView(r)); errorType(err) != egress.EFORBIDDEN {
		t.Errorf("caller in no reviewer group: %v", err)
	}
}

// files lists up to MaxFilesListed files whole and refuses more, pointing
// to filePage, so its response stays within the resolver's limit.
func TestFilesBounded(t *testing.T) {
	e := newEnv(t)
	for _, n := range []int{api.MaxFilesListed, api.MaxFilesListed + 1} {
		r, _ := e.seedFiles(t, n)
		out, err := e.call(igReviewer, "Request", "files", nil, api.NewRequestView(r))
		switch {
		case n <= api.MaxFilesListed && err != nil:
			t.Errorf("%d files: %v", n, err)
		case n > api.MaxFilesListed && errorType(err) != egress.ELIMIT:
			t.Errorf("%d files: %v (%d bytes), want %s", n, err, len(out), egress.ELIMIT)
		}
	}
}
