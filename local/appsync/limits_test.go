package appsync_test

import (
	"context"
	"fmt"
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
