package requests

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/testenv"
)

var tableSeq atomic.Int64

// newRequests creates a fresh pair of tables and a store over them; db
// counts the calls the store makes.
func newRequests(t *testing.T) (*Table, *countingDB) {
	t.Helper()
	client := testenv.DynamoDB(t)
	n := tableSeq.Add(1)
	requests, events := fmt.Sprintf("requests-%d", n), fmt.Sprintf("events-%d", n)
	if err := CreateTables(context.Background(), client, requests, events); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	db := &countingDB{Client: client}
	return NewTable(db, requests, events), db
}

// countingDB counts calls by operation. It embeds the real client, so it
// has Scan too: a listing that scanned would show up here.
type countingDB struct {
	*dynamodb.Client
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingDB) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

func (c *countingDB) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.Client.GetItem(ctx, in, o...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.Client.Query(ctx, in, o...)
}

func (c *countingDB) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.count("Scan")
	return c.Client.Scan(ctx, in, o...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	return c.Client.TransactWriteItems(ctx, in, o...)
}

// ms is a time with millisecond precision, as stored.
func ms(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fullRequest has every field set, so a field the store forgets to keep
// fails the round trip.
func fullRequest(id string) egress.Request {
	return egress.Request{
		ID:                           id,
		StoreName:                    "cohort-analysis-results",
		StoreID:                      "8b7e6f1a-store",
		ProjectID:                    "Project-Cardio",
		WorkspaceID:                  "8b7e6f1a-ws",
		RequestedBy:                  "u-2Zk8q1",
		RequestedByEmail:             "researcher@example.org",
		RequestedAt:                  ms("2026-11-20T09:14:03.512Z"),
		UpdatedBy:                    "rit@example.org",
		UpdatedAt:                    ms("2026-11-21T10:02:47.118Z"),
		Status:                       egress.StatusRITApproved,
		StoreBucket:                  "swb-prod-egress-store",
		StoreBucketPath:              "8b7e6f1a-ws/",
		ObjectListLocation:           "arn:aws:s3:::notify/8b7e6f1a-store/cohort-analysis-results-ver3.json",
		SWBObjectMetadataVersion:     "3",
		StagingObjectMetadataVersion: "8b7e6f1a-ws/" + id + "/manifest.json",
		FileTypes:                    "csv (2), png (1)",
		TaskToken:                    "token-secret",
		ResumeToken:                  "token-of-the-decided-stage",
		CurrentReviewerGroup:         egress.GroupRIT,
		SingleApproval:               true,
		Stages: []egress.StageSpec{{Name: "IG", Group: egress.GroupIG, Reviewers: 2, ReminderAfterHours: 24, MaxReminders: 3},
			{Name: "RIT", Group: egress.GroupRIT, Reviewers: 1}},
		Reviews: []egress.Review{
			{StageIndex: 0, Stage: "IG", Group: egress.GroupIG, Subject: "sub-ig", Name: "Ida Gov", Email: "ig@example.org",
				At: ms("2026-11-20T12:00:00.001Z"), Decision: egress.Approved, Reason: "fine",
				Files: []egress.FileDecision{{Path: "a/b.csv", Decision: egress.Rejected, Comment: "small cells"}}},
			{StageIndex: 0, Stage: "IG", Group: egress.GroupIG, Subject: "sub-ig2", Name: "Ivo Gov", Email: "ig2@example.org",
				At: ms("2026-11-20T12:30:00.001Z"), Decision: egress.Approved},
			{StageIndex: 1, Stage: "RIT", Group: egress.GroupRIT, Subject: "sub-rit", Name: "Rita IT", Email: "rit@example.org",
				At: ms("2026-11-21T10:02:47.118Z"), Decision: egress.Approved, Reason: "ünïcode + reason"},
		},
		AwaitingSince:     ms("2026-11-21T09:00:00.000Z"),
		RemindersSent:     1,
		FileCount:         3,
		PreviousRequestID: "earlier-" + id,
		EndedBy:           "admin@example.org",
		EndReason:         "a reason to end",
		Checks: &egress.CheckSummary{Engine: "clamav", Blocking: 1, Warnings: 2, Info: 3, Files: 2, Notable: []egress.FileFinding{
			{Path: "a.csv", Finding: egress.Finding{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "ClamAV found X"}}}},
		DownloadCount: 2,
		ZipKey:        "approved_egress/8b7e6f1a-ws/" + id + "/egress_data.zip",
		ReleasedAt:    ms("2026-11-21T10:05:00.000Z"),
		FailureCause:  "none really",
		ExecutionArn:  "arn:aws:states:us-east-1:123456789012:execution:egress:" + id,
		RevokedAt:     ms("2026-11-23T11:00:00.000Z"),
		RevokedBy:     "admin@example.org",
		RevokeReason:  "identifiable data found after release",
		ZipRemoval:    egress.ZipHidden,
		PurgeAfter:    ms("2026-12-23T11:00:00.000Z"),
		Version:       7, // Create stores version 1 whatever it is given
	}
}

// minimalRequest is what intake stores: awaiting IG, nothing decided.
func minimalRequest(id string, at time.Time) egress.Request {
	return egress.Request{
		ID: id, StoreID: "store-" + id, WorkspaceID: "ws", RequestedBy: "u-1",
		RequestedByEmail: "researcher@example.org", RequestedAt: at, UpdatedAt: at,
		UpdatedBy: egress.ActorWorkflow, Status: egress.StatusProcessing,
	}
}

func create(t *testing.T, s *Table, r egress.Request) egress.Request {
	t.Helper()
	created, err := s.Create(context.Background(), r)
	if err != nil || !created {
		t.Fatalf("Create(%s) = %v, %v; want true, nil", r.ID, created, err)
	}
	got, err := s.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatalf("Get(%s): %v", r.ID, err)
	}
	return got
}

// release marks r released so downloads may be counted.
func release(t *testing.T, s *Table, r egress.Request) egress.Request {
	t.Helper()
	r.ZipKey = "approved_egress/ws/" + r.ID + "/egress_data.zip"
	r.ReleasedAt = ms("2026-11-22T08:00:00.000Z")
	r, err := s.Update(context.Background(), r, egress.Event{Kind: egress.EventReleased, Actor: egress.ActorWorkflow, At: r.ReleasedAt})
	if err != nil {
		t.Fatalf("release %s: %v", r.ID, err)
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *egress.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v; want code %s", err, code)
	}
}

func TestCreateTables(t *testing.T) {
	ctx := context.Background()
	client := testenv.DynamoDB(t)
	for range 2 { // the second run finds both tables and succeeds
		if err := CreateTables(ctx, client, "create-tables-requests", "create-tables-events"); err != nil {
			t.Fatalf("CreateTables: %v", err)
		}
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("create-tables-requests")})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ks []types.KeySchemaElement) []string {
		var s []string
		for _, k := range ks {
			s = append(s, string(k.KeyType)+" "+*k.AttributeName)
		}
		return s
	}
	if got, want := keys(out.Table.KeySchema), []string{"HASH " + AttrRequestID}; !reflect.DeepEqual(got, want) {
		t.Errorf("requests key = %v, want %v", got, want)
	}
	// Every index: its partition key, sorted newest first by requested_key.
	want := map[string][]string{
		IndexStatus:    {"HASH " + AttrStatus, "RANGE " + AttrListKey},
		IndexWorkspace: {"HASH " + AttrWorkspace, "RANGE " + AttrListKey},
		IndexRequester: {"HASH " + AttrRequestedBy, "RANGE " + AttrListKey},
	}
	if len(out.Table.GlobalSecondaryIndexes) != len(want) {
		t.Fatalf("requests indexes = %d, want %d", len(out.Table.GlobalSecondaryIndexes), len(want))
	}
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		if gsi.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index %s projection %s, want ALL", *gsi.IndexName, gsi.Projection.ProjectionType)
		}
		if got := keys(gsi.KeySchema); !reflect.DeepEqual(got, want[*gsi.IndexName]) {
			t.Errorf("index %s key = %v, want %v", *gsi.IndexName, got, want[*gsi.IndexName])
		}
	}
	ev, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("create-tables-events")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(ev.Table.KeySchema), []string{"HASH " + AttrRequestID, "RANGE " + AttrEventSeq}; !reflect.DeepEqual(got, want) {
		t.Errorf("events key = %v, want %v", got, want)
	}
}
