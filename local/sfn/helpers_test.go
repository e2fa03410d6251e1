package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// epoch0 is the fake clock's starting time in tests.
var epoch0 = time.Date(2024, 3, 14, 1, 59, 0, 0, time.UTC)

// testEngine returns an engine with a FakeClock and a deterministic random
// source (always rnd), closed when the test ends.
func testEngine(t *testing.T, handlers map[string]Handler, rnd float64) (*Engine, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(epoch0)
	e := New(Options{Clock: clock, Invoke: Dispatch(handlers), Rand: func() float64 { return rnd }})
	t.Cleanup(e.Close)
	return e, clock
}

// testCtx bounds a test's blocking calls, so a bug fails the test instead of
// hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start creates a state machine from def and starts an execution.
func start(t *testing.T, e *Engine, def, input string) string {
	t.Helper()
	smArn, err := e.CreateStateMachine("sm", []byte(def))
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	arn, _, err := e.StartExecution(context.Background(), smArn, "", input)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return arn
}

func wait(t *testing.T, e *Engine, arn string) ExecutionDescription {
	t.Helper()
	d, err := e.Wait(testCtx(t), arn)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return d
}

func history(t *testing.T, e *Engine, arn string) []HistoryEvent {
	t.Helper()
	h, err := e.History(arn)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return h
}

// eventsOf returns the history's events of the given types, in order.
func eventsOf(h []HistoryEvent, types ...EventType) []HistoryEvent {
	var out []HistoryEvent
	for _, ev := range h {
		for _, typ := range types {
			if ev.Type == typ {
				out = append(out, ev)
			}
		}
	}
	return out
}

// sameJSON reports whether two JSON texts are equal as values.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %q: %v", want, err)
	}
	return fmt.Sprint(g) == fmt.Sprint(w) && jsonEqual(g, w)
}

// echo is a handler that returns its payload.
func echo(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil }

// constant returns a handler that always returns out.
func constant(out string) Handler {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
}

// failing returns a handler that fails the first n calls with err, then returns out.
func failing(n int, err error, out string) (Handler, *int) {
	calls := 0
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		calls++
		if calls <= n {
			return nil, err
		}
		return json.RawMessage(out), nil
	}, &calls
}

var errBoom = errors.New("boom")

// jsonString returns a JSON string value that encodes to n+1 bytes.
func jsonString(n int) string { return `"` + strings.Repeat("a", n-1) + `"` }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
