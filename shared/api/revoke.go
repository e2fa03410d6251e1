package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// Zips removes revoked zips from the datalake (objects.Client).
type Zips interface {
	// HideObject puts a delete marker on key: links, which name no
	// version, get 404; the versions are kept.
	HideObject(ctx context.Context, bucket, key string) error
	// DeleteVersions deletes every version of exactly key.
	DeleteVersions(ctx context.Context, bucket, key string) (int, error)
}

// Publisher publishes on SNS topics (topics.Publisher).
type Publisher interface {
	Publish(ctx context.Context, n egress.Notice) error
}

// NoticeMessage is what the API publishes on the stack's internal notices
// topic, which the notify function is subscribed to
// (workflow.NotifyInput's fields).
type NoticeMessage struct {
	RequestID string `json:"egress_request_id"`
	Kind      string `json:"kind"`
}

// RevokeRelease withdraws the release of request id, for a TRE admin: the
// revocation is stored first (conditionally), so every download is refused
// from then on whatever happens next; then the zip is removed from where
// links reach it (every version deleted, or hidden behind a delete marker
// and kept for RevokeRetention); then the requester and reviewers are told
// through the notices topic. A zip that cannot be removed now stays
// ZipPending, noted on the request, for workflow.PurgeRevoked to retry.
func (s *Service) RevokeRelease(ctx context.Context, who egress.Identity, id, reason string) (egress.Request, error) {
	if !s.isAdmin(who) {
		return egress.Request{}, egress.Errorf(egress.EFORBIDDEN, "only TRE admins (group(s) %v) may revoke a release", s.adminGroups())
	}
	if id == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	log := s.log(ctx, id)
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return egress.Request{}, err
	}
	chain, err := s.chainFor(r)
	if err != nil {
		return egress.Request{}, err
	}
	next, ev, err := egress.Revoke(r, chain, who, reason, s.now())
	if err != nil {
		log.Warn("revocation refused", "actor", actorOf(who), "code", egress.ErrorCode(err), "error", egress.ErrorMessage(err))
		return egress.Request{}, err
	}
	next.PurgeAfter = next.RevokedAt.Add(s.RevokeRetention)
	stored, err := s.Requests.Update(ctx, next, ev)
	if err != nil {
		return egress.Request{}, err
	}
	log.Info("release revoked", "actor", ev.Actor, "retention", s.RevokeRetention.String())
	stored = s.removeZip(ctx, stored)
	s.publishNotice(ctx, stored.ID, "revoked")
	return stored, nil
}

// removeZip hides or purges the zip of the stored revocation r and records
// the outcome; failures are logged and left ZipPending for the sweep.
func (s *Service) removeZip(ctx context.Context, r egress.Request) egress.Request {
	log := s.log(ctx, r.ID)
	to, note := egress.ZipPurged, ""
	var err error
	switch {
	case s.Zips == nil:
		err = fmt.Errorf("the service has no zip remover")
	case !s.now().Before(r.PurgeAfter):
		_, err = s.Zips.DeleteVersions(ctx, s.DatalakeBucket, r.ZipKey)
	default:
		to = egress.ZipHidden
		err = s.Zips.HideObject(ctx, s.DatalakeBucket, r.ZipKey)
	}
	if err != nil {
		log.Error("revoked zip not removed; the sweep retries", "error", egress.Redact(err.Error()))
		to, note = egress.ZipPending, egress.Redact(err.Error())
	}
	const attempts = 3
	for range attempts {
		next, ev, zerr := egress.ZipRemoved(r, to, note, s.now())
		if zerr != nil {
			log.Error("could not record the zip's removal", "error", zerr)
			return r
		}
		stored, uerr := s.Requests.Update(ctx, next, ev)
		if uerr == nil {
			log.Info("revoked zip removal recorded", "zip_removal", to)
			return stored
		}
		if egress.ErrorCode(uerr) != egress.ECONFLICT {
			log.Error("could not record the zip's removal", "error", egress.Redact(uerr.Error()))
			return r
		}
		if r, uerr = s.Requests.Get(ctx, r.ID); uerr != nil {
			log.Error("could not record the zip's removal", "error", egress.Redact(uerr.Error()))
			return r
		}
	}
	log.Error("could not record the zip's removal: the request kept changing")
	return r
}

// publishNotice asks the notify function, through the notices topic, to
// tell people about request id; a failure is logged, never returned: what
// it tells of is already stored.
func (s *Service) publishNotice(ctx context.Context, id, kind string) {
	log := s.log(ctx, id)
	if s.Notices == nil || s.NoticesTopic == "" {
		log.Warn("no notices topic configured; no one told", "kind", kind)
		return
	}
	b, _ := json.Marshal(NoticeMessage{RequestID: id, Kind: kind}) // two strings cannot fail
	nctx, cancel := context.WithTimeout(ctx, noticeTimeout)
	defer cancel()
	if err := s.Notices.Publish(nctx, egress.Notice{Topic: s.NoticesTopic, Text: string(b)}); err != nil {
		log.Error("notice not published; no one told", "kind", kind, "error", egress.Redact(err.Error()))
		return
	}
	log.Info("notice published", "kind", kind)
}

// noticeTimeout bounds the publish, well inside the resolver's 30 s.
const noticeTimeout = 5 * time.Second
