package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
)

// notifyEnvelope is the part of an SNS event (the notices topic delivering
// to notify) that carries the message.
type notifyEnvelope struct {
	Records []struct {
		SNS struct {
			Message string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`
}

// UnmarshalJSON reads the Notify task's payload, or an SNS event whose one
// record's message is that payload (what egress-api publishes on the
// notices topic).
func (in *NotifyInput) UnmarshalJSON(b []byte) error {
	var env notifyEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return egress.Errorf(egress.EINVALID, "notify input: %v", err)
	}
	type plain NotifyInput // without this method
	if env.Records == nil {
		return json.Unmarshal(b, (*plain)(in))
	}
	if len(env.Records) != 1 {
		return egress.Errorf(egress.EINVALID, "notify input: an SNS event of %d records, want 1", len(env.Records))
	}
	if err := json.Unmarshal([]byte(env.Records[0].SNS.Message), (*plain)(in)); err != nil {
		return egress.Errorf(egress.EINVALID, "notify input: SNS message: %v", err)
	}
	return nil
}

// notifyRevoked tells the requester, then every stage's reviewers (those
// who decided the request, the group's configured addresses and, where
// the function has them, the group's topic and members), that the release
// of r was revoked and why. The requester's e-mail failing is returned, so
// the delivery is retried before anyone else is told; the reviewers'
// failures are logged and the admin told.
func (h *Handlers) notifyRevoked(ctx context.Context, r egress.Request) error {
	if r.Status != egress.StatusRevoked {
		return egress.Errorf(egress.ECONFLICT, "request %s is %s, not %s: nothing to tell of a revocation", r.ID, r.Status, egress.StatusRevoked)
	}
	when := egress.FormatTime(r.RevokedAt)
	if err := h.sendToRequester(ctx, r, egress.Email{
		Subject: fmt.Sprintf("Egress request %s revoked", r.ID),
		Text: fmt.Sprintf("The release of your egress request %s (%s, workspace %s) was revoked by a TRE admin at %s.\n\nReason: %s\n\nThe released data can no longer be downloaded.\n",
			r.ID, r.StoreName, r.WorkspaceID, when, r.RevokeReason),
	}); err != nil {
		return fmt.Errorf("tell the requester of request %s of its revocation: %w", r.ID, err)
	}
	subject := bounded(fmt.Sprintf("Egress request %s revoked", r.ID), maxSubject)
	text := fmt.Sprintf("The release of egress request %s was revoked by %s at %s.\n\nReason: %s\n\nRequest: %s\nProject: %s\nResearcher: %s\nWorkspace: %s\n\nIt can no longer be downloaded. The request is in the web app:\n%s\n",
		r.ID, r.RevokedBy, when, r.RevokeReason, r.ID, bounded(r.ProjectID, maxField), bounded(r.RequestedByEmail, maxField),
		bounded(r.WorkspaceID, maxField), h.link(r))
	var problems []error
	told := 0
	if chain, err := h.chainFor(r); err != nil {
		problems = append(problems, err)
	} else {
		for _, st := range chain.Stages {
			n, err := h.tellStage(ctx, r, st, subject, text)
			told += n
			if err != nil {
				problems = append(problems, err)
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		h.log(ctx, r.ID).Error("reviewers not all told of the revocation", "told", told, "error", err)
		h.tellAdmin(ctx, r.ID, "Reviewers of egress request "+r.ID+" not all told of its revocation",
			fmt.Sprintf("The release of egress request %s was revoked, but telling its reviewers failed (%d told):\n\n%v\n", r.ID, told, err))
	}
	h.log(ctx, r.ID).Info("notified", "kind", "revoked", "reviewers_told", told)
	return nil
}

// tellStage sends stage st's reviewers subject and text: on the group's
// topic, and e-mailed to the stage's own reviewer, the configured
// addresses and the group's members (where the function has a publisher
// and a directory), never to the requester. It returns how many were told.
func (h *Handlers) tellStage(ctx context.Context, r egress.Request, st egress.Stage, subject, text string) (int, error) {
	var problems []error
	told := 0
	if topic := h.Settings.ReviewerTopics[st.Group]; topic != "" && h.Publisher != nil {
		if err := h.Publisher.Publish(ctx, egress.Notice{Topic: topic, Subject: subject, Text: text}); err != nil {
			problems = append(problems, fmt.Errorf("publish on %s: %w", topic, err))
		} else {
			told++
		}
	}
	var voters []string
	for _, rv := range r.Reviews {
		if rv.Stage == st.Name {
			voters = append(voters, rv.Email)
		}
	}
	to, err := h.groupAddresses(ctx, st.Group, voters)
	if err != nil {
		problems = append(problems, err)
	}
	to = slices.DeleteFunc(to, func(a string) bool { return strings.EqualFold(a, r.RequestedByEmail) })
	if len(to) > 0 && h.Mailer == nil {
		return told, errors.New("no mailer configured")
	}
	for _, a := range to {
		if err := h.Mailer.Send(ctx, egress.Email{To: []string{a}, Subject: subject, Text: text}); err != nil {
			problems = append(problems, fmt.Errorf("e-mail %s: %w", a, err))
		} else {
			told++
		}
	}
	return told, errors.Join(problems...)
}

// PurgeInput is PurgeRevoked's payload: nothing is needed; the sweep's
// schedule may send its event.
type PurgeInput struct{}

// PurgeOutput says what one sweep did.
type PurgeOutput struct {
	Purged int `json:"purged"` // zips whose every version was deleted
	Hidden int `json:"hidden"` // zips hidden that a revocation could not hide
	Failed int `json:"failed"` // left for the next sweep
}

// purgePage is how many revoked requests one listing page reads.
const purgePage = 100

// PurgeRevoked finishes the removal of revoked zips: every version of a
// zip whose retention (PurgeAfter) has passed is deleted, and a zip the
// revocation could not hide is hidden now. It pages through the REVOKED
// requests of the by-status index, re-reads each (the index lags) and
// records each outcome conditionally; a failure is noted on the request,
// counted and left for the next sweep, which is returned as an error
// only when nothing at all could be done.
func (h *Handlers) PurgeRevoked(ctx context.Context, _ PurgeInput) (PurgeOutput, error) {
	var out PurgeOutput
	var problems []error
	q := egress.ListQuery{Status: egress.StatusRevoked, Limit: purgePage}
	for {
		page, err := h.Requests.List(ctx, q)
		if err != nil {
			return out, fmt.Errorf("purge revoked zips: %w", err)
		}
		for _, listed := range page.Requests {
			if purge, hide := egress.PurgeDue(listed, h.now()); !purge && !hide {
				continue
			}
			to, err := h.purgeOne(ctx, listed.ID)
			switch {
			case err != nil:
				out.Failed++
				problems = append(problems, err)
			case to == egress.ZipPurged:
				out.Purged++
			case to == egress.ZipHidden:
				out.Hidden++
			}
		}
		if page.NextToken == "" {
			break
		}
		q.NextToken = page.NextToken
	}
	if err := errors.Join(problems...); err != nil {
		h.log(ctx, "").Error("revoked zips not all removed; the next sweep retries", "failed", out.Failed, "error", egress.Redact(err.Error()))
		if out.Purged+out.Hidden == 0 {
			return out, fmt.Errorf("purge revoked zips: %w", err)
		}
	}
	return out, nil
}

// purgeOne purges or hides the zip of revoked request id, as it stands
// now, and records the outcome; "" when nothing was due after all.
func (h *Handlers) purgeOne(ctx context.Context, id string) (egress.ZipRemoval, error) {
	r, err := h.Requests.Get(ctx, id)
	if err != nil {
		return "", err
	}
	purge, hide := egress.PurgeDue(r, h.now())
	var to egress.ZipRemoval
	switch {
	case purge:
		to = egress.ZipPurged
		_, err = h.Objects.DeleteVersions(ctx, h.Settings.DatalakeBucket, r.ZipKey)
	case hide:
		to = egress.ZipHidden
		err = h.Objects.HideObject(ctx, h.Settings.DatalakeBucket, r.ZipKey)
	default:
		return "", nil
	}
	note := ""
	if err != nil {
		note = egress.Redact(err.Error())
	}
	removalErr := err
	state := to
	if removalErr != nil {
		state = egress.ZipPending
	}
	if _, uerr := h.update(ctx, id, func(cur *egress.Request) (egress.Event, error) {
		next, ev, zerr := egress.ZipRemoved(*cur, state, note, h.now())
		*cur = next
		return ev, zerr
	}); uerr != nil {
		return "", errors.Join(removalErr, fmt.Errorf("record the zip removal of request %s: %w", id, uerr))
	}
	if removalErr != nil {
		return "", fmt.Errorf("remove the zip of request %s: %w", id, removalErr)
	}
	h.log(ctx, id).Info("revoked zip removed", "zip_removal", to)
	return to, nil
}
