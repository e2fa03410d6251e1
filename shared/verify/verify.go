// Package verify reads a released zip back and checks it against what the
// reviewers approved: the core of the verifyRelease query (shared/api)
// and of the scheduled verify-releases function (shared/workflow), which
// both call Release.
package verify

import (
	"context"
	"fmt"

	"github.com/tre-egress/egress/shared/egress"
)

// Reader reads a staging manifest and a released zip (objects.Client).
type Reader interface {
	ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error)
	ReadZip(ctx context.Context, bucket, key string) (egress.ZipReadback, error)
}

// Result is what Release found: every problem, in egress.CheckRelease's
// order; none means the zip is what was approved.
type Result struct {
	EntriesChecked int
	Problems       []egress.ReleaseProblem
}

// Release reads r's released zip from datalakeBucket and checks every
// entry against the zip's own manifest.json and SHA256SUMS and against the
// staging manifest in stagingBucket the reviewers approved (the files they
// left out must be absent). It reads only. A request with nothing to
// verify (revoked, not released, no manifest) is a ConflictError; a zip
// that is gone is ENOTFOUND.
func Release(ctx context.Context, rd Reader, stagingBucket, datalakeBucket string, r egress.Request) (Result, error) {
	switch {
	case r.Status == egress.StatusRevoked:
		return Result{}, egress.Errorf(egress.ECONFLICT, "request %s is REVOKED: its release was withdrawn and its zip removed, so there is nothing to verify", r.ID)
	case !r.Released():
		return Result{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and has not been released: there is no zip to verify", r.ID, r.Status)
	case r.StagingObjectMetadataVersion == "":
		return Result{}, egress.Errorf(egress.ECONFLICT, "request %s records no staging manifest to verify its zip against", r.ID)
	}
	if rd == nil {
		return Result{}, fmt.Errorf("verify %s: no zip reader", r.ID)
	}
	staged, err := Manifest(ctx, rd, stagingBucket, r)
	if err != nil {
		return Result{}, fmt.Errorf("verify %s: staging manifest: %w", r.ID, err)
	}
	z, err := rd.ReadZip(ctx, datalakeBucket, r.ZipKey)
	if err != nil {
		if egress.ErrorCode(err) == egress.ENOTFOUND {
			return Result{}, egress.Errorf(egress.ENOTFOUND, "request %s's released zip is not in the datalake", r.ID)
		}
		return Result{}, fmt.Errorf("verify %s: %w", r.ID, err)
	}
	return Result{EntriesChecked: len(z.Entries), Problems: egress.CheckRelease(z, staged, r.LeftOut())}, nil
}

// ManifestReader reads staging manifests (objects.Client).
type ManifestReader interface {
	ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error)
}

// Manifest reads the files of r's staging manifest, which r must have,
// checking it is r's.
func Manifest(ctx context.Context, rd ManifestReader, bucket string, r egress.Request) ([]egress.File, error) {
	m, err := rd.ReadManifest(ctx, bucket, r.StagingObjectMetadataVersion)
	if err != nil {
		return nil, err
	}
	if m.RequestID != "" && m.RequestID != r.ID {
		return nil, fmt.Errorf("manifest %s belongs to request %s, not %s", r.StagingObjectMetadataVersion, m.RequestID, r.ID)
	}
	if m.Files == nil {
		m.Files = []egress.File{}
	}
	return m.Files, nil
}
