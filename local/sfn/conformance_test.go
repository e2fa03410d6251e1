package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// drive runs an execution to completion, advancing the fake clock to the
// next pending timer whenever the execution is blocked on one. After each
// advance it waits for the engine to react (a timer armed or stopped, or the
// execution finishing) before advancing again, so that a timer that has
// fired is acted on before later deadlines are reached. It suits flows where
// every fired timer leads to such a reaction, as in the conformance table.
//
// Before the first advance it waits for firstTimers timers, for flows that
// arm several at the start (an execution timeout and a Wait) and must not
// have time moved before all of them exist.
func drive(t *testing.T, e *Engine, clock *FakeClock, arn string, firstTimers int) ExecutionDescription {
	t.Helper()
	ctx := testCtx(t)
	x, err := e.execution(arn)
	if err != nil {
		t.Fatal(err)
	}
	for n := max(firstTimers, 1); ; n = 1 {
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-x.done:
				cancel()
			case <-wctx.Done():
			}
		}()
		err := clock.WaitForTimers(wctx, n)
		cancel()
		select {
		case <-x.done:
			return x.describe()
		default:
		}
		if err != nil {
			t.Fatalf("execution did not finish: %v", err)
		}
		clock.AdvanceToNext()
		clock.mu.Lock()
		changed := clock.changed
		clock.mu.Unlock()
		select {
		case <-changed:
		case <-x.done:
		case <-ctx.Done():
			t.Fatalf("execution did not react to the clock: %v", ctx.Err())
		}
	}
}

// enteredStates lists the names of states entered, in order.
func enteredStates(h []HistoryEvent) []string {
	var out []string
	for _, ev := range h {
		if strings.HasSuffix(string(ev.Type), "StateEntered") {
			out = append(out, ev.StateName)
		}
	}
	return out
}

type customError struct{ msg string }

func (c *customError) Error() string { return c.msg }

type conformanceCase struct {
	name     string
	def      string
	input    string
	handlers map[string]Handler
	status   ExecutionStatus // SUCCEEDED if empty
	output   string          // compared when SUCCEEDED
	errName  string
	cause    string        // substring of the cause
	path     []string      // states entered, in order, if set
	elapsed  time.Duration // execution duration on the fake clock, if set
	timers   int           // timers armed at the start (see drive)
}

func TestConformance(t *testing.T) {
	handlers := map[string]Handler{
		"echo":  echo,
		"const": constant(`{"v":42}`),
		"custom": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &customError{"bad request"}
		},
		"plain": func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New("boom") },
		"typed": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &TaskFailure{ErrorName: "Egress.Denied", Cause: "nope"}
		},
		"wrapped": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, errors.Join(&TaskFailure{ErrorName: "W", Cause: "c"})
		},
		"panics": func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("kaboom") },
		"empty":  func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil },
		// Responses around the 256 KiB payload quota and Lambda's 6 MB one.
		"big":  constant(jsonString(maxPayload)),
		"half": constant(jsonString(maxPayload / 2)),
		"huge": constant(jsonString(MaxInvokeResponse)),
	}
	pad := jsonString(maxPayload / 2) // half the payload quota, as a JSON string
	const bigCause = "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."
	cases := []conformanceCase{
		// Pass
		{name: "pass/result", input: `{"a":1}`, output: `{"x":[1,2]}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":[1,2]},"End":true}}}`},
		{name: "pass/no result passes input", input: `{"a":1}`, output: `{"a":1}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`},
		{name: "pass/parameters", input: `{"a":{"b":[10,20]},"k":"v"}`,
			output: `{"static":"s","first":10,"nested":{"k":"v"},"list":[{"b":[10,20]},"lit"],"fmt":"k=v"}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"static":"s","first.$":"$.a.b[0]",
				"nested":{"k.$":"$['k']"},"list":[{"b.$":"$.a.b"},"lit"],"fmt.$":"States.Format('k={}', $.k)"},"End":true}}}`},

		// InputPath / ResultPath / OutputPath
		{name: "io/inputpath", input: `{"a":{"b":1},"c":2}`, output: `{"b":1}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}`},
		{name: "io/inputpath null", input: `{"a":1}`, output: `{}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":null,"End":true}}}`},
		{name: "io/resultpath nested merge", input: `{"a":{"keep":true},"z":0}`, output: `{"a":{"keep":true,"b":{"c":"r"}},"z":0}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"r","ResultPath":"$.a.b.c","End":true}}}`},
		{name: "io/resultpath overwrite", input: `{"a":{"old":1},"z":0}`, output: `{"a":"new","z":0}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"new","ResultPath":"$.a","End":true}}}`},
		{name: "io/resultpath null discards", input: `{"a":1}`, output: `{"a":1}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"x","ResultPath":null,"End":true}}}`},
		{name: "io/resultpath into array element", input: `{"a":[1,2]}`, output: `{"a":[1,"x"]}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"x","ResultPath":"$.a[1]","End":true}}}`},
		{name: "io/resultpath applies to raw input", input: `{"a":{"b":1},"c":2}`, output: `{"a":{"b":1},"c":2,"r":{"b":1}}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","ResultPath":"$.r","End":true}}}`},
		{name: "io/resultpath mismatch", input: `{"a":"str"}`, status: StatusFailed, errName: StatesResultPathMatchFailure,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"ResultPath":"$.a.b","End":true}}}`},
		{name: "io/outputpath", input: `{"a":{"b":1}}`, output: `1`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.a.b","End":true}}}`},
		{name: "io/outputpath null", input: `{"a":1}`, output: `{}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":null,"End":true}}}`},
		{name: "io/resultselector", input: `{}`, output: `{"r":{"v":42,"code":200}}`, handlers: handlers,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				"Parameters":{"FunctionName":"const"},"ResultSelector":{"v.$":"$.Payload.v","code.$":"$.StatusCode"},"ResultPath":"$.r","End":true}}}`},
		{name: "io/full pipeline order", input: `{"in":{"x":1},"other":2}`, output: `{"x":1}`, handlers: handlers,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","InputPath":"$.in",
				"Parameters":{"FunctionName":"echo","Payload":{"x.$":"$.x"}},"ResultSelector":{"p.$":"$.Payload"},
				"ResultPath":"$.res","OutputPath":"$.res.p","End":true}}}`},
		{name: "io/indefinite paths", input: `{"items":[{"id":1,"n":5},{"id":2,"n":0},{"id":3,"n":9}]}`,
			output: `{"ids":[1,2,3],"deep":[1,2,3],"big":[1,3],"slice":[{"id":1,"n":5},{"id":2,"n":0}],"last":{"id":3,"n":9}}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"ids.$":"$.items[*].id","deep.$":"$..id",
				"big.$":"$.items[?(@.n > 1)].id","slice.$":"$.items[0:2]","last.$":"$.items[-1]"},"End":true}}}`},
		{name: "io/missing path is States.Runtime", input: `{}`, status: StatusFailed, errName: StatesRuntime,
			cause: "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input '{}'",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}}}`},
		{name: "io/missing inputpath", input: `{}`, status: StatusFailed, errName: StatesRuntime,
			cause: "Invalid path '$.a' : No results for path: $['a']",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}`},
		{name: "io/runtime errors are not caught", input: `{}`, status: StatusFailed, errName: StatesRuntime, handlers: handlers,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$.nope"},
				"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}}`},

		// Context object
		{name: "context/object", input: `{"in":1}`,
			output: `{"id":"arn:aws:states:us-east-1:123456789012:execution:sm:exec-1","name":"exec-1","input":{"in":1},
				"start":"2024-03-14T01:59:00.000Z","state":"Ctx","entered":"2024-03-14T01:59:00.000Z","retry":0,
				"sm":"arn:aws:states:us-east-1:123456789012:stateMachine:sm","smName":"sm","whole.Execution.Name":"exec-1"}`,
			def: `{"StartAt":"Ctx","States":{"Ctx":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name",
				"input.$":"$$.Execution.Input","start.$":"$$.Execution.StartTime","state.$":"$$.State.Name",
				"entered.$":"$$.State.EnteredTime","retry.$":"$$.State.RetryCount","sm.$":"$$.StateMachine.Id",
				"smName.$":"$$.StateMachine.Name","whole.Execution.Name.$":"$$.Execution.Name"},"End":true}}}`},
		{name: "context/map item", input: `{"xs":["a","b"],"k":1}`,
			output: `[{"i":0,"v":"a","k":1},{"i":1,"v":"b","k":1}]`,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},
				"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}}}`},

		// Task
		{name: "task/lambda invoke result shape", input: `{"a":1}`, handlers: handlers,
			output: `{"ExecutedVersion":"$LATEST","Payload":{"a":1},"StatusCode":200}`,
			def:    `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$"},"End":true}}}`},
		{name: "task/function name as ARN with qualifier", input: `{}`, handlers: handlers, output: `{"v":42}`,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
				"Parameters":{"FunctionName":"arn:aws:lambda:eu-west-2:111122223333:function:const:live"},"OutputPath":"$.Payload","End":true}}}`},
		{name: "task/plain lambda ARN", input: `{"a":1}`, handlers: handlers, output: `{"a":1}`,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}`},
		{name: "task/handler returning nothing", input: `{}`, handlers: handlers, output: `null`,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:empty:$LATEST","End":true}}}`},
		{name: "task/unknown function", input: `{}`, handlers: handlers, status: StatusFailed, errName: LambdaResourceNotFound, cause: "function:missing",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"missing"},"End":true}}}`},
		{name: "task/error named after Go type", input: `{}`, handlers: handlers, status: StatusFailed, errName: "customError",
			cause: `{"errorMessage":"bad request","errorType":"customError"}`,
			def:   `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"custom"},"End":true}}}`},
		{name: "task/errors.New is errorString", input: `{}`, handlers: handlers, status: StatusFailed, errName: "errorString",
			cause: `{"errorMessage":"boom","errorType":"errorString"}`,
			def:   `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:plain","End":true}}}`},
		{name: "task/TaskFailure", input: `{}`, handlers: handlers, status: StatusFailed, errName: "Egress.Denied", cause: "nope",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"typed"},"End":true}}}`},
		{name: "task/wrapped TaskFailure", input: `{}`, handlers: handlers, status: StatusFailed, errName: "W", cause: "c",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"wrapped"},"End":true}}}`},
		{name: "task/panic", input: `{}`, handlers: handlers, status: StatusFailed, errName: LambdaUnknown, cause: "kaboom",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"panics"},"End":true}}}`},

		// Payload limits. A task result over the quota fails the task, and
		// AWS lets a catcher handle that (recorded against AWS by
		// LocalStack's test_states_errors, 2024-03-21, although the
		// developer guide calls the error terminal); an oversized state
		// input or output fails the execution whatever the catchers say.
		{name: "limits/task result over the quota", input: `{}`, handlers: handlers, status: StatusFailed,
			errName: StatesDataLimitExceeded, cause: bigCause,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},"End":true}}}`},
		{name: "limits/task result over the quota, whatever ResultSelector keeps", input: `{}`, handlers: handlers, status: StatusFailed,
			errName: StatesDataLimitExceeded, cause: bigCause,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},
				"ResultSelector":{"code.$":"$.StatusCode"},"End":true}}}`},
		{name: "limits/plain function result over the quota", input: `{}`, handlers: handlers, status: StatusFailed,
			errName: StatesDataLimitExceeded, cause: "The state/task 'arn:aws:lambda:us-east-1:123456789012:function:big' returned a result with a size exceeding",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:big","End":true}}}`},
		{name: "limits/task result over the quota is caught by States.ALL", input: `{"k":1}`, handlers: handlers,
			output: `{"k":1,"err":{"Error":"States.DataLimitExceeded","Cause":"` + bigCause + `"}}`, path: []string{"T", "Caught"},
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},"End":true,
				"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Caught"}]},"Caught":{"Type":"Pass","End":true}}}`},
		{name: "limits/state output over the quota is not caught by States.ALL", input: `{"pad":` + pad + `}`, handlers: handlers, status: StatusFailed,
			errName: StatesDataLimitExceeded, cause: "The state/task 'T' returned a result with a size exceeding", path: []string{"T"},
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"half"},"ResultPath":"$.r","End":true,
				"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}]},"Caught":{"Type":"Pass","End":true}}}`},
		{name: "limits/state input over the quota is not caught by States.ALL", input: `{"pad":` + pad + `}`, handlers: handlers, status: StatusFailed,
			errName: StatesDataLimitExceeded, cause: "The state/task 'T' has an input with a size exceeding", path: []string{"T"},
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,
				"Parameters":{"FunctionName":"const","Payload":{"a.$":"$.pad","b.$":"$.pad"}},
				"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}]},"Caught":{"Type":"Pass","End":true}}}`},
		{name: "limits/function response over 6 MB", input: `{}`, handlers: handlers, status: StatusFailed, errName: FunctionResponseSizeTooLarge,
			cause: `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`,
			def:   `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"huge"},"End":true}}}`},

		// Choice (operators are covered one by one in TestChoiceOperators)
		{name: "choice/first matching rule", input: `{"n":5}`, output: `{"n":5}`, path: []string{"C", "Big"},
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
				{"Variable":"$.n","NumericGreaterThan":10,"Next":"Huge"},
				{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"},
				{"Variable":"$.n","NumericGreaterThan":0,"Next":"Huge"}],"Default":"Small"},
				"Huge":{"Type":"Succeed"},"Big":{"Type":"Succeed"},"Small":{"Type":"Succeed"}}}`},
		{name: "choice/default", input: `{"n":0}`, output: `{"n":0}`, path: []string{"C", "Small"},
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"}],"Default":"Small"},
				"Big":{"Type":"Succeed"},"Small":{"Type":"Succeed"}}}`},
		{name: "choice/no match", input: `{"n":0}`, status: StatusFailed, errName: StatesNoChoiceMatched,
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"}]},"Big":{"Type":"Succeed"}}}`},
		{name: "choice/missing variable", input: `{}`, status: StatusFailed, errName: StatesRuntime,
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"}],"Default":"Big"},"Big":{"Type":"Succeed"}}}`},
		{name: "choice/input and output path", input: `{"a":{"ok":true,"b":7}}`, output: `7`,
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","InputPath":"$.a","OutputPath":"$.b","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"Y"}]},"Y":{"Type":"Succeed"}}}`},

		// Wait
		{name: "wait/seconds", input: `{"a":1}`, output: `{"a":1}`, elapsed: 10 * time.Second,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}`},
		{name: "wait/seconds path", input: `{"s":7}`, output: `{"s":7}`, elapsed: 7 * time.Second,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`},
		{name: "wait/timestamp", input: `{}`, output: `{}`, elapsed: time.Minute,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2024-03-14T02:00:00Z","End":true}}}`},
		{name: "wait/timestamp path in the past", input: `{"t":"2020-01-01T00:00:00Z"}`, output: `{"t":"2020-01-01T00:00:00Z"}`, elapsed: 0,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.t","End":true}}}`},
		{name: "wait/timestamp path", input: `{"t":"2024-03-14T02:01:00+00:00"}`, output: `"2024-03-14T02:01:00+00:00"`, elapsed: 2 * time.Minute,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.t","OutputPath":"$.t","End":true}}}`},
		{name: "wait/bad seconds path", input: `{"s":"x"}`, status: StatusFailed, errName: StatesRuntime,
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`},

		// Succeed / Fail
		{name: "succeed/outputpath", input: `{"a":{"b":2}}`, output: `{"b":2}`,
			def: `{"StartAt":"S","States":{"S":{"Type":"Succeed","OutputPath":"$.a"}}}`},
		{name: "fail/static", input: `{}`, status: StatusFailed, errName: "My.Error", cause: "my cause",
			def: `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"My.Error","Cause":"my cause"}}}`},
		{name: "fail/paths", input: `{"e":"Dyn.Error","c":{"n":3}}`, status: StatusFailed, errName: "Dyn.Error", cause: "n=3",
			def: `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('n={}', $.c.n)"}}}`},

		// Parallel
		{name: "parallel/outputs in branch order", input: `{"x":1}`, handlers: handlers, output: `[{"x":1},{"b":2},42]`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Pass","Result":{"b":2},"End":true}}},
				{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"const"},"OutputPath":"$.Payload.v","End":true}}}]}}}`},
		{name: "parallel/parameters, selector, resultpath", input: `{"x":1}`, output: `{"x":1,"r":{"first":{"y":1}}}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","Parameters":{"y.$":"$.x"},"ResultSelector":{"first.$":"$[0]"},"ResultPath":"$.r","End":true,
				"Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}]}}}`},
		{name: "parallel/branch failure fails the state", input: `{}`, status: StatusFailed, errName: "Branch.Failed", cause: "b",
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":100,"End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Fail","Error":"Branch.Failed","Cause":"b"}}}]}}}`},
		{name: "parallel/branch failure caught", input: `{"k":1}`, output: `{"k":1,"err":{"Error":"Branch.Failed","Cause":"b"}}`,
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done","Catch":[{"ErrorEquals":["Branch.Failed"],"ResultPath":"$.err","Next":"Caught"}],"Branches":[
				{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":100,"End":true}}},
				{"StartAt":"B","States":{"B":{"Type":"Fail","Error":"Branch.Failed","Cause":"b"}}}]},
				"Done":{"Type":"Succeed"},"Caught":{"Type":"Succeed"}}}`},

		// Map
		{name: "map/items path and results", input: `{"xs":[1,2,3]}`, handlers: handlers, output: `{"xs":[1,2,3],"out":[{"n":1},{"n":2},{"n":3}]}`,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","MaxConcurrency":1,"ResultPath":"$.out","End":true,
				"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload":{"n.$":"$"}},"OutputPath":"$.Payload","End":true}}}}}}`},
		{name: "map/legacy parameters and iterator", input: `{"xs":[{"a":1},{"a":2}],"c":9}`, output: `[[1,9],[2,9]]`,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","Parameters":{"v.$":"States.Array($$.Map.Item.Value.a, $.c)"},"End":true,
				"Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","OutputPath":"$.v","End":true}}}}}}`},
		{name: "map/input is the array", input: `[1,2]`, output: `{"count":2}`,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ResultSelector":{"count.$":"States.ArrayLength($)"},"End":true,
				"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}}}`},
		{name: "map/empty", input: `{"xs":[]}`, output: `[]`,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","End":true,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}}}`},
		{name: "map/iteration failure fails the state", input: `{"xs":[1,2,3]}`, status: StatusFailed, errName: "Item.Bad", cause: "2",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","MaxConcurrency":2,"End":true,
				"ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":2,"Next":"F"}],"Default":"W"},
					"W":{"Type":"Wait","Seconds":5,"End":true},"F":{"Type":"Fail","Error":"Item.Bad","Cause":"2"}}}}}}`},
		{name: "map/items not an array", input: `{"xs":{}}`, status: StatusFailed, errName: StatesRuntime,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","End":true,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}}}`},

		// Execution
		{name: "execution/timeout", input: `{}`, status: StatusTimedOut, errName: StatesTimeout, elapsed: 5 * time.Second, timers: 2,
			def: `{"StartAt":"W","TimeoutSeconds":5,"States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`},
		{name: "execution/timeout not reached", input: `{}`, output: `{}`, elapsed: 4 * time.Second, timers: 2,
			def: `{"StartAt":"W","TimeoutSeconds":5,"States":{"W":{"Type":"Wait","Seconds":4,"End":true}}}`},
		{name: "execution/multi-state flow", input: `{"n":1}`, output: `{"n":1,"a":"A","b":"B"}`, path: []string{"A", "B", "Done"},
			def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"A","ResultPath":"$.a","Next":"B"},
				"B":{"Type":"Pass","Result":"B","ResultPath":"$.b","Next":"Done"},"Done":{"Type":"Succeed"}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, clock := testEngine(t, tc.handlers, 0.5)
			smArn, err := e.CreateStateMachine("sm", []byte(tc.def))
			if err != nil {
				t.Fatalf("CreateStateMachine: %v", err)
			}
			arn, _, err := e.StartExecution(context.Background(), smArn, "exec-1", tc.input)
			if err != nil {
				t.Fatalf("StartExecution: %v", err)
			}
			d := drive(t, e, clock, arn, tc.timers)
			want := tc.status
			if want == "" {
				want = StatusSucceeded
			}
			if d.Status != want {
				t.Fatalf("status = %s (error %q, cause %q), want %s", d.Status, d.Error, d.Cause, want)
			}
			if want == StatusSucceeded && !sameJSON(t, d.Output, tc.output) {
				t.Errorf("output = %s, want %s", d.Output, tc.output)
			}
			if d.Error != tc.errName {
				t.Errorf("error = %q, want %q", d.Error, tc.errName)
			}
			if !strings.Contains(d.Cause, tc.cause) {
				t.Errorf("cause = %q, want it to contain %q", d.Cause, tc.cause)
			}
			h := history(t, e, arn)
			if tc.path != nil && strings.Join(enteredStates(h), ",") != strings.Join(tc.path, ",") {
				t.Errorf("states entered = %v, want %v", enteredStates(h), tc.path)
			}
			if tc.elapsed > 0 || strings.HasPrefix(tc.name, "wait/") {
				if got := d.StopDate.Sub(d.StartDate); got != tc.elapsed {
					t.Errorf("execution took %v, want %v", got, tc.elapsed)
				}
			}
			last := h[len(h)-1]
			if last.Type != map[ExecutionStatus]EventType{StatusSucceeded: EventExecutionSucceeded, StatusFailed: EventExecutionFailed,
				StatusTimedOut: EventExecutionTimedOut}[want] {
				t.Errorf("last event = %s, want the execution's final event", last.Type)
			}
			for i, ev := range h {
				if ev.ID != int64(i+1) || ev.PreviousEventID >= ev.ID {
					t.Errorf("event %d has id %d and previous id %d", i, ev.ID, ev.PreviousEventID)
				}
			}
		})
	}
}
