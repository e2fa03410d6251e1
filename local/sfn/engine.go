package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Options configure an Engine. Every field is optional.
type Options struct {
	// Clock drives all timing; RealClock if nil.
	Clock Clock
	// Invoke runs Lambda functions; without it every function is missing.
	Invoke Invoker
	// Rand returns numbers in [0, 1) for FULL retry jitter and
	// States.MathRandom; math/rand/v2 if nil. Calls are serialised, so it
	// need not be safe for concurrent use.
	Rand func() float64
	// Region and Account appear in ARNs; us-east-1 and 123456789012 if empty.
	Region, Account string
	// Logger receives execution lifecycle logs; discarded if nil.
	Logger *slog.Logger

	// OnStatusChange receives every execution status change as the
	// EventBridge event AWS sends ([StatusChangeEvent] as JSON): RUNNING
	// when an execution starts, then exactly one of SUCCEEDED, FAILED,
	// TIMED_OUT or ABORTED. Each call runs on its own goroutine, outside the
	// engine's locks, so it never delays an execution and may call the
	// engine; an execution's events arrive in order. ctx is cancelled when
	// the engine is closed, and Close waits for calls in progress.
	OnStatusChange func(ctx context.Context, event json.RawMessage)

	// FunctionTimeout returns the configured timeout of a Lambda function,
	// by bare name; zero means none. As in Lambda it is wall-clock time, not
	// the Clock's: the invocation's context carries the deadline, and if the
	// handler has not returned by then the invocation fails with
	// Sandbox.Timedout whether or not the handler heeds its context.
	FunctionTimeout func(functionName string) time.Duration
}

// Engine stores state machines and runs their executions. It is safe for
// concurrent use. Close it to stop running executions.
type Engine struct {
	clock           Clock
	invoke          Invoker
	region, account string
	log             *slog.Logger
	onStatusChange  func(context.Context, json.RawMessage)
	functionTimeout func(string) time.Duration

	randMu sync.Mutex
	rand   func() float64

	// ctx is cancelled by Close; every execution and invocation derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
	order      []*execution             // in start order, for listing
	tasks      map[string]*pendingTask  // tokens awaiting a callback
	retired    map[string]retiredTask   // tokens no longer awaiting one, and why
	taskSeq    uint64
	// changed is closed and replaced whenever pending tasks or execution
	// statuses change, waking WaitForTask.
	changed chan struct{}
}

type stateMachine struct {
	arn, name  string
	definition string
	roleArn    string
	m          *machine
	created    time.Time
}

// New returns an engine configured by opts.
func New(opts Options) *Engine {
	e := &Engine{
		clock:           opts.Clock,
		invoke:          opts.Invoke,
		region:          opts.Region,
		account:         opts.Account,
		log:             opts.Logger,
		rand:            opts.Rand,
		onStatusChange:  opts.OnStatusChange,
		functionTimeout: opts.FunctionTimeout,
		machines:        map[string]*stateMachine{},
		executions:      map[string]*execution{},
		tasks:           map[string]*pendingTask{},
		retired:         map[string]retiredTask{},
		changed:         make(chan struct{}),
	}
	if e.clock == nil {
		e.clock = RealClock{}
	}
	if e.rand == nil {
		e.rand = rand.Float64
	}
	if e.region == "" {
		e.region = "us-east-1"
	}
	if e.account == "" {
		e.account = "123456789012"
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// random returns the next number from the configured source.
func (e *Engine) random() float64 {
	e.randMu.Lock()
	defer e.randMu.Unlock()
	return e.rand()
}

// notifyLocked wakes WaitForTask callers. e.mu is held.
func (e *Engine) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// Close cancels running executions (they end ABORTED), cancels the contexts
// of in-flight Lambda invocations and waits for every goroutine the engine
// started. Invokers must honour context cancellation for Close to return.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

var errClosed = errors.New("sfn: engine closed")

func (e *Engine) stateMachineArn(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", e.region, e.account, name)
}

func (e *Engine) executionArn(machine, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", e.region, e.account, machine, name)
}

// CreateStateMachine validates definition and stores it under name,
// returning its ARN. Unlike AWS, which rejects a different definition under
// an existing name, it replaces the stored definition: local tooling
// redeploys by calling it again. Running executions keep the definition they
// started with.
func (e *Engine) CreateStateMachine(name string, definition []byte) (string, error) {
	return e.createStateMachine(name, definition, "")
}

func (e *Engine) createStateMachine(name string, definition []byte, roleArn string) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	m, err := compile(definition)
	if err != nil {
		return "", &APIError{Code: CodeInvalidDefinition, Message: err.Error()}
	}
	if roleArn == "" {
		roleArn = fmt.Sprintf("arn:aws:iam::%s:role/StepFunctionsLocal", e.account)
	}
	sm := &stateMachine{
		arn: e.stateMachineArn(name), name: name, definition: string(definition),
		roleArn: roleArn, m: m, created: e.clock.Now(),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.machines[sm.arn]; ok {
		sm.created = prev.created
	}
	e.machines[sm.arn] = sm
	e.log.Info("state machine stored", "arn", sm.arn)
	return sm.arn, nil
}

// validName applies AWS's rules for state machine and execution names:
// 1 to 80 characters, none of them whitespace, brackets, wildcards, special
// punctuation or control characters.
func validName(name string) error {
	if n := len([]rune(name)); n < 1 || n > 80 {
		return apiErrorf(CodeInvalidName, "Invalid Name: '%s' (must be 1 to 80 characters long)", name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) ||
			r <= 0x1f || (r >= 0x7f && r <= 0x9f) {
			return apiErrorf(CodeInvalidName, "Invalid Name: '%s' (character %q is not allowed)", name, r)
		}
	}
	return nil
}

const maxPayload = 256 * 1024

// StartExecution starts an execution of the state machine. An empty name is
// replaced by a random UUID and an empty input by "{}".
//
// As in AWS, starting a name that already exists returns the existing
// execution if it is still RUNNING with identical input (so retried calls
// are idempotent) and fails with ExecutionAlreadyExists otherwise. The
// execution does not inherit ctx: it runs until it finishes, is stopped or
// the engine is closed.
func (e *Engine) StartExecution(ctx context.Context, stateMachineArn, name, input string) (string, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, err
	}
	if name == "" {
		name = newUUID()
	}
	if err := validName(name); err != nil {
		return "", time.Time{}, err
	}
	if input == "" {
		input = "{}"
	}
	if len(input) > maxPayload {
		return "", time.Time{}, apiErrorf(CodeInvalidExecutionInput, "input is %d bytes; the limit is %d", len(input), maxPayload)
	}
	in, err := decodeJSON([]byte(input))
	if err != nil {
		return "", time.Time{}, apiErrorf(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: %v", err)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return "", time.Time{}, errClosed
	}
	sm, err := e.machineLocked(stateMachineArn)
	if err != nil {
		return "", time.Time{}, err
	}
	arn := e.executionArn(sm.name, name)
	if x, ok := e.executions[arn]; ok {
		d := x.describe()
		if d.Status == StatusRunning && d.Input == input {
			return arn, d.StartDate, nil
		}
		return "", time.Time{}, apiErrorf(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	}
	x := newExecution(e, sm, arn, name, input, in)
	e.executions[arn] = x
	e.order = append(e.order, x)
	e.wg.Add(1)
	x.mu.Lock()
	x.notifyStatusLocked(x.describeLocked())
	x.mu.Unlock()
	go x.run()
	e.notifyLocked()
	return arn, x.start, nil
}

func (e *Engine) machineLocked(arn string) (*stateMachine, error) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
		return nil, apiErrorf(CodeInvalidArn, "Invalid Arn: '%s'", arn)
	}
	sm, ok := e.machines[arn]
	if !ok {
		return nil, apiErrorf(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	return sm, nil
}

func (e *Engine) execution(arn string) (*execution, error) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":execution:") {
		return nil, apiErrorf(CodeInvalidArn, "Invalid Arn: '%s'", arn)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.executions[arn]
	if !ok {
		return nil, apiErrorf(CodeExecutionDoesNotExist, "Execution Does Not Exist: '%s'", arn)
	}
	return x, nil
}

// ExecutionStatus is the status of an execution, as in the AWS API.
type ExecutionStatus string

// Execution statuses.
const (
	StatusRunning   ExecutionStatus = "RUNNING"
	StatusSucceeded ExecutionStatus = "SUCCEEDED"
	StatusFailed    ExecutionStatus = "FAILED"
	StatusTimedOut  ExecutionStatus = "TIMED_OUT"
	StatusAborted   ExecutionStatus = "ABORTED"
)

// ExecutionDescription is what DescribeExecution reports.
type ExecutionDescription struct {
	ExecutionArn    string
	StateMachineArn string
	Name            string
	Status          ExecutionStatus
	Input           string
	Output          string // set only when Status is SUCCEEDED
	Error, Cause    string // set when FAILED, TIMED_OUT or ABORTED (if given)
	StartDate       time.Time
	StopDate        time.Time // zero while RUNNING
}

// Describe returns the execution's current status.
func (e *Engine) Describe(executionArn string) (ExecutionDescription, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return ExecutionDescription{}, err
	}
	return x.describe(), nil
}

// StateTransitions is how many state transitions the execution has made
// so far, as Standard Workflows bill them: every state entered, inner
// states of Map and Parallel included, and every retry.
func (e *Engine) StateTransitions(executionArn string) (int64, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return 0, err
	}
	return x.transitions.Load(), nil
}

// History returns a copy of the execution's events, oldest first.
func (e *Engine) History(executionArn string) ([]HistoryEvent, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.events), nil
}

// ListExecutions returns the executions of a state machine, newest first,
// optionally only those with the given status ("" for all).
func (e *Engine) ListExecutions(stateMachineArn string, status ExecutionStatus) ([]ExecutionDescription, error) {
	e.mu.Lock()
	if _, err := e.machineLocked(stateMachineArn); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	xs := slices.Clone(e.order)
	e.mu.Unlock()
	var out []ExecutionDescription
	for _, x := range slices.Backward(xs) {
		if x.sm.arn != stateMachineArn {
			continue
		}
		if d := x.describe(); status == "" || d.Status == status {
			out = append(out, d)
		}
	}
	return out, nil
}

// StopExecution aborts a running execution with the given error and cause
// (both optional). Stopping an execution that has already finished changes
// nothing.
func (e *Engine) StopExecution(executionArn, errorName, cause string) error {
	x, err := e.execution(executionArn)
	if err != nil {
		return err
	}
	x.finish(StatusAborted, nil, errorName, cause)
	return nil
}

// Wait blocks until the execution has finished, or ctx is done, and returns
// its final description.
func (e *Engine) Wait(ctx context.Context, executionArn string) (ExecutionDescription, error) {
	x, err := e.execution(executionArn)
	if err != nil {
		return ExecutionDescription{}, err
	}
	select {
	case <-x.done:
		return x.describe(), nil
	case <-ctx.Done():
		return x.describe(), fmt.Errorf("waiting for %s: %w", executionArn, context.Cause(ctx))
	}
}
