package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// listRequests returns one list in one response, which must fit a direct
// Lambda resolver's response (Lambda's synchronous payload limit, 6 MB,
// 6,291,456 bytes) and come back within AppSync's 30 s. It lists every
// request awaiting a decision, and then the newest finished ones within a
// cap; the requests query pages through the rest.
const (
	// MaxListResponseBytes is the most listRequests returns (its JSON, as
	// the resolver's result): 6 MB less about 290 KB for what AppSync and
	// the Lambda runtime add. Only in-flight requests can take it there.
	MaxListResponseBytes = 6_000_000
	// ListResponseBudget is the size up to which finished requests are
	// added after the in-flight ones.
	ListResponseBudget = 5_000_000
	// RequestViewBytes is the design size of one Request as listed: all 29
	// fields of contract 3 and the additions filled, with names, e-mails,
	// reasons and failure cause of 100 characters, measure about 2.2 KB
	// (TestRequestViewSize); 2.5 KiB leaves a margin.
	RequestViewBytes = 2560
	// MaxListedFinished caps the finished requests listed, newest
	// requested first. At RequestViewBytes each they take 2.3 MB, under
	// half of ListResponseBudget, so the other half still holds about 1,000
	// in-flight requests of the design size before the byte budget, not
	// this cap, limits the finished ones.
	MaxListedFinished = 900
)

// ListRequests is the frontend's listRequests: every request awaiting a
// decision, then finished ones requested within MaxRequestAgeDays (0: any
// age), newest first, up to MaxListedFinished and while the response stays
// within ListResponseBudget. In-flight requests are always listed up to
// MaxListResponseBytes; should they alone exceed it, the oldest (nearest
// their stage timeout) are kept, the rest are left out and an error is
// logged for the admin. Output is grouped by status in egress.Statuses
// order, newest first within each. It reads the by-status index a page at
// a time, never the whole table: in-flight statuses whole, finished ones
// only as far as the cap.
func (s *Service) ListRequests(ctx context.Context, who egress.Identity) ([]egress.Request, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return nil, err
	}
	var since time.Time
	if s.MaxRequestAgeDays > 0 {
		since = s.now().AddDate(0, 0, -s.MaxRequestAgeDays)
	}
	var read []egress.Request
	at := map[string]int{} // id -> index in read
	for _, st := range egress.Statuses {
		// A status some chain still awaits a decision in is read whole;
		// IGAPPROVED is final only under single approval, sorted out below.
		inFlight := slices.Contains(egress.AwaitingStatuses(), st)
		q := egress.ListQuery{Status: st, Limit: egress.MaxListLimit}
		if !inFlight {
			q.Since = since
		}
		for n := 0; inFlight || n < MaxListedFinished; {
			if !inFlight {
				q.Limit = min(egress.MaxListLimit, MaxListedFinished-n)
			}
			page, err := s.Requests.List(ctx, q)
			if err != nil {
				return nil, err
			}
			n += len(page.Requests)
			for _, r := range page.Requests {
				// The index is eventually consistent: a request that moved
				// while we paged can show under two statuses. Keep the newer.
				if i, ok := at[r.ID]; ok {
					if r.Version > read[i].Version {
						read[i] = r
					}
					continue
				}
				at[r.ID] = len(read)
				read = append(read, r)
			}
			if page.NextToken == "" {
				break
			}
			q.NextToken = page.NextToken
		}
	}

	var flying, finished []sized
	for _, r := range read {
		// A request whose chain cannot be built (reviewer groups changed
		// under it) is listed with the in-flight ones, for the admin to see.
		if chain, err := s.chainFor(r); err != nil || chain.StageAwaiting(r.Status) >= 0 {
			flying = append(flying, s.newSized(r))
		} else if since.IsZero() || !r.RequestedAt.Before(since) {
			finished = append(finished, s.newSized(r))
		}
	}
	out, used, left := fit(flying, oldestFirst, MaxListResponseBytes, len(flying))
	if left > 0 {
		s.logger(ctx).Error("listRequests left out requests awaiting a decision: they alone exceed the response limit; page them with the requests query",
			"listed", len(out), "left_out", left, "bytes", used, "max_bytes", MaxListResponseBytes)
	}
	more, _, _ := fit(finished, newestFirst, ListResponseBudget-used+len("[]"), MaxListedFinished)
	out = append(out, more...)
	slices.SortFunc(out, func(a, b egress.Request) int {
		return cmp.Or(cmp.Compare(slices.Index(egress.Statuses, a.Status), slices.Index(egress.Statuses, b.Status)), newestFirst(a, b))
	})
	return out, nil
}

// sized is a request and the size of its JSON as listRequests returns it.
type sized struct {
	r    egress.Request
	size int
}

func (s *Service) newSized(r egress.Request) sized {
	b, err := json.Marshal(s.requestView(r))
	if err != nil { // strings only: cannot fail
		panic(err)
	}
	return sized{r, len(b)}
}

func newestFirst(a, b egress.Request) int {
	return cmp.Or(b.RequestedAt.Compare(a.RequestedAt), cmp.Compare(b.ID, a.ID))
}

func oldestFirst(a, b egress.Request) int { return -newestFirst(a, b) }

// fit takes requests from rs in order until the next one would make their
// JSON array exceed budget bytes or max requests are taken. It returns
// those taken, the bytes they use (with the array's brackets and commas)
// and how many were left.
func fit(rs []sized, order func(a, b egress.Request) int, budget, max int) (taken []egress.Request, used, left int) {
	slices.SortFunc(rs, func(a, b sized) int { return order(a.r, b.r) })
	used = len("[]")
	for i, x := range rs {
		if len(taken) == max || used+x.size+1 > budget {
			return taken, used, len(rs) - i
		}
		taken, used = append(taken, x.r), used+x.size+1 // the comma
	}
	return taken, used, 0
}

// RequestFilter selects requests in RequestsPage; empty fields match anything.
type RequestFilter struct {
	Status      egress.Status `json:"status"`
	WorkspaceID string        `json:"workspace_id"`
	ProjectID   string        `json:"project_id"`
}

func (f RequestFilter) matches(r egress.Request) bool {
	return (f.WorkspaceID == "" || r.WorkspaceID == f.WorkspaceID) &&
		(f.ProjectID == "" || r.ProjectID == f.ProjectID)
}

// RequestPage is one page of RequestsPage. NextToken is empty on the last page;
// a non-empty token may still lead to an empty page.
type RequestPage struct {
	Requests  []egress.Request
	NextToken string
}

// Page sizes of RequestsPage.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = egress.MaxListLimit
	// maxPageQueries bounds the index reads of one page when a workspace or
	// project filter discards most of what is read; the page then comes
	// back short with a token to carry on.
	maxPageQueries = 10
)

// pageToken is where a listing stopped: a status and the store's token
// within it. Queue marks reviewQueue's, read oldest first, so that neither
// listing takes the other's token for its own.
type pageToken struct {
	Status egress.Status `json:"s"`
	Store  string        `json:"t,omitempty"`
	Queue  bool          `json:"q,omitempty"`
}

// RequestsPage returns one page of requests matching f, newest requested first
// within each status, statuses in egress.Statuses order. Every read is a
// query of the by-status index.
func (s *Service) RequestsPage(ctx context.Context, who egress.Identity, f RequestFilter, limit int, nextToken string) (RequestPage, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return RequestPage{}, err
	}
	limit, err := egress.ListLimit(limit, DefaultPageLimit)
	if err != nil {
		return RequestPage{}, err
	}
	statuses := egress.Statuses
	if f.Status != "" {
		if !f.Status.Valid() {
			return RequestPage{}, egress.Errorf(egress.EINVALID, "unknown status %q", f.Status)
		}
		statuses = []egress.Status{f.Status}
	}
	at, err := decodePageToken(nextToken, statuses, false, "next token does not belong to this filter")
	if err != nil {
		return RequestPage{}, err
	}
	return s.pageByStatus(ctx, statuses, at, limit, f.matches)
}

// pageByStatus reads one page of requests kept by keep from the by-status
// index, from where at says on: statuses in order, each read newest first
// (oldest first for a Queue token), and returns it with the token of where
// it stopped. One query per page, or per status crossed, and at most
// maxPageQueries: when keep discards most of what is read, the page comes
// back short with a token to carry on.
func (s *Service) pageByStatus(ctx context.Context, statuses []egress.Status, at pageToken, limit int, keep func(egress.Request) bool) (RequestPage, error) {
	i := max(slices.Index(statuses, at.Status), 0)
	page := RequestPage{Requests: []egress.Request{}}
	for queries := 0; i < len(statuses) && len(page.Requests) < limit && queries < maxPageQueries; queries++ {
		// Asking for no more than the page still needs means every match of
		// this read fits, so the store's token never skips one.
		p, err := s.Requests.List(ctx, egress.ListQuery{Status: statuses[i], Limit: limit - len(page.Requests), NextToken: at.Store, Oldest: at.Queue})
		if err != nil {
			return RequestPage{}, err
		}
		for _, r := range p.Requests {
			if keep(r) {
				page.Requests = append(page.Requests, r)
			}
		}
		if at.Store = p.NextToken; at.Store == "" {
			i++
		}
	}
	if i < len(statuses) {
		at.Status = statuses[i]
		page.NextToken = encodePageToken(at)
	}
	return page, nil
}

func encodePageToken(t pageToken) string {
	b, _ := json.Marshal(t) // strings and a bool cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken refuses anything encodePageToken did not make for a
// listing of statuses (queue: reviewQueue's), saying foreign when the
// token names a status not listed; the store checks its own part. ""
// starts at the first status.
func decodePageToken(s string, statuses []egress.Status, queue bool, foreign string) (pageToken, error) {
	if s == "" {
		return pageToken{Queue: queue}, nil
	}
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, invalid
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || !t.Status.Valid() {
		return pageToken{}, invalid
	}
	if t.Queue != queue || !slices.Contains(statuses, t.Status) {
		return pageToken{}, egress.Errorf(egress.EINVALID, "%s", foreign)
	}
	return t, nil
}
