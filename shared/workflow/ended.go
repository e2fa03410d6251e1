package workflow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
)

// The errors of the definition's Fail states.
const (
	// ErrRequestFailed ends an execution whose failure path completed:
	// HandleFailure cleaned up and NotifyAdmin told the admin.
	ErrRequestFailed = "EgressRequestFailed"
	// ErrCleanupFailed ends an execution whose HandleFailure gave up.
	ErrCleanupFailed = "EgressCleanupFailed"
)

// Execution statuses ExecutionEnded acts on: the ends an execution can
// reach without passing through HandleFailure.
const (
	executionFailed   = "FAILED"
	executionAborted  = "ABORTED"
	executionTimedOut = "TIMED_OUT"
)

// ExecutionDetail is the part of an EventBridge "Step Functions Execution
// Status Change" event's detail ExecutionEnded reads.
type ExecutionDetail struct {
	ExecutionArn    string  `json:"executionArn"`
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"` // the request id
	Status          string  `json:"status"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// ExecutionEnded is the target of the EventBridge rule on the workflow's
// executions that end FAILED, ABORTED (stopped from the console or the
// API) or TIMED_OUT (the definition's TimeoutSeconds): what no Catch in the
// definition sees, such as States.DataLimitExceeded, a stop, or
// HandleFailure giving up. It runs HandleFailure's clean-up for the
// request the execution was named after (FAILED or EXPIRED, SWB store
// unlocked, staged copies and any unrecorded release deleted; a recorded
// release is kept) and tells the TRE admin.
//
// An execution that ended through the definition's own failure path
// (ErrRequestFailed) was cleaned up and reported already, and a request
// that is already cleaned up is left as it is, so duplicate events change
// nothing. Errors are returned: Lambda retries the event twice within
// minutes (EventBridge invokes asynchronously), then it waits in the
// dead-letter queue, whose alarm tells the admin, to be invoked again once
// the cause is fixed (infra/README.md, "Ended executions").
func (h *Handlers) ExecutionEnded(ctx context.Context, ev events.CloudWatchEvent) error {
	var d ExecutionDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return egress.Errorf(egress.EINVALID, "execution status change event %s: detail: %v", ev.ID, err)
	}
	log := h.log(ctx, d.Name).With("execution_arn", d.ExecutionArn, "execution_status", d.Status)
	errName, cause := deref(d.Error), deref(d.Cause)
	switch d.Status {
	case executionFailed, executionAborted, executionTimedOut:
	default:
		log.Info("execution status change ignored")
		return nil
	}
	if d.Status == executionFailed && errName == ErrRequestFailed {
		log.Info("execution ended through the failure path; nothing left to do")
		return nil
	}
	if err := (RequestInput{RequestID: d.Name}).validate(); err != nil {
		return err
	}
	if errName == "" {
		errName = map[string]string{executionFailed: "ExecutionFailed", executionAborted: "ExecutionAborted", executionTimedOut: "States.Timeout"}[d.Status]
	}
	r, changed, err := h.cleanUp(ctx, d.Name, errName, cause)
	switch {
	case egress.ErrorCode(err) == egress.ENOTFOUND && r.ID == "":
		log.Warn("execution of no known request ended", "error", err)
		return nil
	case err != nil:
		return fmt.Errorf("clean up after execution %s ended %s: %w", d.ExecutionArn, d.Status, err)
	}
	log.Warn("execution ended outside the failure path; cleaned up", "status", r.Status, "changed", changed)
	if !changed && errName != ErrCleanupFailed {
		return nil // a duplicate event, or an end after the failure path ran
	}
	if changed && !r.Released() {
		h.tellRequester(ctx, r, requesterEnded(r, r.Status))
	}
	h.tellAdmin(ctx, r.ID, fmt.Sprintf("Egress request %s: workflow execution %s", r.ID, d.Status),
		fmt.Sprintf("The workflow execution of egress request %s (%s, workspace %s, requested by %s) ended %s without completing its own failure handling. The request is %s.\n\nCause: %s\n\n%s\n%s\n",
			r.ID, r.StoreName, r.WorkspaceID, r.RequestedByEmail, d.Status, r.Status, r.FailureCause, failureOutcome(r), h.link(r)))
	return nil
}

// failureOutcome tells the admin what the failure path did with a request.
func failureOutcome(r egress.Request) string {
	if r.Released() {
		return "The request had been released: the zip was kept, so download links stay valid, and the request keeps its status. " +
			"Please check that the workspace's egress store is PROCESSED in SWB (the cause says whether the workflow could mark it)."
	}
	return "Staged copies and any partial release were deleted and the workspace's egress store was unlocked."
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
