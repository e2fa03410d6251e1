package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

// Intake handles SWB's SNS notification: validate the message and its
// object list, create the request (a replay is a no-op), check that SWB's
// store is free for it and start the execution named by the request id.
// The store is locked (PROCESSING) by the execution's first task, so an
// execution that never starts leaves nothing locked.
//
// SNS delivers at least once: any number of copies of a message, at any
// time, give one request, one execution and one STARTED event. Intake
// therefore never updates the request after creating it (the execution ARN
// is known in advance), so it cannot race the workflow's own updates.
//
// Bad input is reported to the TRE admin and not returned as an error, so
// Lambda does not retry what cannot succeed; only transient errors are
// returned, and every step is idempotent so the retry is safe.
func (h *Handlers) Intake(ctx context.Context, ev events.SNSEvent) error {
	// SNS always sends one record; an event without any was not sent by
	// SNS (an invocation by hand, or a misrouted event) and must not pass
	// as handled.
	if len(ev.Records) == 0 {
		return egress.Errorf(egress.EINVALID, "the SNS event has no Records: start-workflow takes SWB's SNS notifications, one record per message")
	}
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
		h.log(ctx, "").Error("refused SWB message", "sns_message_id", snsID, "error", err)
		h.tellAdmin(ctx, "", "Refused an SWB egress message", fmt.Sprintf("SNS message %s was refused:\n\n%s\n", snsID, egress.ErrorMessage(err)))
		return nil
	}
	log := h.log(ctx, m.ID)
	existing, err := h.Requests.Get(ctx, m.ID)
	switch {
	case err == nil:
		log.Info("replayed message; ensuring the request runs", "status", existing.Status)
		return h.resume(ctx, existing)
	case egress.ErrorCode(err) != egress.ENOTFOUND:
		return fmt.Errorf("read request %s: %w", m.ID, err)
	}

	// Check the object list before anything changes, so a bad submission
	// leaves SWB's store as it was (PENDING) and nothing half-created.
	r := m.Request(h.now())
	r.SingleApproval = h.Settings.Chain.SingleApproval()
	r.Stages = h.Settings.Chain.Specs()
	r.ExecutionArn = h.Executions.ExecutionArn(r.ID)
	if r.PreviousRequestID, err = h.returnedBefore(ctx, r); err != nil {
		return err
	}
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
	created, err := h.create(ctx, r)
	if err != nil {
		return err
	}
	if !created {
		// Another delivery of the same message created it; it may have
		// moved on since, so carry on from what is stored.
		log.Info("request already created by another delivery")
		if r, err = h.Requests.Get(ctx, m.ID); err != nil {
			return err
		}
	} else {
		r.Version = 1 // as Create stored it
		log.Info("request created", "workspace_id", r.WorkspaceID, "project_id", r.ProjectID)
	}
	return h.resume(ctx, r)
}

// createAttempts bounds the retries of a creation that lost a transaction
// race with a concurrent delivery of the same message.
const createAttempts = 5

// create stores r unless it exists. Concurrent deliveries of one message
// race to create it: DynamoDB may cancel a transaction that meets another
// on the same item (ECONFLICT), and the retry then finds it created.
func (h *Handlers) create(ctx context.Context, r egress.Request) (bool, error) {
	for i := 1; ; i++ {
		created, err := h.Requests.Create(ctx, r)
		if err == nil {
			return created, nil
		}
		if egress.ErrorCode(err) != egress.ECONFLICT || i == createAttempts {
			return false, fmt.Errorf("create request %s: %w", r.ID, err)
		}
		select {
		case <-time.After(time.Duration(i) * 20 * time.Millisecond):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// resume starts a stored request's execution unless the request has
// finished (a late duplicate or replay changes nothing).
func (h *Handlers) resume(ctx context.Context, r egress.Request) error {
	chain, err := h.chainFor(r)
	if err != nil {
		return err
	}
	if chain.Final(r.Status) {
		h.log(ctx, r.ID).Info("message for a finished request ignored", "status", r.Status)
		return nil
	}
	return h.startRequest(ctx, r, len(chain.Stages))
}

// startRequest checks that SWB's store is free for the request and starts
// the execution; both are idempotent for the same request, so retries and
// duplicates are safe. A store locked by another request (or terminated)
// is refused without touching it: two requests in flight would unlock each
// other's store. If the execution can never start, the request is marked
// FAILED; nothing was locked.
func (h *Handlers) startRequest(ctx context.Context, r egress.Request, stages int) error {
	log := h.log(ctx, r.ID)
	// A fast refusal only: the lock itself is the execution's first task,
	// a conditional write that still refuses a store taken meanwhile.
	if err := h.SWBStore.CheckLock(ctx, r.StoreID, r.ID); err != nil {
		if Transient(err) {
			return err
		}
		return h.abandon(ctx, r, fmt.Errorf("SWB egress store %s cannot be locked: %w", r.StoreID, err))
	}
	in := ExecutionInput{RequestID: r.ID, StageCount: stages, StageTimeoutSeconds: int(h.Settings.StageTimeout.Seconds())}
	arn, err := h.Executions.Start(ctx, r.ID, in)
	if err != nil {
		if Transient(err) {
			return err
		}
		return h.abandon(ctx, r, err)
	}
	// The first StartExecution of a name starts it; the others return it.
	// Placed after the CREATED event, whatever the workflow wrote since.
	added, err := h.Requests.AddEventOnce(ctx, egress.Event{RequestID: r.ID, At: h.now(), Kind: egress.EventStarted,
		Actor: egress.ActorWorkflow, From: egress.StatusProcessing, To: egress.StatusProcessing, Reason: "execution " + arn}, 1)
	switch {
	case err != nil && Transient(err):
		// Redelivered, Start returns the same execution and the event is
		// added once: the trail must not miss it (TestFaultInjection).
		return fmt.Errorf("record the start of request %s: %w", r.ID, err)
	case err != nil:
		// The execution runs either way; the event is for people.
		log.Warn("could not record the start of the execution", "error", err)
	case added:
		log.Info("workflow started", "execution_arn", arn)
		h.tellRequester(ctx, r, h.requesterSubmitted(r))
	}
	return nil
}

// abandon marks a request that cannot start FAILED and tells the admin. It
// returns nil when that worked, so the message is not retried.
func (h *Handlers) abandon(ctx context.Context, r egress.Request, cause error) error {
	log := h.log(ctx, r.ID)
	log.Error("request cannot start", "error", cause)
	if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
		if cur.Status == egress.StatusFailed {
			return egress.Event{}, errAlreadyFailed // another delivery got here first
		}
		// A late duplicate may see a refusal (a finished execution's name, a
		// store released since) for a request whose execution ran: only a
		// request nothing has changed since this delivery read it is
		// abandoned, never one the workflow moved on or released.
		if cur.Status != egress.StatusProcessing || cur.Version != r.Version || cur.Released() {
			return egress.Event{}, errMovedOn
		}
		next, ev, err := egress.Transition(*cur, egress.StatusFailed, cause.Error(), h.now())
		*cur = next
		return ev, err
	}); errors.Is(err, errAlreadyFailed) {
		return nil
	} else if errors.Is(err, errMovedOn) {
		log.Warn("the workflow moved the request on since this delivery read it; not abandoned", "cause", cause)
		return nil
	} else if err != nil {
		return fmt.Errorf("mark request %s failed after %v: %w", r.ID, cause, err)
	}
	h.metrics().Failed(ctx, r.ID, egress.CauseOf(ErrorName(cause)))
	h.tellAdmin(ctx, r.ID, "Egress request "+r.ID+" could not start",
		fmt.Sprintf("The egress request %s could not start and was marked FAILED:\n\n%s\n\nThe workspace's egress store was not changed.\n", r.ID, cause))
	h.tellRequester(ctx, r, requesterEnded(r, egress.StatusFailed))
	return nil
}

// returnedBefore is the id of the request r resubmits: the newest earlier
// request of the same egress store, when it was returned for changes;
// otherwise "". Only the newest counts: a store that was returned, then
// approved, then submitted again starts afresh.
func (h *Handlers) returnedBefore(ctx context.Context, r egress.Request) (string, error) {
	q := egress.ListQuery{WorkspaceID: r.WorkspaceID, Limit: 5}
	for {
		p, err := h.Requests.List(ctx, q)
		if err != nil {
			return "", fmt.Errorf("earlier requests of workspace %s: %w", r.WorkspaceID, err)
		}
		for _, prev := range p.Requests {
			if prev.ID == r.ID || prev.StoreID != r.StoreID || prev.RequestedAt.After(r.RequestedAt) {
				continue
			}
			if prev.Status == egress.StatusReturned {
				return prev.ID, nil
			}
			return "", nil
		}
		if p.NextToken == "" {
			return "", nil
		}
		q.NextToken = p.NextToken
	}
}
