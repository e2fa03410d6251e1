package local

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

const previewQuery = `query($id: String!, $path: String!) {
  previewFile(egress_request_id: $id, path: $path) { path content_type size sha256 url expires_at lines rows truncated }
}`

type previewData struct {
	PreviewFile struct {
		Path        string     `json:"path"`
		ContentType string     `json:"content_type"`
		Size        float64    `json:"size"`
		SHA256      string     `json:"sha256"`
		URL         string     `json:"url"`
		ExpiresAt   string     `json:"expires_at"`
		Lines       []string   `json:"lines"`
		Rows        [][]string `json:"rows"`
		Truncated   bool       `json:"truncated"`
	} `json:"previewFile"`
}

// previewFile calls previewFile over HTTP as who and returns its data and
// errors.
func previewFile(t *testing.T, s *Stack, endpoint string, who egress.Identity, id, path string) (previewData, []string) {
	t.Helper()
	status, resp := post(t, endpoint, token(t, s, who), map[string]any{"query": previewQuery, "variables": map[string]any{"id": id, "path": path}})
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %+v", status, resp.Errors)
	}
	var types []string
	for _, e := range resp.Errors {
		types = append(types, e.ErrorType)
	}
	var data previewData
	b, _ := json.Marshal(resp.Data)
	json.Unmarshal(b, &data)
	return data, types
}

// A reviewer of the awaited stage previews each staged file of a request
// in the real workflow over the local GraphQL endpoint: the link, made
// with egress-api's own credentials, serves exactly the staged bytes, and
// each preview is in the request's history. The requester is refused, and
// once the request is decided nobody can preview.
func TestPreviewOverGraphQL(t *testing.T) {
	s := stack(t, false)
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	ig := Reviewer(chain, 0)
	sub := submit(t, s)
	r := awaiting(t, s, sub.RequestID, 0)
	var paths []string
	for p := range sub.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			data, errs := previewFile(t, s, endpoint, ig, r.ID, p)
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			got := data.PreviewFile
			if got.Path != p || int(got.Size) != len(sub.Files[p]) || len(got.SHA256) != 64 || got.ExpiresAt == "" {
				t.Errorf("preview %+v", got)
			}
			if strings.HasSuffix(p, ".csv") && (got.ContentType != "text/csv" || len(got.Rows) == 0 || got.Lines != nil) {
				t.Errorf("CSV preview: %s, %d rows, lines %v", got.ContentType, len(got.Rows), got.Lines)
			}
			if !strings.HasSuffix(p, ".csv") && (!strings.HasPrefix(got.ContentType, "text/") || len(got.Lines) == 0) {
				t.Errorf("text preview: %s, %d lines", got.ContentType, len(got.Lines))
			}
			resp, err := http.Get(got.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, sub.Files[p]) {
				t.Fatalf("link: HTTP %d, %d bytes, want the %d staged", resp.StatusCode, len(body), len(sub.Files[p]))
			}
		})
	}
	requester := egress.Identity{Subject: "u-researcher", Email: researcher, Name: "Rita", Groups: []string{egress.GroupIG}}
	if _, errs := previewFile(t, s, endpoint, requester, r.ID, paths[0]); !slices.Equal(errs, []string{egress.EFORBIDDEN}) {
		t.Errorf("requester: errors %v, want %s", errs, egress.EFORBIDDEN)
	}
	if _, errs := previewFile(t, s, endpoint, egress.Identity{Subject: "sub-nobody", Email: "nobody@example.org"}, r.ID, paths[0]); !slices.Equal(errs, []string{"Unauthorized"}) {
		t.Errorf("no group: errors %v, want Unauthorized", errs)
	}
	events, err := s.Requests.Events(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var previewed []string
	for _, ev := range events {
		if ev.Kind == egress.EventPreview && ev.Actor == ig.Email && ev.Stage == "IG" {
			previewed = append(previewed, strings.TrimPrefix(ev.Reason, "previewed "))
		}
	}
	slices.Sort(previewed)
	if !slices.Equal(previewed, paths) {
		t.Errorf("PREVIEW events for %v, want %v", previewed, paths)
	}

	if err := s.GraphQLDecider().withEndpoint(endpoint).Decide(ctx(t), ig, r.ID, egress.Rejected, "preview test"); err != nil {
		t.Fatal(err)
	}
	finishedRejected(t, s, sub)
	if _, errs := previewFile(t, s, endpoint, ig, r.ID, paths[0]); !slices.Equal(errs, []string{egress.ECONFLICT}) {
		t.Errorf("after rejection: errors %v, want %s", errs, egress.ECONFLICT)
	}
}

// Without s3:GetObjectVersion on the staging bucket the API cannot read a
// staged version, so previewFile fails and nothing is recorded.
func TestPreviewNeedsItsGrant(t *testing.T) {
	s, logs := startWithoutLogged(t, []string{"EgressApi"}, "s3:GetObjectVersion", "StagingBucket")
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	sub := submit(t, s)
	r := awaiting(t, s, sub.RequestID, 0)
	var path string
	for p := range sub.Files {
		path = p
	}
	if _, errs := previewFile(t, s, endpoint, Reviewer(chain, 0), r.ID, path); !slices.Equal(errs, []string{egress.EINTERNAL}) {
		t.Fatalf("errors %v, want %s", errs, egress.EINTERNAL)
	}
	want := "User: arn:aws:sts::000000000000:assumed-role/egress-api-role/egress-api is not authorized to perform: s3:GetObjectVersion on resource: arn:aws:s3:::" +
		StagingBucket + "/" + egress.StagedKey(r, path)
	if !strings.Contains(logs.String(), want) {
		t.Errorf("no refusal containing %q in:\n%s", want, logs.String())
	}
	events, _ := s.Requests.Events(ctx(t), r.ID)
	for _, ev := range events {
		if ev.Kind == egress.EventPreview {
			t.Errorf("a failed preview was recorded: %+v", ev)
		}
	}
}
