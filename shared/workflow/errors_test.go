package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// sdkTransient is what Transient used to be: the SDK's default retryables.
// The SDK is imported here only, so the workflow itself links no AWS client.
func sdkTransient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

func httpErr(status int) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("api error"),
	}}
}

func apiErr(code string) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "UpdateItem", Err: &smithy.GenericAPIError{Code: code, Message: "m"}}
}

// TestTransientMatchesSDK checks Transient against the AWS SDK's own
// classification, over every code the SDK retries and the error shapes its
// clients return.
func TestTransientMatchesSDK(t *testing.T) {
	tests := map[string]error{
		"nil":                       nil,
		"plain":                     errors.New("boom"),
		"domain conflict":           egress.Errorf(egress.ECONFLICT, "lost a race"),
		"deadline":                  fmt.Errorf("read: %w", context.DeadlineExceeded),
		"canceled":                  &aws.RequestCanceledError{Err: context.Canceled},
		"canceled, throttled":       &aws.RequestCanceledError{Err: apiErr("ThrottlingException")},
		"conditional check":         apiErr("ConditionalCheckFailedException"),
		"access denied":             apiErr("AccessDenied"),
		"max attempts of throttled": &retry.MaxAttemptsError{Attempt: 3, Err: apiErr("SlowDown")},
		"dial":                      &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		"read reset":                &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		"read eof":                  &net.OpError{Op: "read", Net: "tcp", Err: io.ErrUnexpectedEOF},
		"url refused":               &url.Error{Op: "Get", URL: "http://localhost:1", Err: errors.New("dial tcp: connection refused")},
		"url other":                 &url.Error{Op: "Get", URL: "http://localhost:1", Err: errors.New("malformed response")},
		"url wrapping dial":         &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("no route")}},
		"dns not found":             &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true},
		"dns temporary":             &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true},
		"dns timeout":               &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true},
		"reset text":                errors.New("read tcp: connection reset by peer"),
		"closed conn text":          errors.New("use of closed network connection"),
		"send error":                &smithyhttp.RequestSendError{Err: errors.New("EOF")},
	}
	for _, status := range []int{400, 403, 404, 409, 429, 500, 501, 502, 503, 504} {
		tests[fmt.Sprintf("HTTP %d", status)] = httpErr(status)
	}
	for _, codes := range []map[string]struct{}{retry.DefaultRetryableErrorCodes, retry.DefaultThrottleErrorCodes} {
		for code := range codes {
			tests["code "+code] = apiErr(code)
		}
	}
	var transient int
	for _, name := range slices.Sorted(maps.Keys(tests)) {
		err := tests[name]
		want := sdkTransient(err)
		if got := workflow.Transient(err); got != want {
			t.Errorf("%s: Transient(%v) = %v, the SDK says %v", name, err, got, want)
		}
		if want {
			transient++
		}
	}
	// Both verdicts must be exercised, or agreeing proves little.
	if transient == 0 || transient == len(tests) {
		t.Fatalf("%d of %d cases transient; the table no longer tells the verdicts apart", transient, len(tests))
	}
}

func TestErrorName(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"validation", egress.Errorf(egress.EINVALID, "bad"), egress.EINVALID},
		{"wrapped conflict", fmt.Errorf("update: %w", egress.Errorf(egress.ECONFLICT, "race")), egress.ECONFLICT},
		{"throttled", apiErr("ThrottlingException"), workflow.ErrTransient},
		{"HTTP 503", httpErr(503), workflow.ErrTransient},
		{"HTTP 403", httpErr(403), egress.EINTERNAL},
		{"plain", errors.New("boom"), egress.EINTERNAL},
	}
	for _, tt := range tests {
		if got := workflow.ErrorName(tt.err); got != tt.want {
			t.Errorf("%s: ErrorName = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestTaskErrorIsBounded: whatever a handler returns, the error Step
// Functions receives stays far below its 256 KiB data limit, keeps its
// name, and is valid UTF-8.
func TestTaskErrorIsBounded(t *testing.T) {
	long := egress.Errorf(egress.ENOTFOUND, "%s", strings.Repeat("é missing object; ", 20000))
	var ie messages.InvokeResponse_Error
	if !errors.As(workflow.TaskError(long), &ie) {
		t.Fatal("not a Lambda error")
	}
	if ie.Type != egress.ENOTFOUND || len(ie.Message) > 9000 || !utf8.ValidString(ie.Message) || !strings.HasSuffix(ie.Message, "more bytes)") {
		t.Fatalf("error %s of %d bytes ends %q", ie.Type, len(ie.Message), ie.Message[max(0, len(ie.Message)-30):])
	}
	short := errors.New("short")
	if !errors.As(workflow.TaskError(short), &ie) || ie.Message != "short" {
		t.Fatalf("a short message changed: %q", ie.Message)
	}
}
