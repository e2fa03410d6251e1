package local

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// pngFile is a 2×2 PNG image.
func pngFile(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The reviewer console's additions over HTTP, on the real workflow: a
// request is in the review queue of the stage it awaits (and the TRE
// admin's), its files carry the types the checks sniffed, the reviewers'
// e-mails link to <web app>/#<id>, and once released it counts the
// downloads left.
func TestGraphQLConsoleAdditions(t *testing.T) {
	s := stack(t, false)
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	ig, rit := Reviewer(chain, 0), Reviewer(chain, 1) // RIT's group is the TRE admins' too
	files := map[string]string{
		"tables/counts.csv": "region,count\nNorth,12\nSouth,25\nEast,40\n",
		"figures/plot.png":  pngFile(t),
		"notes.txt":         "How the tables were made.\nNothing identifiable.\n",
	}
	wantTypes := map[string]string{"tables/counts.csv": "text/csv", "figures/plot.png": "image/png", "notes.txt": "text/plain; charset=utf-8"}
	sub := submitDir(t, s, storeDir(t, files))
	id := sub.RequestID

	gql := func(who egress.Identity, query string, vars map[string]any, out any) {
		t.Helper()
		status, resp := post(t, endpoint, token(t, s, who), map[string]any{"query": query, "variables": vars})
		if status != http.StatusOK || len(resp.Errors) > 0 {
			t.Fatalf("HTTP %d %+v", status, resp.Errors)
		}
		b, _ := json.Marshal(resp.Data)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	// queued pages through who's queue (other tests' requests share the
	// stack) and says whether id is in it, checking the order as it goes.
	queued := func(who egress.Identity) bool {
		t.Helper()
		found, token := false, ""
		var last struct {
			stage int
			at    string
		}
		for pages := 0; ; pages++ {
			var page struct {
				ReviewQueue struct {
					Items []struct {
						ID          string `json:"egress_request_id"`
						Status      string `json:"egress_status"`
						RequestedAt string `json:"requested_dt"`
					} `json:"items"`
					NextToken *string `json:"nextToken"`
				} `json:"reviewQueue"`
			}
			vars := map[string]any{"limit": 2}
			if token != "" {
				vars["next"] = token
			}
			gql(who, `query($limit: Int, $next: String) { reviewQueue(limit: $limit, nextToken: $next) { items { egress_request_id egress_status requested_dt } nextToken } }`, vars, &page)
			for _, it := range page.ReviewQueue.Items {
				stage := chain.StageAwaiting(egress.Status(it.Status))
				if stage < last.stage || stage == last.stage && it.RequestedAt < last.at {
					t.Fatalf("%s (%s, %s) queued after stage %d of %s", it.ID, it.Status, it.RequestedAt, last.stage, last.at)
				}
				last.stage, last.at = stage, it.RequestedAt
				found = found || it.ID == id
			}
			if page.ReviewQueue.NextToken == nil {
				return found
			}
			if token = *page.ReviewQueue.NextToken; pages > 500 {
				t.Fatal("paging never ends")
			}
		}
	}

	awaiting(t, s, id, 0)
	if !queued(ig) || !queued(rit) {
		t.Errorf("awaiting IG: in IG's queue %v, the admin's %v; want both", queued(ig), queued(rit))
	}
	var got struct {
		GetRequest struct {
			DownloadsLeft *int `json:"downloads_left"`
			Files         []struct {
				Path        string  `json:"path"`
				ContentType *string `json:"content_type"`
			} `json:"files"`
			FilePage struct {
				Items []struct {
					Path        string  `json:"path"`
					ContentType *string `json:"content_type"`
				} `json:"items"`
			} `json:"filePage"`
		} `json:"getRequest"`
	}
	gql(ig, `query($id: String!) { getRequest(egress_request_id: $id) { downloads_left files { path content_type } filePage(limit: 10) { items { path content_type } } } }`,
		map[string]any{"id": id}, &got)
	if got.GetRequest.DownloadsLeft != nil {
		t.Errorf("awaiting IG: downloads_left %d, want null", *got.GetRequest.DownloadsLeft)
	}
	if len(got.GetRequest.Files) != len(files) || len(got.GetRequest.FilePage.Items) != len(files) {
		t.Fatalf("files %+v, page %+v", got.GetRequest.Files, got.GetRequest.FilePage.Items)
	}
	for i, f := range got.GetRequest.Files {
		p := got.GetRequest.FilePage.Items[i]
		if f.ContentType == nil || *f.ContentType != wantTypes[f.Path] || p.Path != f.Path || p.ContentType == nil || *p.ContentType != *f.ContentType {
			t.Errorf("%s: content_type %v (filePage %v), want %q", f.Path, shown(f.ContentType), shown(p.ContentType), wantTypes[f.Path])
		}
	}
	mails, _ := requestMail(s, id)
	link := strings.TrimRight(s.URL, "/") + "/#" + id
	if !slices.ContainsFunc(mails, func(m Mail) bool { return strings.Contains(m.Text, link) }) {
		t.Errorf("no e-mail links to %s", link)
	}

	d := s.GraphQLDecider().withEndpoint(endpoint)
	if err := d.Decide(ctx(t), ig, id, egress.Approved, ""); err != nil {
		t.Fatal(err)
	}
	awaiting(t, s, id, 1)
	if queued(ig) || !queued(rit) {
		t.Errorf("awaiting RIT: in IG's queue %v, RIT's %v; want RIT's only", queued(ig), queued(rit))
	}
	if err := d.Decide(ctx(t), rit, id, egress.Approved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(id)); err != nil {
		t.Fatal(err)
	}
	left := func() *int {
		t.Helper()
		gql(ig, `query($id: String!) { getRequest(egress_request_id: $id) { downloads_left } }`, map[string]any{"id": id}, &got)
		return got.GetRequest.DownloadsLeft
	}
	if n := left(); n == nil || *n != s.Config.MaxDownloads {
		t.Fatalf("released: downloads_left %v, want %d", shown(n), s.Config.MaxDownloads)
	}
	if queued(rit) {
		t.Error("a released request is still queued")
	}
	if _, err := d.Download(ctx(t), ig, id); err != nil {
		t.Fatal(err)
	}
	if n := left(); n == nil || *n != s.Config.MaxDownloads-1 {
		t.Fatalf("after a download: downloads_left %v, want %d", shown(n), s.Config.MaxDownloads-1)
	}
}

func shown[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
