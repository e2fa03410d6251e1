package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
)

const (
	copySrc = "bench-copy-src"
	copyDst = "bench-copy-dst"
	// copyRounds is how many times each side runs, interleaved; the best
	// round counts, which filters out other load on a shared machine.
	copyRounds = 2
)

// runCopy measures scenario 3: CopyAll at the functions' default
// concurrency against CopyAll one at a time, on the same pinned versions,
// both checking every copy's SHA-256 against the source's.
func runCopy(ctx context.Context, env *Env) ([]Row, error) {
	srv, err := env.S3(ctx)
	if err != nil {
		return nil, err
	}
	c := connOf(srv).client()
	for _, b := range []string{copySrc, copyDst} {
		if err := newBucket(ctx, c, b, true); err != nil {
			return nil, err
		}
	}
	small := int(env.scaled(1000, 20))
	large := env.scaled(32<<20, 1<<20)
	plain := objects.New(c)
	// S3 answers in tens of milliseconds where MinIO on loopback answers
	// in one; the third set shows what concurrency buys then.
	slow := objects.New(c)
	slow.S3 = latencyS3{S3: c, delay: s3Latency}
	measured := fmt.Sprintf("server-side pinned-version copies, each read back and SHA-256 checked; best of %d interleaved rounds", copyRounds)
	sets := []struct {
		name  string
		files []file
		store *objects.Client
		inMiB bool // rate in MiB/s rather than objects/s
		goal  *Goal
		note  string
	}{
		{fmt.Sprintf("%d small objects (1–100 KiB)", small), smallFiles(3, small), plain, false, ratioAtLeast(5), measured},
		{fmt.Sprintf("20 large objects (%s each)", mib(large)), largeFiles(4, 20, large), plain, true, nil, measured},
		{fmt.Sprintf("%d small objects, %s added to every S3 call", small/10, s3Latency), smallFiles(7, small/10), slow, false, nil,
			"simulated latency, as S3's own would add; shows what limits the first row on loopback"},
	}
	var rows []Row
	for i, set := range sets {
		objs, err := upload(ctx, c, copySrc, fmt.Sprintf("set-%d", i), set.files)
		if err != nil {
			return nil, err
		}
		best := map[int]time.Duration{}
		for round := range copyRounds {
			for _, conc := range []int{config.DefaultCopyConcurrency, 1} {
				d, err := timeCopy(ctx, set.store, objs, fmt.Sprintf("set-%d/round-%d/c%d/", i, round, conc), conc)
				if err != nil {
					return nil, err
				}
				env.Logf("copy: %s, concurrency %d: %s", set.name, conc, d.Round(time.Millisecond))
				if b, ok := best[conc]; !ok || d < b {
					best[conc] = d
				}
			}
		}
		unit, per := "objects/s", float64(len(objs))
		if set.inMiB {
			unit, per = "MiB/s", mibf(totalSize(objs))
		}
		rows = append(rows, newRow(Row{Scenario: "3 Copy to staging",
			Name: set.name + fmt.Sprintf(": CopyAll, %d at a time", config.DefaultCopyConcurrency),
			Ours: per / best[config.DefaultCopyConcurrency].Seconds(), Baseline: per / best[1].Seconds(), Unit: unit,
			BaseName: "CopyAll one at a time", Goal: set.goal, Note: set.note}))
	}
	return rows, nil
}

// s3Latency is a typical first-byte latency of S3 requests.
const s3Latency = 20 * time.Millisecond

// latencyS3 delays the calls CopyVersion makes.
type latencyS3 struct {
	objects.S3
	delay time.Duration
}

func (l latencyS3) wait(ctx context.Context) error {
	t := time.NewTimer(l.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l latencyS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.S3.HeadObject(ctx, in, opts...)
}

func (l latencyS3) CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.S3.CopyObject(ctx, in, opts...)
}

func (l latencyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.S3.GetObject(ctx, in, opts...)
}

// timeCopy copies objs under prefix with CopyAll at concurrency conc,
// checks every copy's size and SHA-256, then deletes the copies (untimed).
func timeCopy(ctx context.Context, store *objects.Client, objs []object, prefix string, conc int) (time.Duration, error) {
	jobs := make([]egress.CopyJob, len(objs))
	for i, o := range objs {
		jobs[i] = egress.CopyJob{Path: o.Path, Source: egress.ObjectVersion{Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID},
			DstBucket: copyDst, DstKey: prefix + o.Path}
	}
	start := time.Now()
	files, err := store.CopyAll(ctx, jobs, conc)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	for i, f := range files {
		if f.SHA256 != objs[i].SHA256 || f.Size != objs[i].Size {
			return 0, fmt.Errorf("copy of %s: %d bytes, SHA-256 %s; source has %d, %s", objs[i].Key, f.Size, f.SHA256, objs[i].Size, objs[i].SHA256)
		}
	}
	if _, err := store.DeletePrefix(ctx, copyDst, prefix); err != nil {
		return 0, err
	}
	return d, nil
}
