package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

// Intake handles SWB's SNS notification: validate the message and its
// object list, create the request (a replay is a no-op), lock the SWB store
// (PROCESSING) and start the execution named by the request id.
//
// Bad input is reported to the TRE admin and not returned as an error, so
// Lambda does not retry what cannot succeed; only transient errors are
// returned, and every step is idempotent so the retry is safe.
func (h *Handlers) Intake(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		if err := h.intake(ctx, rec.SNS.MessageID, rec.SNS.Message); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Handlers) intake(ctx context.Context, snsID, body string) error {
	m, err := swb.ParseMessage([]byte(body))
	if err != nil {
		h.log("").Error("refused SWB message", "sns_message_id", snsID, "error", err)
		h.tellAdmin(ctx, "", "Refused an SWB egress message", fmt.Sprintf("SNS message %s was refused:\n\n%s\n", snsID, egress.ErrorMessage(err)))
		return nil
	}
	log := h.log(m.ID)
	existing, err := h.Requests.Get(ctx, m.ID)
	switch {
	case err == nil:
		chain, cerr := h.chainFor(existing)
		if cerr != nil {
			return cerr
		}
		if chain.Final(existing.Status) {
			log.Info("replayed message for a finished request ignored", "status", existing.Status)
			return nil
		}
		log.Info("replayed message for a request in flight; ensuring it runs", "status", existing.Status)
		return h.startRequest(ctx, existing)
	case egress.ErrorCode(err) != egress.ENOTFOUND:
		return fmt.Errorf("read request %s: %w", m.ID, err)
	}

	// Check the object list before anything changes, so a bad submission
	// leaves SWB's store as it was (PENDING) and nothing half-created.
	r := m.Request(h.now())
	r.SingleApproval = h.Settings.Chain.SingleApproval()
	if _, err := h.objectList(ctx, r); err != nil {
		if Transient(err) {
			return err
		}
		log.Error("refused SWB submission", "error", err)
		h.tellAdmin(ctx, m.ID, "Refused egress request "+m.ID,
			fmt.Sprintf("The egress request %s from workspace %s (%s) was refused and not started:\n\n%s\n\nThe workspace's egress store was left unlocked.\n",
				m.ID, m.WorkspaceID, m.CreatedByEmail, egress.ErrorMessage(err)))
		return nil
	}
	created, err := h.Requests.Create(ctx, r)
	if err != nil {
		return fmt.Errorf("create request %s: %w", m.ID, err)
	}
	if !created {
		// Another delivery of the same message won the race; it starts it.
		log.Info("request already created by a concurrent delivery")
		existing, err := h.Requests.Get(ctx, m.ID)
		if err != nil {
			return err
		}
		r = existing
	} else {
		log.Info("request created", "workspace_id", r.WorkspaceID, "project_id", r.ProjectID)
	}
	return h.startRequest(ctx, r)
}

// startRequest locks the SWB store for the request and starts the
// execution; both are idempotent for the same request, so retries and
// replays are safe. A store locked by another request (or terminated) is
// refused: two requests in flight would unlock each other's store. If the
// execution can never start, the request is marked FAILED and the store
// unlocked, so nothing is left in PROCESSING.
func (h *Handlers) startRequest(ctx context.Context, r egress.Request) error {
	log := h.log(r.ID)
	chain, err := h.chainFor(r)
	if err != nil {
		return err
	}
	if err := h.SWBStore.Lock(ctx, r.StoreID, r.ID); err != nil {
		if Transient(err) {
			return err
		}
		return h.abandon(ctx, r, fmt.Errorf("lock SWB egress store %s: %w", r.StoreID, err), false)
	}
	in := ExecutionInput{RequestID: r.ID, StageCount: len(chain.Stages), StageTimeoutSeconds: int(h.Settings.StageTimeout.Seconds())}
	arn, err := h.Executions.Start(ctx, r.ID, in)
	if err != nil {
		if Transient(err) {
			return err
		}
		return h.abandon(ctx, r, err, true)
	}
	log.Info("workflow started", "execution_arn", arn)
	if r.ExecutionArn == "" && arn != "" {
		first := false // this delivery recorded the start: it tells the requester
		if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
			first = cur.ExecutionArn == ""
			cur.ExecutionArn = arn
			return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventStarted, Actor: egress.ActorWorkflow,
				From: cur.Status, To: cur.Status}, nil
		}); err != nil {
			// The execution runs either way; the ARN is for people.
			log.Warn("could not record the execution ARN", "error", err)
		} else if first {
			h.tellRequester(ctx, r, h.requesterSubmitted(r))
		}
	}
	return nil
}

// abandon unlocks the store when this request locked it, marks the
// request FAILED and tells the admin, in that order: a retry after a failed
// unlock must still find the request unfinished. It returns nil when that
// worked, so the message is not retried.
func (h *Handlers) abandon(ctx context.Context, r egress.Request, cause error, unlock bool) error {
	log := h.log(r.ID)
	log.Error("request cannot start", "error", cause)
	if unlock {
		if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StorePending); err != nil {
			return fmt.Errorf("unlock SWB egress store %s: %w", r.StoreID, err)
		}
	}
	if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
		next, ev, err := egress.Transition(*cur, egress.StatusFailed, cause.Error(), h.now())
		*cur = next
		return ev, err
	}); err != nil {
		return fmt.Errorf("mark request %s failed after %v: %w", r.ID, cause, err)
	}
	h.tellAdmin(ctx, r.ID, "Egress request "+r.ID+" could not start",
		fmt.Sprintf("The egress request %s could not start and was marked FAILED:\n\n%s\n", r.ID, cause))
	h.tellRequester(ctx, r, requesterEnded(r, egress.StatusFailed))
	return nil
}
