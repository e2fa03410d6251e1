package appsync_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
)

// nobody is a signed-in caller in no group.
var nobody = &api.Identity{Sub: "sub-x", Username: "sub-x", Groups: []string{}, Claims: map[string]any{"sub": "sub-x", "token_use": "id"}}

// FuzzExecute runs any document with any variables through the executor
// (the public entry point the local endpoint uses): it never panics, its
// response is JSON, every argument the resolver receives is a JSON object
// of what the document and variables said, resolver calls stay within
// api.MaxResolverCount, and a caller in no group reaches no resolver.
func FuzzExecute(f *testing.F) {
	for _, s := range [][2]string{
		{`{ listRequests { egress_request_id egress_status } }`, `{}`},
		{`query Q($id: String!) { getRequest(egress_request_id: $id) { egress_request_id files { path } reviews { stage } } }`, `{"id":"r1"}`},
		{`query Q($id: String!) { getRequest(egress_request_id: $id) { egress_request_id } }`, `{"id":12}`},
		{`query Q($id: String!) { getRequest(egress_request_id: $id) { egress_request_id } }`, `{"id":"\u0000../..\u202e"}`},
		{`mutation M($r: UpdateRequestInput!) { updateRequest(request: $r) }`, `{"r":{"egress_request_id":"r1","task_token":"t","ig_reviewer_1_decision":"MAYBE","extra":1}}`},
		{`mutation { downloadData(request: {egress_request_id: "r1", workspace_id: "w", download_count: "1"}) { url } }`, `null`},
		{`{ a: getRequest(egress_request_id: "1") { egress_request_id } b: getRequest(egress_request_id: "2") { egress_request_id } }`, `{}`},
		{`{ requests(filter: {status: "NOPE"}, limit: -1, nextToken: "!!") { nextToken items { egress_request_id } } }`, `{}`},
		{`{ getRequest(egress_request_id: "1") { previous_request { previous_request { previous_request { previous_request { egress_request_id } } } } } }`, `{}`},
		{`query { ...F } fragment F on Query { ...F }`, `{}`},
		{`{ __schema { types { name } } }`, `{}`},
		{`subscription { x }`, `{}`},
		{`{ getRequest(egress_request_id: "` + string(make([]byte, 2000)) + `") { egress_request_id } }`, `{}`},
	} {
		f.Add(s[0], []byte(s[1]), true)
		f.Add(s[0], []byte(s[1]), false)
	}
	// One executor for all inputs (parsing the schema dominates otherwise);
	// inputs run one at a time in a fuzz worker.
	var (
		calls  atomic.Int64
		badArg atomic.Value
	)
	resolve := func(_ context.Context, ev api.Event) (any, error) {
		calls.Add(1)
		if len(ev.Arguments) > 0 {
			var args map[string]any
			if err := json.Unmarshal(ev.Arguments, &args); err != nil {
				badArg.Store(ev.Info.FieldName + " got arguments " + string(ev.Arguments))
			}
		}
		if ev.Identity == nil {
			badArg.Store(ev.Info.FieldName + " resolved without an identity")
		}
		switch ev.Info.FieldName {
		case "getRequest", "previous_request":
			return map[string]any{"egress_request_id": "r1", "egress_status": "PROCESSING", "previous_request_id": "r0"}, nil
		case "listRequests":
			return []any{map[string]any{"egress_request_id": "r1", "egress_status": "PROCESSING"}}, nil
		}
		return nil, nil
	}
	exec, err := appsync.NewExecutor(api.Schema, resolve)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string, vars []byte, reviewer bool) {
		calls.Store(0)
		badArg.Store("")
		req := appsync.GraphQLRequest{Query: query}
		if json.Unmarshal(vars, &req.Variables) != nil {
			req.Variables = nil
		}
		id := igReviewer
		if !reviewer {
			id = nobody
		}
		resp := exec.Execute(context.Background(), req, id)
		b, err := json.Marshal(resp)
		if err != nil || !json.Valid(b) {
			t.Fatalf("response does not encode: %v", err)
		}
		if bad := badArg.Load().(string); bad != "" {
			t.Fatal(bad)
		}
		n := calls.Load()
		if n > int64(api.MaxResolverCount) {
			t.Fatalf("%d resolver calls, over the limit of %d", n, api.MaxResolverCount)
		}
		if !reviewer && n > 0 {
			t.Fatalf("a caller in no group reached %d resolvers", n)
		}
	})
}
