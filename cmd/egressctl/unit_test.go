package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
)

// Bad command lines exit 2 with a message naming what is wrong, before
// any sign-in or call.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--json", "list"}, "give the command first"},
		{[]string{"show"}, "show: missing request id"},
		{[]string{"show", "a", "b"}, `unexpected argument "b"`},
		{[]string{"show", " "}, "request id is empty"},
		{[]string{"list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"list", "--limit", "0"}, "--limit 0: want 1 to 100"},
		{[]string{"list", "--all", "--next-token", "x"}, "--all and --next-token"},
		{[]string{"reject", "id"}, "reject: --reason is required"},
		{[]string{"return", "id", "--reason", " "}, "return: --reason is required"},
		{[]string{"cancel", "id"}, "cancel: --reason is required"},
		{[]string{"revoke", "id"}, "revoke: --reason is required"},
		{[]string{"download", "id"}, "download: -o FILE is required"},
		{[]string{"audit"}, "audit: want verify ID or export ID"},
		{[]string{"audit", "check", "id"}, `unknown subcommand "check"`},
		{[]string{"audit", "verify"}, "audit verify: missing request id"},
		{[]string{"show", "id", "--as", "ig"}, "--as works with --local only"},
		{[]string{"show", "id", "--local", "--as", "boss"}, `--as "boss": want admin|ig|researcher|rit`},
		{[]string{"show", "id", "--local=ftp://x"}, "want the URL of egress-local run"},
		{[]string{"show", "id"}, "no API URL"},
		{[]string{"show", "id", "--api-url", "https://api.example"}, "needs the hosted UI domain"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := ctl(t, tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
	if r := ctl(t, "help"); r.code != 0 || !strings.Contains(r.stdout, "audit") || !strings.Contains(r.stdout, "exit codes") {
		t.Errorf("help: %+v", r)
	}
}

// fakeAPI answers GraphQL requests by their operation's first field, and
// records the variables.
type fakeAPI struct {
	mu      sync.Mutex
	calls   []map[string]any
	answer  func(query string, vars map[string]any) (data any, errType, msg string)
	token   string
	tokenOK bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.calls = append(f.calls, req.Variables)
	f.token = r.Header.Get("Authorization")
	f.mu.Unlock()
	data, et, msg := f.answer(req.Query, req.Variables)
	if et != "" {
		json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": []any{map[string]any{"errorType": et, "message": msg}}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// ctlFake runs egressctl against a fake API with a script token.
func ctlFake(t *testing.T, f *fakeAPI, args ...string) result {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	env := map[string]string{envAccessToken: "script-token", envAPIURL: srv.URL}
	var out, errb strings.Builder
	a := &app{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code := a.run(testCtx(t), args)
	return result{out.String(), errb.String(), code}
}

func strp(s string) *string { return &s }

// auditPages serves events in pages of two, out of order across pages, as
// auditTrail may; nextToken is the page number.
func auditPages(events []auditEvent, head string, length int) func(string, map[string]any) (any, string, string) {
	return func(q string, vars map[string]any) (any, string, string) {
		if !strings.Contains(q, "auditTrail(") {
			return nil, "BadRequest", "unexpected query"
		}
		page := 0
		if tok, ok := vars["nextToken"].(string); ok {
			fmt.Sscan(tok, &page)
		}
		end := min(2*page+2, len(events))
		var next any
		if end < len(events) {
			next = fmt.Sprint(page + 1)
		}
		return map[string]any{"auditTrail": map[string]any{
			"items": events[2*page : end], "nextToken": next, "head": head, "length": length,
		}}, "", ""
	}
}

func sampleTrail() []auditEvent {
	var ev []auditEvent
	for _, seq := range []int64{2, 1, 4, 3, 5} {
		ev = append(ev, auditEvent{Sequence: seq, At: "2026-12-01T10:00:0" + fmt.Sprint(seq) + ".000Z", Kind: "TRANSITION",
			Actor: strp("workflow"), PreviousHash: fmt.Sprintf("h%d", seq-1), Hash: fmt.Sprintf("h%d", seq)})
	}
	return ev
}

// audit export fetches every page and writes JSON Lines sorted by
// sequence, each conforming to the golden shape, to stdout or -o.
func TestAuditExport(t *testing.T) {
	f := &fakeAPI{answer: auditPages(sampleTrail(), "h5", 5)}
	r := ctlFake(t, f, "audit", "export", "req-1")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), r.stdout)
	}
	for i, l := range lines {
		conforms(t, "audit-export", l)
		var e auditEvent
		json.Unmarshal([]byte(l), &e)
		if e.Sequence != int64(i+1) || e.RequestID != "req-1" {
			t.Errorf("line %d: sequence %d, id %q", i, e.Sequence, e.RequestID)
		}
	}
	if len(f.calls) != 3 || f.calls[0]["id"] != "req-1" || f.token != "script-token" {
		t.Errorf("calls %v, token %q", f.calls, f.token)
	}

	file := filepath.Join(t.TempDir(), "trail.jsonl")
	if r := ctlFake(t, f, "audit", "export", "req-1", "-o", file); r.code != 0 || r.stdout != "" {
		t.Fatalf("%+v", r)
	}
	if b, _ := os.ReadFile(file); string(b) != strings.Join(lines, "\n")+"\n" {
		t.Errorf("file:\n%s", b)
	}
}

// audit verify hands the whole trail, sorted, with the recorded head and
// length, to the chain check; a broken link is named and exits 1.
func TestAuditVerify(t *testing.T) {
	var got auditTrail
	broken := error(nil)
	saved := verifyChain
	verifyChain = func(id string, tr auditTrail) error { got = tr; return broken }
	t.Cleanup(func() { verifyChain = saved })

	f := &fakeAPI{answer: auditPages(sampleTrail(), "h5", 5)}
	r := ctlFake(t, f, "audit", "verify", "req-1", "--json")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	conforms(t, "audit-verify", r.stdout)
	if got.Head != "h5" || got.Length != 5 || len(got.Events) != 5 || got.Events[0].Sequence != 1 || got.Events[4].Sequence != 5 {
		t.Errorf("chain given %+v", got)
	}

	broken = &brokenLink{Sequence: 3, Kind: "TRANSITION", Reason: "hash does not match the event's contents"}
	r = ctlFake(t, f, "audit", "verify", "req-1")
	if r.code != exitCheck || !strings.Contains(r.stdout, "BROKEN at event 3 (TRANSITION): hash does not match") {
		t.Errorf("broken: %+v", r)
	}
	r = ctlFake(t, f, "audit", "verify", "req-1", "--json")
	var out auditVerifyOutput
	json.Unmarshal([]byte(r.stdout), &out)
	if r.code != exitCheck || out.OK || out.Broken == nil || out.Broken.Sequence != 3 {
		t.Errorf("broken --json: %+v", r)
	}

	f.answer = func(string, map[string]any) (any, string, string) {
		return nil, "UnauthorizedException", "Not Authorized to access auditTrail on type Query"
	}
	if r := ctlFake(t, f, "audit", "verify", "req-1"); r.code != exitAPI || !strings.Contains(r.stderr, "UnauthorizedException: Not Authorized") {
		t.Errorf("refused: %+v", r)
	}
}

// retry calls retryRequest with the id and prints the status it returns.
func TestRetry(t *testing.T) {
	f := &fakeAPI{answer: func(q string, vars map[string]any) (any, string, string) {
		if !strings.Contains(q, "retryRequest(egress_request_id: $id)") {
			return nil, "BadRequest", q
		}
		return map[string]any{"retryRequest": map[string]any{"egress_request_id": vars["id"], "egress_status": "PROCESSING"}}, "", ""
	}}
	r := ctlFake(t, f, "retry", "req-9", "--json")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	conforms(t, "action", r.stdout)
	if !strings.Contains(r.stdout, `"egress_status": "PROCESSING"`) || f.calls[0]["id"] != "req-9" {
		t.Errorf("%s %v", r.stdout, f.calls)
	}
	f.answer = func(string, map[string]any) (any, string, string) {
		return nil, "ConflictError", "request req-9 is not stuck"
	}
	if r := ctlFake(t, f, "retry", "req-9"); r.code != exitAPI || r.stderr != "egressctl: ConflictError: request req-9 is not stuck\n" {
		t.Errorf("refused: %+v", r)
	}
}

// A presigned URL never reaches the terminal, even when its fetch fails.
func TestDownloadNeverPrintsTheLink(t *testing.T) {
	secret := "http://127.0.0.1:1/zip?X-Amz-Signature=secret"
	f := &fakeAPI{answer: func(q string, vars map[string]any) (any, string, string) {
		if strings.Contains(q, "getRequest") {
			return map[string]any{"getRequest": map[string]any{"egress_status": "RITAPPROVED", "workspace_id": "w", "download_count": "0"}}, "", ""
		}
		return map[string]any{"downloadData": map[string]any{"presign_url": secret}}, "", ""
	}}
	r := ctlFake(t, f, "download", "req-1", "-o", filepath.Join(t.TempDir(), "z.zip"))
	if r.code != exitConnect || strings.Contains(r.stdout+r.stderr, "X-Amz") || !strings.Contains(r.stderr, "download:") {
		t.Errorf("%+v", r)
	}
}

func TestReadOutputs(t *testing.T) {
	dir := t.TempDir()
	write := func(v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(dir, fmt.Sprintf("out-%d.json", len(b)))
		os.WriteFile(p, b, 0o600)
		return p
	}
	one := write(map[string]any{"egress-dev": map[string]string{outputGraphQL: "https://api", outputDomain: "auth.example", outputCLIClient: "cli", outputCLIRedirct: "http://localhost:53682/callback"}})
	two := write(map[string]any{"a": map[string]string{outputGraphQL: "https://a"}, "b": map[string]string{outputGraphQL: "https://b"}})
	a := &app{getenv: func(string) string { return "" }}
	a.opts.outputs = one
	c, err := a.deployed()
	if err != nil || c.APIURL != "https://api" || c.Domain != "auth.example" || c.ClientID != "cli" || c.Port != 53682 {
		t.Errorf("%+v %v", c, err)
	}
	a.opts.outputs, a.opts.apiURL = two, "https://flag"
	if _, err := a.deployed(); err == nil || !strings.Contains(err.Error(), "holds stacks a, b: pick one with --stack") {
		t.Errorf("two stacks: %v", err)
	}
	a.opts.stack = "b"
	if c, err := a.deployed(); err != nil || c.APIURL != "https://flag" {
		t.Errorf("--stack b with --api-url: %+v %v", c, err)
	}
	a.opts.stack = "c"
	if _, err := a.deployed(); err == nil || !strings.Contains(err.Error(), `no stack "c"`) {
		t.Errorf("--stack c: %v", err)
	}
}

// The local users of --as are the local stack's: the default chain's
// reviewers, its admin and its researcher.
func TestLocalUsersAreTheStacks(t *testing.T) {
	chain := egress.DefaultChain(false)
	want := map[string]egress.Identity{"ig": local.Reviewer(chain, 0), "rit": local.Reviewer(chain, 1), "admin": local.SampleAdmin, "researcher": local.SampleResearcher}
	for k, w := range want {
		if g := localUsers[k]; fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("--as %s: %+v, want %+v", k, g, w)
		}
	}
}

// authServer is a Cognito hosted UI stand-in: /oauth2/authorize redirects
// with a code to the loopback callback, /oauth2/token checks the code,
// the redirect URI, the client and the PKCE verifier against the
// challenge.
type authServer struct {
	t         *testing.T
	challenge string
	redirect  string
	scope     string
	badState  bool
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/authorize":
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != "cli-client" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		s.challenge, s.redirect, s.scope = q.Get("code_challenge"), q.Get("redirect_uri"), q.Get("scope")
		state := q.Get("state")
		if s.badState {
			state = "forged"
		}
		http.Redirect(w, r, s.redirect+"?"+url.Values{"code": {"the-code"}, "state": {state}}.Encode(), http.StatusFound)
	case "/oauth2/token":
		r.ParseForm()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case r.PostForm.Get("grant_type") != "authorization_code", r.PostForm.Get("code") != "the-code",
			r.PostForm.Get("client_id") != "cli-client", r.PostForm.Get("redirect_uri") != s.redirect:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
		case base64.RawURLEncoding.EncodeToString(sum[:]) != s.challenge:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"PKCE verification failed"}`)
		default:
			io.WriteString(w, `{"access_token":"access-1","id_token":"id-1","refresh_token":"never-kept","expires_in":3600,"token_type":"Bearer"}`)
		}
	default:
		http.NotFound(w, r)
	}
}

// The PKCE sign-in: the browser (here an HTTP client following the
// redirect) signs in, the code comes back to the loopback callback with
// the state, and the token endpoint gets the verifier matching the
// challenge. Only the access token is kept, cached 0600; a second Token
// reads the cache without signing in; a forged state fails the sign-in.
func TestPKCESignIn(t *testing.T) {
	as := &authServer{t: t}
	srv := httptest.NewServer(as)
	defer srv.Close()
	browser := func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	cache := filepath.Join(t.TempDir(), "egressctl", "token.json")
	p := &pkce{Domain: srv.URL, ClientID: "cli-client", Port: 0, Open: browser, Notice: io.Discard, Cache: cache}
	tok, err := p.Token(context.Background())
	if err != nil || tok != "access-1" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if !strings.HasPrefix(as.redirect, "http://localhost:") || !strings.HasSuffix(as.redirect, "/callback") || as.scope != "openid email profile" {
		t.Errorf("redirect %q scope %q", as.redirect, as.scope)
	}
	fi, err := os.Stat(cache)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache %v %v", fi, err)
	}
	if b, _ := os.ReadFile(cache); strings.Contains(string(b), "never-kept") || strings.Contains(string(b), "id-1") {
		t.Errorf("the cache holds more than the access token: %s", b)
	}

	// From the cache: no browser.
	p2 := &pkce{Domain: srv.URL, ClientID: "cli-client", Open: func(string) error { return errors.New("opened") }, Notice: io.Discard, Cache: cache}
	if tok, err := p2.Token(context.Background()); err != nil || tok != "access-1" {
		t.Errorf("cached: %q %v", tok, err)
	}

	as.badState = true
	p3 := &pkce{Domain: srv.URL, ClientID: "cli-client", Open: browser, Notice: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := p3.Token(ctx); err == nil || !strings.Contains(err.Error(), "state does not match") {
		t.Errorf("forged state: %v", err)
	}
}

// A wrong verifier is refused by the token endpoint.
func TestPKCEWrongVerifier(t *testing.T) {
	as := &authServer{t: t}
	srv := httptest.NewServer(as)
	defer srv.Close()
	as.challenge = "set-by-authorize"
	p := &pkce{Domain: srv.URL, ClientID: "cli-client", Notice: io.Discard}
	as.redirect = "http://localhost:1/callback"
	if _, _, err := p.exchange(context.Background(), "the-code", as.redirect, "not-the-verifier"); err == nil || !strings.Contains(err.Error(), "HTTP 400 invalid_grant") {
		t.Errorf("wrong verifier: %v", err)
	}
}

func TestProgressBar(t *testing.T) {
	var w strings.Builder
	p := &progressBar{w: &w, total: 3 << 20, drawn: -1}
	for range 3 {
		p.Write(make([]byte, 1<<20))
	}
	p.done()
	out := w.String()
	if !strings.HasSuffix(out, "\r[==============================] 100% 3.0 MiB/3.0 MiB\n") || strings.Count(out, "100%") != 1 {
		t.Errorf("%q", out)
	}
	if got := size(512); got != "512 B" {
		t.Errorf("size(512) = %q", got)
	}
}
