package egress

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
	StatusRevoked     Status = "REVOKED"     // a TRE admin withdrew the release (Revoke)
)

// Statuses lists every status, in the order the frontend sorts them first.
var Statuses = []Status{StatusProcessing, StatusIGApproved, StatusRITApproved, StatusRejected, StatusFailed, StatusExpired, StatusRevoked}

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
// A released request in its chain's final approved status may be revoked
// (Revoke checks which of the two approved statuses is final).
var transitions = map[Status]map[Status]bool{
	"":                {StatusProcessing: true},
	StatusProcessing:  {StatusIGApproved: true, StatusRejected: true, StatusFailed: true, StatusExpired: true},
	StatusIGApproved:  {StatusRITApproved: true, StatusRejected: true, StatusFailed: true, StatusExpired: true, StatusRevoked: true},
	StatusRITApproved: {StatusFailed: true, StatusRevoked: true},
	StatusRejected:    {StatusFailed: true},
	StatusFailed:      {},
	StatusExpired:     {},
	StatusRevoked:     {},
}

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
	case StatusRejected, StatusFailed, StatusExpired, StatusRevoked:
		return true
	}
	return len(c.Stages) > 0 && s == c.Stages[len(c.Stages)-1].ApprovedStatus
}
