package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

// StagingOutput is CopyToStaging's result.
type StagingOutput struct {
	// Done is false when the copies continue in the next invocation; the
	// state machine calls CopyToStaging again until it is true.
	Done        bool   `json:"done"`
	FileCount   int    `json:"file_count"` // copied so far, while not done
	TotalBytes  int64  `json:"total_bytes"`
	ManifestKey string `json:"manifest_key"`
}

// CopyToStaging locks SWB's egress store (PROCESSING) for the request,
// copies exactly the submitted versions to <ws>/<req>/<relative path> in
// the staging bucket and writes a manifest with each file's size and
// SHA-256. Re-running it takes the same lock and overwrites the same keys.
// Copies that take longer than an invocation has continue in the next:
// each invocation stops starting copies before its deadline, saves the
// files copied so far (a partial manifest under copies/ in staging) and
// returns Done false; the next resumes after them.
//
// The lock is the workflow's first step, not intake's, so a store is only
// ever locked by a running execution, and every execution that ends
// reaches HandleFailure or ExecutionEnded, which unlock it. A store another
// request holds is a ConflictError: this request fails, that lock stands.
func (h *Handlers) CopyToStaging(ctx context.Context, in RequestInput) (_ StagingOutput, err error) {
	if err := in.validate(); err != nil {
		return StagingOutput{}, err
	}
	log := h.log(ctx, in.RequestID)
	r, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return StagingOutput{}, err
	}
	if r.Status != egress.StatusProcessing {
		return StagingOutput{}, egress.Errorf(egress.ECONFLICT, "request %s is %s; only PROCESSING requests are staged", r.ID, r.Status)
	}
	if err := h.SWBStore.Lock(ctx, r.StoreID, r.ID); err != nil {
		return StagingOutput{}, fmt.Errorf("lock SWB egress store %s: %w", r.StoreID, err)
	}
	// A stopped or timed-out execution does not stop this task, and its
	// clean-up may run meanwhile, even before the lock above. Whatever
	// this task then fails with goes to no one, so it undoes its own work
	// when the request has ended.
	defer func() {
		if err != nil {
			h.undoStagingOfEnded(ctx, r)
		}
	}()
	entries, err := h.objectList(ctx, r)
	if err != nil {
		return StagingOutput{}, err
	}
	jobs := make([]egress.CopyJob, len(entries))
	for i, e := range entries {
		jobs[i] = egress.CopyJob{
			Source:    egress.ObjectVersion{Bucket: r.StoreBucket, Key: e.Key, VersionID: e.VersionID},
			Path:      e.RelPath,
			DstBucket: h.Settings.StagingBucket,
			DstKey:    egress.StagedKey(r, e.RelPath),
			Size:      e.Size,
			Listed:    true,
		}
	}
	files, done, err := h.copyUntil(ctx, r, jobs)
	if err != nil {
		return StagingOutput{}, err
	}
	out := StagingOutput{Done: done, FileCount: len(files), ManifestKey: manifestKey(r)}
	for _, f := range files {
		out.TotalBytes += f.Size
	}
	if !done {
		log.Info("staging continues in the next invocation", "files", out.FileCount, "of", len(jobs), "bytes", out.TotalBytes)
		return out, nil
	}
	m := egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: files}
	if err := h.Objects.WriteManifest(ctx, h.Settings.StagingBucket, out.ManifestKey, m); err != nil {
		return StagingOutput{}, err
	}
	// Before the request records the staging, so that no call follows
	// that record: a retry after it would stage and record it again.
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, copiesPrefix(r)); err != nil {
		log.Warn("staging checkpoint left behind", "prefix", copiesPrefix(r), "error", err)
	}
	if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
		if cur.Status != egress.StatusProcessing {
			return egress.Event{}, fmt.Errorf("request %s became %s while it was staged: %w", cur.ID, cur.Status, errMovedOn)
		}
		cur.StagingObjectMetadataVersion = out.ManifestKey
		cur.FileTypes = egress.FileTypes(files)
		cur.FileCount = len(files)
		cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
		return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventStaged, Actor: egress.ActorWorkflow,
			From: cur.Status, To: cur.Status, Reason: fmt.Sprintf("%d files, %d bytes", out.FileCount, out.TotalBytes)}, nil
	}); err != nil {
		return StagingOutput{}, err
	}
	log.Info("staged", "files", out.FileCount, "bytes", out.TotalBytes)
	return out, nil
}

// Checkpoints of work spanning invocations, kept in the staging bucket
// outside the staged files' prefix: staging's goes once the manifest is
// written, the release's once the release is recorded, both with the
// failure path's clean-up.
const (
	checkpointCopies   = "copies"
	checkpointReleases = "releases"
)

// checkpointPrefix holds r's checkpoint of kind.
func checkpointPrefix(kind string, r egress.Request) string {
	return kind + "/" + r.WorkspaceID + "/" + r.ID + "/"
}

func copiesPrefix(r egress.Request) string  { return checkpointPrefix(checkpointCopies, r) }
func releasePrefix(r egress.Request) string { return checkpointPrefix(checkpointReleases, r) }

func copiesCheckpointKey(r egress.Request) string { return copiesPrefix(r) + "checkpoint.json" }

const (
	// copyChunkFiles and copyChunkBytes bound the copies started between
	// two looks at the clock: a thousand small copies take seconds on S3,
	// 5 GiB of single CopyObjects (no read-back) about a minute.
	copyChunkFiles = 1000
	copyChunkBytes = 5 << 30
)

// copyUntil copies jobs from where the last invocation's checkpoint left
// off until they are all copied (done) or the invocation's time is up: it
// then saves the files copied so far and returns done false. Copies go in
// chunks; a chunk is started only if its read-back (files above 5 GiB,
// which S3 cannot hash as it copies them, read at the planned rate) ends
// before the invocation must stop, unless it is the invocation's first.
func (h *Handlers) copyUntil(ctx context.Context, r egress.Request, jobs []egress.CopyJob) (files []egress.File, done bool, err error) {
	stop := invocationStop(ctx, h.Settings.CopyBudget)
	key := copiesCheckpointKey(r)
	ck, err := h.Objects.ReadManifest(ctx, h.Settings.StagingBucket, key)
	switch {
	case egress.ErrorCode(err) == egress.ENOTFOUND:
	case err != nil:
		return nil, false, fmt.Errorf("read staging checkpoint: %w", err)
	case resumable(ck.Files, jobs):
		files = ck.Files
	default:
		h.log(ctx, r.ID).Warn("staging checkpoint does not match the object list; copying again from the start", "checkpoint_files", len(ck.Files))
	}
	for first := true; len(files) < len(jobs); first = false {
		chunk, readBack := nextCopyChunk(jobs[len(files):], cmp.Or(h.Settings.CopyChunkFiles, copyChunkFiles))
		if !first && time.Now().Add(readBack).After(stop) {
			m := egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: files}
			if err := h.Objects.WriteManifest(ctx, h.Settings.StagingBucket, key, m); err != nil {
				return nil, false, fmt.Errorf("save staging checkpoint: %w", err)
			}
			return files, false, nil
		}
		copied, err := h.Objects.CopyAll(ctx, chunk, h.Settings.CopyConcurrency)
		if err != nil {
			return nil, false, fmt.Errorf("stage request %s: %w", r.ID, err)
		}
		files = append(files, copied...)
	}
	return files, true, nil
}

// resumable says whether the files of a checkpoint are the first of jobs.
func resumable(files []egress.File, jobs []egress.CopyJob) bool {
	if len(files) > len(jobs) {
		return false
	}
	for i, f := range files {
		j := jobs[i]
		if f.Path != j.Path || f.SourceKey != j.Source.Key || f.VersionID != j.Source.VersionID {
			return false
		}
	}
	return true
}

// nextCopyChunk is the first maxFiles jobs of at most copyChunkBytes (at
// least one), and how long reading back its copies above
// egress.MaxCopyObjectBytes would take at the planned rate.
func nextCopyChunk(jobs []egress.CopyJob, maxFiles int) ([]egress.CopyJob, time.Duration) {
	var n int
	var bytes, readBack int64
	for n < len(jobs) && n < maxFiles {
		size := jobs[n].Size
		if n > 0 && bytes+size > copyChunkBytes {
			break
		}
		bytes += size
		if size > egress.MaxCopyObjectBytes {
			readBack += size
		}
		n++
	}
	return jobs[:n], time.Duration(readBack / egress.ReleaseBytesPerSecond * int64(time.Second))
}

// undoStagingOfEnded deletes r's staged copies and unlocks its SWB store
// if r has ended (a clean-up ran while CopyToStaging did); a request still
// PROCESSING is left to the workflow's own failure path.
func (h *Handlers) undoStagingOfEnded(ctx context.Context, r egress.Request) {
	cur, err := h.Requests.Get(ctx, r.ID)
	if err != nil || cur.Status == egress.StatusProcessing {
		return
	}
	log := h.log(ctx, r.ID)
	log.Warn("request ended while it was staged; undoing the staging", "status", cur.Status)
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, egress.StagingPrefix(r)); err != nil {
		log.Error("staged copies of an ended request could not be deleted", "error", err)
	}
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, copiesPrefix(r)); err != nil {
		log.Error("staging checkpoint of an ended request could not be deleted", "error", err)
	}
	if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StorePending); err != nil {
		log.Error("SWB egress store of an ended request could not be unlocked", "store_id", r.StoreID, "error", err)
		h.tellAdmin(ctx, r.ID, "SWB egress store "+r.StoreID+" left locked",
			fmt.Sprintf("Egress request %s ended (%s) while its files were staged, and unlocking its workspace's egress store %s failed:\n\n%v\n\nPlease set the store back to PENDING in SWB.\n",
				r.ID, cur.Status, r.StoreID, err))
	}
}

// TokenInput is AwaitDecision's payload.
type TokenInput struct {
	RequestID string `json:"egress_request_id"`
	Stage     int    `json:"stage"`
	TaskToken string `json:"task_token"`
}

// StoreTaskToken records the token of the stage now awaiting a decision and
// tells that stage's reviewers. The token is never logged.
func (h *Handlers) StoreTaskToken(ctx context.Context, in TokenInput) error {
	if err := (RequestInput{RequestID: in.RequestID}).validate(); err != nil {
		return err
	}
	if in.TaskToken == "" {
		return egress.Errorf(egress.EINVALID, "task_token is required")
	}
	// The reviewers are told before the token is stored: once a decision
	// can be made with the token, this attempt has no call left that can
	// fail, so a retried attempt (with a new token) never races a decision
	// made with the token of an attempt that failed, which the workflow
	// would refuse (TestCrashAtEveryStep). A retry tells them again.
	cur, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return err
	}
	chain, err := h.chainFor(cur)
	if err != nil {
		return err
	}
	stage, err := chain.Stage(in.Stage)
	if err != nil {
		return err
	}
	if cur.Status != stage.AwaitingStatus {
		return egress.Errorf(egress.ECONFLICT, "request %s is %s, not awaiting the %s stage", cur.ID, cur.Status, stage.Name)
	}
	h.tellReviewers(ctx, cur, in.Stage, stage)
	r, err := h.update(ctx, in.RequestID, func(cur *egress.Request) (egress.Event, error) {
		chain, err := h.chainFor(*cur)
		if err != nil {
			return egress.Event{}, err
		}
		if stage, err = chain.Stage(in.Stage); err != nil {
			return egress.Event{}, err
		}
		if cur.Status != stage.AwaitingStatus {
			return egress.Event{}, egress.Errorf(egress.ECONFLICT, "request %s is %s, not awaiting the %s stage", cur.ID, cur.Status, stage.Name)
		}
		cur.TaskToken = in.TaskToken
		cur.CurrentReviewerGroup = stage.Group
		cur.AwaitingSince, cur.RemindersSent = h.now(), 0
		cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
		return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow,
			From: cur.Status, To: cur.Status, Stage: stage.Name}, nil
	})
	if err != nil {
		return err
	}
	h.log(ctx, r.ID).Info("awaiting decision", "stage", stage.Name, "group", stage.Group)
	return nil
}

// ReleaseOutput is Release's result: the state machine calls it again
// until Done.
type ReleaseOutput struct {
	Done    bool   `json:"done"`
	ZipKey  string `json:"zip_key"`
	ZipSize int64  `json:"zip_size"` // so far, while not done
}

func releaseCheckpointKey(r egress.Request) string { return releasePrefix(r) + "checkpoint" }

// ReleaseEntries are the files of r's zip, read from its staging manifest
// m in staging: every file approved at every stage; and the files left
// out, with the rejecting stage's comment, for manifest.json.
func ReleaseEntries(r egress.Request, m egress.Manifest, staging string) ([]egress.ZipEntry, []egress.LeftOut) {
	leftOut := r.LeftOut()
	excluded := make(map[string]bool, len(leftOut))
	for _, f := range leftOut {
		excluded[f.Path] = true
	}
	entries := make([]egress.ZipEntry, 0, len(m.Files))
	for _, f := range m.Files {
		if !excluded[f.Path] {
			entries = append(entries, egress.ZipEntry{Path: f.Path, Bucket: staging, Key: egress.StagedKey(r, f.Path), VersionID: f.StagedVersionID, SHA256: f.SHA256, Size: f.Size, SourceKey: f.SourceKey, SourceVersionID: f.VersionID})
		}
	}
	return entries, leftOut
}

// invocationStop is when an invocation stops its work and saves its
// progress: with a margin before its Lambda's deadline for the work in
// flight and the checkpoint, or after budget if that is sooner.
func invocationStop(ctx context.Context, budget time.Duration) time.Time {
	stop := time.Now().Add(10 * time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		stop = time.Now().Add(left - max(left/10, min(2*time.Minute, left/2)))
	}
	if budget > 0 {
		if b := time.Now().Add(budget); b.Before(stop) {
			stop = b
		}
	}
	return stop
}

// Release streams the staged files into one zip in the datalake, checking
// each file's SHA-256 against the manifest, marks the SWB store PROCESSED
// and deletes the staged copies. A zip that takes longer than an
// invocation has is written over several: each stops before its deadline,
// saves where the zip stands in the staging bucket, and returns Done
// false for the state machine to call it again; a retried invocation
// resumes from the last saved checkpoint. It refuses unless the stored
// request passed every stage of its chain, whatever the workflow's input
// says.
func (h *Handlers) Release(ctx context.Context, in RequestInput) (ReleaseOutput, error) {
	if err := in.validate(); err != nil {
		return ReleaseOutput{}, err
	}
	log := h.log(ctx, in.RequestID)
	r, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return ReleaseOutput{}, err
	}
	chain, err := h.chainFor(r)
	if err != nil {
		return ReleaseOutput{}, err
	}
	final := chain.Stages[len(chain.Stages)-1].ApprovedStatus
	if r.Status != final {
		return ReleaseOutput{}, egress.Errorf(egress.ECONFLICT, "request %s is %s; only %s requests are released", r.ID, r.Status, final)
	}
	out := ReleaseOutput{Done: true, ZipKey: ZipKey(r)}
	if !r.Released() {
		m, err := h.Objects.ReadManifest(ctx, h.Settings.StagingBucket, r.StagingObjectMetadataVersion)
		if err != nil {
			return ReleaseOutput{}, err
		}
		// Only files approved at every stage are released; manifest.json
		// names the others with the rejecting stage's comment.
		entries, leftOut := ReleaseEntries(r, m, h.Settings.StagingBucket)
		if len(m.Files) > 0 && len(entries) == 0 {
			return ReleaseOutput{}, egress.Errorf(egress.ECONFLICT, "request %s: every file was rejected, nothing to release", r.ID)
		}
		// The wall clock, whatever h.Now says: of this invocation only, when
		// the release spans several.
		started := time.Now()
		res, done, err := h.Objects.WriteZipJob(ctx, egress.ZipJob{
			Bucket: h.Settings.DatalakeBucket, Key: out.ZipKey, Entries: entries, LeftOut: leftOut,
			Modified:         h.now(),
			CheckpointBucket: h.Settings.StagingBucket, CheckpointKey: releaseCheckpointKey(r),
			Stop: invocationStop(ctx, h.Settings.ReleaseBudget),
		})
		if err != nil {
			return ReleaseOutput{}, fmt.Errorf("release request %s: %w", r.ID, err)
		}
		if !done {
			log.Info("release continues in the next invocation", "files_zipped", len(res.Entries), "files", len(entries), "zip_bytes", res.Size)
			return ReleaseOutput{ZipKey: out.ZipKey, ZipSize: res.Size}, nil
		}
		out.ZipSize = res.Size
		took := time.Since(started)
		if _, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
			// A stopped or timed-out execution does not stop a running
			// task: its clean-up may have failed the request meanwhile.
			if cur.Status != final {
				return egress.Event{}, fmt.Errorf("request %s became %s while its zip was written: %w", cur.ID, cur.Status, errMovedOn)
			}
			cur.ZipKey, cur.ReleasedAt = out.ZipKey, h.now()
			cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
			return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventReleased, Actor: egress.ActorWorkflow,
				From: cur.Status, To: cur.Status, Reason: fmt.Sprintf("%d files, %d left out, zip %d bytes", len(entries), len(leftOut), res.Size)}, nil
		}); errors.Is(err, errMovedOn) {
			// Nothing may be released for a request that is no longer
			// approved: the zip just written goes.
			if _, derr := h.Objects.DeletePrefix(ctx, h.Settings.DatalakeBucket, DatalakePrefix(r)); derr != nil {
				log.Error("an unrecorded release could not be deleted", "error", derr)
				h.tellAdmin(ctx, r.ID, "Unrecorded release of egress request "+r.ID+" left behind",
					fmt.Sprintf("Egress request %s stopped being approved while its zip was written, and deleting s3://%s/%s failed:\n\n%v\n\nPlease delete it.\n",
						r.ID, h.Settings.DatalakeBucket, DatalakePrefix(r), derr))
			}
			return ReleaseOutput{}, egress.Errorf(egress.ECONFLICT, "%v; the zip was deleted", err)
		} else if err != nil {
			return ReleaseOutput{}, err
		}
		h.metrics().Released(ctx, r.ID, res.Size, took)
		log.Info("released", "files", len(entries), "zip_bytes", res.Size)
	}
	// An attempt that crashed while writing the zip left its multipart
	// upload open (the datalake is not ours to give a lifecycle rule):
	// the zip is complete and recorded, so any upload left is such an
	// orphan (TestCrashAtEveryStep).
	if err := h.Objects.AbortUploads(ctx, h.Settings.DatalakeBucket, DatalakePrefix(r)); err != nil {
		return ReleaseOutput{}, fmt.Errorf("release request %s: %w", r.ID, err)
	}
	if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StoreProcessed); err != nil {
		return ReleaseOutput{}, fmt.Errorf("mark SWB egress store %s processed: %w", r.StoreID, err)
	}
	if err := h.deleteRetried(ctx, h.Settings.StagingBucket, releasePrefix(r)); err != nil {
		log.Warn("release checkpoint left behind", "prefix", releasePrefix(r), "error", err)
	}
	// The release is complete; failing it now would delete a zip that may
	// already be downloaded. Staged copies that cannot be deleted are left
	// for the admin (and the bucket's lifecycle), not rolled back.
	if err := h.deleteRetried(ctx, h.Settings.StagingBucket, egress.StagingPrefix(r)); err != nil {
		log.Error("released, but the staged copies could not be deleted", "error", err)
		h.tellAdmin(ctx, r.ID, "Staged copies of egress request "+r.ID+" left behind",
			fmt.Sprintf("Egress request %s was released, but deleting its staged copies under s3://%s/%s failed:\n\n%v\n\nPlease delete them.\n",
				r.ID, h.Settings.StagingBucket, egress.StagingPrefix(r), err))
	}
	return out, nil
}

// deleteAttempts is how often deleteRetried tries.
const deleteAttempts = 3

// deleteRetried deletes every version under prefix, trying again after a
// transient error (past the SDK's own attempts): for a clean-up that
// cannot fail its task, one connection reset must not leave files behind
// (TestCrashAtEveryStep).
func (h *Handlers) deleteRetried(ctx context.Context, bucket, prefix string) error {
	var err error
	for range deleteAttempts {
		if _, err = h.Objects.DeletePrefix(ctx, bucket, prefix); err == nil || !Transient(err) {
			return err
		}
	}
	return err
}

// HandleRejection deletes every staged version of a request that ended
// without release by a decision (REJECTED, RETURNED, CANCELLED, BLOCKED)
// and unlocks the SWB store (PENDING), so the researcher can change the
// files and submit again. The decision itself was stored by the API before
// the workflow was resumed.
func (h *Handlers) HandleRejection(ctx context.Context, in RequestInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	r, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return err
	}
	switch r.Status {
	case egress.StatusRejected, egress.StatusReturned, egress.StatusCancelled, egress.StatusBlocked:
	default:
		return egress.Errorf(egress.ECONFLICT, "request %s is %s, not REJECTED, RETURNED, CANCELLED or BLOCKED", r.ID, r.Status)
	}
	n, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, egress.StagingPrefix(r))
	if err != nil {
		return fmt.Errorf("delete staged copies of %s: %w", r.ID, err)
	}
	if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StorePending); err != nil {
		return fmt.Errorf("unlock SWB egress store %s: %w", r.StoreID, err)
	}
	h.log(ctx, r.ID).Info("closed without release", "status", r.Status, "deleted_versions", n)
	return nil
}

// FailureInput is HandleFailure's payload: the caught error.
type FailureInput struct {
	RequestID string `json:"egress_request_id"`
	Error     struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error"`
}

// FailureOutput is HandleFailure's result.
type FailureOutput struct {
	Status egress.Status `json:"status"`
}

// maxCause bounds the stored failure cause; Step Functions causes can be
// long stack dumps.
const maxCause = 1000

// HandleFailure is the catch-all: it marks the request FAILED (EXPIRED when
// a stage timed out) with the cause, unlocks the SWB store, and deletes
// staged copies and any partial release; a request whose release is
// recorded keeps it (see keepRelease). Every cleanup step runs even when
// another fails, and it is idempotent, so the definition retries it until
// it all holds.
func (h *Handlers) HandleFailure(ctx context.Context, in FailureInput) (FailureOutput, error) {
	if err := (RequestInput{RequestID: in.RequestID}).validate(); err != nil {
		return FailureOutput{}, err
	}
	r, _, err := h.cleanUp(ctx, in.RequestID, in.Error.Error, in.Error.Cause)
	if err != nil {
		return FailureOutput{}, err
	}
	return FailureOutput{Status: r.Status}, nil
}

// cleanUp is the failure path, shared by HandleFailure and ExecutionEnded:
// the request ends FAILED or EXPIRED with the cause, unless its release is
// recorded (keepRelease); SWB's store is unlocked if this request holds it;
// staged copies and any partial, unrecorded release are deleted. It
// reports whether it changed the request: a retry, or the second of two
// callers, finds the work done.
func (h *Handlers) cleanUp(ctx context.Context, id, errName, rawCause string) (egress.Request, bool, error) {
	cause := failureCause(errName, rawCause)
	category := egress.CauseOf(errName)
	r, err := h.update(ctx, id, func(cur *egress.Request) (egress.Event, error) {
		if cur.Released() {
			return egress.Event{}, errReleased
		}
		if cur.Status == egress.StatusFailed || cur.Status == egress.StatusExpired {
			return egress.Event{}, errAlreadyFailed
		}
		// A person's outcome stands whatever ended the execution after it
		// (a stage timeout when the outcome's delivery failed, a clean-up
		// that failed): only the clean-up is left to do, and the admin is
		// told. A returned request stays RETURNED, so a resubmission still
		// links to it.
		if endedByDecision(cur.Status) {
			if cur.FailureCause != "" {
				return egress.Event{}, errAlreadyFailed
			}
			cur.FailureCause = cause
			cur.TaskToken, cur.ResumeToken, cur.CurrentReviewerGroup = "", "", ""
			cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
			return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventFailure, Actor: egress.ActorWorkflow,
				From: cur.Status, To: cur.Status, Reason: cause}, nil
		}
		to := egress.StatusFailed
		if chain, err := h.chainFor(*cur); err == nil && errName == "States.Timeout" && chain.StageAwaiting(cur.Status) >= 0 {
			to = egress.StatusExpired
		}
		next, ev, err := egress.Transition(*cur, to, cause, h.now())
		if err != nil {
			// A decision stored as the stage timed out (RITAPPROVED,
			// REJECTED) cannot expire; the request still failed.
			next, ev, err = egress.Transition(*cur, egress.StatusFailed, cause, h.now())
		}
		*cur = next
		return ev, err
	})
	changed := err == nil
	if changed {
		h.metrics().Failed(ctx, r.ID, category)
	}
	switch {
	case errors.Is(err, errReleased):
		return h.keepRelease(ctx, r, cause, category)
	case errors.Is(err, errAlreadyFailed):
	case err != nil:
		return r, false, err
	}
	var errs []error
	// Unlock first: a store left PROCESSING blocks the workspace for good.
	// A store another request locked, or SWB terminated, is not ours.
	if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StorePending); err != nil {
		if code := egress.ErrorCode(err); code == egress.ECONFLICT || code == egress.ENOTFOUND {
			h.log(ctx, r.ID).Warn("SWB egress store not unlocked", "reason", egress.ErrorMessage(err))
		} else {
			errs = append(errs, fmt.Errorf("unlock SWB egress store %s: %w", r.StoreID, err))
		}
	}
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, egress.StagingPrefix(r)); err != nil {
		errs = append(errs, fmt.Errorf("delete staged copies of %s: %w", r.ID, err))
	}
	// Staging or a release written over several invocations left its
	// checkpoint.
	for _, kind := range []string{checkpointCopies, checkpointReleases} {
		if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, checkpointPrefix(kind, r)); err != nil {
			errs = append(errs, fmt.Errorf("delete %s checkpoint of %s: %w", kind, r.ID, err))
		}
	}
	// Not recorded, so never announced: no link to it exists.
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.DatalakeBucket, DatalakePrefix(r)); err != nil {
		errs = append(errs, fmt.Errorf("delete partial release of %s: %w", r.ID, err))
	}
	if err := errors.Join(errs...); err != nil {
		return r, changed, err
	}
	h.log(ctx, r.ID).Warn("request ended without release", "status", r.Status, "cause", r.FailureCause)
	return r, changed, nil
}

// keepRelease is the failure path of a request whose zip is recorded
// (today: Release could not mark SWB's store PROCESSED). The zip may
// already be downloaded and links to it are out, so it is never deleted
// and the request keeps its approved status. The store gets what SWB
// expects after a release, PROCESSED, never PENDING, which would reopen
// the released files for changes and a second submission; if that is
// refused (the store is gone, or another request holds it) the admin must
// look, and the cause recorded on the request, which NotifyAdmin and
// ExecutionEnded send, says so. Staged copies are deleted as Release would
// have.
func (h *Handlers) keepRelease(ctx context.Context, r egress.Request, cause string, category egress.FailureCause) (egress.Request, bool, error) {
	log := h.log(ctx, r.ID)
	store := "the workspace's egress store is marked PROCESSED"
	if err := h.SWBStore.SetStatus(ctx, r.StoreID, r.ID, swb.StoreProcessed); err != nil {
		code := egress.ErrorCode(err)
		if code != egress.ECONFLICT && code != egress.ENOTFOUND {
			return r, false, fmt.Errorf("mark SWB egress store %s processed: %w", r.StoreID, err)
		}
		log.Error("released, but the SWB egress store cannot be marked PROCESSED", "reason", egress.ErrorMessage(err))
		store = "the workspace's egress store could not be marked PROCESSED (" + egress.ErrorMessage(err) + ")"
	}
	changed := false
	// Recorded once; a note already there (the API's note on a decision
	// whose resume failed) gives way to it.
	if !strings.Contains(r.FailureCause, releaseKept) {
		stored, err := h.update(ctx, r.ID, func(cur *egress.Request) (egress.Event, error) {
			if strings.Contains(cur.FailureCause, releaseKept) {
				return egress.Event{}, errAlreadyFailed
			}
			cur.FailureCause = cause + releaseKept + store
			cur.UpdatedAt, cur.UpdatedBy = h.now(), egress.ActorWorkflow
			return egress.Event{RequestID: cur.ID, At: h.now(), Kind: egress.EventFailure, Actor: egress.ActorWorkflow,
				From: cur.Status, To: cur.Status, Reason: cur.FailureCause}, nil
		})
		switch {
		case err == nil:
			r, changed = stored, true
			h.metrics().Failed(ctx, r.ID, category)
		case !errors.Is(err, errAlreadyFailed):
			return r, false, err
		}
	}
	if _, err := h.Objects.DeletePrefix(ctx, h.Settings.StagingBucket, egress.StagingPrefix(r)); err != nil {
		return r, changed, fmt.Errorf("delete staged copies of %s: %w", r.ID, err)
	}
	log.Warn("released request failed afterwards; release kept", "status", r.Status, "cause", r.FailureCause)
	return r, changed, nil
}

// releaseKept joins a released request's failure cause to what became of
// its SWB store, and marks the failure as recorded.
const releaseKept = "; the release was kept and "

// endedByDecision reports the statuses a decision ends a request in
// without release: a reviewer's or requester's, or the automated checks'
// (BLOCKED). Such an outcome stands when its clean-up fails.
func endedByDecision(s egress.Status) bool {
	return s == egress.StatusRejected || s == egress.StatusReturned || s == egress.StatusCancelled || s == egress.StatusBlocked
}

var (
	errAlreadyFailed = errors.New("already failed")
	errMovedOn       = errors.New("moved on since it was read")
	errReleased      = errors.New("released")
)

// failureCause keeps what a person needs from a caught error: its name and
// the handler's message (Lambda's cause is a JSON object that may carry a
// stack trace), redacted and bounded.
func failureCause(name, cause string) string {
	var lambdaErr struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.Message != "" {
		cause = strings.TrimPrefix(lambdaErr.Message, name+": ")
	}
	s := name
	if cause != "" {
		s += ": " + cause
	}
	s = egress.Redact(s)
	if len(s) > maxCause {
		s = s[:maxCause] + "…"
	}
	return s
}
