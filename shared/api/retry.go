package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

// ExecutionReader reads a workflow execution's status
// (stepfunctions.Workflow): RUNNING, SUCCEEDED, FAILED, TIMED_OUT or
// ABORTED; one that does not exist is ENOTFOUND.
type ExecutionReader interface {
	ExecutionStatus(ctx context.Context, arn string) (string, error)
}

// SWBStore unlocks SWB's egress store of a request retryRequest settles
// (swbstore.Table).
type SWBStore interface {
	SetStatus(ctx context.Context, storeID, requestID string, to swb.StoreStatus) error
}

// PrefixDeleter deletes every version and unfinished upload under a
// prefix (objects.Client).
type PrefixDeleter interface {
	DeletePrefix(ctx context.Context, bucket, prefix string) (int, error)
}

// causeRetried starts the failure cause of a request retryRequest settled
// because its execution had ended without settling it.
const causeRetried = "settled by retryRequest: the workflow execution "

// RetryRequest is a TRE admin's retry of a request stuck after an outage
// (check-stuck finds them):
//
//   - a decision recorded whose delivery to the workflow failed (the
//     stage's token kept, ResumeToken) is delivered again, as the reviewer
//     sending it again would (resume);
//   - a request in flight (a stage awaits, or the approval is not released
//     yet) whose workflow execution is no longer running is settled as
//     HandleFailure would: FAILED with the cause, SWB's egress store
//     unlocked (PENDING), staged copies and any partial release deleted,
//     the requester and the TRE admin e-mailed (the notices topic's
//     "failed"). Restarting it is not safe: its execution's name is the
//     request id, which Step Functions keeps for 90 days, and execution-ended
//     relies on it. A request this settled whose clean-up failed has it
//     done again;
//   - anything else (a running execution, a final request) is a
//     ConflictError naming the status.
//
// Each retry is recorded in the audit trail (RETRY, by the admin).
func (s *Service) RetryRequest(ctx context.Context, who egress.Identity, id string) (egress.Request, error) {
	if !s.isAdmin(who) {
		return egress.Request{}, egress.Errorf(egress.EFORBIDDEN, "only TRE admins (group(s) %v) may retry a request", s.adminGroups())
	}
	if id == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	log := s.log(ctx, id)
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return egress.Request{}, err
	}
	chain, err := s.chainFor(r)
	if err != nil {
		return egress.Request{}, err
	}
	switch {
	case r.ResumeToken != "" && len(r.Reviews) > 0:
		rv := r.Reviews[len(r.Reviews)-1]
		if err := s.recordRetry(ctx, who, r, "deliver the recorded "+string(rv.Decision)+" decision of the "+rv.Stage+" stage again"); err != nil {
			return egress.Request{}, err
		}
		log.Info("retry: delivering a recorded decision again", "actor", actorOf(who), "stage", rv.Stage)
		return s.resume(ctx, r, rv.StageIndex, rv.Stage)
	case r.Status == egress.StatusFailed && strings.HasPrefix(r.FailureCause, causeRetried):
		// Settled by an earlier retry: its clean-up again, nothing else.
		if err := s.settleCleanUp(ctx, r); err != nil {
			return r, err
		}
		return r, nil
	case !chain.InFlight(r):
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is %s: it is not stuck, there is nothing to retry", r.ID, r.Status)
	}
	if s.Executions == nil || s.SWBStore == nil || s.Deleter == nil {
		return egress.Request{}, fmt.Errorf("retry %s: the service cannot read executions or clean up", r.ID)
	}
	arn := r.ExecutionArn
	if arn == "" {
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and records no workflow execution to check", r.ID, r.Status)
	}
	status, err := s.Executions.ExecutionStatus(ctx, arn)
	switch {
	case egress.ErrorCode(err) == egress.ENOTFOUND:
		status = "gone"
	case err != nil:
		return egress.Request{}, fmt.Errorf("retry %s: %w", r.ID, err)
	case status == "RUNNING":
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and its workflow execution is running: it is not stuck, there is nothing to retry", r.ID, r.Status)
	}
	if err := s.recordRetry(ctx, who, r, "the workflow execution is "+status+": settle the request as failed"); err != nil {
		return egress.Request{}, err
	}
	cause := causeRetried + status + " without settling the request (asked by " + actorOf(who) + ")"
	next, ev, err := egress.Transition(r, egress.StatusFailed, cause, s.now())
	if err != nil {
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and cannot be settled as FAILED: %v", r.ID, r.Status, err)
	}
	next.UpdatedBy, ev.Actor = actorOf(who), actorOf(who)
	stored, err := s.Requests.Update(ctx, next, ev)
	if err != nil {
		if egress.ErrorCode(err) == egress.ECONFLICT {
			return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s changed while it was retried; reload it and retry again if it is still stuck", r.ID)
		}
		return egress.Request{}, err
	}
	log.Warn("retry: request settled as failed", "actor", actorOf(who), "execution_status", status)
	cleanErr := s.settleCleanUp(ctx, stored)
	s.publishNotice(ctx, stored.ID, "failed")
	return stored, cleanErr
}

// recordRetry adds the admin's RETRY event to r's audit trail.
func (s *Service) recordRetry(ctx context.Context, who egress.Identity, r egress.Request, what string) error {
	ev := egress.Event{RequestID: r.ID, At: s.now(), Kind: egress.EventRetry, Actor: actorOf(who), From: r.Status, To: r.Status, Reason: what}
	if err := s.Requests.AddEvent(ctx, ev, r.Version); err != nil {
		return fmt.Errorf("record the retry of %s: %w", r.ID, err)
	}
	return nil
}

// settleCleanUp is the failure path's clean-up of a request retryRequest
// settled: SWB's store unlocked if this request holds it, staged copies
// and any partial, unrecorded release deleted. Each step runs whatever
// the others do, and each may run again.
func (s *Service) settleCleanUp(ctx context.Context, r egress.Request) error {
	log := s.log(ctx, r.ID)
	var errs []string
	if err := s.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StorePending); err != nil {
		if code := egress.ErrorCode(err); code == egress.ECONFLICT || code == egress.ENOTFOUND {
			log.Warn("SWB egress store not unlocked", "reason", egress.ErrorMessage(err))
		} else {
			errs = append(errs, fmt.Sprintf("unlock SWB egress store %s: %v", r.StoreID, err))
		}
	}
	if _, err := s.Deleter.DeletePrefix(ctx, s.StagingBucket, egress.StagingPrefix(r)); err != nil {
		errs = append(errs, fmt.Sprintf("delete staged copies: %v", err))
	}
	if _, err := s.Deleter.DeletePrefix(ctx, s.DatalakeBucket, egress.DatalakePrefix(r)); err != nil {
		errs = append(errs, fmt.Sprintf("delete a partial release: %v", err))
	}
	if len(errs) > 0 {
		log.Error("retry: clean-up incomplete", "errors", len(errs))
		return egress.Errorf(egress.EINTERNAL, "request %s is FAILED, but its clean-up is incomplete (%s); retry it again", r.ID, egress.Redact(strings.Join(errs, "; ")))
	}
	log.Info("retry: cleaned up")
	return nil
}
