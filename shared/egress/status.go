package egress

import "fmt"

// Status is a request's egress_status. The first four are the ones the
// existing frontend knows; the rest are additions it shows verbatim.
type Status string

const (
	StatusProcessing  Status = "PROCESSING"  // awaiting the first (IG) decision
	StatusIGApproved  Status = "IGAPPROVED"  // IG approved; awaiting RIT, or final with single approval
	StatusRITApproved Status = "RITAPPROVED" // RIT approved; final
	StatusRejected    Status = "REJECTED"    // a reviewer rejected; staged copies deleted
	StatusFailed      Status = "FAILED"      // the workflow failed; store unlocked, admin told
	StatusExpired     Status = "EXPIRED"     // a stage timed out waiting for a decision
	StatusReturned    Status = "RETURNED"    // a reviewer asked for changes; the requester may submit again
	StatusCancelled   Status = "CANCELLED"   // the requester or a TRE admin withdrew it while it awaited a decision
	StatusRevoked     Status = "REVOKED"     // a TRE admin withdrew the release (Revoke)
	StatusBlocked     Status = "BLOCKED"     // an automated check found a blocking problem before review; staged copies deleted
)

// MaxStages is the longest approval chain. Stages after the second have
// no status the frontend knows: a request that passed stage k (k >= 2)
// and awaits the next is STAGE<k>APPROVED.
const MaxStages = 5

// stagePassed is the status of a request that passed stage k (1-based,
// 2 <= k < MaxStages) and awaits the next one.
func stagePassed(k int) Status { return Status(fmt.Sprintf("STAGE%dAPPROVED", k)) }

// Statuses lists every status, in the order the frontend sorts them first.
var Statuses = func() []Status {
	s := []Status{StatusProcessing, StatusIGApproved}
	for k := 2; k < MaxStages; k++ {
		s = append(s, stagePassed(k))
	}
	return append(s, StatusRITApproved, StatusRejected, StatusReturned, StatusCancelled, StatusBlocked, StatusFailed, StatusExpired, StatusRevoked)
}()

func (s Status) orNone() string {
	if s == "" {
		return "(none)"
	}
	return string(s)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok && s != ""
}

// transitions is the whole state machine of a request: from-status to the
// set of statuses it may move to. "" is the state before creation. Anything
// not listed is refused with a *TransitionError.
//
// Approved statuses may still fail (the release can fail after approval) and
// a rejection may fail while cleaning up; terminal failure states never move.
//
// A request awaiting stage i (PROCESSING, IGAPPROVED, STAGE<k>APPROVED) may
// pass it to the next awaiting status or to RITAPPROVED (the last stage),
// or end REJECTED, RETURNED, CANCELLED, FAILED or EXPIRED. A released
// request in its chain's final approved status may be revoked (Revoke
// checks which of the two approved statuses is final).
var transitions = func() map[Status]map[Status]bool {
	awaiting := []Status{StatusProcessing, StatusIGApproved}
	for k := 2; k < MaxStages; k++ {
		awaiting = append(awaiting, stagePassed(k))
	}
	t := map[Status]map[Status]bool{
		"":                {StatusProcessing: true},
		StatusRITApproved: {StatusFailed: true, StatusRevoked: true},
		StatusRejected:    {StatusFailed: true},
		StatusReturned:    {StatusFailed: true},
		StatusCancelled:   {StatusFailed: true},
		StatusBlocked:     {StatusFailed: true},
		StatusFailed:      {},
		StatusExpired:     {},
		StatusRevoked:     {},
	}
	for i, a := range awaiting {
		next := map[Status]bool{StatusRejected: true, StatusReturned: true, StatusCancelled: true, StatusFailed: true, StatusExpired: true}
		if i+1 < len(awaiting) {
			next[awaiting[i+1]] = true
		}
		if i > 0 {
			next[StatusRITApproved] = true
		}
		t[a] = next
	}
	// IGAPPROVED is also the final status of a one-stage chain.
	t[StatusIGApproved][StatusFailed] = true
	t[StatusIGApproved][StatusRevoked] = true
	// Only a request not yet reviewed is checked, so only PROCESSING blocks.
	t[StatusProcessing][StatusBlocked] = true
	return t
}()

// CheckTransition returns a *TransitionError unless from -> to is allowed.
func CheckTransition(from, to Status) error {
	if !transitions[from][to] {
		return &TransitionError{From: from, To: to}
	}
	return nil
}

// Final reports whether no decision is pending on a request in status s for
// the given chain: it was rejected, failed, expired, or passed every stage.
func (c Chain) Final(s Status) bool {
	switch s {
	case StatusRejected, StatusFailed, StatusExpired, StatusReturned, StatusCancelled, StatusBlocked, StatusRevoked:
		return true
	}
	return len(c.Stages) > 0 && s == c.Stages[len(c.Stages)-1].ApprovedStatus
}
