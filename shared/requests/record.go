package requests

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(egress.TimeLayout, s)
}

// record is a request as stored: egress.Request with times as strings and
// the index sort key.
type record struct {
	ID        string `dynamodbav:"egress_request_id"`
	StoreName string `dynamodbav:"egress_store_name"`
	StoreID   string `dynamodbav:"swb_egress_store_id"`
	ProjectID string `dynamodbav:"project_id"`
	// Index keys (by-workspace, by-requester): left out when empty, which
	// an index key cannot be.
	WorkspaceID                  string             `dynamodbav:"workspace_id,omitempty"`
	RequestedBy                  string             `dynamodbav:"requested_by,omitempty"`
	RequestedByEmail             string             `dynamodbav:"requested_by_email"`
	RequestedAt                  string             `dynamodbav:"requested_dt"`
	ListKey                      string             `dynamodbav:"requested_key"`
	UpdatedBy                    string             `dynamodbav:"updated_by"`
	UpdatedAt                    string             `dynamodbav:"updated_dt"`
	Status                       string             `dynamodbav:"egress_status"`
	StoreBucket                  string             `dynamodbav:"s3_egress_store_bucket"`
	StoreBucketPath              string             `dynamodbav:"s3_egress_store_bucket_path"`
	ObjectListLocation           string             `dynamodbav:"s3_egress_store_object_list_location"`
	SWBObjectMetadataVersion     string             `dynamodbav:"s3_swb_object_metadata_version"`
	StagingObjectMetadataVersion string             `dynamodbav:"s3_staging_object_metadata_version"`
	FileTypes                    string             `dynamodbav:"file_types,omitempty"`
	TaskToken                    string             `dynamodbav:"task_token"`
	ResumeToken                  string             `dynamodbav:"resume_token"`
	CurrentReviewerGroup         string             `dynamodbav:"current_reviewer_group"`
	SingleApproval               bool               `dynamodbav:"is_single_approval_enabled"`
	Stages                       []egress.StageSpec `dynamodbav:"approval_stages,omitempty"`
	Reviews                      []reviewRecord     `dynamodbav:"reviews"`
	AwaitingSince                string             `dynamodbav:"awaiting_since,omitempty"`
	RemindersSent                int                `dynamodbav:"reminders_sent,omitempty"`
	FileCount                    int                `dynamodbav:"file_count,omitempty"`
	PreviousRequestID            string             `dynamodbav:"previous_request_id,omitempty"`
	EndedBy                      string             `dynamodbav:"ended_by,omitempty"`
	EndReason                    string             `dynamodbav:"end_reason,omitempty"`
	Checks                       string             `dynamodbav:"checks,omitempty"` // egress.CheckSummary as JSON
	DownloadCount                int                `dynamodbav:"download_count"`
	ZipKey                       string             `dynamodbav:"zip_key"`
	ReleasedAt                   string             `dynamodbav:"released_dt"`
	FailureCause                 string             `dynamodbav:"failure_cause"`
	ExecutionArn                 string             `dynamodbav:"execution_arn"`
	RevokedAt                    string             `dynamodbav:"revoked_dt,omitempty"`
	RevokedBy                    string             `dynamodbav:"revoked_by,omitempty"`
	RevokeReason                 string             `dynamodbav:"revoke_reason,omitempty"`
	ZipRemoval                   string             `dynamodbav:"zip_removal,omitempty"`
	PurgeAfter                   string             `dynamodbav:"purge_after_dt,omitempty"`
	Version                      int64              `dynamodbav:"version"`
}

type reviewRecord struct {
	// StageIndex is absent on reviews stored before stages could have two
	// votes, when a review's position was its stage.
	StageIndex *int                  `dynamodbav:"stage_index"`
	Files      []egress.FileDecision `dynamodbav:"files,omitempty"`
	Stage      string                `dynamodbav:"stage"`
	Group      string                `dynamodbav:"group"`
	Subject    string                `dynamodbav:"subject"`
	Name       string                `dynamodbav:"name"`
	Email      string                `dynamodbav:"email"`
	At         string                `dynamodbav:"dt"`
	Decision   string                `dynamodbav:"decision"`
	Reason     string                `dynamodbav:"reason"`
}

// checksJSON is s as stored: JSON, bounded by egress.MaxNotableFindings.
func checksJSON(s *egress.CheckSummary) string {
	if s == nil {
		return ""
	}
	b, err := json.Marshal(s)
	if err != nil { // a struct of strings and ints always marshals
		panic(err)
	}
	return string(b)
}

// listKey is the indexes' sort key of a request.
func listKey(requestedAt time.Time, id string) string {
	return egress.FormatTime(requestedAt) + "#" + id
}

func toRecord(r egress.Request) record {
	rec := record{
		ID:                           r.ID,
		StoreName:                    r.StoreName,
		StoreID:                      r.StoreID,
		ProjectID:                    r.ProjectID,
		WorkspaceID:                  r.WorkspaceID,
		RequestedBy:                  r.RequestedBy,
		RequestedByEmail:             r.RequestedByEmail,
		RequestedAt:                  egress.FormatTime(r.RequestedAt),
		ListKey:                      listKey(r.RequestedAt, r.ID),
		UpdatedBy:                    r.UpdatedBy,
		UpdatedAt:                    egress.FormatTime(r.UpdatedAt),
		Status:                       string(r.Status),
		StoreBucket:                  r.StoreBucket,
		StoreBucketPath:              r.StoreBucketPath,
		ObjectListLocation:           r.ObjectListLocation,
		SWBObjectMetadataVersion:     r.SWBObjectMetadataVersion,
		StagingObjectMetadataVersion: r.StagingObjectMetadataVersion,
		FileTypes:                    r.FileTypes,
		TaskToken:                    r.TaskToken,
		ResumeToken:                  r.ResumeToken,
		CurrentReviewerGroup:         r.CurrentReviewerGroup,
		SingleApproval:               r.SingleApproval,
		Stages:                       r.Stages,
		AwaitingSince:                egress.FormatTime(r.AwaitingSince),
		RemindersSent:                r.RemindersSent,
		FileCount:                    r.FileCount,
		PreviousRequestID:            r.PreviousRequestID,
		EndedBy:                      r.EndedBy,
		EndReason:                    r.EndReason,
		Checks:                       checksJSON(r.Checks),
		DownloadCount:                r.DownloadCount,
		ZipKey:                       r.ZipKey,
		ReleasedAt:                   egress.FormatTime(r.ReleasedAt),
		FailureCause:                 r.FailureCause,
		ExecutionArn:                 r.ExecutionArn,
		RevokedAt:                    egress.FormatTime(r.RevokedAt),
		RevokedBy:                    r.RevokedBy,
		RevokeReason:                 r.RevokeReason,
		ZipRemoval:                   string(r.ZipRemoval),
		PurgeAfter:                   egress.FormatTime(r.PurgeAfter),
		Version:                      r.Version,
	}
	for _, v := range r.Reviews {
		rec.Reviews = append(rec.Reviews, reviewRecord{
			StageIndex: &v.StageIndex, Files: v.Files,
			Stage: v.Stage, Group: v.Group, Subject: v.Subject, Name: v.Name, Email: v.Email,
			At: egress.FormatTime(v.At), Decision: string(v.Decision), Reason: v.Reason,
		})
	}
	return rec
}

func (rec record) request() (egress.Request, error) {
	r := egress.Request{
		ID:                           rec.ID,
		StoreName:                    rec.StoreName,
		StoreID:                      rec.StoreID,
		ProjectID:                    rec.ProjectID,
		WorkspaceID:                  rec.WorkspaceID,
		RequestedBy:                  rec.RequestedBy,
		RequestedByEmail:             rec.RequestedByEmail,
		UpdatedBy:                    rec.UpdatedBy,
		Status:                       egress.Status(rec.Status),
		StoreBucket:                  rec.StoreBucket,
		StoreBucketPath:              rec.StoreBucketPath,
		ObjectListLocation:           rec.ObjectListLocation,
		SWBObjectMetadataVersion:     rec.SWBObjectMetadataVersion,
		StagingObjectMetadataVersion: rec.StagingObjectMetadataVersion,
		FileTypes:                    rec.FileTypes,
		TaskToken:                    rec.TaskToken,
		ResumeToken:                  rec.ResumeToken,
		CurrentReviewerGroup:         rec.CurrentReviewerGroup,
		SingleApproval:               rec.SingleApproval,
		Stages:                       rec.Stages,
		RemindersSent:                rec.RemindersSent,
		FileCount:                    rec.FileCount,
		PreviousRequestID:            rec.PreviousRequestID,
		EndedBy:                      rec.EndedBy,
		EndReason:                    rec.EndReason,
		DownloadCount:                rec.DownloadCount,
		ZipKey:                       rec.ZipKey,
		FailureCause:                 rec.FailureCause,
		ExecutionArn:                 rec.ExecutionArn,
		RevokedBy:                    rec.RevokedBy,
		RevokeReason:                 rec.RevokeReason,
		ZipRemoval:                   egress.ZipRemoval(rec.ZipRemoval),
		Version:                      rec.Version,
	}
	if rec.Checks != "" {
		r.Checks = new(egress.CheckSummary)
		if err := json.Unmarshal([]byte(rec.Checks), r.Checks); err != nil {
			return egress.Request{}, fmt.Errorf("request %s: checks: %w", rec.ID, err)
		}
	}
	var err error
	times := []struct {
		name string
		s    string
		t    *time.Time
	}{
		{"requested_dt", rec.RequestedAt, &r.RequestedAt},
		{"updated_dt", rec.UpdatedAt, &r.UpdatedAt},
		{"released_dt", rec.ReleasedAt, &r.ReleasedAt},
		{"awaiting_since", rec.AwaitingSince, &r.AwaitingSince},
		{"revoked_dt", rec.RevokedAt, &r.RevokedAt},
		{"purge_after_dt", rec.PurgeAfter, &r.PurgeAfter},
	}
	for _, f := range times {
		if *f.t, err = parseTime(f.s); err != nil {
			return egress.Request{}, fmt.Errorf("request %s: %s: %w", rec.ID, f.name, err)
		}
	}
	for i, v := range rec.Reviews {
		at, err := parseTime(v.At)
		if err != nil {
			return egress.Request{}, fmt.Errorf("request %s: reviews[%d].dt: %w", rec.ID, i, err)
		}
		stage := i
		if v.StageIndex != nil {
			stage = *v.StageIndex
		}
		r.Reviews = append(r.Reviews, egress.Review{
			StageIndex: stage, Files: v.Files,
			Stage: v.Stage, Group: v.Group, Subject: v.Subject, Name: v.Name, Email: v.Email,
			At: at, Decision: egress.Decision(v.Decision), Reason: v.Reason,
		})
	}
	return r, nil
}

// Item is the item the requests table holds for r, at r.Version: what
// Create and Update write. It is for loading many requests at once in
// tests and benchmarks (requeststest); the service writes through Table.
func Item(r egress.Request) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(toRecord(r))
	if err != nil {
		return nil, fmt.Errorf("encode request %s: %w", r.ID, err)
	}
	return item, nil
}

// decodeRequest unmarshals a stored item.
func decodeRequest(item map[string]types.AttributeValue) (egress.Request, error) {
	var rec record
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return egress.Request{}, fmt.Errorf("decode request: %w", err)
	}
	return rec.request()
}

// eventRecord is an audit event as stored.
type eventRecord struct {
	RequestID string `dynamodbav:"egress_request_id"`
	Seq       string `dynamodbav:"seq"`
	Workspace string `dynamodbav:"workspace_id,omitempty"`
	Project   string `dynamodbav:"project_id,omitempty"`
	At        string `dynamodbav:"at"`
	Kind      string `dynamodbav:"kind"`
	Actor     string `dynamodbav:"actor"`
	From      string `dynamodbav:"from_status"`
	To        string `dynamodbav:"to_status"`
	Stage     string `dynamodbav:"stage"`
	Reason    string `dynamodbav:"reason"`
	// The audit chain (egress.ChainHash); absent on events stored before it.
	Sequence     int64  `dynamodbav:"sequence,omitempty"`
	PreviousHash string `dynamodbav:"previous_hash,omitempty"`
	Hash         string `dynamodbav:"hash,omitempty"`
}

// versionSeq is the events sort key of the event that produced version v.
func versionSeq(v int64) string { return fmt.Sprintf("%020d", v) }

// downloadSeq is the events sort key of download number n, counted while
// the request was at version v.
func downloadSeq(v int64, n int) string { return fmt.Sprintf("%s#download#%010d", versionSeq(v), n) }

// onceSeq is the events sort key of the one event of kind placed after
// the event that produced version v (AddEventOnce).
func onceSeq(v int64, kind string) string { return versionSeq(v) + "#" + strings.ToLower(kind) }

// repeatSeq is the events sort key of an event of kind that may happen
// any number of times while the request is at version v (AddEvent): after
// the event that produced v, ordered by time, unique by a random suffix.
func repeatSeq(v int64, kind string, at time.Time, random string) string {
	return versionSeq(v) + "#" + strings.ToLower(kind) + "#" + egress.FormatTime(at) + "#" + random
}

func toEventRecord(e egress.Event, seq string) eventRecord {
	return eventRecord{
		RequestID: e.RequestID, Seq: seq, Workspace: e.Workspace, Project: e.Project, At: egress.FormatTime(e.At), Kind: e.Kind, Actor: e.Actor,
		From: string(e.From), To: string(e.To), Stage: e.Stage, Reason: e.Reason,
		Sequence: e.Sequence, PreviousHash: e.PreviousHash, Hash: e.Hash,
	}
}

func (rec eventRecord) event() (egress.Event, error) {
	at, err := parseTime(rec.At)
	if err != nil {
		return egress.Event{}, fmt.Errorf("event %s/%s: at: %w", rec.RequestID, rec.Seq, err)
	}
	return egress.Event{
		RequestID: rec.RequestID, Workspace: rec.Workspace, Project: rec.Project, At: at, Kind: rec.Kind, Actor: rec.Actor,
		From: egress.Status(rec.From), To: egress.Status(rec.To), Stage: rec.Stage, Reason: rec.Reason,
		Sequence: rec.Sequence, PreviousHash: rec.PreviousHash, Hash: rec.Hash,
	}, nil
}
