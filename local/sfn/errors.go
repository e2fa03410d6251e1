package sfn

import (
	"errors"
	"fmt"
)

// API error codes. They are the "__type" names the Step Functions service
// returns, so the HTTP layer can pass them through and the aws-sdk-go-v2
// client decodes them into its typed errors (types.ExecutionAlreadyExists…).
const (
	CodeExecutionAlreadyExists   = "ExecutionAlreadyExists"
	CodeExecutionDoesNotExist    = "ExecutionDoesNotExist"
	CodeStateMachineDoesNotExist = "StateMachineDoesNotExist"
	CodeInvalidArn               = "InvalidArn"
	CodeInvalidDefinition        = "InvalidDefinition"
	CodeInvalidExecutionInput    = "InvalidExecutionInput"
	CodeInvalidName              = "InvalidName"
	CodeInvalidOutput            = "InvalidOutput"
	CodeInvalidToken             = "InvalidToken"
	CodeTaskDoesNotExist         = "TaskDoesNotExist"
	CodeTaskTimedOut             = "TaskTimedOut"
	CodeValidation               = "ValidationException"
	CodeUnknownOperation         = "UnknownOperationException"
	CodeInternal                 = "InternalFailure"
)

// APIError is an error of the Step Functions API, carrying the AWS error code.
type APIError struct {
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErrorf(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the AWS error code of the first *APIError in err's
// chain, or "" if there is none.
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Error names defined by the States Language. Retriers and catchers match
// them in ErrorEquals; executions fail with them.
const (
	StatesALL                    = "States.ALL"
	StatesTaskFailed             = "States.TaskFailed"
	StatesTimeout                = "States.Timeout"
	StatesHeartbeatTimeout       = "States.HeartbeatTimeout"
	StatesRuntime                = "States.Runtime"
	StatesResultPathMatchFailure = "States.ResultPathMatchFailure"
	StatesNoChoiceMatched        = "States.NoChoiceMatched"
	StatesDataLimitExceeded      = "States.DataLimitExceeded"

	// LambdaResourceNotFound is the error a Lambda task fails with when the
	// function does not exist.
	LambdaResourceNotFound = "Lambda.ResourceNotFoundException"
	// LambdaUnknown is the error a Lambda task fails with when the function
	// crashed without reporting an error (here: the handler panicked).
	LambdaUnknown = "Lambda.Unknown"
)

// TaskFailure lets an [Invoker] choose the exact error name and cause a task
// fails with, instead of the aws-lambda-go style name derived from the Go
// error type.
//
// The field is ErrorName rather than Error because a Go type cannot have both
// a field and a method called Error, and *TaskFailure must be an error.
type TaskFailure struct {
	ErrorName string
	Cause     string
}

func (f *TaskFailure) Error() string {
	if f.Cause == "" {
		return f.ErrorName
	}
	return f.ErrorName + ": " + f.Cause
}

// stateError is a failure inside a state machine: an error name as matched
// by Retry and Catch, and a human-readable cause.
type stateError struct {
	name  string
	cause string
	// terminal errors fail the execution: no retrier or catcher matches
	// them, as with an oversized state input or output in AWS.
	terminal bool
}

func (e *stateError) Error() string {
	if e.cause == "" {
		return e.name
	}
	return e.name + ": " + e.cause
}

func failf(name, format string, args ...any) *stateError {
	return &stateError{name: name, cause: fmt.Sprintf(format, args...)}
}

// runtimeErr is a States.Runtime failure. Such failures are not retriable
// and cannot be caught, not even by States.ALL.
func runtimeErr(format string, args ...any) *stateError {
	return failf(StatesRuntime, format, args...)
}
