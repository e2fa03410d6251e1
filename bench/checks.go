package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/workflow"
)

const (
	checksSrc = "bench-checks-src"
	checksDst = "bench-checks-dst"
)

// runChecks measures scenario 7: the automated checks of 1,000 staged
// files of 100 KiB (content sniffing, ClamAV over INSTREAM, SDC on the
// CSVs), at the concurrency the CheckFiles step uses, against copying the
// same files to staging. Goal: checking takes at most twice as long.
func runChecks(ctx context.Context, env *Env) ([]Row, error) {
	srv, err := env.S3(ctx)
	if err != nil {
		return nil, err
	}
	c := connOf(srv).client()
	for _, b := range []string{checksSrc, checksDst} {
		if err := newBucket(ctx, c, b, true); err != nil {
			return nil, err
		}
	}
	n := int(env.scaled(1000, 20))
	rng := rand.New(rand.NewPCG(11, 7))
	files := make([]file, n)
	for i := range files {
		kind, ext := text, ".csv"
		if i%2 == 1 {
			kind, ext = random, ".gz"
		}
		files[i] = file{Path: fmt.Sprintf("d%02d/f-%05d%s", i%smallFolders, i, ext), Size: 100 << 10, Kind: kind, Seed: rng.Uint64()}
	}
	objs, err := upload(ctx, c, checksSrc, "checks-set", files)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "egress-bench-clamd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	settings := egress.CheckSettings{Malware: egress.MalwareSettings{Engine: egress.EngineNone}}
	engine := "no malware scanner (clamd is not installed)"
	d, err := clamav.StartWith(ctx, dir, nil, clamav.Options{OwnSignaturesOnly: true})
	switch {
	case errors.Is(err, clamav.ErrNotInstalled):
	case err != nil:
		return nil, err
	default:
		defer d.Stop()
		settings.Malware = egress.MalwareSettings{Engine: egress.EngineClamAV, ClamdAddress: d.Address(), MaxScanBytes: d.MaxScanBytes()}
		engine = "ClamAV (clamd with the EICAR signature only: the machine's databases cost clamd CPU, not our read)"
	}
	store := objects.New(c)
	// Built as the check-files function builds it.
	checker, err := withs3.NewChecker(settings, c)
	if err != nil {
		return nil, err
	}
	copyConc, conc := config.DefaultCopyConcurrency, workflow.CheckWorkers(config.DefaultCopyConcurrency)
	var bestCopy, bestCheck time.Duration
	for round := range copyRounds {
		prefix := fmt.Sprintf("checks-round-%d/", round)
		jobs := make([]egress.CopyJob, len(objs))
		for i, o := range objs {
			jobs[i] = egress.CopyJob{Path: o.Path, Source: egress.ObjectVersion{Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID},
				DstBucket: checksDst, DstKey: prefix + o.Path}
		}
		start := time.Now()
		staged, err := store.CopyAll(ctx, jobs, copyConc)
		copied := time.Since(start)
		if err != nil {
			return nil, err
		}
		start = time.Now()
		findings, err := checkAll(ctx, checker, staged, prefix, conc)
		checked := time.Since(start)
		if err != nil {
			return nil, err
		}
		env.Logf("checks: copy %s, check %s (%d findings)", copied.Round(time.Millisecond), checked.Round(time.Millisecond), findings)
		if bestCopy == 0 || copied < bestCopy {
			bestCopy = copied
		}
		if bestCheck == 0 || checked < bestCheck {
			bestCheck = checked
		}
		if _, err := store.DeletePrefix(ctx, checksDst, prefix); err != nil {
			return nil, err
		}
	}
	return []Row{newRow(Row{Scenario: "7 Automated checks",
		Name: fmt.Sprintf("%d files of 100 KiB (half CSV): sniffing, malware scan and SDC, %d at a time", n, conc),
		Ours: float64(n) / bestCheck.Seconds(), Baseline: float64(n) / bestCopy.Seconds(), Unit: "files/s",
		BaseName: fmt.Sprintf("CopyAll of the same files to staging, %d at a time", copyConc), Goal: ratioAtLeast(0.5),
		Note: fmt.Sprintf("each staged version read once, whole; scanner: %s; %s; best of %d rounds", engine, env.s3Storage(), copyRounds)})}, nil
}

// checkAll runs checker.File on every staged file, conc at a time, as the
// CheckFiles step does, and counts the findings.
func checkAll(ctx context.Context, checker *checks.Checker, staged []egress.File, prefix string, conc int) (int, error) {
	var (
		mu       sync.Mutex
		findings int
		errs     []error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, conc)
	for _, f := range staged {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := checker.File(ctx, f, egress.ObjectVersion{Bucket: checksDst, Key: prefix + f.Path, VersionID: f.StagedVersionID})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			findings += len(res.Findings)
		})
	}
	wg.Wait()
	return findings, errors.Join(errs...)
}
