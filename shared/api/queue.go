package api

import (
	"context"

	"github.com/tre-egress/egress/shared/egress"
)

// ReviewQueue returns one page of the requests awaiting a stage whose
// group who is in (a TRE admin: every stage): stage by stage in chain
// order, oldest requested first within a stage, so what has waited longest
// comes first. Each stage is one partition of the by-status index, read
// oldest first; the next token names the status it stopped in. The stages
// read are the configured chain's (Service.Chain); a request is listed
// when its own chain says it awaits that stage, for that stage's group.
func (s *Service) ReviewQueue(ctx context.Context, who egress.Identity, limit int, nextToken string) (RequestPage, error) {
	admin := s.isAdmin(who)
	if !admin {
		if err := s.authorizeReviewer(who); err != nil {
			return RequestPage{}, err
		}
	}
	limit, err := egress.ListLimit(limit, DefaultPageLimit)
	if err != nil {
		return RequestPage{}, err
	}
	statuses := s.queueStatuses(who, admin)
	at, err := decodePageToken(nextToken, statuses, true, "next token does not belong to your review queue")
	if err != nil {
		return RequestPage{}, err
	}
	if len(statuses) == 0 {
		return RequestPage{Requests: []egress.Request{}}, nil
	}
	return s.pageByStatus(ctx, statuses, at, limit, func(r egress.Request) bool {
		chain, err := s.chainFor(r)
		if err != nil { // its reviewer groups changed under it: the admin's to sort out
			return admin
		}
		i := chain.StageAwaiting(r.Status)
		return i >= 0 && (admin || who.InGroup(chain.Stages[i].Group))
	})
}

// queueStatuses are the awaiting statuses of the configured chain's stages
// whose group who is in (every stage for an admin), in chain order.
func (s *Service) queueStatuses(who egress.Identity, admin bool) []egress.Status {
	groups := s.Chain.Groups()
	if len(groups) == 0 {
		groups = s.reviewerGroups()
	}
	awaiting := egress.AwaitingStatuses() // stage i awaits awaiting[i]
	var out []egress.Status
	for i, g := range groups[:min(len(groups), len(awaiting))] {
		if admin || who.InGroup(g) {
			out = append(out, awaiting[i])
		}
	}
	return out
}
