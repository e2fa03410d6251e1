package appsync

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Cost limits on one request, checked before any work that grows with the
// document: the caller's groups first (Executor.Admit), then the body's
// size, the parser's token count, and one linear pass over the parsed
// document (costOf) before validation, whose default overlap rule is
// quadratic in fields sharing a response key (replaced by mergeRule).
//
// AppSync documents a QueryDepthLimit of up to 75 and a ResolverCountLimit
// of up to 10,000 per API (docs.aws.amazon.com/appsync/latest/devguide/
// configuration-limits.html; the stack sets api.MaxQueryDepth and
// api.MaxResolverCount) and a 30 s execution time. It bounds a request's
// cost by request tokens rather than counting fields or aliases, so
// MaxFields, MaxAliases and MaxTokens are this executor's own, set far
// above what the frontend and the API's tests send (tens of fields, a few
// aliases). MaxAliases is above api.MaxResolverCount, so that aliased
// resolver calls meet the resolver limit first; it bounds the fan-out of
// fields that call nothing. MaxRequestBytes is 1 MiB, the length AWS documents for one
// GraphQL operation (EventBridge's AppSyncParameters.GraphQLOperation);
// MaxResponseBytes is 5 MB, under Lambda's 6 MB response limit; AppSync's
// own response ceiling was not found in the docs searched.
const (
	MaxRequestBytes  = 1 << 20
	MaxTokens        = 15_000
	MaxFields        = 1_000
	MaxAliases       = 400
	MaxResponseBytes = 5_000_000
)

// Error types for refusals on cost; ValidationError for a document's.
const (
	ErrorTypeResponseTooLarge = "ResponseSizeLimitExceeded"
	ErrorTypeCancelled        = "RequestCancelled"
)

// saturate keeps counts of fragment-expanded documents, which can grow
// exponentially with nested spreads, from overflowing.
const saturate = 1 << 30

// cost is what costOf counts: fields and aliases with fragments expanded
// (as they execute), and the deepest nesting, the root fields being 1.
type cost struct{ fields, aliases, depth int }

func (c *cost) add(o cost) {
	c.fields = min(c.fields+o.fields, saturate)
	c.aliases = min(c.aliases+o.aliases, saturate)
	c.depth = max(c.depth, o.depth)
}

// coster computes costs in one pass: each fragment is counted once and
// its count reused at every spread, so the pass is linear in the
// document's size however the spreads nest. A spread of an unknown or
// cyclic fragment counts nothing; validation refuses the document.
type coster struct {
	doc      *ast.QueryDocument
	memo     map[string]cost
	visiting map[string]bool
}

func (c *coster) set(ss ast.SelectionSet) cost {
	var total cost
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			sub := c.set(s.SelectionSet)
			one := cost{fields: 1, depth: sub.depth + 1}
			if s.Alias != "" && s.Alias != s.Name {
				one.aliases = 1
			}
			one.add(cost{fields: sub.fields, aliases: sub.aliases})
			total.add(one)
		case *ast.InlineFragment:
			total.add(c.set(s.SelectionSet))
		case *ast.FragmentSpread:
			total.add(c.fragment(s.Name))
		}
	}
	return total
}

func (c *coster) fragment(name string) cost {
	if v, ok := c.memo[name]; ok {
		return v
	}
	f := c.doc.Fragments.ForName(name)
	if f == nil || c.visiting[name] {
		return cost{}
	}
	c.visiting[name] = true
	v := c.set(f.SelectionSet)
	delete(c.visiting, name)
	c.memo[name] = v
	return v
}

// costOf is the cost of every operation in doc (validation walks them all,
// not just the one run) and the deepest of them.
func costOf(doc *ast.QueryDocument) cost {
	c := &coster{doc: doc, memo: map[string]cost{}, visiting: map[string]bool{}}
	var total cost
	for _, op := range doc.Operations {
		total.add(c.set(op.SelectionSet))
	}
	for _, f := range doc.Fragments { // unused ones are still validated
		total.add(cost{fields: c.fragment(f.Name).fields})
	}
	return total
}

// limitError names the limit a document passes and by how much.
func (e *Executor) limitError(c cost) string {
	switch {
	case c.fields > e.maxFields:
		return fmt.Sprintf("Query has %s fields (fragments expanded); the limit is %d", atLeast(c.fields), e.maxFields)
	case c.aliases > e.maxAliases:
		return fmt.Sprintf("Query has %s aliases; the limit is %d", atLeast(c.aliases), e.maxAliases)
	case c.depth > e.maxDepth:
		return fmt.Sprintf("Query depth %d exceeds the API's limit of %d", c.depth, e.maxDepth)
	}
	return ""
}

func atLeast(n int) string {
	if n >= saturate {
		return fmt.Sprintf("over %d", saturate)
	}
	return fmt.Sprint(n)
}

// validationRules are gqlparser's defaults with the overlap rule replaced
// by mergeRule: the default compares every pair of fields that share a
// response key, so 3,000 aliased fields made 4.5 million errors (a 992 MB
// response) and 20,000 repeated fields kept a core busy for minutes.
// mergeRule assumes a schema without interfaces or unions; one with them
// keeps the default rule, quadratic only within MaxFields.
func validationRules(s *ast.Schema) *rules.Rules {
	r := rules.NewDefaultRules()
	for _, t := range s.Types {
		if !t.BuiltIn && (t.Kind == ast.Interface || t.Kind == ast.Union) {
			return r
		}
	}
	r.ReplaceRule(rules.OverlappingFieldsCanBeMergedRule.Name, mergeRule)
	return r
}

// mergeRule checks what the overlap rule checks for a schema without
// interfaces or unions (the API's: a selection set's fields all belong to
// one type), in time linear in the expanded fields: fields sharing a
// response key must all have the first one's name and arguments (equality
// is transitive, so comparing each with the first is enough), and their
// sub-selections, merged, must in turn merge. One error per response key.
func mergeRule(observers *core.Events, addError core.AddErrFunc) {
	observers.OnOperation(func(_ *core.Walker, op *ast.OperationDefinition) {
		m := merger{addError: addError, doc: op}
		m.check([]ast.SelectionSet{op.SelectionSet}, map[string]bool{})
	})
}

type merger struct {
	addError core.AddErrFunc
	doc      *ast.OperationDefinition
}

// check merges sets (the selection sets of fields sharing one response key).
// inPath stops fragment cycles, which NoFragmentCycles reports.
func (m merger) check(sets []ast.SelectionSet, inPath map[string]bool) {
	var keys []string
	byKey := map[string][]*ast.Field{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if _, seen := byKey[s.Alias]; !seen {
					keys = append(keys, s.Alias)
				}
				byKey[s.Alias] = append(byKey[s.Alias], s)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if s.Definition != nil && !inPath[s.Name] {
					inPath[s.Name] = true
					walk(s.Definition.SelectionSet)
					delete(inPath, s.Name)
				}
			}
		}
	}
	for _, set := range sets {
		walk(set)
	}
	for _, key := range keys {
		fields := byKey[key]
		first := fields[0]
		var subs []ast.SelectionSet
		conflict := ""
		for _, f := range fields {
			switch {
			case f.Name != first.Name:
				conflict = fmt.Sprintf("%s and %s are different fields", first.Name, f.Name)
			case !sameArguments(first.Arguments, f.Arguments):
				conflict = "they have differing arguments"
			}
			if conflict != "" {
				m.addError(core.Message(`Fields "%s" conflict because %s. Use different aliases on the fields to fetch both if this was intentional.`, key, conflict), core.At(f.Position))
				break
			}
			if len(f.SelectionSet) > 0 {
				subs = append(subs, f.SelectionSet)
			}
		}
		if conflict == "" && len(subs) > 0 {
			m.check(subs, inPath)
		}
	}
}

func sameArguments(a, b ast.ArgumentList) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		y := b.ForName(x.Name)
		if y == nil || x.Value.String() != y.Value.String() {
			return false
		}
	}
	return true
}
