package egress

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Decision is a reviewer's verdict on a stage.
type Decision string

const (
	Approved Decision = "APPROVED"
	Rejected Decision = "REJECTED"
)

// ParseDecision accepts exactly APPROVED or REJECTED.
func ParseDecision(s string) (Decision, error) {
	switch d := Decision(s); d {
	case Approved, Rejected:
		return d, nil
	}
	return "", Errorf(EINVALID, "decision must be APPROVED or REJECTED, got %q", s)
}

// Decide applies a reviewer's decision on the stage r is waiting for and
// returns the updated request (r is not modified) and the audit event to
// store with it. Every rule is checked here, on the server, with the
// reviewer's identity from the identity provider and the server's clock.
// MaxReasonLength is the most characters a decision's reason may have. It
// is stored on the request and in its event, so it keeps a request with a
// review per stage well under DynamoDB's 400 KB item limit.
const MaxReasonLength = 4000

func (c Chain) Decide(r Request, who Identity, d Decision, reason string, now time.Time) (Request, Event, error) {
	if _, err := ParseDecision(string(d)); err != nil {
		return r, Event{}, err
	}
	i := c.StageAwaiting(r.Status)
	if i < 0 {
		return r, Event{}, Errorf(ECONFLICT, "request %s is %s and awaits no decision", r.ID, r.Status)
	}
	stage := c.Stages[i]
	if !who.InGroup(stage.Group) {
		return r, Event{}, Errorf(EFORBIDDEN, "the %s stage is decided by group %s, which the caller is not in", stage.Name, stage.Group)
	}
	if r.IsRequester(who) {
		return r, Event{}, Errorf(EFORBIDDEN, "the requester cannot review their own request")
	}
	// Without a verified e-mail the caller cannot be told apart from the
	// requester (unless mapped to an SWB user id) nor named on the review:
	// fail closed rather than let a researcher approve their own data.
	if strings.TrimSpace(who.Email) == "" {
		return r, Event{}, Errorf(EFORBIDDEN, "the caller's token carries no verified e-mail address, so it cannot be told apart from the requester; sign in with an account whose e-mail is verified")
	}
	for _, prev := range r.Reviews {
		if (who.Subject != "" && prev.Subject == who.Subject) || sameEmail(prev.Email, who.Email) {
			return r, Event{}, Errorf(EFORBIDDEN, "the caller already decided the %s stage of this request", prev.Stage)
		}
	}
	reason = strings.TrimSpace(reason)
	if d == Rejected && reason == "" {
		return r, Event{}, Errorf(EINVALID, "a reason is required to reject")
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return r, Event{}, Errorf(EINVALID, "reason: %d characters, at most %d allowed", n, MaxReasonLength)
	}
	to := stage.ApprovedStatus
	if d == Rejected {
		to = StatusRejected
	}
	if err := CheckTransition(r.Status, to); err != nil {
		return r, Event{}, err
	}
	if len(r.Reviews) != i {
		return r, Event{}, Errorf(ECONFLICT, "request %s has %d reviews but awaits stage %d", r.ID, len(r.Reviews), i+1)
	}
	from := r.Status
	r.Reviews = append(append([]Review(nil), r.Reviews...), Review{
		Stage: stage.Name, Group: stage.Group, Subject: who.Subject, Name: who.Name,
		Email: who.Email, At: now.UTC(), Decision: d, Reason: reason,
	})
	r.Status = to
	r.UpdatedAt = now.UTC()
	r.UpdatedBy = who.Email
	r.CurrentReviewerGroup = ""
	// The token is consumed by this decision, but kept aside until the
	// workflow acknowledges it: a resume that fails can then be sent again.
	r.ResumeToken, r.TaskToken = r.TaskToken, ""
	ev := Event{
		RequestID: r.ID, At: now.UTC(), Kind: EventDecision, Actor: actor(who),
		From: from, To: to, Stage: stage.Name, Reason: reason,
	}
	return r, ev, nil
}

// Transition moves r to status to on behalf of the workflow (failure, expiry,
// creation) and returns the updated copy and its audit event.
func Transition(r Request, to Status, reason string, now time.Time) (Request, Event, error) {
	if err := CheckTransition(r.Status, to); err != nil {
		return r, Event{}, err
	}
	from := r.Status
	r.Status = to
	r.UpdatedAt = now.UTC()
	r.UpdatedBy = ActorWorkflow
	if to == StatusFailed || to == StatusExpired {
		r.FailureCause = reason
		r.TaskToken, r.ResumeToken = "", ""
		r.CurrentReviewerGroup = ""
		r.ZipKey = "" // the failure path deletes any partial release
	}
	return r, Event{RequestID: r.ID, At: now.UTC(), Kind: EventTransition, Actor: ActorWorkflow, From: from, To: to, Reason: reason}, nil
}

func actor(id Identity) string {
	if id.Email != "" {
		return id.Email
	}
	return id.Subject
}
