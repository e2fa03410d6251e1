package egress

import "time"

// Page sizes of request listings.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ListQuery selects one page of requests in one status, or, instead of
// a status, of one workspace or of one submitter, in every status.
type ListQuery struct {
	Status Status
	// WorkspaceID, instead of Status: the workspace's requests (SWB's
	// egress store id is the workspace id).
	WorkspaceID string
	// RequestedBy, instead of Status: the requests of one submitter, by
	// SWB user id (Request.RequestedBy).
	RequestedBy string
	Limit       int       // page size; 0 means DefaultListLimit, more than MaxListLimit means MaxListLimit
	NextToken   string    // from the previous Page; empty for the first page
	Since       time.Time // if set, only requests requested at or after it
	// Oldest lists oldest requested first (ties by id, ascending) instead
	// of newest first. A token from one order continues the other from the
	// same place, so a caller that mixes them gets a page of neither.
	Oldest bool
}

// Page is one page of a listing. NextToken is empty on the last page; a
// non-empty token may still lead to an empty page.
type Page struct {
	Requests  []Request
	NextToken string
}

// Normalize checks q and returns it with its limit resolved (see
// ListLimit). A query must select by exactly one of status, workspace or
// submitter; an unknown status or a negative limit is EINVALID.
func (q ListQuery) Normalize() (ListQuery, error) {
	n := 0
	for _, set := range []bool{q.Status != "", q.WorkspaceID != "", q.RequestedBy != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return ListQuery{}, Errorf(EINVALID, "a listing selects by one of status, workspace_id or requested_by, not several")
	}
	if q.WorkspaceID == "" && q.RequestedBy == "" && !q.Status.Valid() {
		return ListQuery{}, Errorf(EINVALID, "unknown status %q", q.Status)
	}
	limit, err := ListLimit(q.Limit, DefaultListLimit)
	if err != nil {
		return ListQuery{}, err
	}
	q.Limit = limit
	return q, nil
}

// ListLimit resolves a requested page size: negative is EINVALID, 0 means
// def, and more than MaxListLimit means MaxListLimit.
func ListLimit(limit, def int) (int, error) {
	switch {
	case limit < 0:
		return 0, Errorf(EINVALID, "limit must not be negative, got %d", limit)
	case limit == 0:
		return def, nil
	case limit > MaxListLimit:
		return MaxListLimit, nil
	}
	return limit, nil
}
