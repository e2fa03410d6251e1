package local

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/web"
)

// get fetches path from the stack's front endpoint with headers.
func frontGet(t *testing.T, s *Stack, method, path string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestConsoleServed: the front endpoint serves the console at / for GETs
// (with its CSP allowing the local S3 server's images and its config),
// AWS protocol calls still reach their services, and without a bundle it
// says how to build one.
func TestConsoleServed(t *testing.T) {
	s := stack(t, false)
	dist := t.TempDir()
	if err := os.WriteFile(filepath.Join(dist, "index.html"), []byte("<!doctype html><title>egress console</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.SetWebDist(dist)
	t.Cleanup(func() { s.SetWebDist("") })

	for _, p := range []string{"/", "/queue"} {
		resp, body := frontGet(t, s, http.MethodGet, p, nil, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "egress console") {
			t.Fatalf("GET %s: %d %q, want the console", p, resp.StatusCode, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: "+s.S3.Endpoint) {
			t.Errorf("GET %s: CSP %q does not allow images from the local S3 server %s", p, csp, s.S3.Endpoint)
		}
	}
	// An e-mail's link followed from a webmail: a cross-site navigation.
	resp, _ := frontGet(t, s, http.MethodGet, "/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cross-site navigation to the console: %d, want 200", resp.StatusCode)
	}
	// ... but not a cross-site read of the development users.
	resp, _ = frontGet(t, s, http.MethodGet, DevUsersPath, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site navigation to %s: %d, want 403", DevUsersPath, resp.StatusCode)
	}

	resp, body := frontGet(t, s, http.MethodGet, "/"+web.ConfigFile, nil, "")
	var cfg web.Config
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("config.json %q: %v", body, err)
	}
	want := web.Config{GraphQLURL: s.URL + "/graphql", Region: Region,
		Auth:           web.Auth{Kind: web.AuthLocal, DevUsersURL: s.URL + DevUsersPath, DevTokenURL: s.URL + DevTokenPath},
		ReviewerGroups: []string{egress.GroupIG, egress.GroupRIT}, AdminGroup: egress.GroupRIT, ResearcherGroup: ResearcherGroup, MaxDownloads: s.Config.MaxDownloads}
	if g, w := mustJSON(t, cfg), mustJSON(t, want); g != w {
		t.Errorf("config.json %s, want %s", g, w)
	}

	// A Step Functions call (a POST with X-Amz-Target) still reaches the engine.
	resp, body = frontGet(t, s, http.MethodPost, "/", map[string]string{"X-Amz-Target": "AWSStepFunctions.DescribeStateMachine", "Content-Type": "application/x-amz-json-1.0"},
		`{"stateMachineArn":"`+s.StateMachineArn+`"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"`+StateMachineName+`"`) {
		t.Errorf("DescribeStateMachine through /: %d %q", resp.StatusCode, body)
	}

	s.SetWebDist(t.TempDir())
	resp, body = frontGet(t, s, http.MethodGet, "/", nil, "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "run make web") {
		t.Errorf("GET / without a bundle: %d %q, want 503 saying run make web", resp.StatusCode, body)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDevSignIn: the console's development users, one per group, get
// tokens from /local/dev-token that /graphql accepts for what their group
// may do; the researcher's reads the requests submitted with their SWB
// user id.
func TestDevSignIn(t *testing.T) {
	s := stack(t, false)
	resp, body := frontGet(t, s, http.MethodGet, DevUsersPath, nil, "")
	var users []web.DevUser
	if err := json.Unmarshal([]byte(body), &users); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %q: %v", DevUsersPath, resp.StatusCode, body, err)
	}
	var groups []string
	for _, u := range users {
		groups = append(groups, u.Groups...)
	}
	for _, g := range []string{egress.GroupIG, egress.GroupRIT, ResearcherGroup} {
		if !slices.Contains(groups, g) {
			t.Errorf("no development user in %s: %+v", g, users)
		}
	}
	byID := map[string]web.DevUser{}
	for _, u := range users {
		byID[u.ID] = u
	}
	if r := byID["researcher"]; r.SWBUserID != SampleResearcher.UserID || !strings.Contains(byID["tre-admin"].Label, "also RIT reviewer") {
		t.Errorf("researcher %+v (want SWB user id %s), admin %q (want it to say it is the RIT reviewer's group)", r, SampleResearcher.UserID, byID["tre-admin"].Label)
	}

	// The researcher's own request, submitted as the seeded one is.
	sub, err := s.swb().Submit(ctx(t), filepath.Join("testdata", "sample-store"), SampleResearcher.Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	awaiting(t, s, sub.RequestID, 0)

	queries := map[string]string{
		"ig-reviewer":  `{ requests(limit: 1) { nextToken } }`,
		"rit-reviewer": `{ requests(limit: 1) { nextToken } }`,
		"tre-admin":    `{ auditTrail(egress_request_id: "` + sub.RequestID + `", limit: 1) { head } }`,
		"researcher":   `{ getRequest(egress_request_id: "` + sub.RequestID + `") { egress_request_id } }`,
	}
	for _, u := range users {
		t.Run(u.ID, func(t *testing.T) {
			resp, body := frontGet(t, s, http.MethodPost, DevTokenPath, map[string]string{"Content-Type": "application/json"}, `{"id":"`+u.ID+`"}`)
			var toks web.DevTokens
			if err := json.Unmarshal([]byte(body), &toks); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s: %d %q: %v", DevTokenPath, resp.StatusCode, body, err)
			}
			if c := claimsOf(t, toks.AccessToken); c["token_use"] != UseAccess {
				t.Errorf("accessToken is a %v token", c["token_use"])
			}
			if c := claimsOf(t, toks.IDToken); c["token_use"] != UseID || c["email"] != u.Email {
				t.Errorf("idToken claims %v, want an ID token for %s", c, u.Email)
			}
			q, ok := queries[u.ID]
			if !ok {
				t.Fatalf("no query for development user %q", u.ID)
			}
			status, out := post(t, s.URL+"/graphql", toks.AccessToken, map[string]string{"query": q})
			if status != http.StatusOK || len(out.Errors) > 0 {
				t.Fatalf("%s: HTTP %d, errors %+v", q, status, out.Errors)
			}
			if u.ID == "researcher" && !strings.Contains(mustJSON(t, out.Data), sub.RequestID) {
				t.Errorf("the researcher does not see their request: %s", out.Data)
			}
		})
	}

	// Leave the shared stack as found: the researcher withdraws it.
	if status, out := post(t, s.URL+"/graphql", token(t, s, SampleResearcher), map[string]string{
		"query": `mutation { cancelRequest(egress_request_id: "` + sub.RequestID + `", reason: "console test done") { egress_status } }`,
	}); status != http.StatusOK || len(out.Errors) > 0 {
		t.Errorf("cancel: HTTP %d %+v", status, out.Errors)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}

	// Bad requests, each named.
	for _, c := range []struct {
		method, ctype, body string
		status              int
		says                string
	}{
		{http.MethodPost, "text/plain", `{"id":"researcher"}`, http.StatusUnsupportedMediaType, "application/json"},
		{http.MethodPost, "application/json", `{"id":"nobody"}`, http.StatusNotFound, `no development user "nobody"`},
		{http.MethodPost, "application/json", `{}`, http.StatusBadRequest, `"id" is required`},
		{http.MethodPost, "application/json", `{"id":"researcher","groups":["TREAdmin"]}`, http.StatusBadRequest, "unknown field"},
		{http.MethodGet, "", "", http.StatusMethodNotAllowed, "POST"},
	} {
		resp, body := frontGet(t, s, c.method, DevTokenPath, map[string]string{"Content-Type": c.ctype}, c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s %s %s: %d %q, want %d saying %q", c.method, c.ctype, c.body, resp.StatusCode, body, c.status, c.says)
		}
	}
}
