package egress

import (
	"strings"
	"time"
)

// Request is one egress request: a set of submitted file versions from one
// workspace egress store, moving through the approval chain. JSON names are
// those of the frontend's GraphQL Request type where one exists.
type Request struct {
	ID                 string    `json:"egress_request_id"`
	StoreName          string    `json:"egress_store_name"`
	StoreID            string    `json:"swb_egress_store_id"`
	ProjectID          string    `json:"project_id"`
	WorkspaceID        string    `json:"workspace_id"`
	RequestedBy        string    `json:"requested_by"`       // SWB user id of the submitter
	RequestedByEmail   string    `json:"requested_by_email"` // where the outcome is sent
	RequestedAt        time.Time `json:"requested_dt"`
	UpdatedBy          string    `json:"updated_by"`
	UpdatedAt          time.Time `json:"updated_dt"`
	Status             Status    `json:"egress_status"`
	StoreBucket        string    `json:"s3_egress_store_bucket"`
	StoreBucketPath    string    `json:"s3_egress_store_bucket_path"`
	ObjectListLocation string    `json:"s3_egress_store_object_list_location"`
	// SWBObjectMetadataVersion is the SWB store version (the message's ver).
	SWBObjectMetadataVersion string `json:"s3_swb_object_metadata_version"`
	// StagingObjectMetadataVersion is the key of the staging manifest object.
	StagingObjectMetadataVersion string `json:"s3_staging_object_metadata_version"`
	// FileTypes summarises the staged files' types (FileTypes), for the
	// reviewers' notice; set at staging.
	FileTypes string `json:"file_types"`

	// TaskToken is the Step Functions token of the stage awaiting a
	// decision. Secret: never logged, never sent in errors.
	TaskToken string `json:"task_token"`
	// ResumeToken is the task token of the stage last decided, kept from
	// the moment the decision is stored until the workflow acknowledges
	// it, so a decision whose resume failed can be sent again. It is not
	// the token of a stage awaiting a decision (that is TaskToken). Secret
	// like TaskToken.
	ResumeToken string `json:"resume_token"`
	// CurrentReviewerGroup is the group of the stage awaiting a decision,
	// empty when none is.
	CurrentReviewerGroup string `json:"current_reviewer_group"`
	SingleApproval       bool   `json:"is_single_approval_enabled"`
	// Stages is the approval chain the request was created under.
	Stages []StageSpec `json:"approval_stages"`
	// Reviews holds every vote in the order cast: one per decided stage,
	// two for a stage with two reviewers.
	Reviews []Review `json:"reviews"`
	// AwaitingSince is when the stage awaiting a decision started waiting,
	// and RemindersSent how many reminders it has had.
	AwaitingSince time.Time `json:"awaiting_since"`
	RemindersSent int       `json:"reminders_sent"`
	// FileCount is the number of staged files (set at staging).
	FileCount int `json:"file_count"`
	// PreviousRequestID links a resubmission to the RETURNED request of
	// the same egress store it follows.
	PreviousRequestID string `json:"previous_request_id"`
	// EndedBy and EndReason say who ended the request and why, when a
	// person did (cancel).
	EndedBy   string `json:"ended_by"`
	EndReason string `json:"end_reason"`
	// Checks is what the automated checks found, set when they finish.
	Checks *CheckSummary `json:"checks,omitempty"`

	DownloadCount int       `json:"download_count"`
	ZipKey        string    `json:"zip_key"` // datalake key of the released zip; empty until released
	ReleasedAt    time.Time `json:"released_dt"`
	FailureCause  string    `json:"failure_cause"` // why a FAILED/EXPIRED request stopped
	ExecutionArn  string    `json:"execution_arn"`

	// Revocation (Revoke): who withdrew the release, when and why, and
	// where the removal of its zip stands.
	RevokedAt    time.Time  `json:"revoked_dt"`
	RevokedBy    string     `json:"revoked_by"`
	RevokeReason string     `json:"revoke_reason"`
	ZipRemoval   ZipRemoval `json:"zip_removal"`
	// PurgeAfter is when the kept versions of a revoked zip are deleted
	// (revoke_retention_days after the revocation).
	PurgeAfter time.Time `json:"purge_after_dt"`

	// Version is incremented by every stored change; updates are
	// conditional on the version that was read.
	Version int64 `json:"version"`
}

// Review is one reviewer's vote on a stage: the stage's decision when
// the stage has one reviewer.
type Review struct {
	StageIndex int       `json:"stage_index"`
	Stage      string    `json:"stage"` // Stage.Name
	Group      string    `json:"group"`
	Subject    string    `json:"subject"` // identity provider's stable id (Cognito sub)
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	At         time.Time `json:"dt"`
	Decision   Decision  `json:"decision"`
	Reason     string    `json:"reason"`
	// Files are the reviewer's decisions on single files; files not
	// listed take the vote's Decision.
	Files []FileDecision `json:"files,omitempty"`
}

// FileDecision is a reviewer's decision on one file, with a comment.
type FileDecision struct {
	Path     string   `json:"path"`
	Decision Decision `json:"decision"`
	Comment  string   `json:"comment"`
}

// Review returns the first vote recorded for stage i, if any.
func (r *Request) Review(i int) (Review, bool) {
	for _, v := range r.Reviews {
		if v.StageIndex == i {
			return v, true
		}
	}
	return Review{}, false
}

// StageDecided reports whether stage i's votes may be shown to everyone:
// the request no longer awaits that stage.
func (r *Request) StageDecided(i int) bool { return r.Status != awaitingStatus(i) }

// ReviewsFor returns the votes viewer may see: all of them, except that a
// vote on the stage still awaited (a blinded stage's first vote) is shown
// to its voter only.
func (r *Request) ReviewsFor(viewer Identity) []Review {
	out := []Review{}
	for _, v := range r.Reviews {
		own := (viewer.Subject != "" && v.Subject == viewer.Subject) || sameEmail(v.Email, viewer.Email)
		if r.StageDecided(v.StageIndex) || own {
			out = append(out, v)
		}
	}
	return out
}

// DecidingVote returns the vote that decided stage i: its first REJECTED
// vote, else its first RETURNED, else its last; for the frontend's
// ig_reviewer_1_* and rit_reviewer_2_* fields.
func (r *Request) DecidingVote(i int) (Review, bool) {
	votes := r.Votes(i)
	if len(votes) == 0 {
		return Review{}, false
	}
	for _, d := range []Decision{Rejected, Returned} {
		for _, v := range votes {
			if v.Decision == d {
				return v, true
			}
		}
	}
	return votes[len(votes)-1], true
}

// Votes returns the votes cast on stage i, in order.
func (r *Request) Votes(i int) []Review {
	var votes []Review
	for _, v := range r.Reviews {
		if v.StageIndex == i {
			votes = append(votes, v)
		}
	}
	return votes
}

// LeftOut is a file rejected at some stage, which the release leaves out.
type LeftOut struct {
	Path    string `json:"path"`
	Stage   string `json:"stage"`
	Comment string `json:"comment"`
}

// LeftOut returns the files some vote rejected, in the order first
// rejected, each once with the first rejection's stage and comment.
func (r *Request) LeftOut() []LeftOut {
	var out []LeftOut
	seen := map[string]bool{}
	for _, v := range r.Reviews {
		for _, f := range v.Files {
			if f.Decision == Rejected && !seen[f.Path] {
				seen[f.Path] = true
				out = append(out, LeftOut{Path: f.Path, Stage: v.Stage, Comment: f.Comment})
			}
		}
	}
	return out
}

// Released reports whether the zip has been written to the datalake.
func (r *Request) Released() bool { return r.ZipKey != "" }

// Identity is an authenticated caller, taken from the identity provider's
// token, never from request arguments.
type Identity struct {
	Subject string // the identity provider's stable id (Cognito sub)
	// Email is an address the identity provider vouches for (verified);
	// the adapter leaves it empty for an unverified one.
	Email string
	Name  string
	// UserID is the caller's SWB user id when the identity provider holds
	// one the user cannot edit (an admin-set attribute); empty otherwise.
	UserID string
	Groups []string
}

// InGroup reports exact membership (never substring matching).
func (id Identity) InGroup(group string) bool {
	for _, g := range id.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// sameEmail compares addresses case-insensitively; empty never matches.
func sameEmail(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	return a != "" && strings.EqualFold(a, b)
}

// IsRequester reports whether id submitted r: the SWB user id the identity
// provider maps the caller to, or the verified e-mail address, is the
// submitter's. The identity provider's subject is never compared: it is in
// another namespace than SWB's user ids and never matches.
func (r *Request) IsRequester(id Identity) bool {
	return (id.UserID != "" && id.UserID == r.RequestedBy) || sameEmail(id.Email, r.RequestedByEmail)
}

// Event is an append-only audit record of something that happened to a
// request: a status change, a decision, a download.
type Event struct {
	RequestID string    `json:"egress_request_id"`
	Workspace string    `json:"workspace_id"` // of the request, filled in by the store
	Project   string    `json:"project_id"`   // of the request, filled in by the store
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`  // one of the Event* kinds
	Actor     string    `json:"actor"` // email or subject of a person, or "workflow"
	From      Status    `json:"from_status"`
	To        Status    `json:"to_status"`
	Stage     string    `json:"stage"`
	Reason    string    `json:"reason"`
	// The audit chain (audit.go), filled in by the store: the event's
	// position in its request's trail from 1, the hash of the event before
	// it ("" for the first) and its own hash. Events stored before the
	// chain existed have none.
	Sequence     int64  `json:"sequence"`
	PreviousHash string `json:"previous_hash"`
	Hash         string `json:"hash"`
}

// Event kinds.
const (
	EventCreated    = "CREATED"
	EventDecision   = "DECISION"
	EventTransition = "TRANSITION"
	EventDownload   = "DOWNLOAD"
	EventTaskToken  = "AWAITING_DECISION"
	EventReleased   = "RELEASED"
	EventStaged     = "STAGED"
	EventChecked    = "CHECKED" // the automated checks passed it on to review
	EventBlocked    = "BLOCKED" // the automated checks blocked it
	EventStarted    = "STARTED"
	EventDelivered  = "DECISION_DELIVERED" // the workflow acknowledged a stored decision
	// EventPreview records a reviewer's preview of one staged file (its
	// path in Reason); the link handed out is never recorded.
	EventPreview = "PREVIEW"
	// EventFailure records a failure that leaves the status as it is: a
	// released request whose SWB store could not be marked PROCESSED.
	EventFailure = "FAILURE"
	// EventVote records one vote of a stage that needs more; it names the
	// voter but not the vote, which stays hidden until the stage is decided.
	EventVote      = "VOTE"
	EventCancelled = "CANCELLED"
	EventReminder  = "REMINDER"
	// EventRetry records a TRE admin's retryRequest of a request stuck
	// after an outage; what it did follows as its own events.
	EventRetry = "RETRY"
)

// ActorWorkflow is the actor of changes the workflow makes on its own.
const ActorWorkflow = "workflow"

// File is one staged file: its path relative to the store prefix (also its
// path inside the zip), the SWB version it was copied from, size and SHA-256.
type File struct {
	Path      string `json:"path"`
	SourceKey string `json:"source_key"`
	VersionID string `json:"version_id"` // the submitted SWB version
	// StagedVersionID is the staged copy's version, which the release
	// reads, so a later write to the staging key cannot change the zip.
	StagedVersionID string `json:"staged_version_id,omitempty"`
	Size            int64  `json:"size"`
	SHA256          string `json:"sha256"` // lower-case hex
	// ContentType is the type the automated checks sniffed from the
	// file's first bytes; empty before they ran (and in manifests written
	// before they recorded it) and for an empty file.
	ContentType string `json:"content_type,omitempty"`
	// Findings are what the automated checks found in the file, written
	// to the manifest before any reviewer sees it (BoundFindings).
	Findings []Finding `json:"findings,omitempty"`
}

// Manifest lists the files staged for a request.
type Manifest struct {
	RequestID   string `json:"egress_request_id"`
	WorkspaceID string `json:"workspace_id"`
	Files       []File `json:"files"`
}

// TimeLayout is how times travel and are stored: fixed-width (always
// milliseconds, always Z) so they sort as strings, and what JavaScript's
// toISOString produces, which the frontend parses.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats t in TimeLayout; the zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}
