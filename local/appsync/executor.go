// Package appsync stands in for AWS AppSync on a developer's machine: it
// runs GraphQL documents against the API's schema and calls the API's
// Lambda handler for every resolved field, as AppSync does with a direct
// Lambda resolver. No Lambda links it; the local stack and tests do.
package appsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/api"
)

// Executor runs GraphQL documents the way AppSync runs them for a direct
// Lambda resolver, so the local endpoint needs no generated code: it parses
// and validates the document against the schema, applies the schema's
// @aws_auth / @aws_cognito_user_pools group lists, calls resolve for every
// root field and every field in api.FieldResolvers (with the parent as
// source), and projects the JSON resolve returns onto the selection set.
// resolve is api.Handler(s): the same function the Lambda runs.
type Executor struct {
	schema   *ast.Schema
	resolve  func(context.Context, api.Event) (any, error)
	resolved map[string]bool
	// maxDepth and maxResolvers are the API's QueryDepthLimit and
	// ResolverCountLimit (api.MaxQueryDepth, api.MaxResolverCount); the
	// others are this executor's (limits.go).
	maxDepth, maxResolvers, maxFields, maxAliases, maxResponse int
	// callers are the groups named on root fields: a caller in none of
	// them may call nothing, and is refused before the document is read.
	// nil when some root field names no group.
	callers []string
	rules   *rules.Rules
}

// NewExecutor parses schema (api.Schema or api.SchemaFor's output) with
// AppSync's built-in directives and scalars.
func NewExecutor(schema string, resolve func(context.Context, api.Event) (any, error)) (*Executor, error) {
	s, err := loadSchema(schema)
	if err != nil {
		return nil, err
	}
	resolved := map[string]bool{}
	for _, f := range api.FieldResolvers {
		resolved[f] = true
	}
	return &Executor{schema: s, resolve: resolve, resolved: resolved, callers: rootGroups(s), rules: validationRules(s),
		maxDepth: api.MaxQueryDepth, maxResolvers: api.MaxResolverCount,
		maxFields: MaxFields, maxAliases: MaxAliases, maxResponse: MaxResponseBytes}, nil
}

// rootGroups is every group named by a root field's group directives, or
// nil if some root field admits any signed-in caller.
func rootGroups(s *ast.Schema) []string {
	var out []string
	for _, root := range []*ast.Definition{s.Query, s.Mutation} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			groups := fieldGroups(f)
			if groups == nil {
				return nil
			}
			for _, g := range groups {
				if !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
		}
	}
	return out
}

// fieldGroups is the union of a field's cognito_groups, nil if it names
// none.
func fieldGroups(def *ast.FieldDefinition) []string {
	var out []string
	for _, name := range []string{"aws_auth", "aws_cognito_user_pools"} {
		if d := def.Directives.ForName(name); d != nil {
			groups, _ := d.ArgumentMap(nil)["cognito_groups"].([]any)
			for _, g := range groups {
				if s, ok := g.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Admit refuses a caller who may call no field at all: no identity, or in
// none of the groups the schema's root fields name. It runs before the
// document is read, so a stranger's request costs no parsing or
// validation (AppSync, too, checks the token before the document).
func (e *Executor) Admit(id *api.Identity) *GraphQLError {
	if e.callers == nil {
		return nil
	}
	if id != nil {
		if who, err := id.Caller(); err == nil {
			for _, g := range e.callers {
				if who.InGroup(g) {
					return nil
				}
			}
		}
	}
	return &GraphQLError{ErrorType: ErrorTypeUnauthorized, Message: "Not Authorized: the caller is in no group that may call this API"}
}

// GraphQLRequest is the body of a GraphQL POST.
type GraphQLRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
}

// Response is a GraphQL response in AppSync's shape.
type Response struct {
	Data   any            `json:"data"`
	Errors []GraphQLError `json:"errors,omitempty"`
}

// GraphQLError is one error as AppSync reports it.
type GraphQLError struct {
	Path      []any      `json:"path,omitempty"`
	ErrorType string     `json:"errorType,omitempty"`
	Locations []Location `json:"locations,omitempty"`
	Message   string     `json:"message"`
}

// Location is a place in the request document.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error types the executor itself reports, as AppSync names them.
const (
	ErrorTypeValidation    = "ValidationError"
	ErrorTypeUnauthorized  = "Unauthorized"
	ErrorTypeResolverLimit = "ResolverCountLimitExceeded"
)

// limitResponse refuses a document over a limit (AppSync's QueryDepthLimit
// refuses one too deep the same way) before any resolver runs.
func limitResponse(msg string) Response {
	return Response{Errors: []GraphQLError{{ErrorType: ErrorTypeValidation, Message: msg}}}
}

// Execute runs req for the caller id. The cheap checks come first: the
// caller (Admit), the document's size, its tokens, then its fields,
// aliases and depth in one linear pass, all before validation.
func (e *Executor) Execute(ctx context.Context, req GraphQLRequest, id *api.Identity) Response {
	if err := e.Admit(id); err != nil {
		return Response{Errors: []GraphQLError{*err}}
	}
	if len(req.Query) > MaxRequestBytes {
		return limitResponse(fmt.Sprintf("Query is %d bytes; the limit is %d", len(req.Query), MaxRequestBytes))
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: req.Query}, MaxTokens)
	if err != nil {
		if ge := asGQLError(err); strings.Contains(ge.Message, "token limit") {
			return limitResponse(fmt.Sprintf("Query has more than %d tokens; the limit is %d", MaxTokens, MaxTokens))
		}
		return Response{Errors: validationErrors(gqlerror.List{asGQLError(err)})}
	}
	if msg := e.limitError(costOf(doc)); msg != "" {
		return limitResponse(msg)
	}
	if errs := validator.ValidateWithRules(e.schema, doc, e.rules); len(errs) > 0 {
		return Response{Errors: validationErrors(errs)}
	}
	op, err := operation(doc, req.OperationName)
	if err != nil {
		return Response{Errors: []GraphQLError{{ErrorType: ErrorTypeValidation, Message: err.Error()}}}
	}
	// VariableValues coerces input objects in place; keep the caller's.
	vars, err := validator.VariableValues(e.schema, op, cloneValue(req.Variables).(map[string]any))
	if err != nil {
		return Response{Errors: validationErrors(gqlerror.List{asGQLError(err)})}
	}
	var root *ast.Definition
	switch op.Operation {
	case ast.Query:
		root = e.schema.Query
	case ast.Mutation:
		root = e.schema.Mutation
	default:
		return Response{Errors: []GraphQLError{{ErrorType: ErrorTypeValidation, Message: "subscriptions are not served here"}}}
	}
	x := &execution{Executor: e, ctx: ctx, id: id, vars: vars}
	// Root fields run one after another, as mutations must.
	data, _ := x.object(root, []*ast.Field{{SelectionSet: op.SelectionSet}}, nil, nil)
	if x.halt != nil {
		// Partial data would be misleading, and the caller may be gone.
		return Response{Errors: []GraphQLError{*x.halt}}
	}
	return Response{Data: data, Errors: x.errors}
}

// cloneValue deep-copies decoded JSON.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = cloneValue(x)
		}
		return l
	}
	return v
}

func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name == "" {
		if len(doc.Operations) != 1 {
			return nil, errors.New("operationName is required when the document has several operations")
		}
		return doc.Operations[0], nil
	}
	if op := doc.Operations.ForName(name); op != nil {
		return op, nil
	}
	return nil, fmt.Errorf("unknown operation %q", name)
}

func asGQLError(err error) *gqlerror.Error {
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		return ge
	}
	return gqlerror.Wrap(err)
}

func validationErrors(list gqlerror.List) []GraphQLError {
	out := make([]GraphQLError, len(list))
	for i, ge := range list {
		out[i] = GraphQLError{ErrorType: ErrorTypeValidation, Message: withVariable(ge)}
		for _, l := range ge.Locations {
			out[i].Locations = append(out[i].Locations, Location{Line: l.Line, Column: l.Column})
		}
	}
	return out
}

// withVariable names the variable a coercion error is about ("must be
// defined" alone does not say which): gqlparser puts it in the path only.
func withVariable(ge *gqlerror.Error) string {
	if len(ge.Path) < 2 || ge.Path[0] != ast.PathName("variable") {
		return ge.Message
	}
	name := strings.TrimPrefix(ge.Path[1:].String(), ".")
	return fmt.Sprintf("Variable '%s': %s", name, ge.Message)
}

// execution is one Execute call.
type execution struct {
	*Executor
	ctx    context.Context
	id     *api.Identity
	vars   map[string]any
	errors []GraphQLError
	// calls counts resolver invocations against maxResolvers.
	calls int
	// size estimates the response's bytes so far against maxResponse.
	size int
	// halt, once set, ends the execution: no further field is resolved
	// and the response is this one error.
	halt *GraphQLError
}

// halted reports whether the execution must stop: the response grew past
// its limit, or the request was cancelled (the client went away, or the
// 30 s passed). One error records why, however many fields remain.
func (x *execution) halted() bool {
	if x.halt != nil {
		return true
	}
	if err := x.ctx.Err(); err != nil {
		x.halt = &GraphQLError{ErrorType: ErrorTypeCancelled, Message: "Request cancelled: " + err.Error()}
		return true
	}
	if x.size > x.maxResponse {
		x.halt = &GraphQLError{ErrorType: ErrorTypeResponseTooLarge,
			Message: fmt.Sprintf("Response exceeds the limit of %d bytes", x.maxResponse)}
		return true
	}
	return false
}

func (x *execution) fail(path []any, f *ast.Field, typ, msg string) {
	x.size += len(msg) + 64
	e := GraphQLError{Path: slices.Clone(path), ErrorType: typ, Message: msg}
	if f.Position != nil {
		e.Locations = []Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	x.errors = append(x.errors, e)
}

// object completes an object of type def from source (the parent's JSON
// value) for the merged selection sets of fields. ok is false when a
// non-null field came back null, which makes the object null.
func (x *execution) object(def *ast.Definition, fields []*ast.Field, source map[string]any, path []any) (value any, ok bool) {
	keys, byKey := x.collect(def, fields)
	out := make(orderedObject, 0, len(keys))
	for _, key := range keys {
		if x.halted() {
			return nil, false
		}
		x.size += len(key) + 4
		v, ok := x.field(def, byKey[key], source, append(path, key))
		if !ok {
			return nil, false
		}
		out = append(out, member{key, v})
	}
	return out, true
}

// field resolves one response key of an object.
func (x *execution) field(parent *ast.Definition, fields []*ast.Field, source map[string]any, path []any) (any, bool) {
	f := fields[0]
	if f.Name == "__typename" {
		return parent.Name, true
	}
	def := parent.Fields.ForName(f.Name)
	if def == nil || strings.HasPrefix(f.Name, "__") { // introspection is not served
		x.fail(path, f, ErrorTypeValidation, fmt.Sprintf("field %s is not served here", f.Name))
		return nil, false
	}
	if !x.authorized(def) {
		x.fail(path, f, ErrorTypeUnauthorized, fmt.Sprintf("Not Authorized to access %s on type %s", f.Name, parent.Name))
		return nil, !def.Type.NonNull
	}
	var v any
	if parent == x.schema.Query || parent == x.schema.Mutation || x.resolved[parent.Name+"."+f.Name] {
		if x.calls++; x.calls > x.maxResolvers {
			// AppSync's ResolverCountLimit: resolvers past it are not invoked.
			x.fail(path, f, ErrorTypeResolverLimit, fmt.Sprintf("Resolver count limit of %d exceeded", x.maxResolvers))
			return nil, !def.Type.NonNull
		}
		var err error
		if v, err = x.call(parent, f, source); err != nil {
			typ, msg := egressErrorType(err)
			x.fail(path, f, typ, msg)
			return nil, !def.Type.NonNull
		}
	} else {
		v = source[f.Name]
	}
	return x.complete(def.Type, fields, v, path)
}

// call runs the resolver for field f of parent, as AppSync invokes it.
func (x *execution) call(parent *ast.Definition, f *ast.Field, source map[string]any) (any, error) {
	args, err := json.Marshal(f.ArgumentMap(x.vars))
	if err != nil {
		return nil, err
	}
	ev := api.Event{Arguments: args, Identity: x.id, Info: api.Info{FieldName: f.Name, ParentTypeName: parent.Name, Variables: x.vars}}
	if source != nil {
		if ev.Source, err = json.Marshal(source); err != nil {
			return nil, err
		}
	}
	out, err := x.resolve(x.ctx, ev)
	if err != nil {
		return nil, err
	}
	// Through JSON, as AppSync receives a Lambda's result.
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if len(b) > sfn.MaxInvokeResponse {
		// What Lambda answers AppSync for a result it will not return.
		return nil, messages.InvokeResponse_Error{Type: sfn.FunctionResponseSizeTooLarge, Message: sfn.ResponseTooLargeMessage}
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func egressErrorType(err error) (typ, msg string) {
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		return ie.Type, ie.Message
	}
	return "Lambda:Unhandled", "internal error"
}

// authorized applies the field's group directives to the caller.
func (x *execution) authorized(def *ast.FieldDefinition) bool {
	for _, name := range []string{"aws_auth", "aws_cognito_user_pools"} {
		d := def.Directives.ForName(name)
		if d == nil {
			continue
		}
		groups, _ := d.ArgumentMap(nil)["cognito_groups"].([]any)
		if len(groups) == 0 {
			continue
		}
		who, err := x.id.Caller()
		if err != nil {
			return false
		}
		allowed := false
		for _, g := range groups {
			if s, ok := g.(string); ok && who.InGroup(s) {
				allowed = true
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// complete shapes v (decoded JSON) as type t.
func (x *execution) complete(t *ast.Type, fields []*ast.Field, v any, path []any) (any, bool) {
	f := fields[0]
	if v == nil {
		if t.NonNull {
			x.fail(path, f, "", fmt.Sprintf("Cannot return null for non-nullable type: '%s' within parent '%s'", t.Name(), f.ObjectDefinition.Name))
			return nil, false
		}
		return nil, true
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			x.fail(path, f, "", fmt.Sprintf("Can't resolve value (%s): not a list", f.Name))
			return nil, !t.NonNull
		}
		out := make([]any, len(list))
		for i, item := range list {
			if x.halted() {
				return nil, false
			}
			var ok bool
			if out[i], ok = x.complete(t.Elem, fields, item, append(path, i)); !ok {
				return nil, !t.NonNull
			}
		}
		return out, true
	}
	def := x.schema.Types[t.NamedType]
	switch def.Kind {
	case ast.Object:
		obj, ok := v.(map[string]any)
		if !ok {
			x.fail(path, f, "", fmt.Sprintf("Can't resolve value (%s): not an object", f.Name))
			return nil, !t.NonNull
		}
		out, ok := x.object(def, fields, obj, path)
		if !ok {
			return nil, !t.NonNull
		}
		return out, true
	default:
		s, err := scalar(def.Name, v)
		if str, ok := s.(string); ok {
			x.size += len(str) + 2
		} else {
			x.size += 8
		}
		if err != nil {
			x.fail(path, f, "", fmt.Sprintf("Can't serialize value (%s): %v", f.Name, err))
			return nil, !t.NonNull
		}
		return s, true
	}
}

func scalar(typ string, v any) (any, error) {
	switch typ {
	case "String", "ID":
		switch v := v.(type) {
		case string:
			return v, nil
		case json.Number, bool:
			return fmt.Sprint(v), nil
		}
	case "Int":
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
				return i, nil
			}
		}
	case "Float":
		if n, ok := v.(json.Number); ok {
			return n, nil
		}
	case "Boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	default: // AppSync scalars and enums pass through
		return v, nil
	}
	return nil, fmt.Errorf("%v is not a %s", v, typ)
}

// collect merges the selection sets of fields into response keys in
// document order, applying fragments and @skip/@include.
func (x *execution) collect(def *ast.Definition, fields []*ast.Field) ([]string, map[string][]*ast.Field) {
	var keys []string
	byKey := map[string][]*ast.Field{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if x.skipped(s.Directives) {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if _, seen := byKey[key]; !seen {
					keys = append(keys, key)
				}
				byKey[key] = append(byKey[key], s)
			case *ast.InlineFragment:
				if !x.skipped(s.Directives) && (s.TypeCondition == "" || s.TypeCondition == def.Name) {
					walk(s.SelectionSet)
				}
			case *ast.FragmentSpread:
				if !x.skipped(s.Directives) && s.Definition != nil && s.Definition.TypeCondition == def.Name {
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	for _, f := range fields {
		walk(f.SelectionSet)
	}
	return keys, byKey
}

func (x *execution) skipped(ds ast.DirectiveList) bool {
	if d := ds.ForName("skip"); d != nil {
		if b, _ := d.ArgumentMap(x.vars)["if"].(bool); b {
			return true
		}
	}
	if d := ds.ForName("include"); d != nil {
		if b, _ := d.ArgumentMap(x.vars)["if"].(bool); !b {
			return true
		}
	}
	return false
}

// orderedObject is a JSON object that keeps the order of the selection set.
type orderedObject []member

type member struct {
	key   string
	value any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
