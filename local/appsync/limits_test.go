package appsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/api"
)

// A self-referencing type lets a document nest as deep as a test wants.
const nestedSchema = `
schema { query: Query }
type Query { node: Node }
type Node { name: String child: Node }
`

func nested(levels int) string {
	return strings.Repeat("{ node ", 1) + strings.Repeat("{ child ", levels-2) + "{ name }" + strings.Repeat(" }", levels-2) + " }"
}

// The executor refuses what AppSync's QueryDepthLimit and
// ResolverCountLimit refuse, with the stack's values (api.MaxQueryDepth,
// api.MaxResolverCount).
func TestExecutorLimits(t *testing.T) {
	calls := 0
	resolve := func(_ context.Context, ev api.Event) (any, error) {
		calls++
		return map[string]any{"name": "n", "child": map[string]any{"name": "c"}}, nil
	}
	exec, err := appsync.NewExecutor(nestedSchema, resolve)
	if err != nil {
		t.Fatal(err)
	}
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, " a%d: node { name }", i)
		}
		return b.String() + " }"
	}
	tests := []struct {
		name      string
		query     string
		wantErr   string
		wantCalls int
	}{
		{"at the depth limit", nested(api.MaxQueryDepth), "", 1},
		{"past the depth limit", nested(api.MaxQueryDepth + 1), fmt.Sprintf("exceeds the API's limit of %d", api.MaxQueryDepth), 0},
		{"at the resolver limit", aliases(api.MaxResolverCount), "", api.MaxResolverCount},
		{"past the resolver limit", aliases(api.MaxResolverCount + 1), fmt.Sprintf("Resolver count limit of %d exceeded", api.MaxResolverCount), api.MaxResolverCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = 0
			resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: tt.query}, igReviewer)
			switch {
			case tt.wantErr == "" && len(resp.Errors) > 0:
				t.Fatalf("errors %+v", resp.Errors)
			case tt.wantErr != "" && (len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Message, tt.wantErr)):
				t.Fatalf("errors %+v, want one containing %q", resp.Errors, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Fatalf("%d resolver calls, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// A resolver result past Lambda's 6 MB response limit is refused as Lambda
// refuses it, and one just under it is returned.
func TestExecutorLambdaResponseLimit(t *testing.T) {
	// The JSON of {"name": s} is len(s)+11 bytes.
	var size int
	resolve := func(context.Context, api.Event) (any, error) {
		return map[string]any{"name": strings.Repeat("x", size-11)}, nil
	}
	exec, err := appsync.NewExecutor(nestedSchema, resolve)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		size    int
		wantErr string
	}{
		{sfn.MaxInvokeResponse, ""},
		{sfn.MaxInvokeResponse + 1, sfn.FunctionResponseSizeTooLarge},
	} {
		size = tt.size
		resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: "{ node { name } }"}, igReviewer)
		switch {
		case tt.wantErr == "" && len(resp.Errors) > 0:
			t.Errorf("%d bytes: %+v", tt.size, resp.Errors)
		case tt.wantErr != "" && (len(resp.Errors) != 1 || resp.Errors[0].ErrorType != tt.wantErr):
			t.Errorf("%d bytes: errors %+v, want %s", tt.size, resp.Errors, tt.wantErr)
		}
	}
}

// hostile builds the documents of issue 18's hostile queries at size n.
var hostile = map[string]func(n int) string{
	// Same response key, differing arguments: the old overlap rule made an
	// error per pair (3,000 aliases: 4.5 million errors, 992 MB).
	"same-named aliases": func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, ` a: node(id: "r%05d") { name }`, i)
		}
		return b.String() + " }"
	},
	"distinct aliases": func(n int) string {
		var b strings.Builder
		b.WriteString("{ node {")
		for i := range n {
			fmt.Fprintf(&b, " a%d: name", i)
		}
		return b.String() + " } }"
	},
	"repeated fields": func(n int) string {
		return "{ node {" + strings.Repeat(" name", n) + " } }"
	},
	// Each fragment spreads the next twice: 2^n fields once expanded.
	"nested fragments": func(n int) string {
		var b strings.Builder
		b.WriteString("{ node { ...F0 } }")
		for i := range n {
			fmt.Fprintf(&b, " fragment F%d on Node { ...F%d child { ...F%d } }", i, i+1, i+1)
		}
		fmt.Fprintf(&b, " fragment F%d on Node { name }", n)
		return b.String()
	},
}

// costSchema's node takes an argument, so aliases can differ in it.
const costSchema = `
schema { query: Query }
type Query { node(id: String): Node }
type Node { name: String child: Node }
`

// Each hostile query is refused before validation or any resolver, with
// one error naming the limit and its figure, in a small response and
// bounded allocation; the same shapes within the limits still run.
func TestExecutorCostLimits(t *testing.T) {
	calls := 0
	exec, err := appsync.NewExecutor(costSchema, func(context.Context, api.Event) (any, error) {
		calls++
		return map[string]any{"name": "n", "child": map[string]any{"name": "c"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		shape     string
		n         int
		wantErr   string // "" for none
		wantCalls int
	}{
		{"same-named aliases", 3000, fmt.Sprintf("more than %d tokens; the limit is %d", appsync.MaxTokens, appsync.MaxTokens), 0},
		{"same-named aliases", 300, `Fields "a" conflict because they have differing arguments`, 0},
		{"same-named aliases", 1, "", 1},
		{"distinct aliases", appsync.MaxAliases + 1, fmt.Sprintf("Query has %d aliases; the limit is %d", appsync.MaxAliases+1, appsync.MaxAliases), 0},
		{"distinct aliases", appsync.MaxAliases, "", 1},
		{"repeated fields", 20000, fmt.Sprintf("more than %d tokens", appsync.MaxTokens), 0},
		{"repeated fields", appsync.MaxFields, fmt.Sprintf("Query has %d fields (fragments expanded); the limit is %d", appsync.MaxFields+1, appsync.MaxFields), 0},
		{"repeated fields", appsync.MaxFields - 1, "", 1},
		{"nested fragments", 40, fmt.Sprintf("fields (fragments expanded); the limit is %d", appsync.MaxFields), 0},
		{"nested fragments", 4, "", 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.shape, tt.n), func(t *testing.T) {
			query := hostile[tt.shape](tt.n)
			calls = 0
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: query}, igReviewer)
			out, _ := json.Marshal(resp)
			runtime.ReadMemStats(&after)
			switch {
			case tt.wantErr == "" && len(resp.Errors) > 0:
				t.Fatalf("errors %+v", resp.Errors)
			case tt.wantErr != "" && (len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Message, tt.wantErr)):
				t.Fatalf("%d errors (first %+v), want one containing %q", len(resp.Errors), resp.Errors[:min(1, len(resp.Errors))], tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("%d resolver calls, want %d", calls, tt.wantCalls)
			}
			// The query itself is up to ~200 KB; the old executor allocated
			// 6.4 GB for the first case.
			if alloc := after.TotalAlloc - before.TotalAlloc; tt.wantErr != "" && (len(out) > 1024 || alloc > 32<<20) {
				t.Errorf("refusal: %d-byte response, %d bytes allocated", len(out), alloc)
			}
		})
	}
}

// Validation and execution are linear in repeated fields: twice the fields
// cost about twice the allocations (the old overlap rule compared every
// pair: 20,000 fields took 4.6 GB and 48 s).
func TestExecutorLinearInFields(t *testing.T) {
	exec, err := appsync.NewExecutor(costSchema, func(context.Context, api.Event) (any, error) {
		return map[string]any{"name": "n"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(query string) float64 {
		return testing.AllocsPerRun(3, func() { exec.Execute(context.Background(), appsync.GraphQLRequest{Query: query}, igReviewer) })
	}
	// Repeated fields run; same-named aliases with differing arguments are
	// refused with one error, not one per pair.
	for shape, n := range map[string]int{"repeated fields": appsync.MaxFields / 4, "same-named aliases": appsync.MaxAliases / 4} {
		half, full := allocs(hostile[shape](n)), allocs(hostile[shape](2*n))
		if full > 2.5*half {
			t.Errorf("%s: %d cost %.0f allocations, %d cost %.0f: not linear", shape, n, half, 2*n, full)
		}
		resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: hostile[shape](2 * n)}, igReviewer)
		if wantErrs := map[string]int{"repeated fields": 0, "same-named aliases": 1}[shape]; len(resp.Errors) != wantErrs {
			t.Errorf("%s: %d errors, want %d", shape, len(resp.Errors), wantErrs)
		}
	}
}

// A caller in no group gets one Unauthorized error before the document
// is parsed: a malformed or hostile one costs the same, and no resolver
// runs.
func TestExecutorAdmitsBeforeParsing(t *testing.T) {
	calls := 0
	exec, err := appsync.NewExecutor(api.Schema, func(context.Context, api.Event) (any, error) {
		calls++
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nobody := &api.Identity{Sub: "sub-n", Username: "sub-n", Claims: map[string]any{"sub": "sub-n", "token_use": "access"}}
	for name, query := range map[string]string{
		"valid":              "{ listRequests { egress_request_id } }",
		"malformed":          "{ listRequests {",
		"same-named aliases": strings.Repeat(` a: getRequest(egress_request_id: "x") { egress_status }`, 3000),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: query}, nobody)
		runtime.ReadMemStats(&after)
		if resp.Data != nil || len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.ErrorTypeUnauthorized {
			t.Errorf("%s: %+v", name, resp)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<10 {
			t.Errorf("%s: %d bytes allocated refusing a stranger", name, alloc)
		}
	}
	if calls != 0 {
		t.Errorf("%d resolver calls", calls)
	}
	for _, ok := range []*api.Identity{igReviewer, {Sub: "r", Username: "r", Groups: []string{api.SchemaResearcherGroup},
		Claims: map[string]any{"sub": "r", "cognito:groups": []any{api.SchemaResearcherGroup}, "token_use": "access"}}} {
		if err := exec.Admit(ok); err != nil {
			t.Errorf("%v refused: %+v", ok.Groups, err)
		}
	}
}

// Cancellation halts the execution: no resolver runs after it, and the
// response is one error, however many fields remain.
func TestExecutorStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	exec, err := appsync.NewExecutor(costSchema, func(ctx context.Context, _ api.Event) (any, error) {
		if calls++; calls == 3 {
			cancel() // the client goes away during the third call
			return nil, ctx.Err()
		}
		return map[string]any{"name": "n"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("{")
	for i := range api.MaxResolverCount {
		fmt.Fprintf(&b, " a%d: node { name }", i)
	}
	resp := exec.Execute(ctx, appsync.GraphQLRequest{Query: b.String() + " }"}, igReviewer)
	if calls != 3 {
		t.Errorf("%d resolver calls, want 3", calls)
	}
	if resp.Data != nil || len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.ErrorTypeCancelled {
		t.Errorf("response %+v, want one %s error", resp, appsync.ErrorTypeCancelled)
	}
}

// A response past MaxResponseBytes is refused with one error, even when it
// is built from one resolver's result within Lambda's limit, fanned out by
// aliases.
func TestExecutorResponseLimit(t *testing.T) {
	const big = 100_000
	exec, err := appsync.NewExecutor(costSchema, func(context.Context, api.Event) (any, error) {
		return map[string]any{"name": strings.Repeat("x", big)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		aliases int
		wantErr bool
	}{{appsync.MaxResponseBytes/big - 1, false}, {appsync.MaxResponseBytes/big + 1, true}} {
		resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: hostile["distinct aliases"](tt.aliases)}, igReviewer)
		out, _ := json.Marshal(resp)
		switch {
		case !tt.wantErr && (len(resp.Errors) > 0 || len(out) < tt.aliases*big):
			t.Errorf("%d aliases: %d bytes, errors %+v", tt.aliases, len(out), resp.Errors)
		case tt.wantErr && (len(resp.Errors) != 1 || resp.Errors[0].ErrorType != appsync.ErrorTypeResponseTooLarge ||
			!strings.Contains(resp.Errors[0].Message, fmt.Sprint(appsync.MaxResponseBytes)) || len(out) > 1024):
			t.Errorf("%d aliases: %d bytes, errors %+v, want one %s", tt.aliases, len(out), resp.Errors, appsync.ErrorTypeResponseTooLarge)
		}
	}
}

// A query longer than MaxRequestBytes is refused unread.
func TestExecutorQueryBytes(t *testing.T) {
	exec, err := appsync.NewExecutor(costSchema, func(context.Context, api.Event) (any, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	q := "{ node { name } }" + strings.Repeat(" ", appsync.MaxRequestBytes)
	resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: q}, igReviewer)
	if len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Message, fmt.Sprintf("the limit is %d", appsync.MaxRequestBytes)) {
		t.Errorf("errors %+v", resp.Errors)
	}
}

// A schema with an interface keeps gqlparser's own overlap rule, which
// knows that one response key may name different fields on different
// types; the linear rule assumes it may not.
func TestExecutorOverlapWithInterfaces(t *testing.T) {
	const schema = `
schema { query: Query }
type Query { node: Node }
interface Node { id: String }
type A implements Node { id: String name: String }
type B implements Node { id: String other: String }
`
	exec, err := appsync.NewExecutor(schema, func(context.Context, api.Event) (any, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	resp := exec.Execute(context.Background(), appsync.GraphQLRequest{Query: "{ node { ... on A { x: name } ... on B { x: other } } }"}, igReviewer)
	if len(resp.Errors) > 0 {
		t.Fatalf("errors %+v", resp.Errors)
	}
}
