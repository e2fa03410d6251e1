package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// postRaw sends body as a GraphQL POST with authorization and returns the
// status and the raw response. chunked sends it without a length, as a
// client streaming a body does.
func postRaw(t *testing.T, endpoint, authorization string, body []byte, chunked bool) (int, []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: Transfer-Encoding: chunked
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// repeat joins n copies of format, each given its index.
func repeat(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// The hostile requests, over HTTP with real tokens, are refused
// before any work that grows with them: a stranger before the body is
// read, a reviewer before validation or any resolver, a body over the
// limit with 413. Each answer is one error naming the limit, in a small
// response.
func TestGraphQLCostLimits(t *testing.T) {
	s := stack(t, false)
	endpoint := graphqlEndpoint(t, s)
	chain, _ := s.Config.Chain()
	ig := token(t, s, Reviewer(chain, 0))
	nobody := token(t, s, egress.Identity{Subject: "sub-nobody", Email: "nobody@example.org"})
	sameNamed := "{" + repeat(3000, ` a: getRequest(egress_request_id: "r%05d") { egress_status }`) + " }"
	huge := `{ listRequests { egress_request_id } }` + strings.Repeat(" ", appsync.MaxRequestBytes+64<<10)
	tests := []struct {
		name       string
		auth       string
		query      string
		chunked    bool
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"3,000 same-named aliases, caller in no group", nobody, sameNamed, false, 200, appsync.ErrorTypeUnauthorized, "no group that may call this API"},
		{"a body over the limit, caller in no group", nobody, huge, false, 200, appsync.ErrorTypeUnauthorized, "no group"},
		{"3,000 same-named aliases", ig, sameNamed, false, 200, appsync.ErrorTypeValidation, fmt.Sprintf("more than %d tokens; the limit is %d", appsync.MaxTokens, appsync.MaxTokens)},
		{"300 same-named aliases: one conflict, not one per pair", ig, "{" + repeat(300, ` a: getRequest(egress_request_id: "r%05d") { egress_status }`) + " }", false, 200,
			appsync.ErrorTypeValidation, `Fields "a" conflict because they have differing arguments`},
		{"20,000 repeated fields", ig, "{ listRequests {" + strings.Repeat(" egress_request_id", 20000) + " } }", false, 200, appsync.ErrorTypeValidation, fmt.Sprintf("the limit is %d", appsync.MaxTokens)},
		{"1,000 repeated fields", ig, "{ listRequests {" + strings.Repeat(" egress_request_id", 1000) + " } }", false, 200, appsync.ErrorTypeValidation,
			fmt.Sprintf("Query has 1001 fields (fragments expanded); the limit is %d", appsync.MaxFields)},
		{"too many aliases", ig, "{ listRequests {" + repeat(appsync.MaxAliases+1, " a%d: egress_request_id") + " } }", false, 200, appsync.ErrorTypeValidation,
			fmt.Sprintf("Query has %d aliases; the limit is %d", appsync.MaxAliases+1, appsync.MaxAliases)},
		{"a body over the limit", ig, huge, false, 413, "RequestEntityTooLargeException", fmt.Sprintf("the limit is %d", maxBodyBytes)},
		{"a body over the limit, sent without a length", ig, huge, true, 413, "RequestEntityTooLargeException", fmt.Sprintf("exceeds the limit of %d bytes", maxBodyBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": tt.query})
			status, raw := postRaw(t, endpoint, tt.auth, body, tt.chunked)
			var resp appsync.Response
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatalf("HTTP %d %.200s: %v", status, raw, err)
			}
			if status != tt.wantStatus || resp.Data != nil || len(resp.Errors) != 1 ||
				resp.Errors[0].ErrorType != tt.wantType || !strings.Contains(resp.Errors[0].Message, tt.wantMsg) {
				t.Fatalf("HTTP %d %.300s, want %d and one %s error containing %q", status, raw, tt.wantStatus, tt.wantType, tt.wantMsg)
			}
			// Before: 992 MB for the first query.
			if len(raw) > 1024 {
				t.Errorf("%d-byte response", len(raw))
			}
		})
	}
}

// A request whose client goes away stops: the resolver in flight sees its
// context end and logs one line, no further resolver runs (before, each
// of the remaining aliases ran and logged "context canceled"), and the
// handler returns once its execution has stopped.
func TestGraphQLCancelStops(t *testing.T) {
	s := stack(t, false)
	logs := &logBuffer{}
	svc := *s.API
	svc.Log = slog.New(slog.NewJSONHandler(logs, nil))
	h := newGraphQLHandler(&svc, s.Dir, svc.Log)
	var calls atomic.Int32
	started := make(chan struct{})
	resolve := api.Handler(&svc)
	exec, err := appsync.NewExecutor(api.SchemaFor(svc.ReviewerGroups, svc.DownloadGroups, svc.ResearcherGroup), func(ctx context.Context, ev api.Event) (any, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done() // the client has gone; the real resolver then fails
		}
		return resolve(ctx, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.exec = exec
	served := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		close(served)
	}))
	t.Cleanup(srv.Close)

	const aliases = 300 // within the resolver and alias limits: each a call
	body, _ := json.Marshal(map[string]any{"query": "{" + repeat(aliases, ` a%d: getRequest(egress_request_id: "missing") { egress_status }`) + " }"})
	c, cancel := context.WithCancel(ctx(t))
	go func() {
		<-started
		cancel()
	}()
	req, _ := http.NewRequestWithContext(c, http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", token(t, s, Reviewer(egress.DefaultChain(false), 0)))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP %d for a cancelled request", resp.StatusCode)
	}
	<-served
	if n := calls.Load(); n != 1 {
		t.Errorf("%d resolver calls after the client went away, want 1", n)
	}
	if n := strings.Count(logs.String(), api.LogResolverError); n != 1 {
		t.Errorf("%d resolver error lines, want 1:\n%s", n, logs.String())
	}
}
