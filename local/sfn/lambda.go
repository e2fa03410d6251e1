package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"
)

// Invoker runs a Lambda function in-process. functionName is the bare name
// (no ARN, no qualifier). The payload is the JSON the function is invoked
// with and the returned JSON is its response.
//
// To fail with a specific error name and cause, return a *TaskFailure;
// other errors are reported the way aws-lambda-go does (the error name is
// the Go type name of the error). Return an error wrapping
// ErrFunctionNotFound for a function that does not exist.
//
// ctx is cancelled when the engine is closed and, if the function has a
// timeout (Options.FunctionTimeout), carries its deadline. As with real
// Lambda, a task that times out or an execution that is stopped does not
// cancel an invocation already running.
type Invoker func(ctx context.Context, functionName string, payload json.RawMessage) (json.RawMessage, error)

// Handler is one in-process Lambda function.
type Handler func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// ErrFunctionNotFound is what an Invoker returns (possibly wrapped) for an
// unknown function; the task fails with Lambda.ResourceNotFoundException.
var ErrFunctionNotFound = errors.New("function not found")

// Dispatch returns an Invoker that calls the handler registered under the
// function's name and reports ErrFunctionNotFound for any other name.
func Dispatch(handlers map[string]Handler) Invoker {
	return func(ctx context.Context, name string, payload json.RawMessage) (json.RawMessage, error) {
		h, ok := handlers[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
		}
		return h(ctx, payload)
	}
}

type invokeResult struct {
	out json.RawMessage
	err *stateError
	// cancelled is set, instead of err, when the invocation failed because
	// the engine is closing, so the task is not reported as failed.
	cancelled error
}

// invokeAsync invokes a function on its own goroutine, so a task can time
// out, be stopped or receive its callback while the handler is running.
func (e *Engine) invokeAsync(function string, payload json.RawMessage) <-chan invokeResult {
	ch := make(chan invokeResult, 1)
	e.wg.Add(1) // the calling execution goroutine is counted, so Close is not yet waiting on zero
	go func() {
		defer e.wg.Done()
		out, err := e.callFunction(function, payload)
		if err != nil && e.ctx.Err() != nil {
			ch <- invokeResult{cancelled: errClosed}
			return
		}
		ch <- invokeResult{out: out, err: err}
	}()
	return ch
}

// Lambda's limits on a synchronous invocation, in bytes. The response limit
// is the one Lambda's own error message states.
const (
	maxInvokeRequest = 6 * 1024 * 1024
	// MaxInvokeResponse is also what the local AppSync takes from a
	// direct Lambda resolver (local/appsync).
	MaxInvokeResponse = 6291556
)

// Lambda's errors for a function that ran out of time or answered too much.
const (
	LambdaRequestTooLarge        = "Lambda.RequestTooLargeException"
	FunctionResponseSizeTooLarge = "Function.ResponseSizeTooLarge"
	SandboxTimedout              = "Sandbox.Timedout"
)

// ResponseTooLargeMessage is Lambda's message with FunctionResponseSizeTooLarge.
var ResponseTooLargeMessage = fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxInvokeResponse)

// callFunction invokes the function within Lambda's limits and returns its
// response or the error AWS would report for the invocation.
func (e *Engine) callFunction(function string, payload json.RawMessage) (json.RawMessage, *stateError) {
	if len(payload) > maxInvokeRequest {
		return nil, failf(LambdaRequestTooLarge,
			"%d byte payload is too large for the RequestResponse invocation type (limit %d bytes) (Service: AWSLambda; Status Code: 413; Error Code: RequestTooLargeException)",
			len(payload), maxInvokeRequest)
	}
	var timeout time.Duration
	if e.functionTimeout != nil {
		timeout = e.functionTimeout(function)
	}
	if timeout <= 0 {
		return e.runHandler(e.ctx, function, payload)
	}
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	type result struct {
		out  json.RawMessage
		fail *stateError
	}
	done := make(chan result, 1)
	e.wg.Add(1) // the calling goroutine is counted, so Close is not yet waiting on zero
	go func() {
		defer e.wg.Done()
		out, fail := e.runHandler(ctx, function, payload)
		done <- result{out, fail}
	}()
	select {
	case r := <-done:
		// A handler that gave up because its deadline passed (or answered
		// only then) has timed out, as far as Lambda is concerned.
		if e.ctx.Err() != nil || ctx.Err() == nil {
			return r.out, r.fail
		}
	case <-ctx.Done():
		if e.ctx.Err() != nil {
			return nil, failf(LambdaUnknown, "the engine was closed")
		}
		// Lambda stops waiting for a handler that overruns; the goroutine
		// is left to finish on its own.
	}
	return nil, functionError(SandboxTimedout,
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", newUUID(), timeout.Seconds()))
}

// runHandler invokes the handler and converts its failure, including a
// panic, into the error name and cause AWS would report.
func (e *Engine) runHandler(ctx context.Context, function string, payload json.RawMessage) (out json.RawMessage, fail *stateError) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("lambda handler panicked", "function", function, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, fail = nil, &stateError{name: LambdaUnknown, cause: fmt.Sprintf("The function %s panicked: %v", function, r)}
		}
	}()
	if e.invoke == nil {
		return nil, e.notFound(function)
	}
	out, err := e.invoke(ctx, function, payload)
	if err != nil {
		return nil, e.lambdaError(function, err)
	}
	if len(out) > MaxInvokeResponse {
		return nil, functionError(FunctionResponseSizeTooLarge, ResponseTooLargeMessage)
	}
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	if !json.Valid(out) {
		return nil, &stateError{name: LambdaUnknown, cause: fmt.Sprintf("The function %s returned a response that is not valid JSON", function)}
	}
	return out, nil
}

func (e *Engine) notFound(function string) *stateError {
	return failf(LambdaResourceNotFound,
		"Function not found: arn:aws:lambda:%s:%s:function:%s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)",
		e.region, e.account, function)
}

func (e *Engine) lambdaError(function string, err error) *stateError {
	var tf *TaskFailure
	if errors.As(err, &tf) {
		return &stateError{name: tf.ErrorName, cause: tf.Cause}
	}
	if errors.Is(err, ErrFunctionNotFound) {
		return e.notFound(function)
	}
	return functionError(errorTypeName(err), err.Error())
}

// functionError is a failure reported by the Lambda runtime: Step Functions
// names it by the payload's errorType and gives the payload as the cause.
func functionError(errorType, message string) *stateError {
	cause, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
	return &stateError{name: errorType, cause: string(cause)}
}

// errorTypeName names an error as aws-lambda-go does: the type's name with
// any pointer stripped, e.g. "errorString" for errors.New.
func errorTypeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
