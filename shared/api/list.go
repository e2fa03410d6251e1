package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// ListRequests is the frontend's listRequests: every request awaiting a
// decision, and finished ones requested within MaxRequestAgeDays (all when
// 0). It reads the by-status index a page at a time, never the whole table.
func (s *Service) ListRequests(ctx context.Context, who egress.Identity) ([]egress.Request, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return nil, err
	}
	var since time.Time
	if s.MaxRequestAgeDays > 0 {
		since = s.now().AddDate(0, 0, -s.MaxRequestAgeDays)
	}
	full, err := egress.NewChain(s.reviewerGroups(), false)
	if err != nil {
		return nil, err
	}
	var out []egress.Request
	at := map[string]int{} // id -> index in out
	for _, st := range egress.Statuses {
		q := egress.ListQuery{Status: st, Limit: egress.MaxListLimit}
		// A status some chain still awaits a decision in is read whole;
		// IGAPPROVED is final only under single approval, checked below.
		inFlight := full.StageAwaiting(st) >= 0
		if !inFlight {
			q.Since = since
		}
		for {
			page, err := s.Requests.List(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Requests {
				if inFlight && !since.IsZero() && r.RequestedAt.Before(since) {
					if chain, err := s.chainFor(r); err == nil && chain.Final(r.Status) {
						continue
					}
				}
				// The index is eventually consistent: a request that moved
				// while we paged can show under two statuses. Keep the newer.
				if i, ok := at[r.ID]; ok {
					if r.Version > out[i].Version {
						out[i] = r
					}
					continue
				}
				at[r.ID] = len(out)
				out = append(out, r)
			}
			if page.NextToken == "" {
				break
			}
			q.NextToken = page.NextToken
		}
	}
	return out, nil
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
// within it.
type pageToken struct {
	Status egress.Status `json:"s"`
	Store  string        `json:"t,omitempty"`
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
	i, storeToken := 0, ""
	if nextToken != "" {
		tok, err := decodePageToken(nextToken)
		if err != nil {
			return RequestPage{}, err
		}
		if i = slices.Index(statuses, tok.Status); i < 0 {
			return RequestPage{}, egress.Errorf(egress.EINVALID, "next token does not belong to this filter")
		}
		storeToken = tok.Store
	}
	page := RequestPage{Requests: []egress.Request{}}
	for queries := 0; i < len(statuses) && len(page.Requests) < limit && queries < maxPageQueries; queries++ {
		// Asking for no more than the page still needs means every match of
		// this read fits, so the store's token never skips one.
		p, err := s.Requests.List(ctx, egress.ListQuery{Status: statuses[i], Limit: limit - len(page.Requests), NextToken: storeToken})
		if err != nil {
			return RequestPage{}, err
		}
		for _, r := range p.Requests {
			if f.matches(r) {
				page.Requests = append(page.Requests, r)
			}
		}
		if storeToken = p.NextToken; storeToken == "" {
			i++
		}
	}
	if i < len(statuses) {
		page.NextToken = encodePageToken(pageToken{Status: statuses[i], Store: storeToken})
	}
	return page, nil
}

func encodePageToken(t pageToken) string {
	b, _ := json.Marshal(t) // two strings cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken refuses anything encodePageToken did not make; the store
// checks its own part.
func decodePageToken(s string) (pageToken, error) {
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, invalid
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || !t.Status.Valid() {
		return pageToken{}, invalid
	}
	return t, nil
}
