package sfn

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// machine is a compiled state machine: the top level, a Parallel branch or
// a Map's item processor.
type machine struct {
	startAt        string
	states         map[string]*state
	timeoutSeconds int64 // top level only; 0 means no limit
}

// State types.
const (
	typeTask     = "Task"
	typePass     = "Pass"
	typeChoice   = "Choice"
	typeWait     = "Wait"
	typeSucceed  = "Succeed"
	typeFail     = "Fail"
	typeParallel = "Parallel"
	typeMap      = "Map"
)

// state is one compiled state. Which fields are meaningful depends on typ;
// validation guarantees the combination is legal.
type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath, outputPath, resultPath *dataPath // nil means "$"
	parameters, resultSelector        *template
	result                            any
	hasResult                         bool
	retry                             []*retrier
	catch                             []*catcher

	// Task
	resource                                 *resource
	timeoutSeconds, heartbeatSeconds         int64 // 0: not set
	timeoutSecondsPath, heartbeatSecondsPath *path

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Wait
	seconds       *int64
	secondsPath   *path
	timestamp     *time.Time
	timestampPath *path

	// Fail
	errorName, cause     string
	errorPath, causePath *valueExpr

	// Parallel
	branches []*machine

	// Map
	itemsPath          *path
	itemSelector       *template
	processor          *machine
	maxConcurrency     int64
	maxConcurrencyPath *path
}

// dataPath is an InputPath, OutputPath or ResultPath value, for which JSON
// null has a meaning of its own (discard) distinct from the default "$".
type dataPath struct {
	discard bool
	path    *path
}

// resourceKind is the Task integration a Resource selects.
type resourceKind int

const (
	resLambdaInvoke   resourceKind = iota // arn:aws:states:::lambda:invoke
	resLambdaCallback                     // arn:aws:states:::lambda:invoke.waitForTaskToken
	resLambdaFunction                     // arn:aws:lambda:REGION:ACCOUNT:function:NAME
)

type resource struct {
	arn      string
	kind     resourceKind
	function string // the bare function name, for resLambdaFunction
}

func parseResource(arn string) (*resource, error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return nil, fmt.Errorf("%q is not an ARN", arn)
	}
	switch {
	case parts[2] == "states" && parts[3] == "" && parts[4] == "" && len(parts) == 7 && parts[5] == "lambda":
		switch parts[6] {
		case "invoke":
			return &resource{arn: arn, kind: resLambdaInvoke}, nil
		case "invoke.waitForTaskToken":
			return &resource{arn: arn, kind: resLambdaCallback}, nil
		}
	case parts[2] == "lambda" && len(parts) >= 7 && parts[5] == "function" && parts[6] != "":
		return &resource{arn: arn, kind: resLambdaFunction, function: parts[6]}, nil
	}
	return nil, fmt.Errorf("resource %q is not supported by this local engine (supported: "+
		"arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken "+
		"and Lambda function ARNs)", arn)
}

// resourceType and resourceName are how history events describe a task:
// "lambda" and "invoke" for arn:aws:states:::lambda:invoke.
func (r *resource) resourceType() string { return "lambda" }

func (r *resource) resourceName() string {
	switch r.kind {
	case resLambdaInvoke:
		return "invoke"
	case resLambdaCallback:
		return "invoke.waitForTaskToken"
	}
	return r.arn
}

// functionName reduces a Lambda FunctionName parameter — a name, a partial
// ARN ("123456789012:function:NAME") or a full ARN, with or without a
// version or alias qualifier — to the bare function name.
func functionName(s string) string {
	if i := strings.Index(s, "function:"); i >= 0 {
		s = s[i+len("function:"):]
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

// Fields allowed per state type, besides "Type" and "Comment".
var stateFields = map[string][]string{
	typePass:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	typeTask:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"},
	typeChoice:   {"Choices", "Default", "InputPath", "OutputPath"},
	typeWait:     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	typeSucceed:  {"InputPath", "OutputPath"},
	typeFail:     {"Error", "ErrorPath", "Cause", "CausePath"},
	typeParallel: {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches"},
	typeMap:      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "ItemsPath", "ItemSelector", "ItemProcessor", "Iterator", "MaxConcurrency", "MaxConcurrencyPath"},
}

func (v *validator) state(name string, obj map[string]any, loc string) *state {
	r := fieldReader{v: v, where: loc, obj: obj}
	st := &state{name: name, typ: r.requiredString("Type")}
	allowed, ok := stateFields[st.typ]
	if !ok {
		if st.typ != "" {
			r.problem("Type", "unknown state type %q", st.typ)
		}
		return st
	}
	r.onlyFields(append([]string{"Type", "Comment", "QueryLanguage"}, allowed...))
	if r.has("QueryLanguage") && r.str("QueryLanguage") != "JSONPath" {
		r.problem("QueryLanguage", `only "JSONPath" is supported by this local engine`)
	}

	// Transitions: Choice, Succeed and Fail end or branch by other means.
	if slices.Contains(allowed, "End") {
		st.next, st.end = r.str("Next"), r.boolean("End")
		switch {
		case r.has("Next") && r.has("End"):
			r.v.addf(loc, `fields "Next" and "End" are mutually exclusive`)
		case st.next == "" && !st.end:
			r.v.addf(loc, `must have "Next" or "End": true`)
		}
	}

	st.inputPath = r.dataPath("InputPath", false)
	st.outputPath = r.dataPath("OutputPath", false)
	st.resultPath = r.dataPath("ResultPath", true)
	st.parameters = r.template("Parameters")
	st.resultSelector = r.template("ResultSelector")
	if raw, ok := obj["Result"]; ok {
		st.result, st.hasResult = raw, true
	}
	if r.has("Retry") {
		st.retry = v.retriers(r)
	}
	if r.has("Catch") {
		st.catch = v.catchers(r)
	}

	switch st.typ {
	case typeTask:
		v.task(r, st)
	case typeChoice:
		v.choice(r, st)
	case typeWait:
		v.wait(r, st)
	case typeFail:
		r.exclusive("Error", "ErrorPath")
		r.exclusive("Cause", "CausePath")
		st.errorName, st.cause = r.str("Error"), r.str("Cause")
		st.errorPath, st.causePath = r.valueExpr("ErrorPath"), r.valueExpr("CausePath")
	case typeParallel:
		branches, ok := r.array("Branches")
		if !r.has("Branches") || (ok && len(branches) == 0) {
			r.v.addf(loc, `"Branches" must be a non-empty array`)
		}
		for i, b := range branches {
			bobj, ok := b.(map[string]any)
			if !ok {
				r.problem("Branches", "element %d must be an object", i)
				continue
			}
			st.branches = append(st.branches, v.machine(bobj, fmt.Sprintf("branch %d of Parallel %q", i, name), machineBranch))
		}
	case typeMap:
		v.mapState(r, st)
	}
	return st
}

func (v *validator) task(r fieldReader, st *state) {
	arn := r.requiredString("Resource")
	if arn != "" {
		res, err := parseResource(arn)
		if err != nil {
			r.problem("Resource", "%v", err)
		}
		st.resource = res
	}
	if st.resource != nil && st.resource.kind != resLambdaFunction {
		params, _ := r.obj["Parameters"].(map[string]any)
		_, static := params["FunctionName"]
		_, dynamic := params["FunctionName.$"]
		if !static && !dynamic {
			r.problem("Parameters", "%s requires a FunctionName parameter", arn)
		}
	}
	r.exclusive("TimeoutSeconds", "TimeoutSecondsPath")
	r.exclusive("HeartbeatSeconds", "HeartbeatSecondsPath")
	st.timeoutSeconds, _ = r.integer("TimeoutSeconds", 1, maxSeconds)
	st.heartbeatSeconds, _ = r.integer("HeartbeatSeconds", 1, maxSeconds)
	st.timeoutSecondsPath = r.path("TimeoutSecondsPath", true)
	st.heartbeatSecondsPath = r.path("HeartbeatSecondsPath", true)
	if st.timeoutSeconds > 0 && st.heartbeatSeconds >= st.timeoutSeconds {
		r.problem("HeartbeatSeconds", "must be smaller than TimeoutSeconds (%d), got %d", st.timeoutSeconds, st.heartbeatSeconds)
	}
}

func (v *validator) wait(r fieldReader, st *state) {
	n := 0
	for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if r.has(k) {
			n++
		}
	}
	if n != 1 {
		r.v.addf(r.where, `exactly one of "Seconds", "SecondsPath", "Timestamp" and "TimestampPath" is required`)
	}
	if s, ok := r.integer("Seconds", 0, maxSeconds); ok {
		st.seconds = &s
	}
	st.secondsPath = r.path("SecondsPath", true)
	st.timestampPath = r.path("TimestampPath", true)
	if ts := r.str("Timestamp"); ts != "" {
		t, err := parseTimestamp(ts)
		if err != nil {
			r.problem("Timestamp", "%v", err)
		}
		st.timestamp = &t
	}
}

func (v *validator) mapState(r fieldReader, st *state) {
	st.itemsPath = r.path("ItemsPath", true)
	r.exclusive("ItemSelector", "Parameters")
	st.itemSelector = r.template("ItemSelector")
	if st.itemSelector == nil {
		// Before ItemSelector existed, a Map's Parameters selected each item.
		st.itemSelector, st.parameters = st.parameters, nil
	}
	r.exclusive("MaxConcurrency", "MaxConcurrencyPath")
	st.maxConcurrency, _ = r.integer("MaxConcurrency", 0, 1<<31-1)
	st.maxConcurrencyPath = r.path("MaxConcurrencyPath", true)
	r.exclusive("ItemProcessor", "Iterator")
	switch {
	case r.has("ItemProcessor"):
		if obj, ok := r.object("ItemProcessor"); ok {
			st.processor = v.machine(obj, fmt.Sprintf("the ItemProcessor of Map %q", st.name), machineProcessor)
		}
	case r.has("Iterator"):
		if obj, ok := r.object("Iterator"); ok {
			st.processor = v.machine(obj, fmt.Sprintf("the Iterator of Map %q", st.name), machineIterator)
		}
	default:
		r.v.addf(r.where, `missing required field "ItemProcessor" (or the legacy "Iterator")`)
	}
}

// parseTimestamp parses an ASL timestamp: RFC 3339 with an uppercase T and,
// for UTC, an uppercase Z.
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || strings.ContainsAny(s, "tz") {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z", s)
	}
	return t, nil
}
