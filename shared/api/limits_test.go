package api_test

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/tre-egress/egress/shared/api"
)

// schemaDepth is the deepest selection the schema allows below typ, the
// field itself counting 1; a cycle is an error, as it has no bound.
func schemaDepth(t *testing.T, doc *ast.SchemaDocument, typ string, seen []string) int {
	t.Helper()
	def := doc.Definitions.ForName(typ)
	if def == nil || def.Kind != ast.Object {
		return 0 // a scalar or enum: the field is a leaf
	}
	for _, s := range seen {
		if s == typ {
			t.Fatalf("the schema is cyclic (%s → %s): MaxQueryDepth must be reconsidered", strings.Join(seen, " → "), typ)
		}
	}
	deepest := 0
	for _, f := range def.Fields {
		deepest = max(deepest, 1+schemaDepth(t, doc, f.Type.Name(), append(seen, typ)))
	}
	return deepest
}

// selectionDepth is the depth of a selection set, a root field counting 1.
func selectionDepth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			deepest = max(deepest, 1+selectionDepth(s.SelectionSet))
		case *ast.InlineFragment:
			deepest = max(deepest, selectionDepth(s.SelectionSet))
		}
	}
	return deepest
}

// The limits admit every selection the schema allows (it has no cycles)
// and a default page of requests with both nested resolvers.
func TestLimitsFitTheSchema(t *testing.T) {
	doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: api.Schema})
	if err != nil {
		t.Fatal(err)
	}
	deepest := 0
	for _, root := range []string{"Query", "Mutation"} {
		deepest = max(deepest, schemaDepth(t, doc, root, nil))
	}
	// One level of room: AppSync may count the operation as a level too.
	if deepest+1 > api.MaxQueryDepth {
		t.Errorf("the schema allows selections %d deep; MaxQueryDepth %d leaves no room", deepest, api.MaxQueryDepth)
	}
	nested := 0
	for _, f := range api.FieldResolvers {
		if !strings.HasPrefix(f, "Query.") && !strings.HasPrefix(f, "Mutation.") {
			nested++
		}
	}
	if need := 1 + nested*api.DefaultPageLimit; api.MaxResolverCount < need {
		t.Errorf("a default page with every nested resolver invokes %d resolvers; MaxResolverCount is %d", need, api.MaxResolverCount)
	}
}

func TestLimitsAdmitTheFrontend(t *testing.T) {
	for _, name := range []string{"listRequests", "updateRequest", "downloadData"} {
		doc, err := parser.ParseQuery(&ast.Source{Name: name, Input: frontend(t, name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range doc.Operations {
			if d := selectionDepth(op.SelectionSet); d < 1 || d+1 > api.MaxQueryDepth {
				t.Errorf("%s is %d deep; MaxQueryDepth %d", name, d, api.MaxQueryDepth)
			}
			// Root fields only: the frontend selects no nested resolver.
			if n := len(op.SelectionSet); n > api.MaxResolverCount {
				t.Errorf("%s invokes %d resolvers; MaxResolverCount %d", name, n, api.MaxResolverCount)
			}
		}
	}
}
