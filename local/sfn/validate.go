package sfn

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ValidationError lists everything wrong with a state machine definition.
// Each problem names the state (with its enclosing Parallel or Map, if any)
// and the field at fault, so a broken definition can be fixed in one pass.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid state machine definition: " + strings.Join(e.Problems, "; ")
}

// Validate checks an Amazon States Language definition the way
// CreateStateMachine does: JSON shape, required and unknown fields per state
// type, paths, payload templates and intrinsic functions, retriers and
// catchers (including States.ALL placement), transition targets,
// reachability and terminal states. It returns a *ValidationError.
//
// It also rejects, with a clear message, valid ASL that this engine cannot
// run (JSONata, variables, distributed Map, resources other than Lambda), so
// such a definition fails fast rather than mid-execution.
func Validate(definition []byte) error {
	_, err := compile(definition)
	return err
}

// compile parses and validates a definition into the executable form.
func compile(definition []byte) (*machine, error) {
	v := &validator{names: map[string]string{}}
	doc, err := decodeJSON(definition)
	if err != nil {
		return nil, &ValidationError{Problems: []string{"definition is not valid JSON: " + err.Error()}}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &ValidationError{Problems: []string{"definition must be a JSON object, got " + jsonType(doc)}}
	}
	m := v.machine(obj, "", machineTop)
	if len(v.problems) > 0 {
		return nil, &ValidationError{Problems: v.problems}
	}
	return m, nil
}

type machineKind int

const (
	machineTop machineKind = iota
	machineBranch
	machineProcessor
	machineIterator
)

type validator struct {
	problems []string
	names    map[string]string // state name -> where it was defined, to catch duplicates
}

func (v *validator) addf(where, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	v.problems = append(v.problems, msg)
}

// machine compiles a state machine or a nested one. scope describes where
// nested machines sit (e.g. `branch 0 of Parallel "P"`) for messages.
func (v *validator) machine(obj map[string]any, scope string, kind machineKind) *machine {
	allowed := []string{"StartAt", "States", "Comment"}
	switch kind {
	case machineTop:
		allowed = append(allowed, "Version", "TimeoutSeconds", "QueryLanguage")
	case machineProcessor:
		allowed = append(allowed, "ProcessorConfig")
	}
	where := scope
	r := fieldReader{v: v, where: where, obj: obj}
	r.onlyFields(allowed)
	m := &machine{states: map[string]*state{}}
	m.startAt = r.requiredString("StartAt")
	if kind == machineTop {
		if r.has("QueryLanguage") && r.str("QueryLanguage") != "JSONPath" {
			v.addf(where, `field "QueryLanguage": only "JSONPath" is supported by this local engine`)
		}
		if n, ok := r.integer("TimeoutSeconds", 1, maxSeconds); ok {
			m.timeoutSeconds = n
		}
	}
	if kind == machineProcessor && r.has("ProcessorConfig") {
		r.processorConfig()
	}
	statesRaw, ok := obj["States"]
	if !ok {
		v.addf(where, `missing required field "States"`)
		return m
	}
	states, ok := statesRaw.(map[string]any)
	if !ok || len(states) == 0 {
		v.addf(where, `field "States" must be a non-empty object`)
		return m
	}
	for _, name := range slices.Sorted(maps.Keys(states)) {
		loc := stateLoc(name, scope)
		if prev, dup := v.names[name]; dup {
			v.addf(loc, "duplicate state name (also defined %s)", prev)
		}
		v.names[name] = inScope(scope)
		if len(name) == 0 || len([]rune(name)) > 80 {
			v.addf(loc, "state names must be 1 to 80 characters long")
		}
		sobj, ok := states[name].(map[string]any)
		if !ok {
			v.addf(loc, "must be a JSON object")
			continue
		}
		m.states[name] = v.state(name, sobj, loc)
	}
	if m.startAt != "" && m.states[m.startAt] == nil && len(m.states) == len(states) {
		v.addf(where, `field "StartAt": state %q does not exist`, m.startAt)
	}
	v.checkGraph(m, scope)
	return m
}

func inScope(scope string) string {
	if scope == "" {
		return "at the top level"
	}
	return "in " + scope
}

func stateLoc(name, scope string) string {
	if scope == "" {
		return fmt.Sprintf("state %q", name)
	}
	return fmt.Sprintf("state %q (in %s)", name, scope)
}

// checkGraph verifies transition targets and that every state is reachable.
func (v *validator) checkGraph(m *machine, scope string) {
	for _, name := range slices.Sorted(maps.Keys(m.states)) {
		st := m.states[name]
		for _, t := range st.transitions() {
			if m.states[t.target] == nil {
				v.addf(stateLoc(name, scope), "field %q: target state %q does not exist", t.field, t.target)
			}
		}
	}
	if m.states[m.startAt] == nil {
		return
	}
	seen := map[string]bool{m.startAt: true}
	queue := []string{m.startAt}
	for len(queue) > 0 {
		st := m.states[queue[0]]
		queue = queue[1:]
		for _, t := range st.transitions() {
			if m.states[t.target] != nil && !seen[t.target] {
				seen[t.target] = true
				queue = append(queue, t.target)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.states)) {
		if !seen[name] {
			v.addf(stateLoc(name, scope), "state is not reachable from StartAt %q", m.startAt)
		}
	}
}

type transition struct{ field, target string }

func (s *state) transitions() []transition {
	var out []transition
	if s.next != "" {
		out = append(out, transition{"Next", s.next})
	}
	if s.defaultNext != "" {
		out = append(out, transition{"Default", s.defaultNext})
	}
	for i, c := range s.choices {
		out = append(out, transition{fmt.Sprintf("Choices[%d].Next", i), c.next})
	}
	for i, c := range s.catch {
		out = append(out, transition{fmt.Sprintf("Catch[%d].Next", i), c.next})
	}
	return out
}

// Limits AWS applies to second counts.
const (
	maxSeconds      = 99999999
	maxDelaySeconds = 31622400
)

// fieldReader reads typed fields from a decoded JSON object, recording a
// problem (naming the field) for anything of the wrong type.
type fieldReader struct {
	v     *validator
	where string
	obj   map[string]any
}

func (r fieldReader) has(key string) bool { _, ok := r.obj[key]; return ok }

func (r fieldReader) problem(key, format string, args ...any) {
	r.v.addf(r.where, "field %q: %s", key, fmt.Sprintf(format, args...))
}

// unsupported fields are valid ASL that this engine does not implement.
var unsupported = map[string]bool{
	"Assign": true, "Arguments": true, "Output": true, "Items": true, "Credentials": true,
	"ItemReader": true, "ItemBatcher": true, "ResultWriter": true, "Label": true,
	"ToleratedFailurePercentage": true, "ToleratedFailurePercentagePath": true,
	"ToleratedFailureCount": true, "ToleratedFailureCountPath": true, "Condition": true,
}

func (r fieldReader) onlyFields(allowed []string) {
	for _, k := range slices.Sorted(maps.Keys(r.obj)) {
		switch {
		case slices.Contains(allowed, k):
		case unsupported[k]:
			r.v.addf(r.where, "field %q is not supported by this local engine", k)
		default:
			r.v.addf(r.where, "unknown field %q", k)
		}
	}
}

func (r fieldReader) str(key string) string {
	raw, ok := r.obj[key]
	if !ok {
		return ""
	}
	s, ok := raw.(string)
	if !ok {
		r.problem(key, "must be a string, got %s", jsonType(raw))
	}
	return s
}

func (r fieldReader) requiredString(key string) string {
	if !r.has(key) {
		r.v.addf(r.where, "missing required field %q", key)
		return ""
	}
	s := r.str(key)
	if s == "" && jsonType(r.obj[key]) == "string" {
		r.problem(key, "must not be empty")
	}
	return s
}

func (r fieldReader) boolean(key string) bool {
	raw, ok := r.obj[key]
	if !ok {
		return false
	}
	b, ok := raw.(bool)
	if !ok {
		r.problem(key, "must be a boolean, got %s", jsonType(raw))
	}
	return b
}

// integer reads an integer field in [lo, hi]; ok is false if it is absent or invalid.
func (r fieldReader) integer(key string, lo, hi int64) (int64, bool) {
	raw, ok := r.obj[key]
	if !ok {
		return 0, false
	}
	n, ok := integer(raw)
	if !ok {
		r.problem(key, "must be an integer, got %s", encodeJSON(raw))
		return 0, false
	}
	if n < lo || n > hi {
		r.problem(key, "must be between %d and %d, got %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

func (r fieldReader) float(key string) (float64, bool) {
	raw, ok := r.obj[key]
	if !ok {
		return 0, false
	}
	f, ok := number(raw)
	if !ok {
		r.problem(key, "must be a number, got %s", jsonType(raw))
	}
	return f, ok
}

func (r fieldReader) path(key string, reference bool) *path {
	s := r.str(key)
	if !r.has(key) || jsonType(r.obj[key]) != "string" {
		return nil
	}
	parse := parsePath
	if reference {
		parse = parseReferencePath
	}
	p, err := parse(s)
	if err != nil {
		r.problem(key, "%v", err)
		return nil
	}
	return p
}

// dataPath reads InputPath, OutputPath or ResultPath, where null is
// meaningful (discard) and absence means "$".
func (r fieldReader) dataPath(key string, reference bool) *dataPath {
	raw, ok := r.obj[key]
	if !ok {
		return nil
	}
	if raw == nil {
		return &dataPath{discard: true}
	}
	p := r.path(key, reference)
	if p == nil {
		return nil
	}
	if reference && p.context {
		r.problem(key, "must not address the context object ($$)")
		return nil
	}
	return &dataPath{path: p}
}

func (r fieldReader) template(key string) *template {
	raw, ok := r.obj[key]
	if !ok {
		return nil
	}
	t, err := compileTemplate(raw)
	if err != nil {
		r.problem(key, "%v", err)
		return nil
	}
	return t
}

func (r fieldReader) valueExpr(key string) *valueExpr {
	s := r.str(key)
	if s == "" {
		return nil
	}
	e, err := parseValueExpr(s)
	if err != nil {
		r.problem(key, "%v", err)
		return nil
	}
	return e
}

func (r fieldReader) object(key string) (map[string]any, bool) {
	raw, ok := r.obj[key]
	if !ok {
		return nil, false
	}
	m, ok := raw.(map[string]any)
	if !ok {
		r.problem(key, "must be an object, got %s", jsonType(raw))
	}
	return m, ok
}

func (r fieldReader) array(key string) ([]any, bool) {
	raw, ok := r.obj[key]
	if !ok {
		return nil, false
	}
	a, ok := raw.([]any)
	if !ok {
		r.problem(key, "must be an array, got %s", jsonType(raw))
	}
	return a, ok
}

func (r fieldReader) processorConfig() {
	cfg, ok := r.object("ProcessorConfig")
	if !ok {
		return
	}
	sub := fieldReader{v: r.v, where: r.where + ` field "ProcessorConfig"`, obj: cfg}
	sub.onlyFields([]string{"Mode", "ExecutionType"})
	if mode := sub.str("Mode"); mode != "" && mode != "INLINE" {
		sub.problem("Mode", "only INLINE is supported by this local engine, got %q", mode)
	}
}

// exclusive records a problem if more than one of keys is present.
func (r fieldReader) exclusive(keys ...string) {
	var present []string
	for _, k := range keys {
		if r.has(k) {
			present = append(present, fmt.Sprintf("%q", k))
		}
	}
	if len(present) > 1 {
		r.v.addf(r.where, "fields %s are mutually exclusive", strings.Join(present, " and "))
	}
}
