package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
)

// ExecutionReader reads a workflow execution's status
// (stepfunctions.Workflow).
type ExecutionReader interface {
	// ExecutionStatus returns RUNNING, SUCCEEDED, FAILED, TIMED_OUT or
	// ABORTED; an execution that does not exist is ENOTFOUND.
	ExecutionStatus(ctx context.Context, arn string) (string, error)
}

// Why CheckStuck reports a request, as logged (the "stuck" attribute).
const (
	StuckUnreminded  = "unreminded"   // awaiting past its reminder window, no reminder sent
	StuckNoExecution = "no_execution" // in flight, but its execution is not running
	StuckUndelivered = "undelivered"  // a recorded decision the workflow has not acknowledged
)

// stuckGrace is how long a request may look stuck while the normal path
// catches up: a reminder is sent within send-reminders' schedule, an
// execution starts right after intake stores its request, a decision is
// delivered within the API call that recorded it.
const stuckGrace = 30 * time.Minute

// StuckRequest is one request CheckStuck found.
type StuckRequest struct {
	RequestID string        `json:"egress_request_id"`
	Status    egress.Status `json:"status"`
	Stuck     string        `json:"stuck"` // StuckUnreminded, StuckNoExecution or StuckUndelivered
	Why       string        `json:"why"`
}

// StuckOutput is what one run of CheckStuck found.
type StuckOutput struct {
	Checked    int            `json:"checked"`
	Stuck      []StuckRequest `json:"stuck"` // at most maxListed; the counts count all
	Unreminded int            `json:"unreminded"`
	NoExec     int            `json:"no_execution"`
	Undeliver  int            `json:"undelivered"`
	Failed     int            `json:"failed"` // requests whose execution could not be read
	Unfinished bool           `json:"unfinished"`
}

// CheckStuck is the scheduled check for requests stuck after an outage.
// It lists every in-flight status by the status index (never a scan) and
// reports, with a log line each and the counts as metrics:
//
//   - a stage awaiting a decision longer than its reminder window (plus
//     stuckGrace) with no reminder sent: send-reminders is not running;
//   - a request in flight (egress.Chain.InFlight) whose execution is not
//     RUNNING (states:DescribeExecution): its end was not cleaned up, so
//     its SWB store may stay PROCESSING; retryRequest settles it;
//   - a decision recorded whose delivery to the workflow failed
//     (ResumeToken kept): retryRequest delivers it.
//
// It changes nothing. Like SendReminders it stops before its time limit;
// a run that stops reports the counts so far and says so.
func (h *Handlers) CheckStuck(ctx context.Context, in ReminderInput) (StuckOutput, error) {
	var (
		out      StuckOutput
		problems []error
	)
	log := logctx.With(ctx, h.Log).With("event_id", in.ID)
	now := h.now()
statuses:
	for _, status := range egress.InFlightStatuses() {
		next := ""
		for {
			if out.Unfinished = timeIsUp(ctx); out.Unfinished {
				break statuses
			}
			page, err := h.Requests.List(ctx, egress.ListQuery{Status: status, Limit: reminderPage, NextToken: next})
			if err != nil {
				problems = append(problems, fmt.Errorf("list %s requests: %w", status, err))
				break
			}
			for _, r := range page.Requests {
				out.Checked++
				found, err := h.stuck(ctx, r, now)
				if err != nil {
					out.Failed++
					problems = append(problems, fmt.Errorf("request %s: %w", r.ID, err))
					h.log(ctx, r.ID).Error("execution of a request in flight not read", "error", err)
				}
				for _, s := range found {
					switch s.Stuck {
					case StuckUnreminded:
						out.Unreminded++
					case StuckNoExecution:
						out.NoExec++
					case StuckUndelivered:
						out.Undeliver++
					}
					if len(out.Stuck) < maxListed {
						out.Stuck = append(out.Stuck, s)
					}
					h.log(ctx, r.ID).Warn("stuck request", "stuck", s.Stuck, "status", r.Status, "why", s.Why)
				}
			}
			if next = page.NextToken; next == "" {
				break
			}
		}
	}
	h.metrics().StuckChecked(ctx, out.Unreminded, out.NoExec, out.Undeliver)
	log.Info("stuck requests checked", "checked", out.Checked, "unreminded", out.Unreminded, "no_execution", out.NoExec,
		"undelivered", out.Undeliver, "failed", out.Failed, "unfinished", out.Unfinished)
	if err := egress.JoinBounded(maxListed, problems...); err != nil {
		return out, fmt.Errorf("stuck requests: %d checked, %d failed: %w", out.Checked, out.Failed, err)
	}
	return out, nil
}

// stuck returns the ways listed r is stuck at now. The listing is
// eventually consistent: a request that just moved on may be reported once,
// which stuckGrace makes unlikely.
func (h *Handlers) stuck(ctx context.Context, r egress.Request, now time.Time) ([]StuckRequest, error) {
	chain, err := h.chainFor(r)
	if err != nil || !chain.InFlight(r) {
		return nil, nil
	}
	var out []StuckRequest
	add := func(kind, format string, a ...any) {
		out = append(out, StuckRequest{RequestID: r.ID, Status: r.Status, Stuck: kind, Why: fmt.Sprintf(format, a...)})
	}
	if i := chain.StageAwaiting(r.Status); i >= 0 && r.RemindersSent == 0 {
		st := chain.Stages[i]
		if due, ok := st.NextReminder(r.AwaitingSince, 0); ok && now.Sub(due) >= stuckGrace {
			add(StuckUnreminded, "the %s stage has awaited a decision since %s, its first reminder was due %s, and none was sent",
				st.Name, egress.FormatTime(r.AwaitingSince), egress.FormatTime(due))
		}
	}
	if r.ResumeToken != "" && now.Sub(r.UpdatedAt) >= stuckGrace {
		add(StuckUndelivered, "a decision recorded at %s has not reached the workflow", egress.FormatTime(r.UpdatedAt))
	}
	if h.ExecutionReader == nil || now.Sub(r.UpdatedAt) < stuckGrace {
		return out, nil
	}
	arn := r.ExecutionArn
	if arn == "" && h.Executions != nil {
		arn = h.Executions.ExecutionArn(r.ID)
	}
	status, err := h.ExecutionReader.ExecutionStatus(ctx, arn)
	switch {
	case egress.ErrorCode(err) == egress.ENOTFOUND:
		add(StuckNoExecution, "the request is %s but has no workflow execution", r.Status)
	case err != nil:
		return out, err
	case status != "RUNNING":
		add(StuckNoExecution, "the request is %s but its workflow execution ended %s", r.Status, status)
	}
	return out, nil
}
