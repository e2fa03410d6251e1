package api

import (
	"context"
	"fmt"

	"github.com/tre-egress/egress/shared/egress"
)

// ReviewInput is reviewRequest's argument: a vote on the stage the
// request awaits, optionally deciding single files.
type ReviewInput struct {
	RequestID string              `json:"egress_request_id"`
	TaskToken string              `json:"task_token"`
	Decision  string              `json:"decision"`
	Reason    string              `json:"reason"`
	Files     []FileDecisionInput `json:"files"`
}

// FileDecisionInput is one file's decision in a ReviewInput.
type FileDecisionInput struct {
	Path     string `json:"path"`
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

// MaxFileDecisions bounds the per-file decisions of one vote, before any
// is read: egress.MaxFileDecisionBytes bounds what is stored.
const MaxFileDecisions = 10000

// Review records who's vote on the stage the request awaits: APPROVED,
// REJECTED or RETURNED, with a reason (required unless approving) and
// per-file decisions. The stage is decided once it has all its votes; the
// request then moves on and the workflow is resumed.
func (s *Service) Review(ctx context.Context, who egress.Identity, in ReviewInput) (egress.Request, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return egress.Request{}, err
	}
	if in.RequestID == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	d, err := egress.ParseDecision(in.Decision)
	if err != nil {
		return egress.Request{}, err
	}
	if len(in.Files) > MaxFileDecisions {
		return egress.Request{}, egress.Errorf(egress.ELIMIT, "files: %d decisions, at most %d in one vote", len(in.Files), MaxFileDecisions)
	}
	b := egress.Ballot{Decision: d, Reason: in.Reason, Files: make([]egress.FileDecision, len(in.Files))}
	for i, f := range in.Files {
		b.Files[i] = egress.FileDecision{Path: f.Path, Decision: egress.Decision(f.Decision), Comment: f.Comment}
	}
	r, err := s.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return egress.Request{}, err
	}
	if resending(in.TaskToken, r) {
		return s.retryDecision(ctx, who, r, in.Decision)
	}
	p, err := s.awaiting(r)
	if err != nil {
		return egress.Request{}, err
	}
	// The token says which stage the caller saw: without it a vote meant
	// for one stage could land on the next.
	if in.TaskToken == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "task_token is required: send the task_token of the request as you loaded it")
	}
	if err := p.checkToken(in.TaskToken); err != nil {
		return egress.Request{}, err
	}
	stored, _, err := s.decide(ctx, who, p, b)
	return stored, err
}

// Cancel ends a request awaiting a decision on behalf of its requester
// (matched by the identity provider's SWB user id mapping) or a TRE admin:
// CANCELLED is stored, then the waiting task is told, and the workflow
// deletes the staged copies, unlocks the SWB store and tells the stage's
// reviewers and the requester. A cancellation whose delivery failed is
// delivered again when the same person cancels again.
func (s *Service) Cancel(ctx context.Context, who egress.Identity, id, reason string) (egress.Request, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return egress.Request{}, err
	}
	admin := s.isAdmin(who)
	if id == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	// A researcher's cancel of another's request reads as a missing one.
	r, err := s.get(ctx, rd, id)
	if err != nil {
		return egress.Request{}, err
	}
	chain, err := s.chainFor(r)
	if err != nil {
		return egress.Request{}, err
	}
	if r.Status == egress.StatusCancelled && r.ResumeToken != "" && r.EndedBy == actorOf(who) {
		s.log(ctx, r.ID).Info("cancellation sent again", "actor", actorOf(who))
		res, err := s.resume(ctx, r, -1, "")
		return rd.show(res), err
	}
	stage := chain.StageAwaiting(r.Status)
	next, ev, err := chain.Cancel(r, who, admin, reason, s.now())
	if err != nil {
		s.log(ctx, r.ID).Warn("cancel refused", "actor", actorOf(who), "code", egress.ErrorCode(err), "error", egress.ErrorMessage(err))
		return egress.Request{}, err
	}
	stored, err := s.Requests.Update(ctx, next, ev)
	if err != nil {
		return egress.Request{}, err
	}
	s.log(ctx, r.ID).Info("request cancelled", "stage", ev.Stage, "actor", ev.Actor, "admin", admin)
	res, err := s.resume(ctx, stored, stage, ev.Stage)
	return rd.show(res), err
}

// Reviews returns the votes on request id that who may see (see
// egress.Request.ReviewsFor: a blinded stage's votes stay hidden until
// the stage is decided).
//
// A researcher sees the votes on their own requests with the reviewers'
// identities replaced by the stage's name.
func (s *Service) Reviews(ctx context.Context, who egress.Identity, id string) ([]egress.Review, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return nil, err
	}
	r, err := s.readable(ctx, rd, id)
	if err != nil {
		return nil, err
	}
	return r.ReviewsFor(who), nil
}

// ChangePage is one page of the files changed since the previous attempt,
// with the counts over all of them.
type ChangePage struct {
	Changes                 []egress.FileChange
	NextToken               string
	Added, Removed, Changed int
}

// Changes compares the staged files of r with those of the request it
// resubmits (r.PreviousRequestID), by path and SHA-256, a page at a time
// in path order. A request that resubmits nothing has no changes.
func (s *Service) Changes(ctx context.Context, who egress.Identity, r egress.Request, limit int, nextToken string) (ChangePage, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return ChangePage{}, err
	}
	limit, err := egress.ListLimit(limit, DefaultFilePageLimit)
	if err != nil {
		return ChangePage{}, err
	}
	if r.PreviousRequestID == "" {
		if nextToken != "" {
			return ChangePage{}, egress.Errorf(egress.EINVALID, "invalid next token: request %s resubmits nothing", r.ID)
		}
		return ChangePage{Changes: []egress.FileChange{}}, nil
	}
	prev, err := s.Requests.Get(ctx, r.PreviousRequestID)
	if err != nil {
		return ChangePage{}, fmt.Errorf("previous request of %s: %w", r.ID, err)
	}
	before, err := s.manifestFiles(ctx, who, prev)
	if err != nil {
		return ChangePage{}, err
	}
	after, err := s.manifestFiles(ctx, who, r)
	if err != nil {
		return ChangePage{}, err
	}
	all := egress.DiffFiles(before, after)
	page := ChangePage{}
	for _, c := range all {
		switch c.Change {
		case egress.FileAdded:
			page.Added++
		case egress.FileRemoved:
			page.Removed++
		case egress.FileChanged:
			page.Changed++
		}
	}
	from := 0
	if nextToken != "" {
		if from, err = decodeFileToken(nextToken, r.ID, len(all)); err != nil {
			return ChangePage{}, err
		}
	}
	to := min(from+limit, len(all))
	page.Changes = all[from:to]
	if to < len(all) {
		page.NextToken = encodeFileToken(fileToken{Request: r.ID, Offset: to})
	}
	return page, nil
}
