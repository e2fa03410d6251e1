package browsertest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tre-egress/egress/web"
	"github.com/tre-egress/egress/web/browsertest"
)

// The harness itself: each check must catch what it exists to catch, on
// pages served under the console's own Content-Security-Policy.

var (
	browserOnce sync.Once
	shared      *browsertest.Browser
	sharedErr   error
)

// browser is one Chromium for the tests of this package.
func browser(t *testing.T) *browsertest.Browser {
	t.Helper()
	path := browsertest.Chromium(t)
	browserOnce.Do(func() { shared, sharedErr = browsertest.Launch(path) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

const zipBytes = "PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" // an empty zip

var pages = map[string]string{
	"/ok": `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>ok</title><script src="/app.js"></script></head>
<body><main><h1>Queue</h1><label for="c">Comment</label><input id="c"><button type="button" id="b">Sign in as IG reviewer</button>
<p id="out"></p><a href="/file.zip">Download zip</a><div style="width:100%">fits</div></main></body></html>`,
	"/app.js":     `addEventListener("DOMContentLoaded", () => { b.onclick = () => { out.textContent = "signed in " + c.value; }; });`,
	"/inline":     `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>inline</title></head><body><main><script>document.title = "ran"</script></main></body></html>`,
	"/error":      `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>error</title><script src="/error.js"></script></head><body><main></main></body></html>`,
	"/error.js":   `console.error("could not load the queue");`,
	"/noalt":      `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>noalt</title></head><body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>`,
	"/wide":       `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>wide</title><meta name="viewport" content="width=device-width"></head><body><main><table><tr><td style="min-width:600px">wide</td></tr></table></main></body></html>`,
	"/file.zip":   zipBytes,
	"/connect":    `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>connect</title><script src="/connect.js"></script></head><body><main></main></body></html>`,
	"/connect.js": `fetch("http://192.0.2.1/graphql").catch(() => {});`,
}

func server(t *testing.T) *httptest.Server {
	t.Helper()
	csp := web.ContentSecurityPolicy(web.Policy{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript")
		case strings.HasSuffix(r.URL.Path, ".zip"):
			w.Header().Set("Content-Type", "application/zip")
			w.Header().Set("Content-Disposition", `attachment; filename="release.zip"`)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHarnessRecordsWhatGoesWrong(t *testing.T) {
	b := browser(t)
	srv := server(t)
	tests := []struct {
		path string
		want string // in one of the problems; "" for none
	}{
		{"/ok", ""},
		{"/inline", "script-src"},
		{"/error", "could not load the queue"},
		{"/connect", "connect-src"},
		{"/missing", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := b.NewPage(30 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Do(chromedp.Navigate(srv.URL + tt.path)); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				// A clean page stays clean after its scripts ran.
				if err := p.Do(chromedp.Click(browsertest.Button("Sign in as IG reviewer")), chromedp.WaitVisible(browsertest.Text("signed in"))); err != nil {
					t.Fatal(err)
				}
				if got := p.Problems(); len(got) > 0 {
					t.Fatalf("problems on a clean page: %q", got)
				}
				return
			}
			// Problems arrive as events: wait for one, never sleep.
			if err := p.WaitProblem(tt.want); err != nil {
				t.Fatalf("%v; problems: %q", err, p.Problems())
			}
		})
	}
}

func TestAxeFindsSeriousViolations(t *testing.T) {
	b := browser(t)
	_, err := browsertest.AxeSource()
	browsertest.Need(t, err)
	srv := server(t)
	tests := []struct {
		path string
		want string // a serious rule id; "" for none
	}{
		{"/ok", ""},
		{"/noalt", "image-alt"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := b.Page(t, 60*time.Second)
			if err := p.Do(chromedp.Navigate(srv.URL + tt.path)); err != nil {
				t.Fatal(err)
			}
			got, err := p.SeriousViolations()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) == 0 || !strings.HasPrefix(got[0], tt.want)) {
				t.Fatalf("serious violations %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHorizontalOverflowAtPhoneWidth(t *testing.T) {
	b := browser(t)
	srv := server(t)
	tests := []struct {
		path string
		wide bool
	}{
		{"/ok", false},
		{"/wide", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := b.Page(t, 30*time.Second)
			if err := p.Do(chromedp.Navigate(srv.URL + tt.path)); err != nil {
				t.Fatal(err)
			}
			over, err := p.HorizontalOverflow(375)
			if err != nil {
				t.Fatal(err)
			}
			if (over > 0) != tt.wide {
				t.Fatalf("overflow %d px at 375 px, want wide %v", over, tt.wide)
			}
		})
	}
}

func TestDownloadIsCaptured(t *testing.T) {
	b := browser(t)
	srv := server(t)
	p := b.Page(t, 30*time.Second)
	if err := p.Do(chromedp.Navigate(srv.URL + "/ok")); err != nil {
		t.Fatal(err)
	}
	path, err := p.Download(t.TempDir(), chromedp.Click(browsertest.Button("Download zip")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, []byte(zipBytes)) {
		t.Fatalf("downloaded %q, %v", got, err)
	}
}
