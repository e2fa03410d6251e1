package local

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Canary is in a file of testdata/sample-store: file contents must never
// reach a log, an e-mail, an event or an error.
const Canary = "EGRESS-CANARY-9f3b7c1e"

// secretPatterns are what no log, e-mail, notice, event or API error may
// hold, whatever test wrote it.
var secretPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a presigned URL's signature", regexp.MustCompile(`(?i)X-Amz-Signature=`)},
	{"a presigned URL's credential", regexp.MustCompile(`(?i)X-Amz-Credential=`)},
	{"a session token", regexp.MustCompile(`(?i)X-Amz-Security-Token=|"?SessionToken"?\s*[:=]\s*"[^"]+`)},
	{"an AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"an AWS secret key", regexp.MustCompile(`(?i)secret_?access_?key"?\s*[:=]\s*"?[A-Za-z0-9/+]{20,}`)},
	{"a JWT (Cognito token)", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)},
	{"file contents (the canary)", regexp.MustCompile(regexp.QuoteMeta(Canary))},
}

// taskTokenLike finds the local engine's task tokens: 64 characters of
// base64url (48 random bytes). A SHA-256 in hex is as long, so candidates
// made of hex digits alone are not tokens.
var (
	taskTokenLike = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{64})(?:$|[^A-Za-z0-9_-])`)
	hexOnly       = regexp.MustCompile(`^[0-9a-fA-F]+$`)
)

// leaks returns where text (from source) holds a secret: each finding names
// the source, the kind of secret and a short excerpt around it.
func leaks(source, text string, literals map[string]string) []string {
	var out []string
	excerpt := func(i, j int) string {
		from, to := max(i-60, 0), min(j+20, len(text))
		return strings.ReplaceAll(text[from:to], "\n", `\n`)
	}
	for _, p := range secretPatterns {
		if loc := p.re.FindStringIndex(text); loc != nil {
			out = append(out, fmt.Sprintf("%s holds %s: …%s…", source, p.what, excerpt(loc[0], loc[1])))
		}
	}
	for _, m := range taskTokenLike.FindAllStringSubmatchIndex(text, -1) {
		if tok := text[m[2]:m[3]]; !hexOnly.MatchString(tok) {
			out = append(out, fmt.Sprintf("%s holds a task token: …%s…", source, excerpt(m[2], m[3])))
			break
		}
	}
	for what, v := range literals {
		if v != "" && strings.Contains(text, v) {
			i := strings.Index(text, v)
			out = append(out, fmt.Sprintf("%s holds %s: …%s…", source, what, excerpt(i, i+len(v))))
		}
	}
	return out
}

// stackLeaks scans everything the stack let out: its functions' logs
// (logs, the stack's slog output), the e-mails and reviewer notices in its
// outbox, the events on its bus and the error answers of its endpoint.
func stackLeaks(s *Stack, logs string) []string {
	literals := map[string]string{
		"the S3 server's secret key":      s.S3.SecretKey,
		"the functions' local secret key": "localsecret",
	}
	out := leaks("the stack's log", logs, literals)
	for _, m := range s.Outbox.Sent() {
		out = append(out, leaks("e-mail "+fmt.Sprintf("%q", m.Subject), m.Subject+"\n"+m.Text, literals)...)
	}
	for _, n := range s.Outbox.Notices() {
		out = append(out, leaks("notice "+fmt.Sprintf("%q", n.Subject), n.Subject+"\n"+n.Text, literals)...)
	}
	if b, err := os.ReadFile(s.Bus.Path()); err == nil {
		out = append(out, leaks("the event bus", string(b), literals)...)
	}
	for _, e := range s.APIErrors() {
		out = append(out, leaks("an API error", e, literals)...)
	}
	return out
}

// checkLeaks fails t if the stack let out a secret.
func checkLeaks(t *testing.T, s *Stack, logs *logBuffer) {
	t.Helper()
	for _, l := range stackLeaks(s, logs.String()) {
		t.Error(l)
	}
}

// The scanner finds each kind of secret, and passes what is allowed: a
// SHA-256, a TokenRef, an S3 key.
func TestLeakScanner(t *testing.T) {
	tests := []struct {
		text string
		want string // "" when nothing leaks
	}{
		{`{"msg":"download","url":"https://s3/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc"}`, "presigned URL"},
		{`token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEiLCJleHAiOjF9.c2lnbmF0dXJlc2lnbmF0dXJl`, "JWT"},
		{`key AKIAIOSFODNN7EXAMPLE used`, "access key id"},
		{`"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, "secret key"},
		{`"SessionToken":"IQoJb3JpZ2luX2VjEJr"`, "session token"},
		{`resume with 4cX_pTq9-rZ3yB8vN1mK0wLsJ7hG2fD5eA6uI9oP4lQ3kR8jT1nV0bC7xY2zW5aS`, "task token"},
		{"row 1: " + Canary, "canary"},
		{"the password is localsecret", "local secret key"},
		{`sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ok`, ""},
		{`task_token ref-3q2-7wXo5S1GQ8l0dFZ0mY9bKx4 egress_request_id 5f0d9a52-3c1e-4b7a-9d2e-7c1a2b3c4d5e`, ""},
		{`key ws/tables/summary.csv version Jt0bN8wq.yXcZ0a3bOQ1nBvV2q9P7r6s`, ""},
	}
	for _, tt := range tests {
		got := leaks("text", tt.text, map[string]string{"the local secret key": "localsecret"})
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%q: %v, want nothing found", tt.text, got)
		case tt.want != "" && (len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tt.want)):
			t.Errorf("%q: %v, want %s found", tt.text, got, tt.want)
		}
	}
}

// startLogged starts a stack of the test's own whose log is captured, and
// on cleanup checks that it let out no secret, then closes it.
func startLogged(t *testing.T, ctx context.Context, opts Options) (*Stack, error) {
	t.Helper()
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = capturedLogger(logs)
	}
	s, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		checkLeaks(t, s, logs)
		s.Close()
	})
	return s, nil
}

// The scan reads the stack's outputs: a secret in any of them is found,
// and the shared stacks' outputs hold none so far.
func TestLeakScanReadsTheStack(t *testing.T) {
	s := stack(t, false)
	if found := stackLeaks(s, `{"level":"INFO","msg":"row `+Canary+`"}`); len(found) == 0 || !strings.Contains(found[0], "the stack's log holds file contents") {
		t.Fatalf("a canary in the log: %v", found)
	}
	if found := stackLeaks(s, stackLogs[false].String()); len(found) > 0 {
		t.Fatalf("leaked:\n%s", strings.Join(found, "\n"))
	}
}
