package sfn

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"
)

// pendingTask is a callback (.waitForTaskToken) task awaiting
// SendTaskSuccess or SendTaskFailure.
type pendingTask struct {
	seq       uint64
	token     string
	x         *execution
	stateName string
	result    chan callback // buffered: receives exactly one callback
	heartbeat Timer         // nil without HeartbeatSeconds
	interval  time.Duration // the heartbeat interval
	// submitted is set once the function invocation has returned: from then
	// on the task is only waiting for its callback, and PendingTokens and
	// WaitForTask report it. (A callback may arrive earlier, from inside the
	// handler; it is accepted all the same.)
	submitted bool
}

type callback struct {
	output  any
	raw     string
	failure *stateError
}

// tokenEnd records why a token stopped being pending, which decides the
// error a late SendTask* call gets.
type tokenEnd int

const (
	tokenCompleted tokenEnd = iota + 1
	tokenTimedOut
)

// retiredTask is a token no longer awaiting a callback: why, and the state
// machine that issued it, which IAM still authorises late callbacks against.
type retiredTask struct {
	end     tokenEnd
	machine string
}

// PendingTask is a callback task waiting for its token, for tests and local
// tooling that play the part of the external system.
type PendingTask struct {
	ExecutionArn string
	StateName    string
	Token        string
}

func newTaskToken() string {
	var b [48]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// registerTask makes the token pending; heartbeat may be zero.
func (e *Engine) registerTask(x *execution, stateName, token string, heartbeat time.Duration) *pendingTask {
	pt := &pendingTask{token: token, x: x, stateName: stateName, result: make(chan callback, 1), interval: heartbeat}
	if heartbeat > 0 {
		pt.heartbeat = e.clock.NewTimer(heartbeat)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.taskSeq++
	pt.seq = e.taskSeq
	e.tasks[token] = pt
	e.notifyLocked()
	return pt
}

// markSubmitted records that the task's invocation has returned.
func (e *Engine) markSubmitted(pt *pendingTask) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pt.submitted = true
	e.notifyLocked()
}

// settle retires a pending token. It reports false if the token was no
// longer pending, i.e. a callback (or another outcome) claimed it first.
func (e *Engine) settle(token string, end tokenEnd) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settleLocked(token, end) != nil
}

func (e *Engine) settleLocked(token string, end tokenEnd) *pendingTask {
	pt, ok := e.tasks[token]
	if !ok {
		return nil
	}
	delete(e.tasks, token)
	e.retired[token] = retiredTask{end: end, machine: pt.x.sm.arn}
	if pt.heartbeat != nil {
		pt.heartbeat.Stop()
	}
	e.notifyLocked()
	return pt
}

// retireExecutionTasks retires the tokens of a finished execution, so late
// callbacks get TaskDoesNotExist.
func (e *Engine) retireExecutionTasks(x *execution) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for token, pt := range e.tasks {
		if pt.x == x {
			e.settleLocked(token, tokenCompleted)
		}
	}
	e.notifyLocked()
}

// claim takes a pending token for a callback, or explains why it cannot.
// e.mu is held.
func (e *Engine) claimLocked(token string) (*pendingTask, error) {
	if token == "" {
		return nil, apiErrorf(CodeInvalidToken, "Invalid Token: the task token is empty")
	}
	if _, pending := e.tasks[token]; !pending {
		if e.retired[token].end == tokenTimedOut {
			return nil, apiErrorf(CodeTaskTimedOut, "Task Timed Out: 'Provided task does not exist anymore'")
		}
		return nil, apiErrorf(CodeTaskDoesNotExist, "Task Does Not Exist: 'Provided task does not exist'")
	}
	return e.settleLocked(token, tokenCompleted), nil
}

// TaskTokenStateMachine returns the ARN of the state machine whose
// execution issued token, pending or not; ok is false for a token this
// engine never issued. Step Functions authorises SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat against that state machine, so the
// local IAM checks need it (iam.Authorizer.TaskToken).
func (e *Engine) TaskTokenStateMachine(token string) (arn string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pt, pending := e.tasks[token]; pending {
		return pt.x.sm.arn, true
	}
	if r, retired := e.retired[token]; retired {
		return r.machine, true
	}
	return "", false
}

// SendTaskSuccess completes the callback task holding token with output,
// which must be valid JSON.
func (e *Engine) SendTaskSuccess(token, output string) error {
	v, err := decodeJSON([]byte(output))
	if err != nil {
		return apiErrorf(CodeInvalidOutput, "Invalid Output: %v", err)
	}
	if len(output) > maxPayload {
		return apiErrorf(CodeInvalidOutput, "Invalid Output: %d bytes exceeds the limit of %d", len(output), maxPayload)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pt, err := e.claimLocked(token)
	if err != nil {
		return err
	}
	pt.result <- callback{output: v, raw: output}
	return nil
}

// SendTaskFailure fails the callback task holding token.
func (e *Engine) SendTaskFailure(token, errorName, cause string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	pt, err := e.claimLocked(token)
	if err != nil {
		return err
	}
	pt.result <- callback{failure: &stateError{name: errorName, cause: cause}}
	return nil
}

// SendTaskHeartbeat restarts the heartbeat timer of the callback task
// holding token. The restart happens before it returns, so a test can
// advance a FakeClock straight after.
func (e *Engine) SendTaskHeartbeat(token string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	pt, ok := e.tasks[token]
	if !ok {
		_, err := e.claimLocked(token)
		return err
	}
	if pt.heartbeat != nil {
		pt.heartbeat.Reset(pt.interval)
	}
	return nil
}

// PendingTokens lists the callback tasks of an execution that are waiting
// for their token, oldest first: those whose function invocation has
// returned and that have not yet completed. It is meant for tests and local
// tooling.
func (e *Engine) PendingTokens(executionArn string) []PendingTask {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pendingLocked(executionArn, "")
}

func (e *Engine) pendingLocked(executionArn, stateName string) []PendingTask {
	var pts []*pendingTask
	for _, pt := range e.tasks {
		if pt.submitted && pt.x.arn == executionArn && (stateName == "" || pt.stateName == stateName) {
			pts = append(pts, pt)
		}
	}
	slices.SortFunc(pts, func(a, b *pendingTask) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]PendingTask, len(pts))
	for i, pt := range pts {
		out[i] = PendingTask{ExecutionArn: executionArn, StateName: pt.stateName, Token: pt.token}
	}
	return out
}

// ErrExecutionFinished is returned by WaitForTask when the execution ends
// before a matching task is pending.
var ErrExecutionFinished = errors.New("execution finished")

// WaitForTask blocks until the execution has a callback task pending in the
// named state (any state if stateName is empty), as PendingTokens reports
// them, and returns the oldest one.
// It is meant for tests and local tooling; it never polls.
func (e *Engine) WaitForTask(ctx context.Context, executionArn, stateName string) (PendingTask, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return PendingTask{}, err
	}
	for {
		e.mu.Lock()
		found := e.pendingLocked(executionArn, stateName)
		ch := e.changed
		e.mu.Unlock()
		if len(found) > 0 {
			return found[0], nil
		}
		select {
		case <-ch:
		case <-x.done:
			return PendingTask{}, fmt.Errorf("waiting for a task in %q: %w", stateName, ErrExecutionFinished)
		case <-ctx.Done():
			return PendingTask{}, fmt.Errorf("waiting for a task in %q: %w", stateName, context.Cause(ctx))
		}
	}
}
