package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tre-egress/egress/infra/outputs"
	"github.com/tre-egress/egress/local/devtoken"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// Environment variables egressctl reads.
const (
	envAccessToken = "EGRESS_ACCESS_TOKEN" // a token for scripts; used as is
	envLocal       = "EGRESS_LOCAL_URL"    // --local's default
	envOutputs     = "EGRESSCTL_OUTPUTS"   // --outputs
	envAPIURL      = "EGRESSCTL_API_URL"   // --api-url
	envAuthDomain  = "EGRESSCTL_AUTH_DOMAIN"
	envClientID    = "EGRESSCTL_CLIENT_ID"
)

// defaultLocalURL is egress-local run's default front endpoint.
const defaultLocalURL = "http://127.0.0.1:4566"

// Stack outputs egressctl reads from `cdk deploy --outputs-file`.
const (
	outputGraphQL    = outputs.GraphQLEndpoint
	outputDomain     = outputs.CognitoDomain
	outputCLIClient  = outputs.CLIClientID
	outputCLIRedirct = outputs.CLICallbackURL
)

// localUsers are the local stack's development users for --as: the
// reviewers of its default chain (local.Reviewer), its TRE admin and its
// researcher (local.SampleAdmin, local.SampleResearcher). A test checks
// they are the same.
var localUsers = map[string]egress.Identity{
	"ig":    {Subject: "local-ig-reviewer-1", Email: "ig-reviewer-1@example.org", Name: "IG Reviewer 1", Groups: []string{egress.GroupIG}},
	"rit":   {Subject: "local-rit-reviewer-2", Email: "rit-reviewer-2@example.org", Name: "RIT Reviewer 2", Groups: []string{egress.GroupRIT}},
	"admin": {Subject: "local-tre-admin", Email: "tre-admin@example.org", Name: "Tess Admin", Groups: []string{egress.GroupRIT}},
	"researcher": {Subject: "local-researcher@example.org", Email: "researcher@example.org", Name: "Rita Researcher",
		UserID: "u-researcher", Groups: []string{"Researcher"}},
}

func localUserNames() string {
	var n []string
	for k := range localUsers {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, "|")
}

// target is the stack egressctl talks to and how it signs in.
type target struct {
	Endpoint string
	Token    TokenSource
}

// connect works out the API URL and the token source from the options:
// --local (a token from the local stack's development key, as
// `egress-local token` makes), else EGRESS_ACCESS_TOKEN, else the Cognito
// hosted UI with PKCE.
func (a *app) connectDefault(ctx context.Context) (*target, error) {
	o := a.opts
	if o.local.set {
		base := strings.TrimRight(o.local.url, "/")
		who, ok := localUsers[o.as]
		if !ok {
			return nil, usagef("--as %q: want %s", o.as, localUserNames())
		}
		return &target{Endpoint: base + "/graphql", Token: localToken(a.httpClient(), base, who)}, nil
	}
	if o.as != "" {
		return nil, usagef("--as works with --local only")
	}
	cfg, err := a.deployed()
	if err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		return nil, usagef("no API URL: give --outputs FILE (cdk deploy --outputs-file), --api-url, %s or --local", envAPIURL)
	}
	if t := strings.TrimSpace(a.getenv(envAccessToken)); t != "" {
		return &target{Endpoint: cfg.APIURL, Token: func(context.Context) (string, error) { return t, nil }}, nil
	}
	if cfg.Domain == "" || cfg.ClientID == "" {
		return nil, usagef("to sign in, egressctl needs the hosted UI domain and the CLI's client id: give --outputs FILE, or --auth-domain and --client-id (or set %s)", envAccessToken)
	}
	p := &pkce{Domain: cfg.Domain, ClientID: cfg.ClientID, Port: cfg.Port, HTTP: a.httpClient(), Open: a.opener(), Notice: a.stderr}
	if !o.noCache {
		p.Cache = tokenCachePath(cfg.Domain, cfg.ClientID)
	}
	return &target{Endpoint: cfg.APIURL, Token: p.Token}, nil
}

// deployedConfig is where a deployed stack is and how to sign in to it.
type deployedConfig struct {
	APIURL, Domain, ClientID string
	Port                     int
}

// deployed reads --outputs (or EGRESSCTL_OUTPUTS), then lets flags and
// environment variables override single values.
func (a *app) deployed() (deployedConfig, error) {
	o := a.opts
	var c deployedConfig
	c.Port = cognito.CLICallbackPort
	file := first(o.outputs, a.getenv(envOutputs))
	if file != "" {
		out, err := readOutputs(file, o.stack)
		if err != nil {
			return c, &usageError{err}
		}
		c.APIURL, c.Domain, c.ClientID = out[outputGraphQL], out[outputDomain], out[outputCLIClient]
		if cb := out[outputCLIRedirct]; cb != "" {
			u, err := url.Parse(cb)
			if err != nil || u.Port() == "" {
				return c, usagef("%s: %s %q is not a loopback URL with a port", file, outputCLIRedirct, cb)
			}
			fmt.Sscan(u.Port(), &c.Port)
		}
	}
	c.APIURL = first(o.apiURL, a.getenv(envAPIURL), c.APIURL)
	c.Domain = first(o.authDomain, a.getenv(envAuthDomain), c.Domain)
	c.ClientID = first(o.clientID, a.getenv(envClientID), c.ClientID)
	return c, nil
}

func first(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// readOutputs reads a `cdk deploy --outputs-file` JSON file: stack name →
// output name → value. stack picks one when the file holds several.
func readOutputs(file, stack string) (map[string]string, error) {
	all, err := outputs.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--outputs: %w", err)
	}
	return all.Pick("--outputs "+file, stack)
}

// localToken signs a token for who with the development key of the local
// stack at base, found through its endpoint list, as `egress-local token`
// does. The stack must run on this machine: the key is a file in its folder.
func localToken(hc *http.Client, base string, who egress.Identity) TokenSource {
	var (
		mu  sync.Mutex
		dir string
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if dir == "" {
			d, err := localStackDir(ctx, hc, base)
			if err != nil {
				return "", err
			}
			dir = d
		}
		return devtoken.Token(dir, who, devtoken.UseAccess, 15*time.Minute)
	}
}

func localStackDir(ctx context.Context, hc *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/local/endpoints", nil)
	if err != nil {
		return "", usagef("--local %q: %v", base, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("is egress-local run up at %s? %w", base, err)
	}
	defer resp.Body.Close()
	var conn struct {
		Endpoints []struct{ Name, URL string } `json:"endpoints"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&conn); err != nil {
		return "", fmt.Errorf("%s is not an egress-local stack: %w", base, err)
	}
	for _, e := range conn.Endpoints {
		if e.Name == "signing-key" {
			u, err := url.Parse(e.URL)
			if err != nil || u.Scheme != "file" {
				return "", fmt.Errorf("the stack at %s lists signing-key %q, not a file URL", base, e.URL)
			}
			return filepath.Dir(u.Path), nil
		}
	}
	return "", fmt.Errorf("the stack at %s does not list its signing key", base)
}

// signInTimeout bounds a sign-in through the browser.
const signInTimeout = 5 * time.Minute

// pkce signs in through the Cognito hosted UI: the authorization code
// grant with PKCE (RFC 7636) on a loopback redirect (RFC 8252), as `aws sso
// login` does. The hosted UI does the rest: MFA, the federated IdP.
type pkce struct {
	Domain   string // hosted UI domain, https:// assumed without a scheme
	ClientID string
	Port     int // loopback port of the registered callback; 0 picks one (tests)
	HTTP     *http.Client
	// Open shows the sign-in page: a browser, or a test's client.
	Open   func(url string) error
	Notice io.Writer
	// Cache, when set, is the file keeping the access token until it
	// expires (0600). The refresh token is never kept.
	Cache string

	mu    sync.Mutex
	token string
	exp   time.Time
	now   func() time.Time
}

func (p *pkce) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// Token returns the access token, signing in once per process (or per
// cached token's lifetime).
func (p *pkce) Token(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token != "" && p.clock().Before(p.exp) {
		return p.token, nil
	}
	if t, exp, ok := readCachedToken(p.Cache, p.clock()); ok {
		p.token, p.exp = t, exp
		return t, nil
	}
	t, exp, err := p.signIn(ctx)
	if err != nil {
		return "", err
	}
	p.token, p.exp = t, exp
	if p.Cache != "" {
		if err := writeCachedToken(p.Cache, t, exp); err != nil {
			fmt.Fprintf(p.Notice, "egressctl: not caching the access token: %v\n", err)
		}
	}
	return t, nil
}

func (p *pkce) base() string {
	d := strings.TrimRight(p.Domain, "/")
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	return d
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *pkce) signIn(ctx context.Context) (string, time.Time, error) {
	// The whole sign-in, browser included, within signInTimeout.
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("listen for the sign-in redirect on port %d: %w", p.Port, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	redirect := fmt.Sprintf("http://localhost:%d/callback", port)
	listeners := []net.Listener{ln}
	// A browser may resolve localhost to ::1 first: listen there too when
	// the machine has IPv6 loopback.
	if ln6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port)); err == nil {
		defer ln6.Close()
		listeners = append(listeners, ln6)
	}
	verifier := randomString(32) // 43 characters, RFC 7636's minimum
	sum := sha256.Sum256([]byte(verifier))
	state := randomString(16)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.ClientID},
		"redirect_uri":          {redirect},
		"scope":                 {strings.Join(cognito.CLIScopes, " ")},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	authorize := p.base() + "/oauth2/authorize?" + q.Encode()

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		v := r.URL.Query()
		var res result
		switch {
		case v.Get("state") != state:
			res.err = errors.New("the sign-in redirect's state does not match this sign-in's (a stale or forged redirect)")
		case v.Get("error") != "":
			res.err = fmt.Errorf("sign-in refused: %s %s", v.Get("error"), v.Get("error_description"))
		case v.Get("code") == "":
			res.err = errors.New("the sign-in redirect carries no code")
		default:
			res.code = v.Get("code")
		}
		msg := "Signed in to egressctl. You can close this window."
		if res.err != nil {
			msg = "egressctl sign-in failed: " + res.err.Error()
			w.WriteHeader(http.StatusBadRequest)
		}
		fmt.Fprintf(w, "<!doctype html><title>egressctl</title><p>%s</p>", html.EscapeString(msg))
		select {
		case done <- res:
		default:
		}
	})}
	for _, l := range listeners {
		go srv.Serve(l)
	}
	defer srv.Close()

	fmt.Fprintf(p.Notice, "egressctl: signing in through the browser; if none opens, visit:\n  %s\n", authorize)
	if p.Open != nil {
		if err := p.Open(authorize); err != nil {
			fmt.Fprintf(p.Notice, "egressctl: could not open a browser: %v\n", err)
		}
	}
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return "", time.Time{}, fmt.Errorf("waiting for the sign-in: %w", ctx.Err())
	}
	if res.err != nil {
		return "", time.Time{}, res.err
	}
	return p.exchange(ctx, res.code, redirect, verifier)
}

// exchange trades the code (and the verifier proving this process asked
// for it) for tokens, keeping only the access token.
func (p *pkce) exchange(ctx context.Context, code, redirect, verifier string) (string, time.Time, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {p.ClientID},
		"code":          {code},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base()+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token endpoint: %w", unwrapURL(err))
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", time.Time{}, fmt.Errorf("token endpoint: HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("token endpoint: HTTP %d %s", resp.StatusCode, tok.Error)
	}
	if tok.ExpiresIn <= 0 {
		tok.ExpiresIn = 300
	}
	// A minute's margin, so a call does not start with a token about to lapse.
	return tok.AccessToken, p.clock().Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute), nil
}

// tokenCachePath is the access-token cache of one client of one pool, in
// the user's cache folder.
func tokenCachePath(domain, clientID string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(domain + "\x00" + clientID))
	return filepath.Join(dir, "egressctl", fmt.Sprintf("token-%x.json", sum[:8]))
}

type cachedToken struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func readCachedToken(path string, now time.Time) (string, time.Time, bool) {
	if path == "" {
		return "", time.Time{}, false
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 != 0 { // readable by others: ignore it
		return "", time.Time{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", time.Time{}, false
	}
	var c cachedToken
	if json.Unmarshal(b, &c) != nil || c.AccessToken == "" || !now.Before(c.ExpiresAt) {
		os.Remove(path)
		return "", time.Time{}, false
	}
	return c.AccessToken, c.ExpiresAt, true
}

func writeCachedToken(path, token string, exp time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(cachedToken{AccessToken: token, ExpiresAt: exp})
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// removeCachedTokens deletes every cached access token (egressctl logout).
func removeCachedTokens() (int, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return 0, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "egressctl", "token-*.json"))
	n := 0
	for _, f := range files {
		if err := os.Remove(f); err == nil || errors.Is(err, fs.ErrNotExist) {
			n++
		}
	}
	return n, err
}

// openBrowser opens url in the desktop's browser.
func (a *app) openBrowser(u string) error {
	if a.opts.noBrowser {
		return nil
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	return cmd.Start()
}

func (a *app) opener() func(string) error {
	if a.open != nil {
		return a.open
	}
	return a.openBrowser
}
