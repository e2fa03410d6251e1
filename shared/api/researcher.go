package api

import (
	"context"
	"strings"

	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// reader is what a caller may read: every request (a reviewer or TRE
// admin), or only the requests they submitted (a researcher).
type reader struct {
	reviewer bool
	// userID is a researcher's SWB user id; "" for a caller who is not in
	// the researcher group.
	userID string
}

// readerOf is the one place the API decides who reads what: reviewer,
// researcher or nobody. It runs before anything is read. A researcher is
// matched to requests only by the SWB user id an administrator set on their
// account (egress.Identity.UserID), never by e-mail or anything else the
// user can change, so one without it reads nothing.
func (s *Service) readerOf(who egress.Identity) (reader, error) {
	researcher := s.ResearcherGroup != "" && who.InGroup(s.ResearcherGroup)
	rd := reader{reviewer: inAny(who, s.reviewerGroups()) || s.isAdmin(who)}
	if researcher {
		rd.userID = who.UserID
	}
	switch {
	case rd.reviewer:
		return rd, nil
	case researcher && who.UserID == "":
		return reader{}, errNotMapped()
	case researcher:
		return rd, nil
	}
	allowed := s.reviewerGroups()
	if s.ResearcherGroup != "" {
		allowed = append(append([]string{}, allowed...), s.ResearcherGroup)
	}
	return reader{}, egress.Errorf(egress.EFORBIDDEN, "only members of %v may use the egress API", allowed)
}

func errNotMapped() error {
	return egress.Errorf(egress.EFORBIDDEN, "your account is not mapped to an SWB user: an administrator must set %s on it before you can see your requests", cognito.UserIDAttribute)
}

// owns reports whether the researcher submitted r.
func (rd reader) owns(r egress.Request) bool {
	return rd.userID != "" && r.RequestedBy == rd.userID
}

// readable returns request id as rd may see it. Another's request reads
// to a researcher exactly as a missing one, so its existence does not leak.
func (s *Service) readable(ctx context.Context, rd reader, id string) (egress.Request, error) {
	r, err := s.get(ctx, rd, id)
	if err != nil {
		return egress.Request{}, err
	}
	return rd.show(r), nil
}

// get returns request id as stored, once rd may read it: for the
// operations that act on it (cancel) and need what show hides.
func (s *Service) get(ctx context.Context, rd reader, id string) (egress.Request, error) {
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return egress.Request{}, err
	}
	if !rd.reviewer && !rd.owns(r) {
		return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
	}
	return r, nil
}

// readableSource is the parent request of a nested field as rd may use
// it: a reviewer's as AppSync passed it, a researcher's re-read, so the
// ownership check and the manifest key come from the store.
func (s *Service) readableSource(ctx context.Context, rd reader, r egress.Request) (egress.Request, error) {
	if rd.reviewer {
		return r, nil
	}
	return s.readable(ctx, rd, r.ID)
}

// readableEvents returns request id's audit trail as rd may see it.
func (s *Service) readableEvents(ctx context.Context, rd reader, id string) ([]egress.Event, error) {
	if rd.reviewer {
		return s.Requests.Events(ctx, id)
	}
	r, err := s.readable(ctx, rd, id)
	if err != nil {
		return nil, err
	}
	events, err := s.Requests.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]egress.Event, len(events))
	for i, e := range events {
		e.Actor = researcherActor(r, e.Actor, e.Stage)
		out[i] = e
	}
	return out, nil
}

// show is r as rd may see it: whole for a reviewer; for a researcher with
// the reviewers' identities replaced by their stage's name and no task
// tokens. Statuses, decisions, reasons and times stay.
func (rd reader) show(r egress.Request) egress.Request {
	if rd.reviewer {
		return r
	}
	r.TaskToken, r.ResumeToken, r.ExecutionArn = "", "", ""
	reviews := make([]egress.Review, len(r.Reviews))
	lastStage := ""
	for i, v := range r.Reviews {
		v.Subject, v.Name, v.Email = "", v.Stage, v.Stage
		reviews[i], lastStage = v, v.Stage
	}
	r.Reviews = reviews
	r.UpdatedBy = researcherActor(r, r.UpdatedBy, lastStage)
	r.EndedBy = researcherActor(r, r.EndedBy, "")
	return r
}

// anyReviewer stands for a reviewer whose stage is not known.
const anyReviewer = "reviewer"

// researcherActor is actor as a researcher sees it: the workflow and the
// researcher themselves by name, anyone else as stage (or anyReviewer).
func researcherActor(r egress.Request, actor, stage string) string {
	switch {
	case actor == "", actor == egress.ActorWorkflow,
		actor == r.RequestedBy,
		r.RequestedByEmail != "" && strings.EqualFold(actor, r.RequestedByEmail):
		return actor
	case stage != "":
		return stage
	}
	return anyReviewer
}

// MyRequests is a researcher's own requests (those whose submitter is
// their SWB user id), newest first, a page of limit (DefaultPageLimit when
// 0, at most MaxPageLimit) from where nextToken says.
func (s *Service) MyRequests(ctx context.Context, who egress.Identity, limit int, nextToken string) (RequestPage, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return RequestPage{}, err
	}
	if rd.userID == "" {
		switch {
		case s.ResearcherGroup == "":
			return RequestPage{}, egress.Errorf(egress.EFORBIDDEN, "myRequests is not enabled: the deployment has no researcher group (researcher_group)")
		case who.InGroup(s.ResearcherGroup):
			return RequestPage{}, errNotMapped()
		}
		return RequestPage{}, egress.Errorf(egress.EFORBIDDEN, "myRequests lists a researcher's own requests: only members of %s may use it", s.ResearcherGroup)
	}
	return s.page(ctx, rd, egress.ListQuery{RequestedBy: rd.userID, NextToken: nextToken}, limit)
}

// WorkspaceRequests is a workspace's requests, in every status with their
// outcomes, newest first, for reviewers and TRE admins: a page of limit
// (DefaultPageLimit when 0, at most MaxPageLimit) from where nextToken says.
func (s *Service) WorkspaceRequests(ctx context.Context, who egress.Identity, workspaceID string, limit int, nextToken string) (RequestPage, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return RequestPage{}, err
	}
	if !rd.reviewer {
		return RequestPage{}, egress.Errorf(egress.EFORBIDDEN, "workspaceRequests is for reviewers: only members of %v may use it", s.reviewerGroups())
	}
	if workspaceID = strings.TrimSpace(workspaceID); workspaceID == "" {
		return RequestPage{}, egress.Errorf(egress.EINVALID, "workspace_id is required")
	}
	return s.page(ctx, rd, egress.ListQuery{WorkspaceID: workspaceID, NextToken: nextToken}, limit)
}

// page reads one page of q, shown as rd may see it. The store's token is
// the page's: it is bound to q's index and partition, so it cannot page
// another workspace or another researcher's requests.
func (s *Service) page(ctx context.Context, rd reader, q egress.ListQuery, limit int) (RequestPage, error) {
	var err error
	if q.Limit, err = egress.ListLimit(limit, DefaultPageLimit); err != nil {
		return RequestPage{}, err
	}
	p, err := s.Requests.List(ctx, q)
	if err != nil {
		return RequestPage{}, err
	}
	out := RequestPage{Requests: make([]egress.Request, len(p.Requests)), NextToken: p.NextToken}
	for i, r := range p.Requests {
		out.Requests[i] = rd.show(r)
	}
	return out, nil
}
