package api

import (
	"context"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/verify"
)

// ZipReader reads a released zip back, hashing every entry (objects.Client).
type ZipReader interface {
	ReadZip(ctx context.Context, bucket, key string) (egress.ZipReadback, error)
}

// releaseReader joins the service's two readers into verify's.
type releaseReader struct {
	Manifests
	ZipReader
}

// MaxVerifyProblems bounds the problems a verification lists; the rest
// are counted.
const MaxVerifyProblems = 100

// Verification is what VerifyRelease found.
type Verification struct {
	RequestID      string
	OK             bool
	CheckedAt      time.Time
	EntriesChecked int
	Problems       []egress.ReleaseProblem // at most MaxVerifyProblems
	ProblemCount   int                     // all of them
}

// VerifyRelease reads request id's released zip back from the datalake,
// for a TRE admin, and checks every entry against the zip's own
// manifest.json and SHA256SUMS and against the staging manifest the
// reviewers approved (the files they left out must be absent). It reads
// only: nothing is stored or changed.
func (s *Service) VerifyRelease(ctx context.Context, who egress.Identity, id string) (Verification, error) {
	if !s.isAdmin(who) {
		return Verification{}, egress.Errorf(egress.EFORBIDDEN, "only TRE admins (group(s) %v) may verify a release", s.adminGroups())
	}
	if id == "" {
		return Verification{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	log := s.log(ctx, id)
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	if s.Manifests == nil || s.ZipReader == nil {
		return Verification{}, fmt.Errorf("verify %s: the service has no manifest or zip reader", r.ID)
	}
	res, err := verify.Release(ctx, releaseReader{s.Manifests, s.ZipReader}, s.StagingBucket, s.DatalakeBucket, r)
	if err != nil {
		return Verification{}, err
	}
	ps := res.Problems
	v := Verification{RequestID: r.ID, OK: len(ps) == 0, CheckedAt: s.now(), EntriesChecked: res.EntriesChecked, ProblemCount: len(ps)}
	v.Problems = ps[:min(len(ps), MaxVerifyProblems)]
	if v.OK {
		log.Info("release verified", "actor", actorOf(who), "entries", v.EntriesChecked)
	} else {
		// Paths only: never contents or links.
		log.Warn("release differs from what was approved", "actor", actorOf(who), "entries", v.EntriesChecked, "problems", v.ProblemCount)
	}
	return v, nil
}

// VerificationView is the GraphQL ReleaseVerification type.
type VerificationView struct {
	RequestID      string               `json:"egress_request_id"`
	OK             bool                 `json:"ok"`
	CheckedAt      string               `json:"checked_at"`
	EntriesChecked int                  `json:"entries_checked"`
	ProblemCount   int                  `json:"problem_count"`
	Problems       []ReleaseProblemView `json:"problems"`
}

// ReleaseProblemView is the GraphQL ReleaseProblem type.
type ReleaseProblemView struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

// NewVerificationView shows v.
func NewVerificationView(v Verification) VerificationView {
	out := VerificationView{RequestID: v.RequestID, OK: v.OK, CheckedAt: egress.FormatTime(v.CheckedAt),
		EntriesChecked: v.EntriesChecked, ProblemCount: v.ProblemCount, Problems: []ReleaseProblemView{}}
	for _, p := range v.Problems {
		out.Problems = append(out.Problems, ReleaseProblemView(p))
	}
	return out
}
