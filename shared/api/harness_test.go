package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/testenv"
	"github.com/tre-egress/egress/statemachine"
)

var (
	now      = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tableSeq atomic.Int64
	idSeq    atomic.Int64
)

// env is one Service over fresh tables in the shared DynamoDB Local and
// fresh buckets in the shared MinIO. Only the workflow is a recorder: the
// end-to-end tests with the real engine are in package local.
type env struct {
	svc      *api.Service
	table    *requests.Table
	db       *dynamodb.Client
	ops      *opCounter
	s3       *s3.Client
	objects  *objects.Client
	wf       *recorder
	exec     *appsync.Executor
	staging  string
	datalake string
	zipKey   string
	zipBody  []byte
	logs     *syncBuffer

	requestsTable string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	base := testenv.DynamoDB(t)
	ops := &opCounter{}
	db := dynamodb.New(base.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, ops.register) })
	n := tableSeq.Add(1)
	requestsName, events := fmt.Sprintf("api-requests-%d", n), fmt.Sprintf("api-events-%d", n)
	if err := requests.CreateTables(ctx, db, requestsName, events); err != nil {
		t.Fatal(err)
	}
	s3c := testenv.S3(t)
	e := &env{
		table: requests.NewTable(db, requestsName, events), db: db, ops: ops, s3: s3c,
		objects: objects.New(s3c), wf: &recorder{},
		staging: testenv.NewBucket(t, s3c, true), datalake: testenv.NewBucket(t, s3c, true),
		zipKey: "approved_egress/ws/req/egress_data.zip", logs: &syncBuffer{},
		requestsTable: requestsName,
	}
	e.zipBody = makeZip(t, map[string]string{"results/a.csv": "a,b\n1,2\n", "README.txt": "hello"})
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.datalake), Key: aws.String(e.zipKey), Body: bytes.NewReader(e.zipBody)}); err != nil {
		t.Fatal(err)
	}
	e.svc = &api.Service{
		Requests: e.table, Workflow: e.wf, Presigner: e.objects, Manifests: e.objects,
		VersionPresigner: e.objects, HeadReader: e.objects,
		ReviewerGroups: []string{egress.GroupIG, egress.GroupRIT},
		StagingBucket:  e.staging, DatalakeBucket: e.datalake,
		MaxDownloads: 3, DownloadExpiry: time.Minute,
		Log: slog.New(slog.NewJSONHandler(e.logs, nil)),
		Now: func() time.Time { return now },
	}
	var err error
	if e.exec, err = appsync.NewExecutor(api.Schema, api.Handler(e.svc)); err != nil {
		t.Fatal(err)
	}
	return e
}

func makeZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// opCounter counts DynamoDB operations at the SDK's middleware stack, so
// any call the client makes shows, Scan included.
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) register(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("countOperations",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleBuild(ctx, in)
		}), middleware.After)
}

func (c *opCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	return n
}

// recorder stands in for Step Functions: it records what Resume was sent
// and can be told to fail.
type recorder struct {
	mu      sync.Mutex
	resumed []resumed
	fail    error
}

type resumed struct {
	token string
	out   statemachine.DecisionOutput
}

func (r *recorder) Resume(ctx context.Context, token string, out statemachine.DecisionOutput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.resumed = append(r.resumed, resumed{token, out})
	return nil
}

func (r *recorder) calls(token string) []statemachine.DecisionOutput {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []statemachine.DecisionOutput
	for _, c := range r.resumed {
		if c.token == token {
			out = append(out, c.out)
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// People.
var (
	igReviewer  = egress.Identity{Subject: "sub-ig", Email: "ig@example.org", Name: "Ida IG", Groups: []string{egress.GroupIG}}
	ritReviewer = egress.Identity{Subject: "sub-rit", Email: "rit@example.org", Name: "Rob RIT", Groups: []string{egress.GroupRIT}}
	requester   = egress.Identity{Subject: "sub-req", Email: "researcher@example.org", Name: "Rita Researcher", Groups: []string{egress.GroupIG, egress.GroupRIT}}
	noGroup     = egress.Identity{Subject: "sub-none", Email: "nobody@example.org", Name: "No Body"}
	bothGroups  = egress.Identity{Subject: "sub-both", Email: "both@example.org", Name: "Bo Both", Groups: []string{egress.GroupIG, egress.GroupRIT}}
	earlierIG   = egress.Identity{Subject: "sub-ig0", Email: "ig0@example.org", Name: "Earlier IG", Groups: []string{egress.GroupIG}}
	earlierRIT  = egress.Identity{Subject: "sub-rit0", Email: "rit0@example.org", Name: "Earlier RIT", Groups: []string{egress.GroupRIT}}
)

// appsyncIdentity is the identity AppSync would pass for who signed in through the
// frontend: its access token, as Cognito issues it with the pre-token
// trigger (the e-mail counts as verified).
func appsyncIdentity(who egress.Identity) *api.Identity {
	return api.NewIdentity(mint(who, nil).Access)
}

// appsyncID is the identity AppSync would pass for who's ID token.
func appsyncID(who egress.Identity) *api.Identity {
	return api.NewIdentity(mint(who, nil).ID)
}

// mint returns who's tokens from Cognito, the user's attributes changed by
// attrs (a "" value removes one).
func mint(who egress.Identity, attrs map[string]string) cognito.Tokens {
	u := cognito.User{Attributes: map[string]string{"sub": who.Subject, "email": who.Email, "email_verified": "true",
		"name": who.Name, "cognito:user_status": "CONFIRMED"}, Groups: who.Groups}
	if who.UserID != "" {
		u.Attributes[cognito.UserIDAttribute] = who.UserID
	}
	for k, v := range attrs {
		if u.Attributes[k] = v; v == "" {
			delete(u.Attributes, k)
		}
	}
	tok, err := cognito.PreTokenGeneration{Groups: []string{egress.GroupIG, egress.GroupRIT}}.Mint(context.Background(), u, cognito.Issue{
		Issuer: "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_TEST", UserPoolID: "eu-west-2_TEST", Region: "eu-west-2",
		ClientID: "web-client", Now: now, TTL: time.Hour})
	if err != nil {
		panic(err)
	}
	return tok
}

// newRequest returns a request as intake stores it, PROCESSING with a
// task token.
func newRequest() egress.Request {
	id := fmt.Sprintf("req-%06d", idSeq.Add(1))
	return egress.Request{
		ID: id, StoreName: "results", StoreID: "ws-1", ProjectID: "proj-1", WorkspaceID: "ws-1",
		RequestedBy: "u-researcher", RequestedByEmail: requester.Email, RequestedAt: now.Add(-time.Hour),
		UpdatedBy: "workflow", UpdatedAt: now.Add(-time.Hour), Status: egress.StatusProcessing,
		StoreBucket: "swb-store", StoreBucketPath: "ws-1/", ObjectListLocation: "arn:aws:s3:::swb-notify/ws-1/results-ver1.json",
		SWBObjectMetadataVersion: "1", TaskToken: "token-" + id, CurrentReviewerGroup: egress.GroupIG,
	}
}

func review(stage string, who egress.Identity, d egress.Decision, reason string) egress.Review {
	group := egress.GroupIG
	if stage == "RIT" {
		group = egress.GroupRIT
	}
	return egress.Review{Stage: stage, Group: group, Subject: who.Subject, Name: who.Name, Email: who.Email, At: now.Add(-30 * time.Minute), Decision: d, Reason: reason}
}

// fixture makes a request in one state of its life.
type fixture struct {
	name  string
	build func(e *env, r *egress.Request)
}

var fixtures = []fixture{
	{"PROCESSING", func(e *env, r *egress.Request) {}},
	{"IGAPPROVED", func(e *env, r *egress.Request) {
		r.Status, r.CurrentReviewerGroup = egress.StatusIGApproved, egress.GroupRIT
		r.Reviews = []egress.Review{review("IG", earlierIG, egress.Approved, "")}
	}},
	{"IGAPPROVED single approval, released", func(e *env, r *egress.Request) {
		r.SingleApproval, r.Status, r.TaskToken, r.CurrentReviewerGroup = true, egress.StatusIGApproved, "", ""
		r.Reviews = []egress.Review{review("IG", earlierIG, egress.Approved, "")}
		r.ZipKey, r.ReleasedAt = e.zipKey, now.Add(-time.Minute)
	}},
	{"RITAPPROVED", func(e *env, r *egress.Request) {
		r.Status, r.TaskToken, r.CurrentReviewerGroup = egress.StatusRITApproved, "", ""
		r.Reviews = []egress.Review{review("IG", earlierIG, egress.Approved, ""), review("RIT", earlierRIT, egress.Approved, "")}
		r.ZipKey, r.ReleasedAt = e.zipKey, now.Add(-time.Minute)
	}},
	{"REJECTED", func(e *env, r *egress.Request) {
		r.Status, r.TaskToken, r.CurrentReviewerGroup = egress.StatusRejected, "", ""
		r.Reviews = []egress.Review{review("IG", earlierIG, egress.Rejected, "identifiable data")}
	}},
	{"FAILED", func(e *env, r *egress.Request) {
		r.Status, r.TaskToken, r.CurrentReviewerGroup, r.FailureCause = egress.StatusFailed, "", "", "NotFoundError: object gone"
	}},
	{"EXPIRED", func(e *env, r *egress.Request) {
		r.Status, r.TaskToken, r.CurrentReviewerGroup, r.FailureCause = egress.StatusExpired, "", "", "States.Timeout"
	}},
	{"BLOCKED", func(e *env, r *egress.Request) {
		// As the checks step leaves it: summary stored, ended by the workflow.
		s := egress.Summarise(egress.EngineClamAV, nil, blockedFiles)
		blocked, _, err := egress.Block(*r, s, now.Add(-50*time.Minute))
		if err != nil {
			panic(err)
		}
		*r = blocked
		r.Checks = &s
	}},
}

// blockedFiles are the files of the BLOCKED fixture's findings.
var blockedFiles = []egress.File{
	{Path: "results/a.csv", Findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "clamd found Eicar-Test-Signature"}}},
	{Path: "README.txt"},
}

// seed stores a request in the state f describes, with a staging manifest.
func (e *env) seed(t *testing.T, f fixture) egress.Request {
	t.Helper()
	r := newRequest()
	f.build(e, &r)
	r.StagingObjectMetadataVersion = "manifests/" + r.WorkspaceID + "/" + r.ID + ".json"
	m := egress.Manifest{RequestID: r.ID, WorkspaceID: r.WorkspaceID, Files: []egress.File{
		{Path: "results/a.csv", SourceKey: "ws-1/results/a.csv", VersionID: "v1", Size: 8, SHA256: "aa"},
		{Path: "README.txt", SourceKey: "ws-1/README.txt", VersionID: "v2", Size: 5, SHA256: "bb"},
	}}
	ctx := context.Background()
	if err := e.objects.WriteManifest(ctx, e.staging, r.StagingObjectMetadataVersion, m); err != nil {
		t.Fatal(err)
	}
	if created, err := e.table.Create(ctx, r); err != nil || !created {
		t.Fatalf("create %s: %v %v", r.ID, created, err)
	}
	stored, err := e.table.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// call invokes the Lambda handler as AppSync would.
func (e *env) call(who egress.Identity, parent, field string, args, source any) (json.RawMessage, error) {
	ev := api.Event{Identity: appsyncIdentity(who), Info: api.Info{ParentTypeName: parent, FieldName: field}}
	ev.Arguments, _ = json.Marshal(args)
	if source != nil {
		ev.Source, _ = json.Marshal(source)
	}
	out, err := api.Handler(e.svc)(context.Background(), ev)
	if err != nil {
		return nil, err
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		panic(merr)
	}
	return b, nil
}

// errorType is the errorType AppSync would show for err ("" for nil).
func errorType(err error) string {
	if err == nil {
		return ""
	}
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		return ie.Type
	}
	return "not an InvokeResponse_Error: " + err.Error()
}

// gql runs a document through the executor for who.
func (e *env) gql(who egress.Identity, query string, vars map[string]any) appsync.Response {
	return e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: query, Variables: vars}, appsyncIdentity(who))
}

// decode turns a response's data into v via JSON.
func decode(t *testing.T, resp appsync.Response, v any) {
	t.Helper()
	b, err := json.Marshal(resp.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
