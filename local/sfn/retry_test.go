package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func taskWithRetry(fn, retry string) string {
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"` + fn + `","Payload":{"rc.$":"$$.State.RetryCount"}},"Retry":` + retry + `,"End":true}}}`
}

// observeDelays lets the execution run, and each time it waits on exactly
// one timer records how long that timer is and fires it, until n delays have
// been observed.
func observeDelays(t *testing.T, clock *FakeClock, n int) []time.Duration {
	t.Helper()
	var got []time.Duration
	for range n {
		if err := clock.WaitForTimers(testCtx(t), 1); err != nil {
			t.Fatalf("after delays %v: no retry timer: %v", got, err)
		}
		pending := clock.PendingDurations()
		if len(pending) != 1 {
			t.Fatalf("pending timers = %v, want exactly one", pending)
		}
		got = append(got, pending[0])
		clock.Advance(pending[0])
	}
	return got
}

func secondsList(ss ...float64) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s * float64(time.Second))
	}
	return out
}

func TestRetryBackoff(t *testing.T) {
	cases := []struct {
		name      string
		retry     string
		rand      float64
		failures  int
		delays    []time.Duration
		status    ExecutionStatus
		wantCalls int
	}{
		{name: "defaults: 1s doubling, 3 attempts", retry: `[{"ErrorEquals":["States.ALL"]}]`,
			failures: 100, delays: secondsList(1, 2, 4), status: StatusFailed, wantCalls: 4},
		{name: "interval x rate^n capped by MaxDelaySeconds", retry: `[{"ErrorEquals":["errorString"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":5,"MaxDelaySeconds":30}]`,
			failures: 4, delays: secondsList(2, 6, 18, 30), status: StatusSucceeded, wantCalls: 5},
		{name: "fractional backoff rate", retry: `[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":2,"BackoffRate":1.5,"MaxAttempts":3}]`,
			failures: 3, delays: secondsList(2, 3, 4.5), status: StatusSucceeded, wantCalls: 4},
		{name: "FULL jitter scales each delay by rand", retry: `[{"ErrorEquals":["States.ALL"],"IntervalSeconds":4,"MaxAttempts":3,"JitterStrategy":"FULL"}]`,
			rand: 0.25, failures: 100, delays: secondsList(1, 2, 4), status: StatusFailed, wantCalls: 4},
		{name: "FULL jitter applies after the cap", retry: `[{"ErrorEquals":["States.ALL"],"IntervalSeconds":10,"MaxAttempts":2,"MaxDelaySeconds":12,"JitterStrategy":"FULL"}]`,
			rand: 0.5, failures: 100, delays: secondsList(5, 6), status: StatusFailed, wantCalls: 3},
		{name: "NONE jitter ignores rand", retry: `[{"ErrorEquals":["States.ALL"],"IntervalSeconds":3,"MaxAttempts":2,"JitterStrategy":"NONE"}]`,
			rand: 0.1, failures: 1, delays: secondsList(3), status: StatusSucceeded, wantCalls: 2},
		{name: "MaxAttempts 0 never retries", retry: `[{"ErrorEquals":["States.ALL"],"MaxAttempts":0}]`,
			failures: 1, delays: nil, status: StatusFailed, wantCalls: 1},
		{name: "non-matching retrier", retry: `[{"ErrorEquals":["Other"]}]`,
			failures: 1, delays: nil, status: StatusFailed, wantCalls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, calls := failing(tc.failures, errBoom, `{"ok":true}`)
			var mu sync.Mutex
			var retryCounts []string
			record := func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
				mu.Lock()
				retryCounts = append(retryCounts, string(p))
				mu.Unlock()
				return h(ctx, p)
			}
			e, clock := testEngine(t, map[string]Handler{"fn": record}, tc.rand)
			arn := start(t, e, taskWithRetry("fn", tc.retry), `{}`)
			got := observeDelays(t, clock, len(tc.delays))
			d := wait(t, e, arn)
			if !slices.Equal(got, tc.delays) {
				t.Errorf("delays = %v, want %v", got, tc.delays)
			}
			if d.Status != tc.status {
				t.Errorf("status = %s (%s), want %s", d.Status, d.Error, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if *calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", *calls, tc.wantCalls)
			}
			for i, p := range retryCounts {
				if want := fmt.Sprintf(`{"rc":%d}`, i); p != want {
					t.Errorf("attempt %d payload = %s, want %s ($$.State.RetryCount)", i, p, want)
				}
			}
			// The history shows each attempt scheduled exactly the delay after the previous failure.
			hist := history(t, e, arn)
			failed := eventsOf(hist, EventTaskFailed)
			scheduled := eventsOf(hist, EventTaskScheduled)
			for i, delay := range tc.delays {
				if gap := scheduled[i+1].Timestamp.Sub(failed[i].Timestamp); gap != delay {
					t.Errorf("retry %d scheduled %v after the failure, want %v", i, gap, delay)
				}
			}
			if len(eventsOf(hist, EventTaskStateEntered)) != 1 {
				t.Errorf("a retried state must be entered once")
			}
		})
	}
}

// TestRetrierCounters checks that each retrier counts its own attempts and
// that only the first matching retrier applies.
func TestRetrierCounters(t *testing.T) {
	t.Run("independent counters", func(t *testing.T) {
		var mu sync.Mutex
		calls := 0
		alternate := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return nil, &TaskFailure{ErrorName: []string{"A", "B"}[(calls-1)%2]}
		}
		e, clock := testEngine(t, map[string]Handler{"fn": alternate}, 0)
		arn := start(t, e, taskWithRetry("fn", `[{"ErrorEquals":["A"],"IntervalSeconds":1,"MaxAttempts":2},
			{"ErrorEquals":["B"],"IntervalSeconds":5,"MaxAttempts":2}]`), `{}`)
		got := observeDelays(t, clock, 4)
		d := wait(t, e, arn)
		if want := secondsList(1, 5, 2, 10); !slices.Equal(got, want) {
			t.Errorf("delays = %v, want %v", got, want)
		}
		if d.Status != StatusFailed || d.Error != "A" {
			t.Errorf("status = %s %s, want FAILED A (A's retrier exhausted)", d.Status, d.Error)
		}
		mu.Lock()
		defer mu.Unlock()
		if calls != 5 {
			t.Errorf("calls = %d, want 5", calls)
		}
	})
	t.Run("first match only", func(t *testing.T) {
		h, calls := failing(100, &TaskFailure{ErrorName: "A"}, `{}`)
		e, clock := testEngine(t, map[string]Handler{"fn": h}, 0)
		arn := start(t, e, taskWithRetry("fn", `[{"ErrorEquals":["A"],"MaxAttempts":1},{"ErrorEquals":["States.ALL"],"MaxAttempts":5}]`), `{}`)
		got := observeDelays(t, clock, 1)
		d := wait(t, e, arn)
		if !slices.Equal(got, secondsList(1)) || d.Error != "A" || *calls != 2 {
			t.Errorf("delays %v, error %q, calls %d; want [1s], A, 2", got, d.Error, *calls)
		}
	})
}

func TestCatch(t *testing.T) {
	block := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	handlers := map[string]Handler{
		"custom": func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, &customError{"bad"} },
		"named": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &TaskFailure{ErrorName: "Unlisted", Cause: "x"}
		},
		"block": block,
	}
	// task builds a Task state with the given Catch, plus a Succeed state
	// for each catcher target (every state must be reachable).
	task := func(fn, extra, catch string) string {
		targets := ""
		for _, m := range regexp.MustCompile(`"Next":"(\w+)"`).FindAllStringSubmatch(catch, -1) {
			if !strings.Contains(targets, `"`+m[1]+`"`) {
				targets += `,"` + m[1] + `":{"Type":"Succeed"}`
			}
		}
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"` + fn + `"}` + extra +
			`,"Catch":` + catch + `,"End":true}` + targets + `}}`
	}
	cases := []struct {
		name, def, wantState, output string
	}{
		{"first matching catcher wins", task("custom", "", `[{"ErrorEquals":["Other"],"Next":"C2"},{"ErrorEquals":["Other","customError"],"Next":"C1"},{"ErrorEquals":["States.ALL"],"Next":"C2"}]`),
			"C1", `{"Error":"customError","Cause":"{\"errorMessage\":\"bad\",\"errorType\":\"customError\"}"}`},
		{"States.ALL fallback", task("named", "", `[{"ErrorEquals":["Other"],"Next":"C1"},{"ErrorEquals":["States.ALL"],"Next":"C2"}]`),
			"C2", `{"Error":"Unlisted","Cause":"x"}`},
		{"States.TaskFailed matches task errors", task("named", "", `[{"ErrorEquals":["States.Timeout"],"Next":"TO"},{"ErrorEquals":["States.TaskFailed"],"Next":"TF"}]`),
			"TF", `{"Error":"Unlisted","Cause":"x"}`},
		{"States.TaskFailed does not match States.Timeout", task("block", `,"TimeoutSeconds":5`, `[{"ErrorEquals":["States.TaskFailed"],"Next":"TF"},{"ErrorEquals":["States.Timeout"],"Next":"TO"}]`),
			"TO", `{"Error":"States.Timeout","Cause":""}`},
		{"States.ALL matches States.Timeout", task("block", `,"TimeoutSeconds":5`, `[{"ErrorEquals":["States.ALL"],"Next":"C2"}]`),
			"C2", `{"Error":"States.Timeout","Cause":""}`},
		{"catch ResultPath merges into the input", task("named", "", `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"C1"}]`),
			"C1", `{"in":1,"error":{"Error":"Unlisted","Cause":"x"}}`},
		{"catch ResultPath null keeps the input", task("named", "", `[{"ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"C1"}]`),
			"C1", `{"in":1}`},
		{"retries exhausted, then caught", task("named", `,"Retry":[{"ErrorEquals":["Unlisted"],"MaxAttempts":2}]`, `[{"ErrorEquals":["Unlisted"],"Next":"C1"}]`),
			"C1", `{"Error":"Unlisted","Cause":"x"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, clock := testEngine(t, handlers, 0)
			arn := start(t, e, tc.def, `{"in":1}`)
			d := drive(t, e, clock, arn, 1)
			if d.Status != StatusSucceeded {
				t.Fatalf("status = %s (%s: %s), want SUCCEEDED", d.Status, d.Error, d.Cause)
			}
			if path := enteredStates(history(t, e, arn)); strings.Join(path, ",") != "T,"+tc.wantState {
				t.Errorf("states entered = %v, want [T %s]", path, tc.wantState)
			}
			if !sameJSON(t, d.Output, tc.output) {
				t.Errorf("output = %s, want %s", d.Output, tc.output)
			}
		})
	}
}
