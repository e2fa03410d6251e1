// Package egress is the domain of the egress (airlock) service: requests,
// statuses, the approval chain, transitions and decision rules. It imports no
// AWS package; storage, object and workflow adapters depend on it.
package egress

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
)

// Error codes callers branch on. They map onto AppSync errorType values and
// Step Functions error names at the edges.
const (
	EINVALID   = "ValidationError" // bad input; never retried
	EFORBIDDEN = "ForbiddenError"  // caller may not do this
	ECONFLICT  = "ConflictError"   // lost an optimistic-concurrency race or illegal state move
	ENOTFOUND  = "NotFoundError"   // no such request or object
	ELIMIT     = "LimitError"      // a counted allowance is used up
	EINTERNAL  = "InternalError"
)

// Error is a domain error with a machine-readable code and a message that is
// safe to show to a user (no tokens, URLs or credentials).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic message for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// TransitionError reports a status change the transition table forbids.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal transition %s -> %s", e.From.orNone(), e.To.orNone())
}

// Unwrap makes an illegal transition a conflict for callers that only branch
// on codes.
func (e *TransitionError) Unwrap() error {
	return &Error{Code: ECONFLICT, Message: e.Error()}
}

// The patterns are compiled on first use, not at package init: every
// function links this package, and compiling them cost each one's cold
// start about 0.2 ms.
var (
	urlPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`https?://[^\s"'<>]+`) })
	tokenPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9+/=_-]{100,}`) })
)

// Redact removes URLs (presigned links are credentials) and long opaque
// strings (task tokens) from text bound for logs, users or e-mails.
func Redact(s string) string {
	s = urlPattern().ReplaceAllString(s, "[url]")
	return tokenPattern().ReplaceAllString(s, "[redacted]")
}
