package workflow

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/tre-egress/egress/shared/egress"
)

// ErrTransient is the Step Functions error name the definition retries:
// throttling, 5xx and connection errors. Every other error name goes
// straight to the failure path, so a validation error is never retried.
const ErrTransient = "TransientError"

// TaskError converts a handler error into the error the Lambda runtime
// reports, so Step Functions sees a stable error name (Retry and Catch match
// on it) instead of a Go type name.
func TaskError(err error) error {
	if err == nil {
		return nil
	}
	return messages.InvokeResponse_Error{Type: ErrorName(err), Message: err.Error()}
}

// ErrorName classifies err: a domain code (ValidationError, ConflictError,
// NotFoundError, ...) when there is one, TransientError for errors worth
// retrying, InternalError otherwise.
func ErrorName(err error) string {
	if code := egress.ErrorCode(err); code != egress.EINTERNAL {
		return code
	}
	if Transient(err) {
		return ErrTransient
	}
	return egress.EINTERNAL
}

// Transient reports whether err is worth retrying: what the AWS SDK itself
// would retry (throttling, 5xx, connection resets, timeouts).
func Transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// Task wraps a task handler so its errors reach Step Functions under the
// names the definition's Retry and Catch match on.
func Task[In, Out any](f func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := f(ctx, in)
		return out, TaskError(err)
	}
}

// Step is Task for handlers without output.
func Step[In any](f func(context.Context, In) error) func(context.Context, In) error {
	return func(ctx context.Context, in In) error { return TaskError(f(ctx, in)) }
}
