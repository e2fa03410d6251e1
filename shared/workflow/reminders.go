package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
)

// ReminderInput is the scheduled EventBridge event that runs
// SendReminders; only its id is read, for the logs. The time of the run
// is the handlers' clock, not the event's.
type ReminderInput struct {
	ID string `json:"id"`
}

// ReminderOutput counts what one run of SendReminders did.
type ReminderOutput struct {
	Checked int `json:"checked"` // requests listed in an awaiting status
	Sent    int `json:"sent"`    // reminders counted and sent
	Failed  int `json:"failed"`  // requests whose reminder could not be counted
	// Unfinished is true when the run stopped before its time limit with
	// requests left unchecked; the next run checks them.
	Unfinished bool `json:"unfinished"`
}

// reminderPage is how many requests one listing call returns.
const reminderPage = 100

// reminderReserve is the time a run keeps for the reminder it may be
// sending when it stops: telling a group takes at most maxNoticeTime.
const reminderReserve = maxNoticeTime + 15*time.Second

// errNotDue says a request listed as due was no longer due once read
// again: decided, reminded by a concurrent run, or moved to another stage.
var errNotDue = errors.New("no reminder due")

// SendReminders is the scheduled reminder run: every request awaiting a
// stage whose reminder is due (approval_stages' reminder_after_hours,
// at most max_reminders times; see egress.Stage.NextReminder) gets one,
// on the stage's group topic and by e-mail to its members. Each reminder
// is first counted with a conditional update and a REMINDER audit event,
// so concurrent or repeated runs remind once; a reminder whose telling
// fails after that is not sent again (the admin is told instead). It
// never changes a status or decides anything: a stage that is never
// decided ends EXPIRED through the workflow's stage timeout.
//
// The work is bounded by the function's time limit: the run stops before
// it and the next run goes on, as every reminder already sent is no longer
// due. A listing or update that fails is counted and returned as an error
// once the rest is done, so the function's error metric shows it.
func (h *Handlers) SendReminders(ctx context.Context, in ReminderInput) (ReminderOutput, error) {
	var (
		out      ReminderOutput
		problems []error
	)
	log := logctx.With(ctx, h.Log).With("event_id", in.ID)
statuses:
	for _, status := range egress.AwaitingStatuses() {
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
				if out.Unfinished = timeIsUp(ctx); out.Unfinished {
					break statuses
				}
				out.Checked++
				sent, err := h.remind(ctx, r)
				switch {
				case err != nil:
					out.Failed++
					problems = append(problems, fmt.Errorf("request %s: %w", r.ID, err))
					h.log(ctx, r.ID).Error("reminder not counted", "error", err)
				case sent:
					out.Sent++
				}
			}
			if next = page.NextToken; next == "" {
				break
			}
		}
	}
	log.Info("reminders run", "checked", out.Checked, "sent", out.Sent, "failed", out.Failed, "unfinished", out.Unfinished)
	if err := egress.JoinBounded(maxListed, problems...); err != nil {
		return out, fmt.Errorf("reminders: %d sent, %d failed: %w", out.Sent, out.Failed, err)
	}
	return out, nil
}

// timeIsUp reports whether the run must stop to finish within its time
// limit.
func timeIsUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < reminderReserve
}

// remind sends listed's reminder if one is due. The listing is eventually
// consistent, so the request is read again and the reminder counted only
// if it is still due on the stored request, with a write conditional on
// the version read.
func (h *Handlers) remind(ctx context.Context, listed egress.Request) (bool, error) {
	if _, _, due := h.reminderDue(listed); !due {
		return false, nil
	}
	var (
		st egress.Stage
		i  int
	)
	r, err := h.update(ctx, listed.ID, func(cur *egress.Request) (egress.Event, error) {
		var due bool
		if st, i, due = h.reminderDue(*cur); !due {
			return egress.Event{}, errNotDue
		}
		// updated_dt is left as it is: a reminder changes nothing anyone
		// decided, and the audit event records it.
		cur.RemindersSent++
		return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventReminder, Actor: egress.ActorWorkflow,
			From: cur.Status, To: cur.Status, Stage: st.Name,
			Reason: fmt.Sprintf("reminder %d of %d", cur.RemindersSent, st.MaxReminders)}, nil
	})
	switch {
	case errors.Is(err, errNotDue), egress.ErrorCode(err) == egress.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, err
	}
	subject, text := h.reminderNotice(r, i, st)
	h.log(ctx, r.ID).Info("reminding reviewers", "stage", st.Name, "reminder", r.RemindersSent)
	h.tellGroup(ctx, r, st, subject, text)
	return true, nil
}

// reminderDue returns the stage r awaits and whether its next reminder is
// due now. A request still being staged (PROCESSING without a stage
// waiting) has no AwaitingSince and is never due.
func (h *Handlers) reminderDue(r egress.Request) (egress.Stage, int, bool) {
	chain, err := h.chainFor(r)
	if err != nil {
		return egress.Stage{}, -1, false
	}
	i := chain.StageAwaiting(r.Status)
	if i < 0 {
		return egress.Stage{}, -1, false
	}
	st := chain.Stages[i]
	at, ok := st.NextReminder(r.AwaitingSince, r.RemindersSent)
	return st, i, ok && !h.now().Before(at)
}

// reminderNotice is the subject and text of a reminder: how long the
// stage has waited, then the stage's notice.
func (h *Handlers) reminderNotice(r egress.Request, i int, st egress.Stage) (subject, text string) {
	subject = bounded(fmt.Sprintf("Reminder: egress request %s awaits the %s decision", r.ID, st.Name), maxSubject)
	text = fmt.Sprintf("Reminder %d of %d: egress request %s has awaited the %s decision by the %s group for %s (since %s).\n\n%s",
		r.RemindersSent, st.MaxReminders, r.ID, st.Name, st.Group, waited(h.now().Sub(r.AwaitingSince)),
		egress.FormatTime(r.AwaitingSince), h.noticeDetails(r, i))
	return subject, text
}

// waited says a duration in days and hours, as people count a wait.
func waited(d time.Duration) string {
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days == 0:
		return count(hours, "hour")
	case hours == 0:
		return count(days, "day")
	}
	return count(days, "day") + " " + count(hours, "hour")
}
