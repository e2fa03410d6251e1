package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
)

// stage puts body where the workflow stages r's file at path and returns
// the file as the manifest lists it.
func (e *env) stage(t *testing.T, r egress.Request, path string, body []byte) egress.File {
	t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.staging),
		Key: aws.String(egress.StagedKey(r, path)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	return egress.File{Path: path, SourceKey: r.StoreBucketPath + path, VersionID: "swb-" + path,
		StagedVersionID: aws.ToString(out.VersionId), Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
}

// seedStaged stores a request in the state f describes whose manifest
// lists files, staged with their bodies, in the order given.
func (e *env) seedStaged(t *testing.T, f fixture, paths []string, bodies map[string][]byte) egress.Request {
	t.Helper()
	r := e.seed(t, f)
	m := egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID}
	for _, p := range paths {
		m.Files = append(m.Files, e.stage(t, r, p, bodies[p]))
	}
	if err := e.objects.WriteManifest(context.Background(), e.staging, r.StagingObjectMetadataVersion, m); err != nil {
		t.Fatal(err)
	}
	return r
}

// countingObjects counts the reads of a request's files and links made,
// so a test can tell that a refusal came before any.
type countingObjects struct {
	*objects.Client
	calls atomic.Int64
}

func (c *countingObjects) ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error) {
	c.calls.Add(1)
	return c.Client.ReadManifest(ctx, bucket, key)
}

func (c *countingObjects) ReadHead(ctx context.Context, bucket, key, version string, n int64) ([]byte, error) {
	c.calls.Add(1)
	return c.Client.ReadHead(ctx, bucket, key, version, n)
}

func (c *countingObjects) PresignVersion(ctx context.Context, bucket, key, version string, expiry time.Duration) (string, error) {
	c.calls.Add(1)
	return c.Client.PresignVersion(ctx, bucket, key, version, expiry)
}

func fixtureNamed(t *testing.T, name string) fixture {
	t.Helper()
	for _, f := range fixtures {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no fixture %q", name)
	return fixture{}
}

// errorMessage is the message AppSync would show for err.
func errorMessage(err error) string {
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		return ie.Message
	}
	return ""
}

func previews(t *testing.T, e *env, id string) []egress.Event {
	t.Helper()
	evs, err := e.table.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(evs, func(ev egress.Event) bool { return ev.Kind != egress.EventPreview })
}

// Who may preview: the awaited stage's group and the TRE admins, never the
// requester, only while a decision is awaited, only the request's files.
// Refusals come before anything about the request but its status is read.
func TestPreviewAuthorization(t *testing.T) {
	e := newEnv(t)
	counter := &countingObjects{Client: e.objects}
	e.svc.Manifests, e.svc.VersionPresigner, e.svc.HeadReader = counter, counter, counter
	admin := egress.Identity{Subject: "sub-admin", Email: "admin@example.org", Name: "Ada Admin", Groups: []string{"EgressAdmin"}}
	requesterAdmin := requester
	requesterAdmin.Groups = []string{"EgressAdmin"}
	const path = "results/a.csv"
	bodies := map[string][]byte{path: []byte("a,b\n1,2\n")}
	requests := map[string]egress.Request{}
	for _, f := range fixtures {
		requests[f.name] = e.seedStaged(t, f, []string{path}, bodies)
	}
	unstaged := newRequest()
	if _, err := e.table.Create(context.Background(), unstaged); err != nil {
		t.Fatal(err)
	}
	requests["PROCESSING, not staged yet"] = unstaged

	tests := []struct {
		name    string
		state   string
		who     egress.Identity
		admins  []string // Service.AdminGroups; nil is EgressAdmin
		id      string   // "" is the state's request
		path    string
		want    string // the errorType; "" allows
		message string // in the error's message
	}{
		{"IG reviewer at the IG stage", "PROCESSING", igReviewer, nil, "", path, "", ""},
		{"RIT reviewer at the IG stage", "PROCESSING", ritReviewer, nil, "", path, egress.EFORBIDDEN, "only members of InformationGovernance"},
		{"admin at the IG stage", "PROCESSING", admin, nil, "", path, "", ""},
		{"TREAdmin, the default admins, at the IG stage", "PROCESSING", ritReviewer, []string{}, "", path, "", ""},
		{"RIT reviewer at the RIT stage", "IGAPPROVED", ritReviewer, nil, "", path, "", ""},
		{"IG reviewer at the RIT stage", "IGAPPROVED", igReviewer, nil, "", path, egress.EFORBIDDEN, "only members of TREAdmin"},
		{"admin at the RIT stage", "IGAPPROVED", admin, nil, "", path, "", ""},
		{"requester in the stage's group", "PROCESSING", requester, nil, "", path, egress.EFORBIDDEN, "you submitted"},
		{"requester who is an admin", "IGAPPROVED", requesterAdmin, nil, "", path, egress.EFORBIDDEN, "you submitted"},
		{"no group", "PROCESSING", noGroup, nil, "", path, egress.EFORBIDDEN, "previews are limited"},
		{"no group, request missing", "PROCESSING", noGroup, nil, "req-missing", path, egress.EFORBIDDEN, "previews are limited"},
		{"released, single approval", "IGAPPROVED single approval, released", igReviewer, nil, "", path, egress.ECONFLICT, "awaits no decision"},
		{"released", "RITAPPROVED", admin, nil, "", path, egress.ECONFLICT, "is RITAPPROVED and awaits no decision"},
		{"rejected", "REJECTED", igReviewer, nil, "", path, egress.ECONFLICT, "is REJECTED and awaits no decision"},
		{"failed", "FAILED", igReviewer, nil, "", path, egress.ECONFLICT, "awaits no decision"},
		{"expired", "EXPIRED", ritReviewer, nil, "", path, egress.ECONFLICT, "awaits no decision"},
		{"not staged yet", "PROCESSING, not staged yet", igReviewer, nil, "", path, egress.ECONFLICT, "no staged files yet"},
		{"unknown path", "PROCESSING", igReviewer, nil, "", "results/b.csv", egress.ENOTFOUND, `no file "results/b.csv"`},
		{"a folder, not a file", "PROCESSING", igReviewer, nil, "", "results", egress.ENOTFOUND, `no file "results"`},
		{"request missing", "PROCESSING", igReviewer, nil, "req-missing", path, egress.ENOTFOUND, "req-missing"},
		{"no path", "PROCESSING", igReviewer, nil, "", "", egress.EINVALID, "path is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.svc.AdminGroups = []string{"EgressAdmin"}
			if tt.admins != nil {
				e.svc.AdminGroups = tt.admins
			}
			r := requests[tt.state]
			id := cmpOr(tt.id, r.ID)
			// The fixed clock gives every preview the same time, so they
			// are told apart by actor.
			by := func(evs []egress.Event) []egress.Event {
				return slices.DeleteFunc(evs, func(ev egress.Event) bool { return ev.Actor != tt.who.Email })
			}
			before := len(by(previews(t, e, r.ID)))
			counter.calls.Store(0)
			out, err := e.call(tt.who, "Query", "previewFile", map[string]any{"egress_request_id": id, "path": tt.path}, nil)
			if got := errorType(err); got != tt.want || !strings.Contains(errorMessage(err), tt.message) {
				t.Fatalf("error %q %q, want %q containing %q", got, errorMessage(err), tt.want, tt.message)
			}
			after := by(previews(t, e, r.ID))
			if tt.want != "" {
				if len(after) != before {
					t.Errorf("a refused preview was recorded: %+v", after[len(after)-1])
				}
				if n := counter.calls.Load(); n != 0 && tt.want != egress.ENOTFOUND {
					t.Errorf("refused after %d reads of the request's files", n)
				}
				return
			}
			var v api.FilePreviewView
			if err := json.Unmarshal(out, &v); err != nil || v.Path != path || v.URL == "" {
				t.Fatalf("preview %s: %v", out, err)
			}
			if len(after) != before+1 {
				t.Fatalf("%d PREVIEW events, want %d", len(after), before+1)
			}
			ev := after[len(after)-1]
			stage := map[string]string{"PROCESSING": "IG", "IGAPPROVED": "RIT"}[tt.state]
			if ev.Actor != tt.who.Email || ev.Reason != "previewed "+path || ev.Stage != stage || ev.From != r.Status || ev.To != r.Status {
				t.Errorf("event %+v", ev)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// A preview shows a file's type, its head as rows or lines, and links the
// exact staged version for at most five minutes; the link is never
// recorded or logged.
func TestPreviewFile(t *testing.T) {
	e := newEnv(t)
	var csvBody strings.Builder
	csvBody.WriteString("id,name,note\n")
	csvBody.WriteString(`1,"Smith, J","two` + "\n" + `lines"` + "\n")
	csvBody.WriteString("2," + strings.Repeat("x", 300) + ",\n")
	for i := 3; i <= 60; i++ {
		fmt.Fprintf(&csvBody, "%d,n%d,\n", i, i)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 1, 2}, 100)...)
	bodies := map[string][]byte{
		"tables/a.csv":   []byte(csvBody.String()),
		"tables/b.tsv":   []byte("x\ty\n1\t2\n"),
		"notes/read.txt": []byte("first\r\nsecond\n"),
		"plots/fig.png":  png,
		"empty.log":      {},
	}
	paths := []string{"tables/a.csv", "tables/b.tsv", "notes/read.txt", "plots/fig.png", "empty.log"}
	r := e.seedStaged(t, fixtures[0], paths, bodies)
	tests := []struct {
		path        string
		contentType string
		lines       []string
		rows        [][]string
		truncated   bool
	}{
		{"tables/a.csv", "text/csv", nil, nil, true},
		{"tables/b.tsv", "text/tab-separated-values", nil, [][]string{{"x", "y"}, {"1", "2"}}, false},
		{"notes/read.txt", "text/plain", []string{"first", "second"}, nil, false},
		{"plots/fig.png", "image/png", nil, nil, false},
		{"empty.log", "text/plain", []string{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			out, err := e.call(igReviewer, "Query", "previewFile", map[string]any{"egress_request_id": r.ID, "path": tt.path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var v api.FilePreviewView
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(bodies[tt.path])
			if v.ContentType != tt.contentType || v.Size != int64(len(bodies[tt.path])) || v.SHA256 != hex.EncodeToString(sum[:]) || v.Truncated != tt.truncated {
				t.Errorf("preview %+v", v)
			}
			if tt.path == "tables/a.csv" {
				if len(v.Rows) != api.PreviewRows || v.Lines != nil {
					t.Fatalf("%d rows, lines %v", len(v.Rows), v.Lines)
				}
				if !reflect.DeepEqual(v.Rows[1], []string{"1", "Smith, J", "two\nlines"}) || v.Rows[2][1] != strings.Repeat("x", api.PreviewCellChars) || v.Rows[49][0] != "49" {
					t.Errorf("rows %q", v.Rows[:3])
				}
			} else if !reflect.DeepEqual(v.Lines, tt.lines) || !reflect.DeepEqual(v.Rows, tt.rows) {
				t.Errorf("lines %q rows %q, want %q %q", v.Lines, v.Rows, tt.lines, tt.rows)
			}
			// The link: the staged bytes, for DownloadExpiry (a minute, under five).
			if exp, err := time.Parse(egress.TimeLayout, v.ExpiresAt); err != nil || !exp.Equal(now.Add(time.Minute)) {
				t.Errorf("expires_at %q, want %s", v.ExpiresAt, now.Add(time.Minute))
			}
			u, _ := url.Parse(v.URL)
			if q := u.Query(); q.Get("X-Amz-Expires") != "60" || q.Get("versionId") == "" {
				t.Errorf("link query %v", q)
			}
			if got := fetchBody(t, v.URL); !bytes.Equal(got, bodies[tt.path]) {
				t.Errorf("link serves %d bytes, want the %d staged", len(got), len(bodies[tt.path]))
			}
		})
	}

	// A later write to the staged key does not change what a link serves.
	out, err := e.call(ritReviewer, "Query", "previewFile", map[string]any{"egress_request_id": r.ID, "path": "notes/read.txt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v api.FilePreviewView
	json.Unmarshal(out, &v)
	e.stage(t, r, "notes/read.txt", []byte("overwritten"))
	if got := fetchBody(t, v.URL); string(got) != "first\r\nsecond\n" {
		t.Errorf("after an overwrite the link serves %q", got)
	}

	// A long DownloadExpiry is capped at five minutes.
	e.svc.DownloadExpiry = time.Hour
	out, err = e.call(igReviewer, "Query", "previewFile", map[string]any{"egress_request_id": r.ID, "path": "empty.log"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(out, &v)
	if u, _ := url.Parse(v.URL); u.Query().Get("X-Amz-Expires") != "300" || v.ExpiresAt != egress.FormatTime(now.Add(5*time.Minute)) {
		t.Errorf("link for %s until %s, want 300s", u.Query().Get("X-Amz-Expires"), v.ExpiresAt)
	}

	evs := previews(t, e, r.ID)
	if len(evs) != len(tests)+2 {
		t.Fatalf("%d PREVIEW events, want %d", len(evs), len(tests)+2)
	}
	trail, _ := json.Marshal(evs)
	for _, secret := range []string{"X-Amz-Signature", "http"} {
		if strings.Contains(string(trail), secret) || strings.Contains(e.logs.String(), secret) {
			t.Errorf("the trail or the log holds %q", secret)
		}
	}
	if !strings.Contains(e.logs.String(), `"msg":"file previewed"`) {
		t.Errorf("no log line for the previews:\n%s", e.logs.String())
	}
}

func fetchBody(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: HTTP %d %s %v", resp.StatusCode, b, err)
	}
	return b
}

// The previewFile field through the schema, as a client selects it.
func TestPreviewFileOverGraphQL(t *testing.T) {
	e := newEnv(t)
	r := e.seedStaged(t, fixtures[0], []string{"a.json"}, map[string][]byte{"a.json": []byte("{\n  \"k\": 1\n}\n")})
	resp := e.gql(igReviewer, `query($id: String!, $p: String!) { previewFile(egress_request_id: $id, path: $p) { path content_type size lines rows truncated } }`,
		map[string]any{"id": r.ID, "p": "a.json"})
	if len(resp.Errors) > 0 {
		t.Fatalf("errors %+v", resp.Errors)
	}
	var data struct {
		PreviewFile struct {
			ContentType string     `json:"content_type"`
			Size        float64    `json:"size"`
			Lines       []string   `json:"lines"`
			Rows        [][]string `json:"rows"`
			Truncated   *bool      `json:"truncated"`
		} `json:"previewFile"`
	}
	decode(t, resp, &data)
	p := data.PreviewFile
	if p.ContentType != "application/json" || p.Size != 13 || !reflect.DeepEqual(p.Lines, []string{"{", `  "k": 1`, "}"}) || p.Rows != nil || p.Truncated == nil || *p.Truncated {
		t.Fatalf("previewFile %+v", p)
	}
}

func TestContentType(t *testing.T) {
	zip := makeZip(t, map[string]string{"a.txt": "a"})
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"a.csv", []byte("a,b\n1,2\n"), "text/csv"},
		{"A.CSV", []byte("a,b\n"), "text/csv"},
		{"a.tsv", []byte("a\tb\n"), "text/tab-separated-values"},
		{"notes.md", []byte("# Notes\n"), "text/plain"},
		{"run.log", []byte("started\n"), "text/plain"},
		{"a.json", []byte(`{"a":1}`), "application/json"},
		{"no-extension", []byte("plain words\n"), "text/plain; charset=utf-8"},
		{"script.R", []byte("x <- 1\n"), "text/plain; charset=utf-8"},
		{"fig.png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "image/png"},
		{"report.pdf", []byte("%PDF-1.7\n"), "application/pdf"},
		{"data.bin", []byte{0, 1, 2, 3, 0xff}, "application/octet-stream"},
		// The bytes win over an extension that claims text.
		{"looks.csv", zip, "application/zip"},
		{"nul.txt", []byte{'a', 0, 'b', 0}, "application/octet-stream"},
		{"utf16.csv", []byte("\xff\xfea\x00,\x00b\x00"), "text/plain; charset=utf-16le"},
		{"empty.csv", nil, "text/csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := api.ContentType(tt.name, tt.head); got != tt.want {
				t.Errorf("ContentType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPreviewHead(t *testing.T) {
	numbered := func(n int, format string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	lines := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("line %d", i))
		}
		return out
	}
	long := strings.Repeat("é", api.PreviewLineChars+1)
	tests := []struct {
		name        string
		contentType string
		head        string
		size        int // of the whole file; 0 is len(head)
		lines       []string
		rows        [][]string
		truncated   bool
	}{
		{"text", "text/plain", "a\nb\n", 0, []string{"a", "b"}, nil, false},
		{"text without a final newline", "text/plain; charset=utf-8", "a\nb", 0, []string{"a", "b"}, nil, false},
		{"CRLF and a BOM", "text/plain", "\uFEFFa\r\nb\r\n", 0, []string{"a", "b"}, nil, false},
		{"blank lines kept", "text/plain", "a\n\nb\n", 0, []string{"a", "", "b"}, nil, false},
		{"empty", "text/plain", "", 0, []string{}, nil, false},
		{"50 lines exactly", "text/plain", numbered(50, "line %d\n"), 0, lines(1, 50), nil, false},
		{"51 lines", "text/plain", numbered(51, "line %d\n"), 0, lines(1, 50), nil, true},
		{"a long line cut by characters", "text/plain", long + "\nb\n", 0, []string{long[:2*api.PreviewLineChars], "b"}, nil, true},
		{"a line of exactly the limit", "text/plain", long[2:] + "\n", 0, []string{long[2:]}, nil, false},
		{"head of a longer file: its last partial line dropped", "text/plain", "a\nb\npart", 100, []string{"a", "b"}, nil, true},
		{"head of a longer file of one line", "text/plain", "abc", 100, []string{"abc"}, nil, true},
		{"invalid UTF-8 replaced", "text/plain", "a\xffb\n", 0, []string{"a\uFFFDb"}, nil, false},
		{"JSON as lines", "application/json", "{\n\"a\": 1\n}", 0, []string{"{", `"a": 1`, "}"}, nil, false},
		{"CSV", "text/csv", "a,b\n1,2\n", 0, nil, [][]string{{"a", "b"}, {"1", "2"}}, false},
		{"CSV with quotes, ragged rows and a BOM", "text/csv", "\uFEFFa,\"b,\"\"c\"\"\"\n1\n\"x\ny\",2,3\n", 0, nil,
			[][]string{{"a", `b,"c"`}, {"1"}, {"x\ny", "2", "3"}}, false},
		{"CSV, 50 rows exactly", "text/csv", numbered(50, "%d,x\n"), 0, nil, nil, false},
		{"CSV, 51 rows", "text/csv", numbered(51, "%d,x\n"), 0, nil, nil, true},
		{"CSV, a long cell", "text/csv", "a," + strings.Repeat("c", 201) + "\n", 0, nil, [][]string{{"a", strings.Repeat("c", 200)}}, true},
		{"CSV head of a longer file", "text/csv", "a,b\n1,2\n3,", 1000, nil, [][]string{{"a", "b"}, {"1", "2"}}, true},
		{"CSV, a bare quote read leniently", "text/csv", "a\"b,c\n", 0, nil, [][]string{{"a\"b", "c"}}, false},
		{"empty CSV", "text/csv", "", 0, nil, [][]string{}, false},
		{"TSV", "text/tab-separated-values", "a\tb c\n1\t2\n", 0, nil, [][]string{{"a", "b c"}, {"1", "2"}}, false},
		{"binary", "application/octet-stream", "\x00\x01\x02\n", 0, nil, nil, false},
		{"image", "image/png", "\x89PNG\r\n", 10000, nil, nil, false},
		{"UTF-16 text", "text/plain; charset=utf-16le", "\xff\xfea\x00", 0, nil, nil, false},
		{"PDF", "application/pdf", "%PDF-1.7\n", 0, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := int64(tt.size)
			if size == 0 {
				size = int64(len(tt.head))
			}
			lines, rows, truncated := api.PreviewHead(tt.contentType, []byte(tt.head), size)
			if strings.HasPrefix(tt.name, "CSV, 5") {
				if len(rows) != 50 || rows[49][0] != "50" || lines != nil || truncated != tt.truncated {
					t.Fatalf("%d rows (last %v), truncated %v", len(rows), rows[len(rows)-1], truncated)
				}
				return
			}
			if !reflect.DeepEqual(lines, tt.lines) || !reflect.DeepEqual(rows, tt.rows) || truncated != tt.truncated {
				t.Errorf("lines %q rows %q truncated %v\nwant  %q %q %v", lines, rows, truncated, tt.lines, tt.rows, tt.truncated)
			}
		})
	}
}
