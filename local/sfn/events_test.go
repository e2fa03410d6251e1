package sfn

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
)

// statusRecorder is an OnStatusChange subscriber that keeps what it receives.
type statusRecorder struct {
	t   *testing.T
	mu  sync.Mutex
	raw []json.RawMessage
}

func (r *statusRecorder) record(_ context.Context, event json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw = append(r.raw, event)
}

// events returns what was received, decoded; call it after Close, which
// waits for deliveries in progress.
func (r *statusRecorder) events() []StatusChangeEvent {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]StatusChangeEvent, len(r.raw))
	for i, raw := range r.raw {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			r.t.Fatalf("event %s: %v", raw, err)
		}
	}
	return out
}

func statusEngine(t *testing.T, handlers map[string]Handler) (*Engine, *FakeClock, *statusRecorder) {
	t.Helper()
	rec := &statusRecorder{t: t}
	clock := NewFakeClock(epoch0)
	e := New(Options{Clock: clock, Invoke: Dispatch(handlers), OnStatusChange: rec.record})
	t.Cleanup(e.Close)
	return e, clock, rec
}

func TestStatusChangeEvents(t *testing.T) {
	handlers := map[string]Handler{"half": constant(jsonString(maxPayload / 2))}
	tests := []struct {
		name   string
		def    string
		input  string
		run    func(t *testing.T, e *Engine, clock *FakeClock, arn string) // drives the execution to its end
		status ExecutionStatus
		output *string
		error  *string
	}{
		{name: "succeeded", input: `{"a":1}`, status: StatusSucceeded, output: optional(`{"a":1,"r":"ok"}`),
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"ok","ResultPath":"$.r","End":true}}}`},
		{name: "failed, the error caught by nothing", input: `{"pad":` + jsonString(maxPayload/2) + `}`, status: StatusFailed,
			error: optional(StatesDataLimitExceeded),
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"half"},
				"ResultPath":"$.r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}]},"Caught":{"Type":"Pass","End":true}}}`},
		{name: "timed out", input: `{}`, status: StatusTimedOut, error: optional(StatesTimeout),
			def: `{"StartAt":"W","TimeoutSeconds":5,"States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`,
			run: func(t *testing.T, e *Engine, clock *FakeClock, arn string) { drive(t, e, clock, arn, 2) }},
		{name: "aborted", input: `{}`, status: StatusAborted, error: optional("Console.Stop"),
			def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`,
			run: func(t *testing.T, e *Engine, clock *FakeClock, arn string) {
				if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
					t.Fatal(err)
				}
				for range 2 { // stopping a stopped execution changes nothing
					if err := e.StopExecution(arn, "Console.Stop", "stopped by an operator"); err != nil {
						t.Fatal(err)
					}
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, clock, rec := statusEngine(t, handlers)
			arn := start(t, e, tc.def, tc.input)
			if tc.run != nil {
				tc.run(t, e, clock, arn)
			}
			d := wait(t, e, arn)
			e.Close() // flushes the deliveries
			got := rec.events()
			if len(got) != 2 || got[0].Detail.Status != StatusRunning || got[1].Detail.Status != tc.status {
				t.Fatalf("events = %+v, want RUNNING then %s", got, tc.status)
			}
			for i, ev := range got {
				want := ev
				want.Version, want.DetailType, want.Source = "0", StatusChangeDetailType, StatusChangeSource
				want.Account, want.Region, want.Resources = "123456789012", "us-east-1", []string{arn}
				want.Detail.ExecutionArn, want.Detail.StateMachineArn, want.Detail.Name = arn, d.StateMachineArn, d.Name
				want.Detail.StartDate = epoch0.UnixMilli()
				want.Detail.Input, want.Detail.InputDetails = &tc.input, &DataDetails{Included: true}
				if ev.ID == "" || !ev.Time.Equal(d.StartDate) && !ev.Time.Equal(d.StopDate.Truncate(1e9)) {
					t.Errorf("event %d: id %q, time %v", i, ev.ID, ev.Time)
				}
				if !sameEvent(ev, want) {
					t.Errorf("event %d = %+v, want %+v", i, ev, want)
				}
			}
			final := got[1].Detail
			if final.StopDate == nil || *final.StopDate != d.StopDate.UnixMilli() {
				t.Errorf("stopDate = %v, want %d", final.StopDate, d.StopDate.UnixMilli())
			}
			if !equalPtr(final.Output, tc.output) || (tc.output != nil) != (final.OutputDetails != nil) {
				t.Errorf("output = %v (%+v), want %v", deref(final.Output), final.OutputDetails, deref(tc.output))
			}
			if !equalPtr(final.Error, tc.error) {
				t.Errorf("error = %v, want %v", deref(final.Error), deref(tc.error))
			}
			if got[0].Detail.StopDate != nil || got[0].Detail.Output != nil || got[0].Detail.Error != nil {
				t.Errorf("RUNNING event has stop date, output or error: %+v", got[0].Detail)
			}
			if got[0].ID == got[1].ID {
				t.Error("both events have the same id")
			}
		})
	}
}

// sameEvent compares the fields every event of an execution shares.
func sameEvent(a, b StatusChangeEvent) bool {
	return a.Version == b.Version && a.DetailType == b.DetailType && a.Source == b.Source &&
		a.Account == b.Account && a.Region == b.Region && slices.Equal(a.Resources, b.Resources) &&
		a.Detail.ExecutionArn == b.Detail.ExecutionArn && a.Detail.StateMachineArn == b.Detail.StateMachineArn &&
		a.Detail.Name == b.Detail.Name && a.Detail.StartDate == b.Detail.StartDate &&
		equalPtr(a.Detail.Input, b.Detail.Input) && *a.Detail.InputDetails == *b.Detail.InputDetails
}

func equalPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestStatusChangeEventJSON pins the wire format: EventBridge's envelope,
// epoch-millisecond dates and nulls for what an execution does not have.
func TestStatusChangeEventJSON(t *testing.T) {
	e, _, rec := statusEngine(t, nil)
	arn := start(t, e, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"c"}}}`, `{"k":"v"}`)
	wait(t, e, arn)
	e.Close()
	rec.mu.Lock()
	raw := slices.Clone(rec.raw)
	rec.mu.Unlock()
	if len(raw) != 2 {
		t.Fatalf("got %d events, want 2", len(raw))
	}
	smArn := "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
	ms := epoch0.UnixMilli()
	want := []string{
		sprintf(`{"version":"0","detail-type":"Step Functions Execution Status Change","source":"aws.states",
			"account":"123456789012","time":"2024-03-14T01:59:00Z","region":"us-east-1","resources":[%q],
			"detail":{"executionArn":%[1]q,"stateMachineArn":%[2]q,"name":%[3]q,"status":"RUNNING","startDate":%[4]d,
			"stopDate":null,"input":"{\"k\":\"v\"}","inputDetails":{"included":true},"output":null,"outputDetails":null,
			"error":null,"cause":null}}`, arn, smArn, arn[len(arn)-36:], ms),
		sprintf(`{"version":"0","detail-type":"Step Functions Execution Status Change","source":"aws.states",
			"account":"123456789012","time":"2024-03-14T01:59:00Z","region":"us-east-1","resources":[%q],
			"detail":{"executionArn":%[1]q,"stateMachineArn":%[2]q,"name":%[3]q,"status":"FAILED","startDate":%[4]d,
			"stopDate":%[4]d,"input":"{\"k\":\"v\"}","inputDetails":{"included":true},"output":null,"outputDetails":null,
			"error":"E","cause":"c"}}`, arn, smArn, arn[len(arn)-36:], ms),
	}
	for i, ev := range raw {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "id") // random
		got, _ := json.Marshal(m)
		if !sameJSON(t, string(got), want[i]) {
			t.Errorf("event %d =\n%s\nwant\n%s", i, got, want[i])
		}
	}
}

// TestStatusChangeLeavesOutLargeInput follows AWS, which drops from the
// event an input that, escaped, would not fit EventBridge's quota.
func TestStatusChangeLeavesOutLargeInput(t *testing.T) {
	e, _, rec := statusEngine(t, nil)
	input := `{"pad":` + jsonString(eventDataLimit) + `}`
	arn := start(t, e, `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"ok","End":true}}}`, input)
	wait(t, e, arn)
	e.Close()
	got := rec.events()
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	for _, ev := range got {
		if ev.Detail.Input != nil || ev.Detail.InputDetails == nil || ev.Detail.InputDetails.Included {
			t.Errorf("%s event: input included %t, details %+v; want it left out", ev.Detail.Status, ev.Detail.Input != nil, ev.Detail.InputDetails)
		}
	}
	if out := got[1].Detail; !equalPtr(out.Output, optional(`"ok"`)) || !out.OutputDetails.Included {
		t.Errorf("output = %v (%+v), want it included", deref(out.Output), out.OutputDetails)
	}
}

// TestStatusChangeSubscriberRunsApart checks that a subscriber that blocks
// delays neither the execution nor the engine, and may call the engine.
func TestStatusChangeSubscriberRunsApart(t *testing.T) {
	release := make(chan struct{})
	seen := make(chan ExecutionStatus, 2)
	var e *Engine
	e = New(Options{Clock: NewFakeClock(epoch0), OnStatusChange: func(_ context.Context, raw json.RawMessage) {
		var ev StatusChangeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Error(err)
		}
		if _, err := e.Describe(ev.Detail.ExecutionArn); err != nil { // would deadlock under the engine's locks
			t.Error(err)
		}
		seen <- ev.Detail.Status
		<-release
	}})
	t.Cleanup(e.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close can return on failure
	arn := start(t, e, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, `{}`)
	if d := wait(t, e, arn); d.Status != StatusSucceeded {
		t.Fatalf("status = %s", d.Status)
	}
	if got := <-seen; got != StatusRunning {
		t.Fatalf("first event = %s, want RUNNING", got)
	}
	// The subscriber is still blocked on the RUNNING event, and the final
	// one waits its turn rather than overtaking it.
	select {
	case got := <-seen:
		t.Fatalf("event %s delivered before the previous one returned", got)
	default:
	}
}
