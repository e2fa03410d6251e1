package egress

import "strings"

// FailureCause is the category of what ended a request by failure: a small
// fixed set, so a metric per cause stays cheap and an operator can alarm on
// one. Never free text, ids or paths; the request's failure_cause has the
// details.
type FailureCause string

// The failure causes.
const (
	CauseTimeout   FailureCause = "Timeout"   // a stage, a task or the whole execution timed out
	CauseAborted   FailureCause = "Aborted"   // the execution was stopped (console, API)
	CauseInvalid   FailureCause = "Invalid"   // bad input: a message, an object list, a manifest
	CauseConflict  FailureCause = "Conflict"  // the SWB store held by another request, a state that moved on
	CauseNotFound  FailureCause = "NotFound"  // a request, object or store that is missing
	CauseForbidden FailureCause = "Forbidden" // refused by a permission
	CauseLimit     FailureCause = "Limit"     // an allowance used up
	CauseTransient FailureCause = "Transient" // throttling, 5xx or connection errors past the retries
	CauseInternal  FailureCause = "Internal"  // anything else: a bug, a crash, out of memory
)

// FailureCauses lists every cause, for the dashboard and tests.
func FailureCauses() []FailureCause {
	return []FailureCause{CauseTimeout, CauseAborted, CauseInvalid, CauseConflict, CauseNotFound,
		CauseForbidden, CauseLimit, CauseTransient, CauseInternal}
}

// CauseOf categorises an error name: a Step Functions error name
// (States.Timeout, Lambda.ServiceException, ...), a task error name
// (ValidationError, TransientError, ...) or what ExecutionEnded names a
// stop (ExecutionAborted).
func CauseOf(errName string) FailureCause {
	switch errName {
	case "States.Timeout", "States.HeartbeatTimeout", "Sandbox.Timedout", "ExecutionTimedOut":
		return CauseTimeout
	case "ExecutionAborted":
		return CauseAborted
	case EINVALID:
		return CauseInvalid
	case ECONFLICT:
		return CauseConflict
	case ENOTFOUND:
		return CauseNotFound
	case EFORBIDDEN:
		return CauseForbidden
	case ELIMIT:
		return CauseLimit
	case "TransientError", "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException":
		return CauseTransient
	}
	if strings.HasSuffix(errName, "ThrottlingException") || strings.HasSuffix(errName, "TooManyRequestsException") {
		return CauseTransient
	}
	return CauseInternal
}
