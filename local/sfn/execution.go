package sfn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// execution is one run of a state machine.
type execution struct {
	e        *Engine
	sm       *stateMachine // as it was when the execution started
	arn      string
	name     string
	input    string
	inputVal any
	start    time.Time

	// ctx is cancelled when the execution finishes for any reason, which
	// stops whatever state is still running.
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once the final status is set

	mu     sync.Mutex
	status ExecutionStatus
	output string
	errNm  string
	cause  string
	stop   time.Time
	events []HistoryEvent
	// notified is closed once the latest status change has been delivered
	// to OnStatusChange; the next delivery waits for it.
	notified chan struct{}
	// transitions counts what Standard Workflows bill as state
	// transitions: every state entered (a Map's or a Parallel's inner
	// states too) and every retry of one.
	transitions atomic.Int64
}

// errFinished cancels an execution's remaining work once its outcome is decided.
var errFinished = errors.New("execution finished")

func newExecution(e *Engine, sm *stateMachine, arn, name, input string, in any) *execution {
	x := &execution{
		e: e, sm: sm, arn: arn, name: name, input: input, inputVal: in,
		start: e.clock.Now(), done: make(chan struct{}), status: StatusRunning,
	}
	x.ctx, x.cancel = context.WithCancelCause(e.ctx)
	x.record(HistoryEvent{Type: EventExecutionStarted, Input: input})
	return x
}

// run executes the state machine; it is the execution's own goroutine.
func (x *execution) run() {
	defer x.e.wg.Done()
	log := x.e.log.With("execution", x.arn)
	log.Info("execution started")
	if secs := x.sm.m.timeoutSeconds; secs > 0 {
		timer := x.e.clock.NewTimer(time.Duration(secs) * time.Second)
		x.e.wg.Add(1)
		go func() {
			defer x.e.wg.Done()
			defer timer.Stop()
			select {
			case <-timer.C():
				x.finish(StatusTimedOut, nil, StatesTimeout, fmt.Sprintf("The execution timed out after %d seconds", secs))
			case <-x.ctx.Done():
			}
		}()
	}
	t := &thread{x: x, m: x.sm.m, prev: 1}
	out, err := t.run(x.ctx, x.inputVal)
	var se *stateError
	switch {
	case err == nil:
		x.finish(StatusSucceeded, out, "", "")
	case context.Cause(x.ctx) == nil && errors.As(err, &se):
		x.finish(StatusFailed, nil, se.name, se.cause)
	default:
		// Stopped, timed out or engine closed: anything but a state error
		// is a cancellation, and a failure seen while being cancelled is a
		// consequence of it. Only a close still needs recording; finish
		// ignores the call if the outcome is already decided.
		x.finish(StatusAborted, nil, "", "the engine was closed")
	}
	d := x.describe()
	log.Info("execution finished", "status", d.Status, "error", d.Error)
}

// finish records the execution's outcome, unless one was already recorded,
// and cancels its remaining work. It reports whether this call decided it.
func (x *execution) finish(status ExecutionStatus, output any, errName, cause string) bool {
	x.mu.Lock()
	if x.status != StatusRunning {
		x.mu.Unlock()
		return false
	}
	ev := HistoryEvent{Error: errName, Cause: cause}
	switch status {
	case StatusSucceeded:
		x.output = encodeJSON(output)
		ev.Type, ev.Output = EventExecutionSucceeded, x.output
	case StatusFailed:
		ev.Type = EventExecutionFailed
	case StatusTimedOut:
		ev.Type = EventExecutionTimedOut
	case StatusAborted:
		ev.Type = EventExecutionAborted
	}
	ev.PreviousEventID = int64(len(x.events))
	x.appendLocked(ev)
	x.status, x.errNm, x.cause, x.stop = status, errName, cause, x.events[len(x.events)-1].Timestamp
	x.notifyStatusLocked(x.describeLocked())
	x.mu.Unlock()
	close(x.done)
	x.cancel(errFinished)
	x.e.retireExecutionTasks(x)
	return true
}

// record appends an event and returns its id, or 0 if the execution has
// already finished (work still winding down after a stop leaves no trace,
// so the final event is always last).
func (x *execution) record(ev HistoryEvent) int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.status != StatusRunning {
		return 0
	}
	return x.appendLocked(ev)
}

func (x *execution) appendLocked(ev HistoryEvent) int64 {
	ev.ID = int64(len(x.events)) + 1
	ev.Timestamp = x.e.clock.Now()
	x.events = append(x.events, ev)
	return ev.ID
}

func (x *execution) lastEventID() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return int64(len(x.events))
}

func (x *execution) describe() ExecutionDescription {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.describeLocked()
}

func (x *execution) describeLocked() ExecutionDescription {
	return ExecutionDescription{
		ExecutionArn: x.arn, StateMachineArn: x.sm.arn, Name: x.name, Status: x.status,
		Input: x.input, Output: x.output, Error: x.errNm, Cause: x.cause,
		StartDate: x.start, StopDate: x.stop,
	}
}

// thread is one sequential flow of states: the execution's top level, a
// Parallel branch or a Map iteration. prev is the id of the event this
// thread recorded last, which its next event names as its previous event.
type thread struct {
	x    *execution
	m    *machine
	prev int64
}

func (t *thread) record(ev HistoryEvent) int64 {
	ev.PreviousEventID = t.prev
	if id := t.x.record(ev); id != 0 {
		t.prev = id
	}
	return t.prev
}

func (t *thread) child(m *machine, prev int64) *thread {
	return &thread{x: t.x, m: m, prev: prev}
}

// run executes states from StartAt until one ends the flow, returning the
// final output, a *stateError, or the cancellation cause of ctx.
func (t *thread) run(ctx context.Context, input any) (any, error) {
	name := t.m.startAt
	for {
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		st := t.m.states[name]
		out, next, err := t.runState(ctx, st, input)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// runState executes one state and returns its output and the next state's
// name ("" when the flow ends).
func (t *thread) runState(ctx context.Context, st *state, input any) (any, string, error) {
	entered := t.x.e.clock.Now()
	t.x.transitions.Add(1)
	t.record(HistoryEvent{Type: enteredEvent(st.typ), StateName: st.name, Input: encodeJSON(input)})
	t.x.e.log.Debug("state entered", "execution", t.x.arn, "state", st.name, "type", st.typ)
	s := &stateRun{t: t, st: st, raw: input, entered: entered}
	var (
		out  any
		next string
		err  error
	)
	switch st.typ {
	case typePass:
		out, next, err = s.pass()
	case typeTask:
		out, next, err = s.guarded(ctx, s.taskAttempt)
	case typeChoice:
		out, next, err = s.choice()
	case typeWait:
		out, next, err = s.wait(ctx)
	case typeSucceed:
		out, next, err = s.succeed()
	case typeFail:
		return nil, "", s.fail()
	case typeParallel:
		out, next, err = s.guarded(ctx, s.parallelAttempt)
	case typeMap:
		out, next, err = s.guarded(ctx, s.mapAttempt)
	default:
		return nil, "", runtimeErr("state %q has unsupported type %q", st.name, st.typ)
	}
	if err != nil {
		return nil, "", err
	}
	encoded := encodeJSON(out)
	if len(encoded) > maxPayload {
		return nil, "", failf(StatesDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.name)
	}
	t.record(HistoryEvent{Type: exitedEvent(st.typ), StateName: st.name, Output: encoded})
	return out, next, nil
}

// stateRun is the work of one state entry: the state, its raw input and when
// it was entered.
type stateRun struct {
	t       *thread
	st      *state
	raw     any
	entered time.Time
}

// contextObject builds the context object "$$" for this state entry.
func (s *stateRun) contextObject(retryCount int64, token string) map[string]any {
	x := s.t.x
	c := map[string]any{
		"Execution": map[string]any{
			"Id": x.arn, "Name": x.name, "Input": x.inputVal, "RoleArn": x.sm.roleArn,
			"StartTime": formatTime(x.start), "RedriveCount": intNumber(0),
		},
		"State": map[string]any{
			"Name": s.st.name, "EnteredTime": formatTime(s.entered), "RetryCount": intNumber(retryCount),
		},
		"StateMachine": map[string]any{"Id": x.sm.arn, "Name": x.sm.name},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	return c
}

// withMapItem returns a copy of the context object with $$.Map.Item set, as
// seen by a Map state's ItemSelector.
func withMapItem(c map[string]any, index int, value any) map[string]any {
	c = maps.Clone(c)
	c["Map"] = map[string]any{"Item": map[string]any{"Index": intNumber(int64(index)), "Value": value}}
	return c
}

// formatTime renders times as AWS does in the context object.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *stateRun) env(data any, ctxObj map[string]any) *evalEnv {
	return &evalEnv{data: data, ctx: ctxObj, rand: s.t.x.e.random}
}

// selectPath applies InputPath or OutputPath.
func selectPath(dp *dataPath, data any, ctxObj map[string]any) (any, error) {
	if dp == nil {
		return data, nil
	}
	if dp.discard {
		return map[string]any{}, nil
	}
	v, err := dp.path.lookup(data, ctxObj)
	if err != nil {
		return nil, runtimeErr("Invalid path '%s' : No results for path: %s", dp.path, dp.path.canonical())
	}
	return v, nil
}

// applyResultPath places result into the state's raw input per ResultPath.
func applyResultPath(dp *dataPath, raw, result any) (any, error) {
	switch {
	case dp == nil:
		return result, nil
	case dp.discard:
		return raw, nil
	}
	out, err := dp.path.set(raw, result)
	if err != nil {
		return nil, failf(StatesResultPathMatchFailure, "Unable to apply ResultPath \"%s\" to input \"%s\": %v", dp.path, encodeJSON(raw), err)
	}
	return out, nil
}

// effectiveInput applies InputPath and then Parameters.
func (s *stateRun) effectiveInput(ctxObj map[string]any) (any, error) {
	in, err := selectPath(s.st.inputPath, s.raw, ctxObj)
	if err != nil || s.st.parameters == nil {
		return in, err
	}
	if in, err = s.st.parameters.eval(s.env(in, ctxObj)); err != nil {
		return nil, err
	}
	if len(encodeJSON(in)) > maxPayload {
		// AWS documents the error name, not the cause's wording.
		se := failf(StatesDataLimitExceeded, "The state/task '%s' has an input with a size exceeding the maximum number of bytes service limit.", s.st.name)
		se.terminal = true
		return nil, se
	}
	return in, nil
}

// selectResult applies ResultSelector to a task, Parallel or Map result.
func (s *stateRun) selectResult(result any, ctxObj map[string]any) (any, error) {
	if s.st.resultSelector == nil {
		return result, nil
	}
	return s.st.resultSelector.eval(s.env(result, ctxObj))
}

// output applies ResultPath and OutputPath.
func (s *stateRun) output(result any, ctxObj map[string]any) (any, error) {
	merged, err := applyResultPath(s.st.resultPath, s.raw, result)
	if err != nil {
		return nil, err
	}
	return selectPath(s.st.outputPath, merged, ctxObj)
}

// attemptFunc performs one attempt of a Task, Parallel or Map state and
// returns its result after ResultSelector, with the context object used.
type attemptFunc func(ctx context.Context, retryCount int64) (result any, ctxObj map[string]any, err error)

// guarded runs attempt under the state's Retry and Catch policies.
//
// On an error, the first retrier whose ErrorEquals matches decides: while
// its own attempt count is below MaxAttempts the state is retried after its
// back-off; once exhausted (or if none matches) the first matching catcher
// routes to its Next with {"Error","Cause"} placed by its ResultPath.
// States.Runtime and terminal errors are neither retried nor caught, and
// neither is an oversized state output, which runState detects afterwards.
func (s *stateRun) guarded(ctx context.Context, attempt attemptFunc) (any, string, error) {
	counts := make([]int64, len(s.st.retry))
	var retries int64
	for {
		result, ctxObj, err := attempt(ctx, retries)
		if err == nil {
			out, err := s.output(result, ctxObj)
			if err == nil {
				return out, s.st.next, nil
			}
			return s.catch(err)
		}
		var se *stateError
		if !errors.As(err, &se) || se.terminal {
			return nil, "", err // cancelled, or not to be retried or caught
		}
		i := firstRetrier(s.st.retry, se.name)
		if i < 0 || counts[i] >= s.st.retry[i].maxAttempts {
			return s.catch(err)
		}
		d := s.st.retry[i].delay(counts[i], s.t.x.e.random)
		counts[i]++
		retries++
		s.t.x.transitions.Add(1) // AWS bills a retry as a transition
		s.t.x.e.log.Debug("retrying state", "execution", s.t.x.arn, "state", s.st.name, "error", se.name, "delay", d)
		if err := sleep(ctx, s.t.x.e.clock, d); err != nil {
			return nil, "", err
		}
	}
}

func firstRetrier(rs []*retrier, name string) int {
	for i, r := range rs {
		if matches(r.errorEquals, name) {
			return i
		}
	}
	return -1
}

func (s *stateRun) catch(err error) (any, string, error) {
	var se *stateError
	if !errors.As(err, &se) || se.terminal {
		return nil, "", err
	}
	for _, c := range s.st.catch {
		if !matches(c.errorEquals, se.name) {
			continue
		}
		out, perr := applyResultPath(c.resultPath, s.raw, map[string]any{"Error": se.name, "Cause": se.cause})
		if perr != nil {
			return nil, "", perr
		}
		s.t.x.e.log.Debug("error caught", "execution", s.t.x.arn, "state", s.st.name, "error", se.name, "next", c.next)
		return out, c.next, nil
	}
	return nil, "", se
}

// sleep waits d on the clock, or until ctx is done.
func sleep(ctx context.Context, clock Clock, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
