package api

import (
	"strconv"

	"github.com/tre-egress/egress/shared/egress"
)

// RequestView is the GraphQL Request type: the 29 fields of contract 3, all
// strings, plus additions. Optional fields that are empty are left out, so
// they read as null, as items without the attribute did before. files and
// history have their own resolvers (Request.files, Request.history).
type RequestView struct {
	ID                           string `json:"egress_request_id"`
	StoreName                    string `json:"egress_store_name"`
	StoreID                      string `json:"swb_egress_store_id"`
	ProjectID                    string `json:"project_id"`
	WorkspaceID                  string `json:"workspace_id"`
	RequestedBy                  string `json:"requested_by"`
	RequestedAt                  string `json:"requested_dt"`
	UpdatedBy                    string `json:"updated_by"`
	UpdatedAt                    string `json:"updated_dt"`
	Status                       string `json:"egress_status"`
	StoreBucket                  string `json:"s3_egress_store_bucket"`
	StoreBucketPath              string `json:"s3_egress_store_bucket_path"`
	ObjectListLocation           string `json:"s3_egress_store_object_list_location"`
	SWBObjectMetadataVersion     string `json:"s3_swb_object_metadata_version"`
	TaskToken                    string `json:"task_token,omitempty"`
	IGName                       string `json:"ig_reviewer_1_name,omitempty"`
	IGEmail                      string `json:"ig_reviewer_1_email,omitempty"`
	IGDate                       string `json:"ig_reviewer_1_dt,omitempty"`
	IGReason                     string `json:"ig_reviewer_1_reason,omitempty"`
	IGDecision                   string `json:"ig_reviewer_1_decision,omitempty"`
	RITName                      string `json:"rit_reviewer_2_name,omitempty"`
	RITEmail                     string `json:"rit_reviewer_2_email,omitempty"`
	RITDate                      string `json:"rit_reviewer_2_dt,omitempty"`
	RITReason                    string `json:"rit_reviewer_2_reason,omitempty"`
	RITDecision                  string `json:"rit_reviewer_2_decision,omitempty"`
	CurrentReviewerGroup         string `json:"current_reviewer_group,omitempty"`
	StagingObjectMetadataVersion string `json:"s3_staging_object_metadata_version,omitempty"`
	DownloadCount                string `json:"download_count"`
	SingleApproval               string `json:"is_single_approval_enabled"`
	// Additions.
	FailureCause      string              `json:"failure_cause,omitempty"`
	ReleasedAt        string              `json:"released_dt,omitempty"`
	Stages            []ApprovalStageView `json:"approval_stages,omitempty"`
	FileCount         int                 `json:"file_count"`
	EndedBy           string              `json:"ended_by,omitempty"`
	EndReason         string              `json:"end_reason,omitempty"`
	AwaitingSince     string              `json:"awaiting_since,omitempty"`
	RemindersSent     int                 `json:"reminders_sent"`
	PreviousRequestID string              `json:"previous_request_id,omitempty"`
	RevokedAt         string              `json:"revoked_dt,omitempty"`
	RevokedBy         string              `json:"revoked_by,omitempty"`
	RevokeReason      string              `json:"revoke_reason,omitempty"`
	ZipRemoval        string              `json:"zip_removal,omitempty"`
	// DownloadsLeft is nil (null) unless the request can be downloaded.
	DownloadsLeft *int `json:"downloads_left,omitempty"`
}

// ApprovalStageView is the GraphQL ApprovalStage type.
type ApprovalStageView struct {
	Name      string `json:"name"`
	Group     string `json:"group"`
	Reviewers int    `json:"reviewers"`
}

// NewRequestView shows r as the frontend expects it. The task token is
// shown as its TokenRef: the frontend only sends it back.
func NewRequestView(r egress.Request) RequestView {
	v := RequestView{
		ID:                           r.ID,
		StoreName:                    r.StoreName,
		StoreID:                      r.StoreID,
		ProjectID:                    r.ProjectID,
		WorkspaceID:                  r.WorkspaceID,
		RequestedBy:                  r.RequestedBy,
		RequestedAt:                  egress.FormatTime(r.RequestedAt),
		UpdatedBy:                    r.UpdatedBy,
		UpdatedAt:                    egress.FormatTime(r.UpdatedAt),
		Status:                       string(r.Status),
		StoreBucket:                  r.StoreBucket,
		StoreBucketPath:              r.StoreBucketPath,
		ObjectListLocation:           r.ObjectListLocation,
		SWBObjectMetadataVersion:     r.SWBObjectMetadataVersion,
		TaskToken:                    TokenRef(r.TaskToken),
		CurrentReviewerGroup:         r.CurrentReviewerGroup,
		StagingObjectMetadataVersion: r.StagingObjectMetadataVersion,
		DownloadCount:                strconv.Itoa(r.DownloadCount),
		SingleApproval:               strconv.FormatBool(r.SingleApproval),
		FailureCause:                 r.FailureCause,
		ReleasedAt:                   egress.FormatTime(r.ReleasedAt),
		FileCount:                    r.FileCount,
		EndedBy:                      r.EndedBy,
		EndReason:                    r.EndReason,
		AwaitingSince:                egress.FormatTime(r.AwaitingSince),
		RemindersSent:                r.RemindersSent,
		PreviousRequestID:            r.PreviousRequestID,
		RevokedAt:                    egress.FormatTime(r.RevokedAt),
		RevokedBy:                    r.RevokedBy,
		RevokeReason:                 r.RevokeReason,
		ZipRemoval:                   string(r.ZipRemoval),
	}
	for _, st := range r.Stages {
		v.Stages = append(v.Stages, ApprovalStageView{Name: st.Name, Group: st.Group, Reviewers: max(st.Reviewers, 1)})
	}
	// The frontend's fields show a stage's first vote once the stage is
	// decided: a blinded stage's first vote stays hidden until then.
	if rv, ok := r.DecidingVote(0); ok && r.StageDecided(0) {
		v.IGName, v.IGEmail, v.IGDate, v.IGReason, v.IGDecision = rv.Name, rv.Email, egress.FormatTime(rv.At), rv.Reason, string(rv.Decision)
	}
	if rv, ok := r.DecidingVote(1); ok && r.StageDecided(1) {
		v.RITName, v.RITEmail, v.RITDate, v.RITReason, v.RITDecision = rv.Name, rv.Email, egress.FormatTime(rv.At), rv.Reason, string(rv.Decision)
	}
	return v
}

// requestView is NewRequestView with what the service's configuration
// adds: the downloads left.
func (s *Service) requestView(r egress.Request) RequestView {
	v := NewRequestView(r)
	v.DownloadsLeft = s.downloadsLeft(r)
	return v
}

func (s *Service) requestViews(rs []egress.Request) []RequestView {
	vs := make([]RequestView, len(rs))
	for i, r := range rs {
		vs[i] = s.requestView(r)
	}
	return vs
}

// downloadsLeft is how many of MaxDownloads r's downloads leave, by the
// rule downloads are granted by (Chain.Downloadable); nil when r cannot be
// downloaded.
func (s *Service) downloadsLeft(r egress.Request) *int {
	chain, err := s.chainFor(r)
	if err != nil || !chain.Downloadable(r) {
		return nil
	}
	n := max(s.MaxDownloads-r.DownloadCount, 0)
	return &n
}

// FileView is the GraphQL RequestFile type.
type FileView struct {
	PagedFileView
	Findings []FindingView `json:"findings"`
}

// PagedFileView is the GraphQL PagedFile type: a file of a page, whose
// findings the page lists.
type PagedFileView struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Version string `json:"version,omitempty"`
	// ContentType is empty (null) until the checks ran.
	ContentType string `json:"content_type,omitempty"`
}

// FindingView is the GraphQL Finding type.
type FindingView struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// FileFindingView is the GraphQL FileFinding type; Path is empty (null)
// for a finding on the request as a whole.
type FileFindingView struct {
	Path string `json:"path,omitempty"`
	FindingView
}

func newFindingView(f egress.Finding) FindingView {
	return FindingView{Check: f.Check, Severity: string(f.Severity), Message: f.Message}
}

func pagedFileView(f egress.File) PagedFileView {
	return PagedFileView{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Version: f.VersionID, ContentType: f.ContentType}
}

func fileView(f egress.File) FileView {
	v := FileView{PagedFileView: pagedFileView(f), Findings: make([]FindingView, len(f.Findings))}
	for i, x := range f.Findings {
		v.Findings[i] = newFindingView(x)
	}
	return v
}

func fileViews(files []egress.File) []FileView {
	out := make([]FileView, len(files))
	for i, f := range files {
		out[i] = fileView(f)
	}
	return out
}

// FilePageView is the GraphQL RequestFilePage type.
type FilePageView struct {
	Items     []PagedFileView   `json:"items"`
	NextToken string            `json:"nextToken,omitempty"`
	Findings  []FileFindingView `json:"findings"`
}

func newFilePageView(p FilePage) FilePageView {
	v := FilePageView{Items: make([]PagedFileView, len(p.Files)), NextToken: p.NextToken, Findings: []FileFindingView{}}
	for i, f := range p.Files {
		v.Items[i] = pagedFileView(f)
		for _, x := range f.Findings {
			v.Findings = append(v.Findings, FileFindingView{Path: f.Path, FindingView: newFindingView(x)})
		}
	}
	return v
}

// CheckSummaryView is the GraphQL CheckSummary type.
type CheckSummaryView struct {
	Engine   string            `json:"engine"`
	Blocking int               `json:"blocking"`
	Warnings int               `json:"warnings"`
	Info     int               `json:"info"`
	Files    int               `json:"files"`
	Notable  []FileFindingView `json:"notable"`
}

// newCheckSummaryView shows s; nil (null) when the checks have not run.
func newCheckSummaryView(s *egress.CheckSummary) *CheckSummaryView {
	if s == nil {
		return nil
	}
	v := &CheckSummaryView{Engine: s.Engine, Blocking: s.Blocking, Warnings: s.Warnings, Info: s.Info, Files: s.Files,
		Notable: make([]FileFindingView, len(s.Notable))}
	for i, f := range s.Notable {
		v.Notable[i] = FileFindingView{Path: f.Path, FindingView: newFindingView(f.Finding)}
	}
	return v
}

// EventView is the GraphQL RequestEvent type.
type EventView struct {
	At     string `json:"at"`
	Kind   string `json:"kind"`
	Actor  string `json:"actor,omitempty"`
	From   string `json:"from_status,omitempty"`
	To     string `json:"to_status,omitempty"`
	Stage  string `json:"stage,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PageView is the GraphQL RequestPage type.
type PageView struct {
	Items     []RequestView `json:"items"`
	NextToken string        `json:"nextToken,omitempty"`
}

// PresignView is the GraphQL presign_payload type.
type PresignView struct {
	URL string `json:"presign_url"`
}

// ReviewView is the GraphQL Review type.
type ReviewView struct {
	Stage      string             `json:"stage"`
	StageIndex int                `json:"stage_index"`
	Name       string             `json:"name,omitempty"`
	Email      string             `json:"email,omitempty"`
	At         string             `json:"dt"`
	Decision   string             `json:"decision"`
	Reason     string             `json:"reason,omitempty"`
	Files      []FileDecisionView `json:"files"`
}

// FileDecisionView is the GraphQL FileDecision type.
type FileDecisionView struct {
	Path     string `json:"path"`
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

func reviewViews(rs []egress.Review) []ReviewView {
	out := make([]ReviewView, len(rs))
	for i, rv := range rs {
		v := ReviewView{Stage: rv.Stage, StageIndex: rv.StageIndex, Name: rv.Name, Email: rv.Email,
			At: egress.FormatTime(rv.At), Decision: string(rv.Decision), Reason: rv.Reason, Files: []FileDecisionView{}}
		for _, f := range rv.Files {
			v.Files = append(v.Files, FileDecisionView{Path: f.Path, Decision: string(f.Decision), Comment: f.Comment})
		}
		out[i] = v
	}
	return out
}

// FileChangeView is the GraphQL FileChange type.
type FileChangeView struct {
	Path           string `json:"path"`
	Change         string `json:"change"`
	SHA256         string `json:"sha256,omitempty"`
	PreviousSHA256 string `json:"previous_sha256,omitempty"`
}

// FileChangePageView is the GraphQL FileChangePage type.
type FileChangePageView struct {
	Items     []FileChangeView `json:"items"`
	NextToken string           `json:"nextToken,omitempty"`
	Added     int              `json:"added"`
	Removed   int              `json:"removed"`
	Changed   int              `json:"changed"`
}

// PreviousAttemptView is the GraphQL PreviousAttempt type.
type PreviousAttemptView struct {
	ID          string        `json:"egress_request_id"`
	Status      string        `json:"egress_status"`
	RequestedAt string        `json:"requested_dt"`
	UpdatedAt   string        `json:"updated_dt"`
	Comments    []CommentView `json:"comments"`
}

// CommentView is the GraphQL ReviewComment type.
type CommentView struct {
	Stage    string `json:"stage"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	At       string `json:"dt"`
	Decision string `json:"decision"`
	Path     string `json:"path,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// commentViews flattens votes into their reasons and file comments, in
// order; votes without either are left out.
func commentViews(rs []egress.Review) []CommentView {
	out := []CommentView{}
	for _, rv := range rs {
		c := CommentView{Stage: rv.Stage, Name: rv.Name, Email: rv.Email, At: egress.FormatTime(rv.At), Decision: string(rv.Decision)}
		if rv.Reason != "" {
			c.Comment = rv.Reason
			out = append(out, c)
		}
		for _, f := range rv.Files {
			fc := c
			fc.Decision, fc.Path, fc.Comment = string(f.Decision), f.Path, f.Comment
			out = append(out, fc)
		}
	}
	return out
}

// FilePreviewView is the GraphQL FilePreview type. Lines and rows are null
// for content that is neither text nor CSV/TSV.
type FilePreviewView struct {
	Path        string     `json:"path"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	URL         string     `json:"url"`
	ExpiresAt   string     `json:"expires_at"`
	Lines       []string   `json:"lines"`
	Rows        [][]string `json:"rows"`
	Truncated   bool       `json:"truncated"`
}

// NewFilePreviewView shows p.
func NewFilePreviewView(p FilePreview) FilePreviewView {
	return FilePreviewView{Path: p.Path, ContentType: p.ContentType, Size: p.Size, SHA256: p.SHA256, URL: p.URL,
		ExpiresAt: egress.FormatTime(p.ExpiresAt), Lines: p.Lines, Rows: p.Rows, Truncated: p.Truncated}
}
