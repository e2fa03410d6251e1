// Package workflow holds the handlers of the egress workflow's Lambda
// functions: SNS intake and every task state of statemachine/egress.asl.json.
// Handlers are methods of Handlers with their dependencies passed in, so
// Lambda, tests and the local stack all run exactly this code.
package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
	"github.com/tre-egress/egress/shared/swb"
)

// The ports below speak the domain's types only; the adapters named in
// their comments implement them without this package linking them.

// Requests stores egress requests (requests.Table).
type Requests interface {
	// Create stores r at version 1 unless a request with its id exists,
	// and reports whether it did.
	Create(ctx context.Context, r egress.Request) (bool, error)
	Get(ctx context.Context, id string) (egress.Request, error)
	// List returns one page of the requests q selects (by status: the
	// reminders and PurgeRevoked; by workspace: intake's link to a
	// returned request), from an eventually consistent index.
	List(ctx context.Context, q egress.ListQuery) (egress.Page, error)
	Update(ctx context.Context, r egress.Request, ev egress.Event) (egress.Request, error)
	// AddEventOnce appends ev to its request's audit trail without changing
	// the request, once: another event of the same kind placed after the
	// same version is not added, and added is false.
	AddEventOnce(ctx context.Context, ev egress.Event, after int64) (added bool, err error)
}

// SWBStore locks and unlocks SWB's egress store (swbstore.Table).
type SWBStore interface {
	// CheckLock returns the error Lock would return now, without
	// changing the store.
	CheckLock(ctx context.Context, storeID, requestID string) error
	Lock(ctx context.Context, storeID, requestID string) error
	SetStatus(ctx context.Context, storeID, requestID string, to swb.StoreStatus) error
}

// Objects is the S3 work of the workflow (objects.Client).
type Objects interface {
	Read(ctx context.Context, bucket, key string) ([]byte, error)
	CopyAll(ctx context.Context, jobs []egress.CopyJob, concurrency int) ([]egress.File, error)
	WriteManifest(ctx context.Context, bucket, key string, m egress.Manifest) error
	ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error)
	DeletePrefix(ctx context.Context, bucket, prefix string) (int, error)
	// AbortUploads aborts the multipart uploads open under prefix.
	AbortUploads(ctx context.Context, bucket, prefix string) error
	// ReadJSON and WriteJSON keep a step's state between invocations
	// (CheckFiles' progress); a missing object is ENOTFOUND.
	ReadJSON(ctx context.Context, bucket, key string, v any) error
	WriteJSON(ctx context.Context, bucket, key string, v any) error
	// WriteZipJob writes a release zip, over as many calls as it takes
	// when the job has a checkpoint (false: call again).
	WriteZipJob(ctx context.Context, job egress.ZipJob) (egress.ZipResult, bool, error)
	// HideObject puts a delete marker on key; DeleteVersions deletes
	// every version of exactly key (a revoked zip, PurgeRevoked).
	HideObject(ctx context.Context, bucket, key string) error
	DeleteVersions(ctx context.Context, bucket, key string) (int, error)
}

// Executions starts workflow executions (stepfunctions.Workflow).
type Executions interface {
	Start(ctx context.Context, name string, input any) (string, error)
	// ExecutionArn is the ARN of the execution named name, started or not.
	ExecutionArn(name string) string
}

// Mailer sends e-mail (notify.Mailer).
type Mailer interface {
	Send(ctx context.Context, e egress.Email) error
}

// Publisher publishes notices on SNS topics (topics.Publisher).
type Publisher interface {
	Publish(ctx context.Context, n egress.Notice) error
}

// Directory looks up the reviewers' user pool (userpool.Directory).
type Directory interface {
	// GroupEmails returns the e-mail addresses of the group's members who
	// can be e-mailed: enabled users with a verified address, every page.
	GroupEmails(ctx context.Context, group string) ([]string, error)
}

// Metrics records the workflow's metrics (metrics.Emitter). Requests by
// status are not here: the requests table's observer counts every status
// change, whoever makes it.
type Metrics interface {
	Checked(ctx context.Context, id string, findings []egress.Finding)
	Released(ctx context.Context, id string, size int64, took time.Duration)
	Failed(ctx context.Context, id string, cause egress.FailureCause)
	// StuckChecked and ReleasesChecked are the scheduled checks' counts.
	StuckChecked(ctx context.Context, unreminded, noExecution, undelivered int)
	ReleasesChecked(ctx context.Context, checked, drift int)
}

// noMetrics is the Metrics of handlers given none.
type noMetrics struct{}

func (noMetrics) Checked(context.Context, string, []egress.Finding)      {}
func (noMetrics) Released(context.Context, string, int64, time.Duration) {}
func (noMetrics) Failed(context.Context, string, egress.FailureCause)    {}
func (noMetrics) StuckChecked(context.Context, int, int, int)            {}
func (noMetrics) ReleasesChecked(context.Context, int, int)              {}

// Settings are the handlers' configuration.
type Settings struct {
	StagingBucket   string
	DatalakeBucket  string
	Chain           egress.Chain // the chain new requests get
	ReviewerGroups  []string     // egress_reviewer_roles, to rebuild a request's chain (see egress.ChainFor)
	StageTimeout    time.Duration
	CopyConcurrency int
	AdminEmail      string
	ReviewerEmails  map[string][]string // also e-mailed when a stage awaits its group
	ReviewerTopics  map[string]string   // the topic each group's notice is published on
	WebAppURL       string
	// SWBStoreBucket and SWBListBucket, when set, are the only buckets a
	// message may name: a forged message must not stage other data.
	SWBStoreBucket string
	SWBListBucket  string
	Checks         CheckSettings
	// VerifyReleaseDays is how many days of releases VerifyReleases
	// re-reads (verify_release_days).
	VerifyReleaseDays int
	// ReleaseBudget, when set, is how long one Release invocation writes
	// the zip before it saves its progress and hands over to the next
	// (tests; a Lambda stops before its own deadline anyway).
	ReleaseBudget time.Duration
	// CopyBudget, when set, is how long one CopyToStaging invocation
	// starts copies before it saves its progress and hands over to the
	// next (tests, like ReleaseBudget).
	CopyBudget time.Duration
	// CopyChunkFiles, when set, is how many copies start between two looks
	// at the clock (default 1,000; tests set 1).
	CopyChunkFiles int
}

// Handlers runs the workflow's steps. Fields a function does not use may be
// nil.
type Handlers struct {
	Requests   Requests
	SWBStore   SWBStore
	Objects    Objects
	Executions Executions
	Mailer     Mailer
	Publisher  Publisher
	Directory  Directory
	Checks     Checker
	// ExecutionReader and Zips serve the scheduled checks (CheckStuck,
	// VerifyReleases).
	ExecutionReader ExecutionReader
	Zips            ZipReader
	Metrics         Metrics
	Bus             Bus
	Audit           AuditStream
	Settings        Settings
	Log             *slog.Logger
	Now             func() time.Time
}

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

func (h *Handlers) metrics() Metrics {
	if h.Metrics == nil {
		return noMetrics{}
	}
	return h.Metrics
}

// log is the per-request logger: the invocation's ids from ctx and the
// egress request id bound.
func (h *Handlers) log(ctx context.Context, id string) *slog.Logger {
	return logctx.With(ctx, h.Log).With("egress_request_id", id)
}

// chainFor returns the chain r was created under.
func (h *Handlers) chainFor(r egress.Request) (egress.Chain, error) {
	return egress.ChainFor(h.Settings.ReviewerGroups, r)
}

// Key layout: staged files are where egress.StagingPrefix says; manifests
// sit outside that prefix so deleting staged data keeps the record of what
// was submitted.

func manifestKey(r egress.Request) string {
	return "manifests/" + r.WorkspaceID + "/" + r.ID + ".json"
}

// DatalakePrefix is where a request's release lives in the datalake.
func DatalakePrefix(r egress.Request) string { return egress.DatalakePrefix(r) }

// ZipKey is where a released request's zip lives in the datalake.
func ZipKey(r egress.Request) string { return DatalakePrefix(r) + "egress_data.zip" }

// update reads the request, applies change and stores it conditionally,
// re-reading and re-applying when another writer won the race.
func (h *Handlers) update(ctx context.Context, id string, change func(*egress.Request) (egress.Event, error)) (egress.Request, error) {
	const attempts = 5
	var err error
	for range attempts {
		var r egress.Request
		if r, err = h.Requests.Get(ctx, id); err != nil {
			return r, err
		}
		var ev egress.Event
		if ev, err = change(&r); err != nil {
			return r, err
		}
		var stored egress.Request
		if stored, err = h.Requests.Update(ctx, r, ev); err == nil {
			return stored, nil
		}
		if egress.ErrorCode(err) != egress.ECONFLICT {
			return r, err
		}
	}
	return egress.Request{}, fmt.Errorf("update request %s: %w", id, err)
}

// ExecutionInput is the state machine's input.
type ExecutionInput struct {
	RequestID           string `json:"egress_request_id"`
	StageCount          int    `json:"stage_count"`
	StageTimeoutSeconds int    `json:"stage_timeout_seconds"`
}

// RequestInput is the payload of task states that need only the request.
type RequestInput struct {
	RequestID string `json:"egress_request_id"`
}

func (in RequestInput) validate() error {
	if in.RequestID == "" {
		return egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	return nil
}

// objectList reads and checks the object list the request was submitted with.
func (h *Handlers) objectList(ctx context.Context, r egress.Request) ([]swb.Entry, error) {
	bucket, key, err := swb.ParseS3ARN(r.ObjectListLocation)
	if err != nil {
		return nil, err
	}
	if want := h.Settings.SWBListBucket; want != "" && bucket != want {
		return nil, egress.Errorf(egress.EINVALID, "egress_store_object_list_location: bucket %q is not the SWB notification bucket %q", bucket, want)
	}
	if want := h.Settings.SWBStoreBucket; want != "" && r.StoreBucket != want {
		return nil, egress.Errorf(egress.EINVALID, "s3_bucketname: %q is not the SWB egress store bucket %q", r.StoreBucket, want)
	}
	data, err := h.Objects.Read(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("read object list s3://%s/%s: %w", bucket, key, err)
	}
	list, err := swb.ParseObjectList(data)
	if err != nil {
		return nil, err
	}
	entries, err := swb.ReleasePaths(r.StoreBucketPath, list.Objects)
	if err != nil {
		return nil, err
	}
	// The zip's own SHA256SUMS and manifest.json names are reserved, and
	// staging copies and hashes a file within one invocation (one copied in
	// parts is read back whole): refuse them now rather than after the
	// reviewers have spent their time.
	var problems []error
	for _, e := range entries {
		if err := egress.CheckZipPath(e.RelPath); err != nil {
			problems = append(problems, err)
		}
		if e.Size > egress.MaxReleaseBytes {
			problems = append(problems, fmt.Errorf("%s is %d bytes; staging copies and hashes files of up to %d bytes (%d s at %d MiB/s)",
				e.RelPath, e.Size, int64(egress.MaxReleaseBytes), egress.ReleaseTimeLimitSeconds, egress.ReleaseBytesPerSecond>>20))
		}
	}
	if err := egress.JoinBounded(maxListed, problems...); err != nil {
		return nil, egress.Errorf(egress.EINVALID, "object list refused: %s", errorTexts(err))
	}
	return entries, nil
}

// maxListed bounds the problems an error lists: errors become Step
// Functions error causes and e-mails, whatever the size of the request.
const maxListed = 10

// errorTexts is the text of each error errors.Join joined, without its
// domain error code, separated by "; ".
func errorTexts(err error) string {
	var parts []string
	for _, e := range unjoin(err) {
		parts = append(parts, strings.TrimPrefix(e.Error(), egress.ErrorCode(e)+": "))
	}
	return strings.Join(parts, "; ")
}

// unjoin returns the errors errors.Join joined, or err itself.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
