package egress

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ZipRemoval is where the removal of a revoked request's zip stands.
type ZipRemoval string

const (
	// ZipPending: the zip is still where a download link reaches it (the
	// removal has not run yet, or failed); the sweep retries it.
	ZipPending ZipRemoval = "PENDING"
	// ZipHidden: a delete marker hides the zip from every link; its
	// versions are kept until PurgeAfter.
	ZipHidden ZipRemoval = "HIDDEN"
	// ZipPurged: every version of the zip is deleted.
	ZipPurged ZipRemoval = "PURGED"
)

// Event kinds of a revocation.
const (
	EventRevoked    = "REVOKED"
	EventZipRemoved = "ZIP_REMOVED" // the zip was hidden or purged, or removing it failed
)

// MaxRetentionDays bounds revoke_retention_days.
const MaxRetentionDays = 3650

// Revoke withdraws the release of r on behalf of who, a TRE admin (the
// caller checks the group): r must be released and in chain's final
// approved status. The returned request is REVOKED with its zip still to be
// removed (ZipPending) and PurgeAfter now: a caller that keeps revoked zips
// for a while (revoke_retention_days) moves PurgeAfter later before storing
// it. r is not modified.
func Revoke(r Request, chain Chain, who Identity, reason string, now time.Time) (Request, Event, error) {
	if r.Status == StatusRevoked {
		return r, Event{}, Errorf(ECONFLICT, "request %s is already revoked", r.ID)
	}
	if len(chain.Stages) == 0 {
		return r, Event{}, Errorf(EINVALID, "request %s: the approval chain has no stages", r.ID)
	}
	final := chain.Stages[len(chain.Stages)-1].ApprovedStatus
	if r.Status != final || !r.Released() {
		return r, Event{}, Errorf(ECONFLICT, "request %s is %s and not released; only a released request (%s) can be revoked", r.ID, r.Status.orNone(), final)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return r, Event{}, Errorf(EINVALID, "a reason is required to revoke")
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return r, Event{}, Errorf(EINVALID, "reason: %d characters, at most %d allowed", n, MaxReasonLength)
	}
	if err := CheckTransition(r.Status, StatusRevoked); err != nil {
		return r, Event{}, err
	}
	now = now.UTC()
	from := r.Status
	r.Reviews = append([]Review(nil), r.Reviews...)
	r.Status = StatusRevoked
	r.UpdatedAt, r.UpdatedBy = now, actor(who)
	r.RevokedAt, r.RevokedBy, r.RevokeReason = now, actor(who), reason
	r.ZipRemoval = ZipPending
	r.PurgeAfter = now
	ev := Event{RequestID: r.ID, At: now, Kind: EventRevoked, Actor: actor(who), From: from, To: StatusRevoked, Reason: reason}
	return r, ev, nil
}

// ZipRemoved records the outcome of removing a revoked request's zip: to
// is ZipHidden or ZipPurged, or ZipPending with the failure in note.
func ZipRemoved(r Request, to ZipRemoval, note string, now time.Time) (Request, Event, error) {
	if r.Status != StatusRevoked {
		return r, Event{}, Errorf(ECONFLICT, "request %s is %s, not %s: its zip is not to be removed", r.ID, r.Status.orNone(), StatusRevoked)
	}
	switch to {
	case ZipPending, ZipHidden, ZipPurged:
	default:
		return r, Event{}, Errorf(EINVALID, "unknown zip removal state %q", to)
	}
	if r.ZipRemoval == ZipPurged && to != ZipPurged {
		return r, Event{}, Errorf(ECONFLICT, "the zip of request %s is already purged", r.ID)
	}
	now = now.UTC()
	r.ZipRemoval = to
	r.UpdatedAt, r.UpdatedBy = now, ActorWorkflow
	reason := "zip " + strings.ToLower(string(to))
	switch {
	case to == ZipPending:
		reason = "the zip could not be removed and is retried: " + note
		r.FailureCause = reason
	case to == ZipHidden:
		reason = "zip hidden from every download link; its versions are kept until " + FormatTime(r.PurgeAfter)
		r.FailureCause = ""
	default:
		reason = "every version of the zip deleted"
		r.FailureCause = ""
	}
	return r, Event{RequestID: r.ID, At: now, Kind: EventZipRemoved, Actor: ActorWorkflow, From: r.Status, To: r.Status, Reason: reason}, nil
}

// PurgeDue reports what is left to do to a revoked request's zip at now:
// purge (delete every version: retention has passed), hide (a delete marker:
// the zip is still reachable but must be kept), or nothing.
func PurgeDue(r Request, now time.Time) (purge, hide bool) {
	if r.Status != StatusRevoked || r.ZipKey == "" || r.ZipRemoval == ZipPurged {
		return false, false
	}
	if !now.Before(r.PurgeAfter) {
		return true, false
	}
	return false, r.ZipRemoval != ZipHidden
}
