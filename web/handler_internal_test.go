package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDist(t *testing.T) string {
	t.Helper()
	// dist beside a file that must not be reachable through it.
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "dist")
	for name, body := range map[string]string{
		"index.html":          "<!doctype html><title>console</title>",
		"app.js":              "export{}",
		"app.css":             "body{}",
		"chunks/cognito-X.js": "export{}",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHandler(t *testing.T) {
	dist := writeDist(t)
	cfg := Config{GraphQLURL: "http://127.0.0.1:1/graphql", Auth: Auth{Kind: AuthLocal, DevUsersURL: "/local/dev-users"},
		ReviewerGroups: []string{"InformationGovernance", "TREAdmin"}, AdminGroup: "TREAdmin", ResearcherGroup: "Researcher", MaxDownloads: 3}
	policy := Policy{Images: []string{"http://127.0.0.1:9000"}}
	h := Handler(dist, cfg, policy)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string // a substring of the body
		ctype, cache string
	}{
		{"GET", "/", 200, "<title>console</title>", "text/html; charset=utf-8", "no-cache"},
		{"GET", "/index.html", 200, "<title>console</title>", "text/html; charset=utf-8", "no-cache"},
		{"GET", "/app.js", 200, "export{}", "text/javascript; charset=utf-8", "no-cache"},
		{"GET", "/app.css", 200, "body{}", "text/css; charset=utf-8", "no-cache"},
		{"GET", "/chunks/cognito-X.js", 200, "export{}", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"GET", "/config.json", 200, `"graphqlUrl":"http://127.0.0.1:1/graphql"`, "application/json", "no-cache"},
		{"GET", "/queue", 200, "<title>console</title>", "text/html; charset=utf-8", "no-cache"}, // a page of the app
		{"GET", "/a/b/c", 200, "<title>console</title>", "text/html; charset=utf-8", "no-cache"}, // deeper, still the app
		{"GET", "/missing.js", 404, "not found", "text/plain; charset=utf-8", ""},                // a dot: a file, not a page
		{"GET", "/../secret.txt", 404, "not found", "text/plain; charset=utf-8", ""},             // cleaned to /secret.txt under dist
		{"HEAD", "/", 200, "", "text/html; charset=utf-8", "no-cache"},
		{"POST", "/", 405, "GET and HEAD", "text/plain; charset=utf-8", ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body %q lacks %q", rec.Body, tc.body)
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if tc.cache != "" && res.Header.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tc.cache)
			}
			// Every answer, errors included, carries the security headers.
			for k, want := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy(policy),
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
		})
	}
	if csp := ContentSecurityPolicy(policy); !strings.Contains(csp, "img-src 'self' data: http://127.0.0.1:9000") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q: want the image origin and scripts from self only", csp)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/config.json", nil))
	var got Config
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Auth.Kind != AuthLocal || got.AdminGroup != "TREAdmin" || len(got.ReviewerGroups) != 2 || got.MaxDownloads != 3 {
		t.Errorf("config.json %+v: want cfg back", got)
	}
}

// TestHandlerNotBuilt: without a bundle every page says how to build it.
func TestHandlerNotBuilt(t *testing.T) {
	h := Handler(t.TempDir(), Config{}, Policy{})
	for _, p := range []string{"/", "/app.js", "/queue"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "run make web") {
			t.Errorf("GET %s: %d %q, want 503 saying run make web", p, rec.Code, rec.Body)
		}
	}
	// config.json needs no bundle.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/config.json", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /config.json without a bundle: %d", rec.Code)
	}
}
