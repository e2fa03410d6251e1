package sfn

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestFunctionTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	tests := []struct {
		name     string
		resource string // the Task's Resource and Parameters
		failed   EventType
	}{
		{"lambda:invoke", `"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"slow"}`, EventTaskFailed},
		{"function ARN", `"Resource":"arn:aws:lambda:us-east-1:123456789012:function:slow"`, EventLambdaFunctionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			deadlines := make(chan bool, 1)
			handlers := map[string]Handler{
				// It ignores its context, as a handler stuck in a call might.
				"slow": func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
					_, ok := ctx.Deadline()
					deadlines <- ok
					<-release
					return json.RawMessage(`{}`), nil
				},
				"fast": echo,
			}
			e := New(Options{
				Clock: NewFakeClock(epoch0), Invoke: Dispatch(handlers),
				FunctionTimeout: func(name string) time.Duration {
					if name == "slow" {
						return timeout
					}
					return 0
				},
			})
			t.Cleanup(e.Close)
			t.Cleanup(func() { close(release) }) // runs first, so Close can return

			arn := start(t, e, `{"StartAt":"Fast","States":{
				"Fast":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fast"},"Next":"T"},
				"T":{"Type":"Task",`+tc.resource+`,"End":true}}}`, `{}`)
			d := wait(t, e, arn)
			if d.Status != StatusFailed || d.Error != SandboxTimedout {
				t.Fatalf("status %s, error %q, want FAILED with %s", d.Status, d.Error, SandboxTimedout)
			}
			var cause struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal([]byte(d.Cause), &cause); err != nil {
				t.Fatalf("cause %q is not the runtime's error payload: %v", d.Cause, err)
			}
			if cause.ErrorType != SandboxTimedout || !strings.HasPrefix(cause.ErrorMessage, "RequestId: ") ||
				!strings.HasSuffix(cause.ErrorMessage, " Error: Task timed out after 0.05 seconds") {
				t.Errorf("cause = %q", d.Cause)
			}
			if !<-deadlines {
				t.Error("the handler's context has no deadline")
			}
			if got := eventsOf(history(t, e, arn), tc.failed); len(got) != 1 || got[0].Error != SandboxTimedout {
				t.Errorf("%s events = %+v", tc.failed, got)
			}
		})
	}
}

func TestFunctionTimeoutHandlerHeedingContext(t *testing.T) {
	handlers := map[string]Handler{
		"slow": func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	e := New(Options{Clock: NewFakeClock(epoch0), Invoke: Dispatch(handlers),
		FunctionTimeout: func(string) time.Duration { return 50 * time.Millisecond }})
	t.Cleanup(e.Close)
	arn := start(t, e, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"slow"},"End":true}}}`, `{}`)
	// Its own error, returned once the deadline passed, is still a timeout.
	if d := wait(t, e, arn); d.Error != SandboxTimedout {
		t.Errorf("error = %q, want %s", d.Error, SandboxTimedout)
	}
}

func TestInvokeRequestTooLarge(t *testing.T) {
	called := false
	e, _ := testEngine(t, map[string]Handler{"f": func(context.Context, json.RawMessage) (json.RawMessage, error) {
		called = true
		return nil, nil
	}}, 0)
	// Unreachable through a state machine, whose 256 KiB input quota is
	// met first; Lambda's own limit still guards the invocation.
	_, fail := e.callFunction("f", json.RawMessage(jsonString(maxInvokeRequest)))
	if fail == nil || fail.name != LambdaRequestTooLarge {
		t.Fatalf("failure = %v, want %s", fail, LambdaRequestTooLarge)
	}
	if want := "6291457 byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)"; !strings.HasPrefix(fail.cause, want) {
		t.Errorf("cause = %q, want it to start with %q", fail.cause, want)
	}
	if called {
		t.Error("the handler was invoked")
	}
	if _, fail := e.callFunction("f", json.RawMessage(jsonString(maxInvokeRequest-1))); fail != nil {
		t.Errorf("a payload at the limit failed: %v", fail)
	}
}
