package workflow

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
	"github.com/tre-egress/egress/shared/verify"
)

// ZipReader reads released zips back (objects.Client).
type ZipReader interface {
	ReadZip(ctx context.Context, bucket, key string) (egress.ZipReadback, error)
}

// VerifyOutput is what one run of VerifyReleases did.
type VerifyOutput struct {
	Checked int              `json:"checked"` // releases read back
	Drifted []DriftedRelease `json:"drifted"` // at most maxListed; Drift counts all
	Drift   int              `json:"drift"`
	Failed  int              `json:"failed"` // releases that could not be read back
	// Unfinished is true when the run stopped at its bound (time or
	// count) with releases left; the next run goes on from there.
	Unfinished bool `json:"unfinished"`
}

// DriftedRelease is a release whose zip differs from what was approved:
// the entries' names and what is wrong, never their contents.
type DriftedRelease struct {
	RequestID string                  `json:"egress_request_id"`
	Problems  []egress.ReleaseProblem `json:"problems"` // at most maxListed
}

// verifyBatch bounds the releases one run reads back; the next run goes on.
const verifyBatch = 200

// verifyProgressKey is where a run that stopped early leaves its place in
// the staging bucket, outside any request's prefix.
const verifyProgressKey = "verify-releases/progress.json"

// verifyProgress is where an unfinished round of VerifyReleases stands:
// the round's start (its window), the status being listed, and the page
// token and offset within that page.
type verifyProgress struct {
	Round     time.Time `json:"round"`
	Status    int       `json:"status"`
	NextToken string    `json:"next_token"`
	Offset    int       `json:"offset"`
}

// releasedStatuses are the statuses a released request keeps: the last
// stage's approval, with one stage or more.
var releasedStatuses = []egress.Status{egress.StatusIGApproved, egress.StatusRITApproved}

// VerifyReleases is the scheduled verification of recent releases: every
// request released in the last VerifyReleaseDays days (listed by the status
// index, requested since the window's start less the longest an execution
// lives) has its zip read back and checked as verifyRelease does
// (verify.Release). A zip that differs is logged with the request id and
// the entries' names and problems, never contents, and counted in the
// ReleaseDrift metric, which has an alarm.
//
// A run stops at verifyBatch releases or before its time limit and leaves
// its place in the staging bucket; the next run goes on from there, then
// starts a new round.
func (h *Handlers) VerifyReleases(ctx context.Context, in ReminderInput) (VerifyOutput, error) {
	var (
		out      VerifyOutput
		problems []error
	)
	log := logctx.With(ctx, h.Log).With("event_id", in.ID)
	var p verifyProgress
	switch err := h.Objects.ReadJSON(ctx, h.Settings.StagingBucket, verifyProgressKey, &p); {
	case egress.ErrorCode(err) == egress.ENOTFOUND:
	case err != nil:
		return out, fmt.Errorf("read verification progress: %w", err)
	}
	if p.Round.IsZero() || p.Status >= len(releasedStatuses) {
		p = verifyProgress{Round: h.now()}
	}
	days := max(h.Settings.VerifyReleaseDays, 1)
	windowStart := p.Round.Add(-time.Duration(days) * 24 * time.Hour)
	// A request is released at most an execution's life after it was
	// requested.
	since := windowStart.Add(-maxExecutionLife)
rounds:
	for ; p.Status < len(releasedStatuses); p.Status, p.NextToken, p.Offset = p.Status+1, "", 0 {
		for {
			page, err := h.Requests.List(ctx, egress.ListQuery{Status: releasedStatuses[p.Status], Since: since, Limit: reminderPage, NextToken: p.NextToken})
			if err != nil {
				problems = append(problems, fmt.Errorf("list %s requests: %w", releasedStatuses[p.Status], err))
				break
			}
			for ; p.Offset < len(page.Requests); p.Offset++ {
				if out.Unfinished = timeIsUp(ctx) || out.Checked+out.Failed >= verifyBatch; out.Unfinished {
					break rounds
				}
				r := page.Requests[p.Offset]
				if !r.Released() || r.ReleasedAt.Before(windowStart) {
					continue
				}
				res, err := verify.Release(ctx, releaseReader{h.Objects, h.Zips}, h.Settings.StagingBucket, h.Settings.DatalakeBucket, r)
				if err != nil {
					out.Failed++
					problems = append(problems, fmt.Errorf("request %s: %w", r.ID, err))
					h.log(ctx, r.ID).Error("release not verified", "error", err)
					continue
				}
				out.Checked++
				if len(res.Problems) == 0 {
					continue
				}
				out.Drift++
				if len(out.Drifted) < maxListed {
					out.Drifted = append(out.Drifted, DriftedRelease{RequestID: r.ID, Problems: res.Problems[:min(len(res.Problems), maxListed)]})
				}
				entries := make([]string, 0, len(res.Problems))
				for _, pr := range res.Problems {
					entries = append(entries, pr.Path+": "+pr.Problem)
				}
				h.log(ctx, r.ID).Error("released zip differs from what was approved",
					"entries_checked", res.EntriesChecked, "problems", len(res.Problems), "entries", slices.Compact(entries[:min(len(entries), maxListed)]))
			}
			if p.NextToken, p.Offset = page.NextToken, 0; p.NextToken == "" {
				break
			}
		}
	}
	if !out.Unfinished {
		p = verifyProgress{}
	}
	if err := h.Objects.WriteJSON(ctx, h.Settings.StagingBucket, verifyProgressKey, p); err != nil {
		problems = append(problems, fmt.Errorf("save verification progress: %w", err))
	}
	h.metrics().ReleasesChecked(ctx, out.Checked, out.Drift)
	log.Info("recent releases verified", "days", days, "checked", out.Checked, "drift", out.Drift, "failed", out.Failed, "unfinished", out.Unfinished)
	if err := egress.JoinBounded(maxListed, problems...); err != nil {
		return out, fmt.Errorf("verify releases: %d checked, %d failed: %w", out.Checked, out.Failed, err)
	}
	return out, nil
}

// maxExecutionLife is the state machine's TimeoutSeconds
// (config.ExecutionTimeout): no request is released later after it was
// requested.
const maxExecutionLife = 21 * 24 * time.Hour

// releaseReader joins the manifest and zip readers into verify's.
type releaseReader struct {
	manifests interface {
		ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error)
	}
	zips ZipReader
}

func (r releaseReader) ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error) {
	return r.manifests.ReadManifest(ctx, bucket, key)
}

func (r releaseReader) ReadZip(ctx context.Context, bucket, key string) (egress.ZipReadback, error) {
	if r.zips == nil {
		return egress.ZipReadback{}, fmt.Errorf("read zip s3://%s/%s: no zip reader", bucket, key)
	}
	return r.zips.ReadZip(ctx, bucket, key)
}
