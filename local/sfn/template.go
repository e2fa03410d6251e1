package sfn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// valueExpr is a dynamic value: the value of a "key.$" field in a payload
// template, or a Fail state's ErrorPath/CausePath. It is either a JSONPath
// (against the data, or the context object for "$$") or an intrinsic call.
type valueExpr struct {
	raw  string
	path *path
	call *intrinsic
}

func parseValueExpr(s string) (*valueExpr, error) {
	if isIntrinsic(s) {
		call, err := parseIntrinsic(s)
		if err != nil {
			return nil, err
		}
		return &valueExpr{raw: s, call: call}, nil
	}
	p, err := parsePath(s)
	if err != nil {
		return nil, err
	}
	return &valueExpr{raw: s, path: p}, nil
}

// eval returns the expression's value. A definite path that matches nothing
// yields errPathNotFound so callers can word the States.Runtime cause the
// way AWS does for their field.
func (v *valueExpr) eval(env *evalEnv) (any, error) {
	if v.call != nil {
		return v.call.eval(env)
	}
	return v.path.lookup(env.data, env.ctx)
}

// template is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): JSON in which every field whose name ends in ".$" is
// replaced, at any depth, by the value of its path or intrinsic function.
type template struct {
	lit    any // static value; used when obj and arr are both nil
	obj    []templateField
	arr    []*template
	static bool
}

type templateField struct {
	key  string
	expr *valueExpr // set for "key.$" fields
	val  *template  // set for every other field
}

func compileTemplate(v any) (*template, error) {
	switch x := v.(type) {
	case map[string]any:
		t := &template{obj: []templateField{}}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			name, dynamic := strings.CutSuffix(k, ".$")
			if !dynamic {
				sub, err := compileTemplate(x[k])
				if err != nil {
					return nil, fmt.Errorf("in field %q: %w", k, err)
				}
				t.obj = append(t.obj, templateField{key: k, val: sub})
				continue
			}
			if _, clash := x[name]; clash {
				return nil, fmt.Errorf("field %q is given both as %q and %q", name, name, k)
			}
			s, ok := x[k].(string)
			if !ok {
				return nil, fmt.Errorf("field %q: the value of a field ending in .$ must be a string, got %s", k, jsonType(x[k]))
			}
			e, err := parseValueExpr(s)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			t.obj = append(t.obj, templateField{key: name, expr: e})
		}
		return t, nil
	case []any:
		t := &template{arr: make([]*template, len(x))}
		for i, e := range x {
			sub, err := compileTemplate(e)
			if err != nil {
				return nil, fmt.Errorf("in element %d: %w", i, err)
			}
			t.arr[i] = sub
		}
		return t, nil
	}
	return &template{lit: v, static: true}, nil
}

// eval builds the payload. A missing path is a States.Runtime failure.
func (t *template) eval(env *evalEnv) (any, error) {
	switch {
	case t.static:
		return t.lit, nil
	case t.arr != nil:
		out := make([]any, len(t.arr))
		for i, sub := range t.arr {
			v, err := sub.eval(env)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(t.obj))
	for _, f := range t.obj {
		if f.val != nil {
			v, err := f.val.eval(env)
			if err != nil {
				return nil, err
			}
			out[f.key] = v
			continue
		}
		v, err := f.expr.eval(env)
		if errors.Is(err, errPathNotFound) {
			where := "input '" + encodeJSON(env.data) + "'"
			if f.expr.path.context {
				where = "context object '" + encodeJSON(env.ctx) + "'"
			}
			return nil, runtimeErr("The JSONPath '%s' specified for the field '%s.$' could not be found in the %s", f.expr.raw, f.key, where)
		}
		if err != nil {
			return nil, err
		}
		out[f.key] = v
	}
	return out, nil
}
