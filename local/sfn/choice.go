package sfn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// choiceRule is a compiled Choice Rule: a boolean combination (And, Or,
// Not) or a comparison of the value at Variable with a literal or, for the
// "…Path" operators, with the value at another path.
type choiceRule struct {
	next string // top-level rules only

	and, or []*choiceRule
	not     *choiceRule

	variable    *path
	op          string // operator without the "Path" suffix, e.g. "StringEquals"
	operand     any
	operandPath *path
	timestamp   time.Time // the operand of a literal Timestamp* comparison
}

// operandKinds maps every comparison operator to the JSON type of its
// literal operand. Operators in pathable also exist with a "Path" suffix,
// whose operand is a path to the value to compare with.
var operandKinds = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

func pathable(op string) bool {
	return op != "StringMatches" && !strings.HasPrefix(op, "Is") && operandKinds[op] != ""
}

func (v *validator) choice(r fieldReader, st *state) {
	list, ok := r.array("Choices")
	if !r.has("Choices") || (ok && len(list) == 0) {
		r.v.addf(r.where, `"Choices" must be a non-empty array`)
	}
	for i, raw := range list {
		if rule := v.choiceRule(raw, fmt.Sprintf("%s Choices[%d]", r.where, i), true); rule != nil {
			st.choices = append(st.choices, rule)
		}
	}
	st.defaultNext = r.str("Default")
}

func (v *validator) choiceRule(raw any, where string, top bool) *choiceRule {
	obj, ok := raw.(map[string]any)
	if !ok {
		v.addf(where, "must be an object")
		return nil
	}
	r := fieldReader{v: v, where: where, obj: obj}
	rule := &choiceRule{}
	if top {
		rule.next = r.requiredString("Next")
	} else if r.has("Next") {
		v.addf(where, `a nested rule must not have "Next"`)
	}
	var ops []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		default:
			base, isPath := strings.CutSuffix(k, "Path")
			if isPath && pathable(base) {
				ops = append(ops, k)
			} else if operandKinds[k] != "" {
				ops = append(ops, k)
			} else if unsupported[k] {
				v.addf(where, "field %q is not supported by this local engine", k)
			} else {
				v.addf(where, "unknown field %q", k)
			}
		}
	}
	if len(ops) != 1 {
		v.addf(where, "must have exactly one comparison operator, And, Or or Not (found %d)", len(ops))
		return rule
	}
	op := ops[0]
	switch op {
	case "And", "Or":
		list, ok := r.array(op)
		if ok && len(list) == 0 {
			r.problem(op, "must be a non-empty array")
		}
		for i, sub := range list {
			if c := v.choiceRule(sub, fmt.Sprintf("%s %s[%d]", where, op, i), false); c != nil {
				if op == "And" {
					rule.and = append(rule.and, c)
				} else {
					rule.or = append(rule.or, c)
				}
			}
		}
		if r.has("Variable") {
			v.addf(where, `a rule using %s must not have "Variable"`, op)
		}
		return rule
	case "Not":
		rule.not = v.choiceRule(obj["Not"], where+" Not", false)
		if r.has("Variable") {
			v.addf(where, `a rule using Not must not have "Variable"`)
		}
		return rule
	}
	if !r.has("Variable") {
		v.addf(where, `missing required field "Variable" for %s`, op)
	}
	rule.variable = r.path("Variable", false)
	base, isPath := strings.CutSuffix(op, "Path")
	if isPath && pathable(base) {
		rule.op, rule.operandPath = base, r.path(op, false)
		return rule
	}
	rule.op, rule.operand = op, obj[op]
	switch kind := operandKinds[op]; kind {
	case "timestamp":
		s, ok := rule.operand.(string)
		t, err := parseTimestamp(s)
		if !ok || err != nil {
			r.problem(op, "must be an RFC 3339 timestamp string, got %s", encodeJSON(rule.operand))
		}
		rule.timestamp = t
	default:
		if got := jsonType(rule.operand); got != kind {
			r.problem(op, "must be a %s, got %s", kind, got)
		}
	}
	return rule
}

// eval evaluates the rule against the state's effective input. A Variable
// (or operand path) that matches nothing is a States.Runtime failure, except
// under IsPresent, which exists to test exactly that.
func (c *choiceRule) eval(env *evalEnv) (bool, error) {
	switch {
	case c.and != nil:
		for _, sub := range c.and {
			if ok, err := sub.eval(env); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case c.or != nil:
		for _, sub := range c.or {
			if ok, err := sub.eval(env); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case c.not != nil:
		ok, err := c.not.eval(env)
		return !ok, err
	}
	val, err := c.variable.lookup(env.data, env.ctx)
	present := !errors.Is(err, errPathNotFound)
	if c.op == "IsPresent" {
		return present == c.operand.(bool), nil
	}
	if !present {
		return false, runtimeErr("Invalid path '%s': The choice state's condition path references an invalid value.", c.variable)
	}
	switch c.op {
	case "IsNull":
		return (val == nil) == c.operand.(bool), nil
	case "IsNumeric":
		_, ok := number(val)
		return ok == c.operand.(bool), nil
	case "IsString":
		_, ok := val.(string)
		return ok == c.operand.(bool), nil
	case "IsBoolean":
		_, ok := val.(bool)
		return ok == c.operand.(bool), nil
	case "IsTimestamp":
		_, ok := asTimestamp(val)
		return ok == c.operand.(bool), nil
	}
	operand := c.operand
	if c.operandPath != nil {
		if operand, err = c.operandPath.lookup(env.data, env.ctx); err != nil {
			return false, runtimeErr("Invalid path '%s': The choice state's condition path references an invalid value.", c.operandPath)
		}
	}
	return compareRule(c.op, val, operand), nil
}

// compareRule applies a comparison operator. Values of the wrong type make
// the comparison false rather than failing, as in AWS.
func compareRule(op string, val, operand any) bool {
	var cmp int
	switch operandKinds[op] {
	case "string":
		a, ok1 := val.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		if op == "StringMatches" {
			return wildcardMatch(b, a)
		}
		cmp = strings.Compare(a, b)
	case "number":
		a, ok1 := number(val)
		b, ok2 := number(operand)
		if !ok1 || !ok2 {
			return false
		}
		cmp = compareFloat(a, b)
	case "boolean":
		a, ok1 := val.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b
	case "timestamp":
		a, ok1 := asTimestamp(val)
		b, ok2 := asTimestamp(operand)
		if !ok1 || !ok2 {
			return false
		}
		cmp = a.Compare(b)
	}
	switch strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(op, "String"), "Numeric"), "Timestamp") {
	case "Equals":
		return cmp == 0
	case "LessThan":
		return cmp < 0
	case "GreaterThan":
		return cmp > 0
	case "LessThanEquals":
		return cmp <= 0
	case "GreaterThanEquals":
		return cmp >= 0
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func asTimestamp(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseTimestamp(s)
	return t, err == nil
}

// wildcardMatch implements StringMatches: "*" matches any run of characters
// (including none); "\*" is a literal star and "\\" a literal backslash.
func wildcardMatch(pattern, s string) bool {
	type token struct {
		r    rune
		star bool
	}
	var toks []token
	pr := []rune(pattern)
	for i := 0; i < len(pr); i++ {
		switch {
		case pr[i] == '\\' && i+1 < len(pr):
			i++
			toks = append(toks, token{r: pr[i]})
		case pr[i] == '*':
			toks = append(toks, token{star: true})
		default:
			toks = append(toks, token{r: pr[i]})
		}
	}
	sr := []rune(s)
	// Greedy matching with backtracking to the most recent star.
	ti, si, starTok, starS := 0, 0, -1, 0
	for si < len(sr) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].r == sr[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starTok, starS = ti, si
			ti++
		case starTok >= 0:
			starS++
			ti, si = starTok+1, starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
