package egress

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Decision is a reviewer's verdict on a stage or a file.
type Decision string

const (
	Approved Decision = "APPROVED"
	Rejected Decision = "REJECTED"
	// Returned asks the requester for changes: nothing is released and
	// the egress store is unlocked for a new submission.
	Returned Decision = "RETURNED"
	// Cancelled is not a reviewer's vote: it is what the workflow is told
	// when the requester or an admin cancels (Cancel).
	Cancelled Decision = "CANCELLED"
)

// ParseDecision accepts exactly APPROVED, REJECTED or RETURNED.
func ParseDecision(s string) (Decision, error) {
	switch d := Decision(s); d {
	case Approved, Rejected, Returned:
		return d, nil
	}
	return "", Errorf(EINVALID, "decision must be APPROVED, REJECTED or RETURNED, got %q", s)
}

// Limits of what a vote stores on the request. A request may have up to
// MaxStages*2 votes; with these bounds it stays well under DynamoDB's
// 400 KB item limit whatever the reviewers write.
const (
	// MaxReasonLength is the most characters a vote's reason may have.
	MaxReasonLength = 4000
	// MaxCommentLength is the most characters of a per-file comment.
	MaxCommentLength = 1000
	// MaxFileDecisionBytes bounds the paths and comments of all per-file
	// decisions of a request: a reviewer who wants to reject more files
	// one by one rejects or returns the request instead.
	MaxFileDecisionBytes = 128 << 10
	// fileDecisionOverhead is what DynamoDB stores for a per-file decision
	// besides its path and comment: attribute names, the decision, the
	// map's own bytes. MaxFileDecisionBytes counts it too.
	fileDecisionOverhead = 48
)

// Ballot is what a reviewer sends: the decision, its reason, and optional
// decisions on single files.
type Ballot struct {
	Decision Decision
	Reason   string
	Files    []FileDecision
}

// Decide applies a whole-request decision (no per-file decisions): the
// frontend's updateRequest.
func (c Chain) Decide(r Request, who Identity, d Decision, reason string, now time.Time) (Request, Event, error) {
	next, ev, _, err := c.Vote(r, who, Ballot{Decision: d, Reason: reason}, now)
	return next, ev, err
}

// Vote applies who's vote on the stage r is waiting for and returns the
// updated request (r is not modified), the audit event to store with it,
// and whether the vote decided the stage (a stage with two reviewers
// needs both votes). Every rule is checked here, on the server, with the
// reviewer's identity from the identity provider and the server's clock.
//
// The stage's outcome: any REJECTED vote rejects, else any RETURNED
// returns, else it approves. A file rejected by any vote at any stage is
// left out of the release; when that leaves no file, the stage rejects.
// r.FileCount must be set for that; the caller checks that the files
// named are the request's.
func (c Chain) Vote(r Request, who Identity, b Ballot, now time.Time) (Request, Event, bool, error) {
	d, err := ParseDecision(string(b.Decision))
	if err != nil {
		return r, Event{}, false, err
	}
	i := c.StageAwaiting(r.Status)
	if i < 0 {
		return r, Event{}, false, Errorf(ECONFLICT, "request %s is %s and awaits no decision", r.ID, r.Status)
	}
	stage := c.Stages[i]
	if !who.InGroup(stage.Group) {
		return r, Event{}, false, Errorf(EFORBIDDEN, "the %s stage is decided by group %s, which the caller is not in", stage.Name, stage.Group)
	}
	if r.IsRequester(who) {
		return r, Event{}, false, Errorf(EFORBIDDEN, "the requester cannot review their own request")
	}
	// Without a verified e-mail the caller cannot be told apart from the
	// requester (unless mapped to an SWB user id) nor named on the review:
	// fail closed rather than let a researcher approve their own data.
	if strings.TrimSpace(who.Email) == "" {
		return r, Event{}, false, Errorf(EFORBIDDEN, "the caller's token carries no verified e-mail address, so it cannot be told apart from the requester; sign in with an account whose e-mail is verified")
	}
	// Separation of duties: one vote per person per request, across every
	// stage and vote.
	for _, prev := range r.Reviews {
		if (who.Subject != "" && prev.Subject == who.Subject) || sameEmail(prev.Email, who.Email) {
			return r, Event{}, false, Errorf(EFORBIDDEN, "the caller already voted at the %s stage of this request; each stage needs other reviewers", prev.Stage)
		}
	}
	reason := strings.TrimSpace(b.Reason)
	if d != Approved && reason == "" {
		return r, Event{}, false, Errorf(EINVALID, "a reason is required to %s", map[Decision]string{Rejected: "reject", Returned: "return a request for changes"}[d])
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return r, Event{}, false, Errorf(EINVALID, "reason: %d characters, at most %d allowed", n, MaxReasonLength)
	}
	files, err := checkFileDecisions(r, b.Files)
	if err != nil {
		return r, Event{}, false, err
	}
	votes := r.Votes(i)
	if len(votes) >= stage.Reviewers {
		return r, Event{}, false, Errorf(ECONFLICT, "request %s has all %d votes of the %s stage", r.ID, stage.Reviewers, stage.Name)
	}
	vote := Review{
		StageIndex: i, Stage: stage.Name, Group: stage.Group, Subject: who.Subject, Name: who.Name,
		Email: who.Email, At: now.UTC(), Decision: d, Reason: reason, Files: files,
	}
	from := r.Status
	r.Reviews = append(append([]Review(nil), r.Reviews...), vote)
	r.UpdatedAt = now.UTC()
	r.UpdatedBy = who.Email
	if len(votes)+1 < stage.Reviewers {
		// Blinded: the event names the voter, not the vote.
		return r, Event{RequestID: r.ID, At: now.UTC(), Kind: EventVote, Actor: actor(who),
			From: from, To: from, Stage: stage.Name, Reason: fmt.Sprintf("vote %d of %d", len(votes)+1, stage.Reviewers)}, false, nil
	}
	outcome, why := stageOutcome(append(votes, vote))
	if outcome == Approved && r.FileCount > 0 && len(r.LeftOut()) >= r.FileCount {
		outcome, why = Rejected, "every file was rejected"
	}
	to := stage.ApprovedStatus
	switch outcome {
	case Rejected:
		to = StatusRejected
	case Returned:
		to = StatusReturned
	}
	if err := CheckTransition(from, to); err != nil {
		return r, Event{}, false, err
	}
	r.Status = to
	r.CurrentReviewerGroup = ""
	r.AwaitingSince, r.RemindersSent = time.Time{}, 0
	// The token is consumed by this decision, but kept aside until the
	// workflow acknowledges it: a resume that fails can then be sent again.
	r.ResumeToken, r.TaskToken = r.TaskToken, ""
	ev := Event{
		RequestID: r.ID, At: now.UTC(), Kind: EventDecision, Actor: actor(who),
		From: from, To: to, Stage: stage.Name, Reason: why,
	}
	return r, ev, true, nil
}

// Outcome is what the workflow is told of a decided stage of r: the
// status it ended in, or APPROVED when it passed.
func Outcome(r Request) Decision {
	switch r.Status {
	case StatusRejected:
		return Rejected
	case StatusReturned:
		return Returned
	case StatusCancelled:
		return Cancelled
	}
	return Approved
}

// stageOutcome combines a stage's votes: any rejection rejects, else any
// return returns, else approved. The reason is the deciding votes'.
func stageOutcome(votes []Review) (Decision, string) {
	for _, d := range []Decision{Rejected, Returned} {
		var reasons []string
		for _, v := range votes {
			if v.Decision == d {
				reasons = append(reasons, v.Reason)
			}
		}
		if len(reasons) > 0 {
			return d, strings.Join(reasons, "\n")
		}
	}
	var reasons []string
	for _, v := range votes {
		if v.Reason != "" {
			reasons = append(reasons, v.Reason)
		}
	}
	return Approved, strings.Join(reasons, "\n")
}

// checkFileDecisions validates a vote's per-file decisions: distinct
// non-empty paths, APPROVED or REJECTED, a comment on every rejection, and
// the request's total within MaxFileDecisionBytes.
func checkFileDecisions(r Request, files []FileDecision) ([]FileDecision, error) {
	if len(files) == 0 {
		return nil, nil
	}
	total := 0
	for _, v := range r.Reviews {
		for _, f := range v.Files {
			total += len(f.Path) + len(f.Comment) + fileDecisionOverhead
		}
	}
	out := make([]FileDecision, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		f.Comment = strings.TrimSpace(f.Comment)
		switch {
		case f.Path == "":
			return nil, Errorf(EINVALID, "files[%d]: path is required", i)
		case seen[f.Path]:
			return nil, Errorf(EINVALID, "files[%d]: %q is decided twice", i, f.Path)
		case f.Decision != Approved && f.Decision != Rejected:
			return nil, Errorf(EINVALID, "files[%d] %q: decision must be APPROVED or REJECTED, got %q", i, f.Path, f.Decision)
		case f.Decision == Rejected && f.Comment == "":
			return nil, Errorf(EINVALID, "files[%d] %q: a comment is required to reject a file", i, f.Path)
		}
		if n := utf8.RuneCountInString(f.Comment); n > MaxCommentLength {
			return nil, Errorf(EINVALID, "files[%d] %q: comment has %d characters, at most %d allowed", i, f.Path, n, MaxCommentLength)
		}
		seen[f.Path] = true
		total += len(f.Path) + len(f.Comment) + fileDecisionOverhead
		out[i] = f
	}
	if total > MaxFileDecisionBytes {
		return nil, Errorf(ELIMIT, "per-file decisions of this request would take more than the %d bytes kept for them; decide fewer files one by one, shorten the comments, or reject or return the request as a whole", MaxFileDecisionBytes)
	}
	return out, nil
}

// Cancel ends r, awaiting a decision, on behalf of who: the requester
// (matched by UserID, the identity provider's admin-set mapping, never by
// an editable field) or a TRE admin (admin true; the caller checks the
// group). The task token is kept aside (ResumeToken) for the workflow to be
// told, as for a decision.
func (c Chain) Cancel(r Request, who Identity, admin bool, reason string, now time.Time) (Request, Event, error) {
	requester := who.UserID != "" && who.UserID == r.RequestedBy
	if !requester && !admin {
		return r, Event{}, Errorf(EFORBIDDEN, "only the requester or a TRE admin may cancel request %s", r.ID)
	}
	if r.Released() || r.Status == StatusRITApproved || (c.Final(r.Status) && r.Status == c.Stages[len(c.Stages)-1].ApprovedStatus) {
		return r, Event{}, Errorf(ECONFLICT, "request %s is released (%s) and can no longer be cancelled; a TRE admin can revoke the release", r.ID, r.Status)
	}
	if c.StageAwaiting(r.Status) < 0 {
		return r, Event{}, Errorf(ECONFLICT, "request %s is %s and awaits no decision, so there is nothing to cancel", r.ID, r.Status)
	}
	if r.TaskToken == "" {
		return r, Event{}, Errorf(ECONFLICT, "request %s is being staged or between stages; cancel it once it awaits a decision", r.ID)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return r, Event{}, Errorf(EINVALID, "a reason is required to cancel")
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return r, Event{}, Errorf(EINVALID, "reason: %d characters, at most %d allowed", n, MaxReasonLength)
	}
	from := r.Status
	if err := CheckTransition(from, StatusCancelled); err != nil {
		return r, Event{}, err
	}
	stage := c.Stages[c.StageAwaiting(from)]
	r.Reviews = append([]Review(nil), r.Reviews...)
	r.Status = StatusCancelled
	r.UpdatedAt, r.UpdatedBy = now.UTC(), actor(who)
	r.EndedBy, r.EndReason = actor(who), reason
	r.CurrentReviewerGroup = ""
	r.ResumeToken, r.TaskToken = r.TaskToken, ""
	return r, Event{RequestID: r.ID, At: now.UTC(), Kind: EventCancelled, Actor: actor(who), From: from, To: StatusCancelled, Stage: stage.Name, Reason: reason}, nil
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
