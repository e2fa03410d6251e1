package workflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/tre-egress/egress/shared/egress"
)

// ErrTransient is the Step Functions error name the definition retries:
// throttling, 5xx and connection errors. Every other error name goes
// straight to the failure path, so a validation error is never retried.
const ErrTransient = "TransientError"

// maxErrorMessage bounds a task error's message. Step Functions carries it
// as the error's cause into the state data (Catch's ResultPath), which may
// not pass 256 KiB; errors that list items are bounded where they are made
// (egress.JoinBounded), so this is the backstop for any other.
const maxErrorMessage = 8 << 10

// TaskError converts a handler error into the error the Lambda runtime
// reports, so Step Functions sees a stable error name (Retry and Catch match
// on it) instead of a Go type name, and a message of bounded size.
func TaskError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) > maxErrorMessage {
		msg = fmt.Sprintf("%s… (%d more bytes)", strings.ToValidUTF8(msg[:maxErrorMessage], ""), len(msg)-maxErrorMessage)
	}
	return messages.InvokeResponse_Error{Type: ErrorName(err), Message: msg}
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

// Transient reports whether err is worth retrying: what the AWS SDK's
// default retryer would retry (throttling, 5xx, connection resets,
// timeouts). It reads the methods the SDK's errors expose instead of
// importing the SDK, so the workflow links no AWS client;
// TestTransientMatchesSDK holds it to the SDK's own rules.
func Transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for _, check := range retryables {
		if v := check(err); v != unknown {
			return v == yes
		}
	}
	return false
}

// ternary is a check's verdict; the first check with one decides.
type ternary int8

const (
	unknown ternary = iota
	yes
	no
)

func verdict(b bool) ternary {
	if b {
		return yes
	}
	return no
}

// retryables mirror the SDK's retry.DefaultRetryables, in its order.
var retryables = []func(error) ternary{
	func(err error) ternary { // a cancelled request is never retried
		var v interface{ CanceledError() bool }
		if errors.As(err, &v) && v.CanceledError() {
			return no
		}
		return unknown
	},
	func(err error) ternary { // the error says itself
		var v interface{ RetryableError() bool }
		if !errors.As(err, &v) {
			return unknown
		}
		return verdict(v.RetryableError())
	},
	connectionError,
	func(err error) ternary {
		var v interface{ HTTPStatusCode() int }
		if errors.As(err, &v) && retryableStatus[v.HTTPStatusCode()] {
			return yes
		}
		return unknown
	},
	func(err error) ternary {
		var v interface{ ErrorCode() string }
		if errors.As(err, &v) && retryableCodes[v.ErrorCode()] {
			return yes
		}
		return unknown
	},
}

// retryableStatus are the SDK's DefaultRetryableHTTPStatusCodes.
var retryableStatus = map[int]bool{500: true, 502: true, 503: true, 504: true}

// retryableCodes are the SDK's DefaultRetryableErrorCodes and
// DefaultThrottleErrorCodes.
var retryableCodes = map[string]bool{
	"RequestTimeout": true, "RequestTimeoutException": true,
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true,
	"RequestThrottled": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"EC2ThrottledException": true,
}

// connectionError is the SDK's RetryableConnectionError: connection
// refused or reset, dial, temporary and timeout errors.
func connectionError(err error) ternary {
	if err == nil {
		return unknown
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return no // NXDOMAIN will not go away
		}
		if dnsErr.Temporary() {
			return yes
		}
	}
	var conErr interface{ ConnectionError() bool }
	var tempErr interface{ Temporary() bool }
	var timeoutErr interface{ Timeout() bool }
	var urlErr *url.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &conErr) && conErr.ConnectionError():
		return yes
	case strings.Contains(err.Error(), "use of closed network connection"),
		strings.Contains(err.Error(), "connection reset"):
		return yes
	case errors.As(err, &urlErr):
		// A refused connection may be a service not listening yet.
		if strings.Contains(urlErr.Error(), "connection refused") {
			return yes
		}
		return connectionError(errors.Unwrap(urlErr))
	case errors.As(err, &opErr):
		if strings.EqualFold(opErr.Op, "dial") || opErr.Temporary() {
			return yes
		}
		return connectionError(errors.Unwrap(opErr))
	case errors.As(err, &tempErr) && tempErr.Temporary():
		return yes
	case errors.As(err, &timeoutErr) && timeoutErr.Timeout():
		return yes
	}
	return unknown
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
