package local

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// timeoutHandler is the stack's GraphQL handler with resolve in place of
// the API's resolver.
func timeoutHandler(t *testing.T, s *Stack, resolve func(context.Context, api.Event) (any, error)) (*graphQLHandler, string) {
	t.Helper()
	h := newGraphQLHandler(s.API, s.Dir, s.opts.Logger)
	exec, err := appsync.NewExecutor(api.SchemaFor(s.API.ReviewerGroups, s.API.DownloadGroups, s.API.ResearcherGroup), resolve)
	if err != nil {
		t.Fatal(err)
	}
	h.exec = exec
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL + "/graphql"
}

// A request still running when AppSync's 30 s are up gets AppSync's
// timeout error at once, while its resolver is still blocked.
func TestGraphQLTimeout(t *testing.T) {
	s := stack(t, false)
	release := make(chan struct{})
	var expire context.CancelCauseFunc
	h, endpoint := timeoutHandler(t, s, func(ctx context.Context, ev api.Event) (any, error) {
		expire(context.DeadlineExceeded) // the 30 s are up while this resolver runs
		<-release
		return nil, ctx.Err()
	})
	h.deadline = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancelCause(parent)
		expire = cancel
		return ctx, func() { cancel(context.Canceled) }
	}
	defer close(release)
	status, resp := post(t, endpoint, token(t, s, Reviewer(egress.DefaultChain(false), 0)), map[string]any{
		"query": `{ listRequests { egress_request_id } }`})
	if status != 200 || resp.Data != nil || len(resp.Errors) != 1 ||
		resp.Errors[0].ErrorType != "Lambda:ExecutionTimeoutException" || resp.Errors[0].Message != "Execution timed out." {
		b, _ := json.Marshal(resp)
		t.Fatalf("HTTP %d %s", status, b)
	}
}

// Resolvers run with AppSync's 30 s deadline on their context.
func TestGraphQLDeadline(t *testing.T) {
	s := stack(t, false)
	var deadline time.Time
	var has bool
	_, endpoint := timeoutHandler(t, s, func(ctx context.Context, ev api.Event) (any, error) {
		deadline, has = ctx.Deadline()
		return []api.RequestView{}, nil
	})
	start := time.Now()
	status, resp := post(t, endpoint, token(t, s, Reviewer(egress.DefaultChain(false), 0)), map[string]any{
		"query": `{ listRequests { egress_request_id } }`})
	if status != 200 || len(resp.Errors) != 0 {
		t.Fatalf("HTTP %d %+v", status, resp.Errors)
	}
	if !has || deadline.Before(start.Add(AppSyncTimeout-time.Second)) || deadline.After(time.Now().Add(AppSyncTimeout)) {
		t.Fatalf("deadline %v (set %v), want %s after the request", deadline.Sub(start), has, AppSyncTimeout)
	}
}
