package sfn

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// blocker is a handler that blocks until released (or the engine closes).
type blocker struct {
	release chan struct{}
	once    sync.Once
}

func newBlocker(t *testing.T) *blocker {
	b := &blocker{release: make(chan struct{})}
	t.Cleanup(b.done)
	return b
}

func (b *blocker) done() { b.once.Do(func() { close(b.release) }) }

func (b *blocker) handle(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
	select {
	case <-b.release:
		return json.RawMessage(`"late"`), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func expectCode(t *testing.T, err error, code string) {
	t.Helper()
	if ErrorCode(err) != code {
		t.Errorf("err = %v, want code %s", err, code)
	}
}

func TestTaskTimeout(t *testing.T) {
	cases := []struct {
		name, resource, params, input string
		timeout                       time.Duration
		timedOutEvent                 EventType
	}{
		{"lambda:invoke TimeoutSeconds", "arn:aws:states:::lambda:invoke", `"Parameters":{"FunctionName":"block"},"TimeoutSeconds":10`, `{}`, 10 * time.Second, EventTaskTimedOut},
		{"lambda:invoke TimeoutSecondsPath", "arn:aws:states:::lambda:invoke", `"Parameters":{"FunctionName":"block"},"TimeoutSecondsPath":"$.t"`, `{"t":3}`, 3 * time.Second, EventTaskTimedOut},
		{"function ARN TimeoutSeconds", "arn:aws:lambda:us-east-1:123456789012:function:block", `"TimeoutSeconds":7`, `{}`, 7 * time.Second, EventLambdaFunctionTimedOut},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBlocker(t)
			e, clock := testEngine(t, map[string]Handler{"block": b.handle}, 0)
			arn := start(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+tc.resource+`",`+tc.params+`,"End":true}}}`, tc.input)
			if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			if got := clock.PendingDurations(); !slices.Equal(got, []time.Duration{tc.timeout}) {
				t.Fatalf("pending timers = %v, want [%v]", got, tc.timeout)
			}
			clock.Advance(tc.timeout - time.Second)
			if d, _ := e.Describe(arn); d.Status != StatusRunning {
				t.Fatalf("status before the timeout = %s", d.Status)
			}
			clock.Advance(time.Second)
			d := wait(t, e, arn)
			if d.Status != StatusFailed || d.Error != StatesTimeout {
				t.Errorf("got %s %s, want FAILED States.Timeout", d.Status, d.Error)
			}
			timedOut := eventsOf(history(t, e, arn), tc.timedOutEvent)
			if len(timedOut) != 1 || !timedOut[0].Timestamp.Equal(epoch0.Add(tc.timeout)) {
				t.Errorf("%s events = %+v, want one at +%v", tc.timedOutEvent, timedOut, tc.timeout)
			}
		})
	}
}

// callbackDef is a callback task; the first %s adds fields to it, the
// second adds states.
const callbackDef = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"Parameters":{"FunctionName":"notify","Payload":{"token.$":"$$.Task.Token","x.$":"$.x"}}%s,"ResultPath":"$.result","End":true}%s}}`

// tokenSink is a handler that records the tokens it is invoked with.
type tokenSink struct {
	mu       sync.Mutex
	payloads []map[string]any
}

func (s *tokenSink) handle(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads = append(s.payloads, m)
	return json.RawMessage(`{"queued":true}`), nil
}

func (s *tokenSink) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.payloads {
		out = append(out, p["token"].(string))
	}
	return out
}

func startCallback(t *testing.T, extra, states string) (*Engine, *FakeClock, *tokenSink, string, PendingTask) {
	t.Helper()
	sink := &tokenSink{}
	e, clock := testEngine(t, map[string]Handler{"notify": sink.handle}, 0)
	arn := start(t, e, sprintf(callbackDef, extra, states), `{"x":1}`)
	pt, err := e.WaitForTask(testCtx(t), arn, "T")
	if err != nil {
		t.Fatalf("WaitForTask: %v", err)
	}
	return e, clock, sink, arn, pt
}

// The state machine that issued a token stays known after the callback,
// as AWS authorises a late SendTask* call against it before refusing it.
func TestTaskTokenStateMachine(t *testing.T) {
	e, _, _, arn, pt := startCallback(t, "", "")
	machine := e.stateMachineArn("sm")
	if got, ok := e.TaskTokenStateMachine(pt.Token); !ok || got != machine {
		t.Errorf("pending token: %q, %v; want %s", got, ok, machine)
	}
	if err := e.SendTaskSuccess(pt.Token, `{}`); err != nil {
		t.Fatal(err)
	}
	wait(t, e, arn)
	if got, ok := e.TaskTokenStateMachine(pt.Token); !ok || got != machine {
		t.Errorf("used token: %q, %v; want %s", got, ok, machine)
	}
	if got, ok := e.TaskTokenStateMachine("no-such-token"); ok {
		t.Errorf("unknown token: %q, true; want not ok", got)
	}
}

func TestCallbackSuccess(t *testing.T) {
	e, _, sink, arn, pt := startCallback(t, "", "")
	if pt.StateName != "T" || pt.ExecutionArn != arn || len(pt.Token) < 32 {
		t.Fatalf("pending task = %+v", pt)
	}
	if got := e.PendingTokens(arn); len(got) != 1 || got[0] != pt {
		t.Errorf("PendingTokens = %+v", got)
	}
	if err := e.SendTaskSuccess(pt.Token, `{"bad json`); ErrorCode(err) != CodeInvalidOutput {
		t.Errorf("SendTaskSuccess(invalid JSON) = %v, want InvalidOutput", err)
	}
	if err := e.SendTaskHeartbeat(pt.Token); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	if err := e.SendTaskSuccess(pt.Token, `{"approved":true}`); err != nil {
		t.Fatalf("SendTaskSuccess: %v", err)
	}
	d := wait(t, e, arn)
	if d.Status != StatusSucceeded || !sameJSON(t, d.Output, `{"x":1,"result":{"approved":true}}`) {
		t.Errorf("got %s %s", d.Status, d.Output)
	}
	if tokens := sink.tokens(); len(tokens) != 1 || tokens[0] != pt.Token {
		t.Errorf("the handler saw tokens %v, want [%s] ($$.Task.Token)", tokens, pt.Token)
	}
	expectCode(t, e.SendTaskSuccess(pt.Token, `{}`), CodeTaskDoesNotExist)
	expectCode(t, e.SendTaskFailure(pt.Token, "E", "c"), CodeTaskDoesNotExist)
	expectCode(t, e.SendTaskHeartbeat(pt.Token), CodeTaskDoesNotExist)
	expectCode(t, e.SendTaskSuccess("no-such-token", `{}`), CodeTaskDoesNotExist)
	expectCode(t, e.SendTaskSuccess("", `{}`), CodeInvalidToken)

	var types []EventType
	for _, ev := range eventsOf(history(t, e, arn), EventTaskScheduled, EventTaskStarted, EventTaskSubmitted, EventTaskSucceeded) {
		types = append(types, ev.Type)
	}
	if want := []EventType{EventTaskScheduled, EventTaskStarted, EventTaskSubmitted, EventTaskSucceeded}; !slices.Equal(types, want) {
		t.Errorf("task events = %v, want %v", types, want)
	}
}

func TestCallbackFailure(t *testing.T) {
	e, _, _, arn, pt := startCallback(t, "", "")
	if err := e.SendTaskFailure(pt.Token, "Egress.Rejected", "reviewer said no"); err != nil {
		t.Fatal(err)
	}
	d := wait(t, e, arn)
	if d.Status != StatusFailed || d.Error != "Egress.Rejected" || d.Cause != "reviewer said no" {
		t.Errorf("got %s %q %q", d.Status, d.Error, d.Cause)
	}
	failed := eventsOf(history(t, e, arn), EventTaskFailed)
	if len(failed) != 1 || failed[0].Error != "Egress.Rejected" {
		t.Errorf("TaskFailed events = %+v", failed)
	}
}

func TestCallbackHeartbeat(t *testing.T) {
	e, clock, _, arn, pt := startCallback(t, `,"HeartbeatSeconds":10,"TimeoutSeconds":100`, "")
	if err := clock.WaitForTimers(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	if got := clock.PendingDurations(); !slices.Equal(got, secondsList(10, 100)) {
		t.Fatalf("pending = %v, want [10s 100s]", got)
	}
	clock.Advance(5 * time.Second)
	if err := e.SendTaskHeartbeat(pt.Token); err != nil {
		t.Fatal(err)
	}
	if got := clock.PendingDurations(); !slices.Equal(got, secondsList(10, 95)) {
		t.Fatalf("after a heartbeat pending = %v, want [10s 95s]", got)
	}
	clock.Advance(9 * time.Second)
	if d, _ := e.Describe(arn); d.Status != StatusRunning {
		t.Fatalf("timed out before the reset heartbeat deadline: %s", d.Status)
	}
	clock.Advance(time.Second)
	d := wait(t, e, arn)
	if d.Status != StatusFailed || d.Error != StatesHeartbeatTimeout {
		t.Errorf("got %s %s, want FAILED States.HeartbeatTimeout", d.Status, d.Error)
	}
	timedOut := eventsOf(history(t, e, arn), EventTaskTimedOut)
	if len(timedOut) != 1 || !timedOut[0].Timestamp.Equal(epoch0.Add(15*time.Second)) {
		t.Errorf("TaskTimedOut = %+v, want one at +15s", timedOut)
	}
	expectCode(t, e.SendTaskSuccess(pt.Token, `{}`), CodeTaskTimedOut)
	expectCode(t, e.SendTaskHeartbeat(pt.Token), CodeTaskTimedOut)
}

func TestCallbackTimeoutCaught(t *testing.T) {
	e, clock, _, arn, pt := startCallback(t, `,"TimeoutSeconds":30,"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.err","Next":"Late"}]`,
		`,"Late":{"Type":"Pass","End":true}`)
	if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second)
	d := wait(t, e, arn)
	if d.Status != StatusSucceeded || !sameJSON(t, d.Output, `{"x":1,"err":{"Error":"States.Timeout","Cause":""}}`) {
		t.Errorf("got %s %s", d.Status, d.Output)
	}
	expectCode(t, e.SendTaskSuccess(pt.Token, `{}`), CodeTaskTimedOut)
}

func TestCallbackFromInsideHandler(t *testing.T) {
	var e *Engine
	handler := func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		var in struct{ Token string }
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		if err := e.SendTaskSuccess(in.Token, `"sync"`); err != nil {
			return nil, err
		}
		return json.RawMessage(`{}`), nil
	}
	e, _ = testEngine(t, map[string]Handler{"notify": handler}, 0)
	arn := start(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token"}},"End":true}}}`, `{}`)
	if d := wait(t, e, arn); d.Status != StatusSucceeded || d.Output != `"sync"` {
		t.Errorf("got %s %s (%s)", d.Status, d.Output, d.Cause)
	}
}

func TestCallbackInvocationFails(t *testing.T) {
	e, _ := testEngine(t, map[string]Handler{"notify": func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, &TaskFailure{ErrorName: "Queue.Full", Cause: "try later"}
	}}, 0)
	arn := start(t, e, sprintf(callbackDef, "", ""), `{"x":1}`)
	d := wait(t, e, arn)
	if d.Status != StatusFailed || d.Error != "Queue.Full" {
		t.Errorf("got %s %s", d.Status, d.Error)
	}
	if got := e.PendingTokens(arn); len(got) != 0 {
		t.Errorf("tokens still pending after the task failed: %v", got)
	}
}

// TestMapMaxConcurrency checks that no more than MaxConcurrency iterations
// run at once: with callback tasks, an iteration can only start once an
// earlier one's task has been completed.
func TestMapMaxConcurrency(t *testing.T) {
	sink := &tokenSink{}
	e, _ := testEngine(t, map[string]Handler{"notify": sink.handle}, 0)
	arn := start(t, e, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"ItemsPath":"$.xs","End":true,
		"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"token.$":"$$.Task.Token","x.$":"$"}},"End":true}}}}}}`, `{"xs":[1,2,3,4,5]}`)
	ctx := testCtx(t)
	for range 5 {
		pt, err := e.WaitForTask(ctx, arn, "T")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(e.PendingTokens(arn)); n > 2 {
			t.Fatalf("%d tasks pending at once, want at most 2", n)
		}
		if err := e.SendTaskSuccess(pt.Token, `"ok"`); err != nil {
			t.Fatal(err)
		}
	}
	d := wait(t, e, arn)
	if d.Status != StatusSucceeded || d.Output != `["ok","ok","ok","ok","ok"]` {
		t.Errorf("got %s %s", d.Status, d.Output)
	}
	// Iterations start in order, and the third only after a task succeeded.
	h := history(t, e, arn)
	started := 0
	for _, ev := range h {
		switch ev.Type {
		case EventMapIterationStarted:
			started++
		case EventTaskSucceeded:
			if started > 2 {
				t.Fatalf("%d iterations started before the first task succeeded", started)
			}
			started = -100
		}
	}
	if n := len(eventsOf(h, EventMapIterationSucceeded)); n != 5 {
		t.Errorf("MapIterationSucceeded events = %d, want 5", n)
	}
}
