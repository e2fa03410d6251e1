package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const waitForeverDef = `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1000,"End":true}}}`

func TestStartExecutionNames(t *testing.T) {
	e, _ := testEngine(t, nil, 0)
	smArn, err := e.CreateStateMachine("sm", []byte(waitForeverDef))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		code string
	}{
		{"ok-name_1", ""},
		{strings.Repeat("a", 80), ""},
		{"café", ""},
		{strings.Repeat("a", 81), CodeInvalidName},
		{"has space", CodeInvalidName},
		{"slash/", CodeInvalidName},
		{"colon:", CodeInvalidName},
		{"star*", CodeInvalidName},
		{"brace{", CodeInvalidName},
		{"ctrl\x01", CodeInvalidName},
		{"del\u0085", CodeInvalidName},
	}
	for _, tc := range cases {
		_, _, err := e.StartExecution(context.Background(), smArn, tc.name, "{}")
		if got := ErrorCode(err); got != tc.code || (tc.code == "" && err != nil) {
			t.Errorf("StartExecution(%q) = %v, want code %q", tc.name, err, tc.code)
		}
	}
	arn, _, err := e.StartExecution(context.Background(), smArn, "", "")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.Describe(arn)
	if len(d.Name) != 36 || d.Input != "{}" {
		t.Errorf("generated name %q, input %q; want a UUID and {}", d.Name, d.Input)
	}
}

func TestStartExecutionErrors(t *testing.T) {
	e, _ := testEngine(t, nil, 0)
	smArn, err := e.CreateStateMachine("sm", []byte(waitForeverDef))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _, err = e.StartExecution(ctx, smArn, "x", "{not json")
	expectCode(t, err, CodeInvalidExecutionInput)
	_, _, err = e.StartExecution(ctx, smArn, "x", `"`+strings.Repeat("a", maxPayload)+`"`)
	expectCode(t, err, CodeInvalidExecutionInput)
	_, _, err = e.StartExecution(ctx, strings.Replace(smArn, ":sm", ":other", 1), "x", "{}")
	expectCode(t, err, CodeStateMachineDoesNotExist)
	_, _, err = e.StartExecution(ctx, "not-an-arn", "x", "{}")
	expectCode(t, err, CodeInvalidArn)
	_, err = e.Describe(strings.Replace(smArn, "stateMachine", "execution", 1) + ":nope")
	expectCode(t, err, CodeExecutionDoesNotExist)
	_, err = e.CreateStateMachine("bad", []byte(`{}`))
	expectCode(t, err, CodeInvalidDefinition)
}

func TestStartExecutionIdempotency(t *testing.T) {
	e, clock := testEngine(t, nil, 0)
	smArn, err := e.CreateStateMachine("sm", []byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	arn, startDate, err := e.StartExecution(ctx, smArn, "run", `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // a repeat must report the original start date
	arn2, startDate2, err := e.StartExecution(ctx, smArn, "run", `{"a":1}`)
	if err != nil || arn2 != arn || !startDate2.Equal(startDate) {
		t.Errorf("repeat start = %s %v %v, want the running execution %s %v", arn2, startDate2, err, arn, startDate)
	}
	_, _, err = e.StartExecution(ctx, smArn, "run", `{"a":2}`)
	expectCode(t, err, CodeExecutionAlreadyExists)

	if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	wait(t, e, arn)
	_, _, err = e.StartExecution(ctx, smArn, "run", `{"a":1}`)
	expectCode(t, err, CodeExecutionAlreadyExists)
}

func TestStopExecution(t *testing.T) {
	sink := &tokenSink{}
	e, _ := testEngine(t, map[string]Handler{"notify": sink.handle}, 0)
	arn := start(t, e, sprintf(callbackDef, "", ""), `{"x":1}`)
	pt, err := e.WaitForTask(testCtx(t), arn, "T")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.StopExecution(arn, "Operator.Cancelled", "user asked"); err != nil {
		t.Fatal(err)
	}
	d := wait(t, e, arn)
	if d.Status != StatusAborted || d.Error != "Operator.Cancelled" || d.Cause != "user asked" || d.StopDate.IsZero() {
		t.Errorf("got %+v", d)
	}
	expectCode(t, e.SendTaskSuccess(pt.Token, `{}`), CodeTaskDoesNotExist)
	if err := e.StopExecution(arn, "Again", ""); err != nil {
		t.Errorf("stopping a stopped execution: %v", err)
	}
	if d2, _ := e.Describe(arn); d2.Error != "Operator.Cancelled" {
		t.Errorf("a second stop changed the outcome to %q", d2.Error)
	}
	// Nothing is recorded after the final event, even by work winding down.
	e.Close()
	h := history(t, e, arn)
	if last := h[len(h)-1]; last.Type != EventExecutionAborted {
		t.Errorf("last event = %s, want ExecutionAborted", last.Type)
	}
	if _, err := e.WaitForTask(testCtx(t), arn, "T"); !errors.Is(err, ErrExecutionFinished) {
		t.Errorf("WaitForTask on a finished execution = %v", err)
	}
}

func TestCloseAbortsExecutions(t *testing.T) {
	b := newBlocker(t)
	e, _ := testEngine(t, map[string]Handler{"block": b.handle}, 0)
	arn := start(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:block","End":true}}}`, `{}`)
	arn2 := start(t, e, waitForeverDef, `{}`)
	e.Close()
	for _, a := range []string{arn, arn2} {
		if d, _ := e.Describe(a); d.Status != StatusAborted {
			t.Errorf("%s: status = %s after Close, want ABORTED", a, d.Status)
		}
	}
	smArn := e.stateMachineArn("sm")
	if _, _, err := e.StartExecution(context.Background(), smArn, "", "{}"); !errors.Is(err, errClosed) {
		t.Errorf("StartExecution after Close = %v", err)
	}
}

func TestCreateStateMachineReplaces(t *testing.T) {
	e, clock := testEngine(t, nil, 0)
	smArn, err := e.CreateStateMachine("sm", []byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","Result":"v1","End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := e.StartExecution(context.Background(), smArn, "old", "{}")
	if err != nil {
		t.Fatal(err)
	}
	arn2, err := e.CreateStateMachine("sm", []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"v2","End":true}}}`))
	if err != nil || arn2 != smArn {
		t.Fatalf("replace = %s, %v", arn2, err)
	}
	fresh, _, err := e.StartExecution(context.Background(), smArn, "new", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if d := wait(t, e, fresh); d.Output != `"v2"` {
		t.Errorf("new execution output %s, want the new definition's", d.Output)
	}
	if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	if d := wait(t, e, old); d.Output != `"v1"` {
		t.Errorf("running execution output %s, want the definition it started with", d.Output)
	}
}

func TestListExecutions(t *testing.T) {
	e, _ := testEngine(t, nil, 0)
	smArn, _ := e.CreateStateMachine("sm", []byte(waitForeverDef))
	otherArn, _ := e.CreateStateMachine("other", []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`))
	ctx := context.Background()
	a, _, _ := e.StartExecution(ctx, smArn, "a", "{}")
	b, _, _ := e.StartExecution(ctx, smArn, "b", "{}")
	o, _, _ := e.StartExecution(ctx, otherArn, "o", "{}")
	wait(t, e, o)
	if err := e.StopExecution(a, "", ""); err != nil {
		t.Fatal(err)
	}
	all, err := e.ListExecutions(smArn, "")
	if err != nil || len(all) != 2 || all[0].ExecutionArn != b || all[1].ExecutionArn != a {
		t.Errorf("ListExecutions = %+v, %v; want b then a", all, err)
	}
	running, _ := e.ListExecutions(smArn, StatusRunning)
	if len(running) != 1 || running[0].ExecutionArn != b {
		t.Errorf("running = %+v", running)
	}
	if _, err := e.ListExecutions(smArn+"x", ""); ErrorCode(err) != CodeStateMachineDoesNotExist {
		t.Errorf("unknown machine: %v", err)
	}
}

func TestHistoryOfParallelAndMap(t *testing.T) {
	e, _ := testEngine(t, map[string]Handler{"echo": echo}, 0)
	arn := start(t, e, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"M","Branches":[
		{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}}]},
		"M":{"Type":"Map","ItemsPath":"$[0].xs","End":true,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:echo","End":true}}}}}}`,
		`{"xs":[1,2,3]}`)
	if d := wait(t, e, arn); d.Status != StatusSucceeded || d.Output != `[1,2,3]` {
		t.Fatalf("got %s %s (%s)", d.Status, d.Output, d.Cause)
	}
	h := history(t, e, arn)
	counts := map[EventType]int{}
	byID := map[int64]HistoryEvent{}
	for _, ev := range h {
		counts[ev.Type]++
		byID[ev.ID] = ev
	}
	want := map[EventType]int{
		EventParallelStateEntered: 1, EventParallelStateStarted: 1, EventParallelStateSucceeded: 1, EventParallelStateExited: 1,
		EventPassStateEntered: 2, EventMapStateEntered: 1, EventMapStateStarted: 1, EventMapIterationStarted: 3,
		EventLambdaFunctionScheduled: 3, EventLambdaFunctionSucceeded: 3, EventMapIterationSucceeded: 3, EventMapStateSucceeded: 1,
		EventMapStateExited: 1, EventExecutionSucceeded: 1,
	}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%s events = %d, want %d", typ, counts[typ], n)
		}
	}
	for _, ev := range eventsOf(h, EventMapStateStarted) {
		if ev.Length != 3 {
			t.Errorf("MapStateStarted length = %d", ev.Length)
		}
	}
	// Each branch's and iteration's first event follows the Started event.
	for _, ev := range eventsOf(h, EventMapIterationStarted) {
		if byID[ev.PreviousEventID].Type != EventMapStateStarted {
			t.Errorf("iteration %d follows %s", ev.Index, byID[ev.PreviousEventID].Type)
		}
	}
	for _, ev := range eventsOf(h, EventPassStateEntered) {
		if byID[ev.PreviousEventID].Type != EventParallelStateStarted {
			t.Errorf("branch state %s follows %s", ev.StateName, byID[ev.PreviousEventID].Type)
		}
	}
}

func TestRandomIsSerialised(t *testing.T) {
	// A non-thread-safe Rand is fine: the engine serialises calls. Under
	// -race this fails if two Map iterations call it concurrently.
	state := 0.0
	rnd := func() float64 { state += 0.1; return state - float64(int(state)) }
	e := New(Options{Clock: NewFakeClock(epoch0), Rand: rnd, Invoke: Dispatch(map[string]Handler{"echo": echo})})
	defer e.Close()
	arn := start(t, e, `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemSelector":{"r.$":"States.MathRandom(0, 100)"},
		"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}}}}`, `[1,2,3,4,5,6,7,8]`)
	d := wait(t, e, arn)
	var out []struct{ R int }
	if err := json.Unmarshal([]byte(d.Output), &out); err != nil || len(out) != 8 {
		t.Fatalf("output %s: %v", d.Output, err)
	}
}

func TestDefaultOptions(t *testing.T) {
	e := New(Options{})
	defer e.Close()
	arn, err := e.CreateStateMachine("sm", []byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true}}}`))
	if err != nil || arn != "arn:aws:states:us-east-1:123456789012:stateMachine:sm" {
		t.Fatalf("arn %s, %v", arn, err)
	}
	x, _, err := e.StartExecution(context.Background(), arn, "x", "")
	if err != nil {
		t.Fatal(err)
	}
	if d := wait(t, e, x); d.Error != LambdaResourceNotFound {
		t.Errorf("with no Invoker, error = %q, want %s", d.Error, LambdaResourceNotFound)
	}
}
