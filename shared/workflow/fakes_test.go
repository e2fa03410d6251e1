package workflow_test

// In-memory fakes of the workflow's ports. They keep the rules the real
// adapters enforce that the handlers rely on (versioned updates, the SWB
// store's lock ownership), so a test fails when a handler breaks them. The
// same handlers run against real endpoints in local/stack_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/workflow"
)

// fakeRequests is the requests table: create-if-absent and updates
// conditional on the version read, each with an audit event.
type fakeRequests struct {
	mu     sync.Mutex
	byID   map[string]egress.Request
	events []egress.Event
	once   map[string]bool // AddEventOnce's keys
	// beforeUpdate, when set, runs at the start of every Update, as
	// another writer would between the caller's read and its write.
	beforeUpdate func()
	listErr      error // fails List
}

func (f *fakeRequests) Create(_ context.Context, r egress.Request) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byID[r.ID]; ok {
		return false, nil
	}
	r.Version = 1
	f.byID[r.ID] = r
	f.events = append(f.events, egress.Event{RequestID: r.ID, Kind: egress.EventCreated, To: r.Status})
	return true, nil
}

func (f *fakeRequests) Get(_ context.Context, id string) (egress.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.byID[id]
	if !ok {
		return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
	}
	return r, nil
}

func (f *fakeRequests) Update(_ context.Context, r egress.Request, ev egress.Event) (egress.Request, error) {
	if f.beforeUpdate != nil {
		f.beforeUpdate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.byID[r.ID]
	switch {
	case !ok:
		return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", r.ID)
	case old.Version != r.Version:
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is at version %d, not %d", r.ID, old.Version, r.Version)
	}
	if !r.Status.Valid() || ev.Kind == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "request %s: status %q, event kind %q", r.ID, r.Status, ev.Kind)
	}
	r.Version++
	f.byID[r.ID] = r
	f.events = append(f.events, ev)
	return r, nil
}

// List pages through the requests in q.Status or q.WorkspaceID, newest requested first
// (ties by id), as the by-status index does; the token is the offset.
func (f *fakeRequests) List(_ context.Context, q egress.ListQuery) (egress.Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return egress.Page{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return egress.Page{}, f.listErr
	}
	var all []egress.Request
	for _, r := range f.byID {
		if (q.Status != "" && r.Status == q.Status) || (q.WorkspaceID != "" && r.WorkspaceID == q.WorkspaceID) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b egress.Request) int {
		if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	from := 0
	if q.NextToken != "" {
		if from, err = strconv.Atoi(q.NextToken); err != nil || from < 0 || from > len(all) {
			return egress.Page{}, egress.Errorf(egress.EINVALID, "invalid next token")
		}
	}
	to := min(from+q.Limit, len(all))
	page := egress.Page{Requests: all[from:to]}
	if to < len(all) {
		page.NextToken = strconv.Itoa(to)
	}
	return page, nil
}

func (f *fakeRequests) AddEventOnce(_ context.Context, ev egress.Event, after int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byID[ev.RequestID]; !ok || after < 1 {
		return false, egress.Errorf(egress.EINVALID, "request %q, version %d", ev.RequestID, after)
	}
	key := fmt.Sprint(ev.RequestID, after, ev.Kind)
	if f.once[key] {
		return false, nil
	}
	if f.once == nil {
		f.once = map[string]bool{}
	}
	f.once[key] = true
	f.events = append(f.events, ev)
	return true, nil
}

// kinds counts the events of each kind recorded for id.
func (f *fakeRequests) kinds(id string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, e := range f.events {
		if e.RequestID == id {
			n[e.Kind]++
		}
	}
	return n
}

func (f *fakeRequests) get(t *testing.T, id string) egress.Request {
	t.Helper()
	r, err := f.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("request %s: %v", id, err)
	}
	return r
}

// storeRow is one row of SWB's egress store table.
type storeRow struct {
	Status swb.StoreStatus
	Owner  string // the request holding the PROCESSING lock
}

// storeCall is one call of the SWB store port.
type storeCall struct {
	Op        string // "lock" or "set"
	StoreID   string
	RequestID string
	To        swb.StoreStatus
}

// fakeSWBStore is SWB's egress store table with the lock rules of
// swbstore.Table. lockErr and setErr, when set, answer those calls instead.
type fakeSWBStore struct {
	mu              sync.Mutex
	rows            map[string]storeRow
	calls           []storeCall
	lockErr, setErr error
	onLock          func() // run as Lock is called, before it locks
}

// CheckLock answers as Lock would, without a call that changes anything.
func (f *fakeSWBStore) CheckLock(_ context.Context, storeID, requestID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lockErr != nil {
		return f.lockErr
	}
	return f.lockable(storeID, requestID)
}

func (f *fakeSWBStore) lockable(storeID, requestID string) error {
	row, ok := f.rows[storeID]
	switch {
	case !ok:
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	case row.Status == swb.StoreCreated, row.Status == swb.StorePending,
		row.Status == swb.StoreProcessing && row.Owner == requestID:
		return nil
	}
	return egress.Errorf(egress.ECONFLICT, "egress store %s is %s (owner %q)", storeID, row.Status, row.Owner)
}

func (f *fakeSWBStore) Lock(_ context.Context, storeID, requestID string) error {
	if f.onLock != nil {
		f.onLock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, storeCall{"lock", storeID, requestID, swb.StoreProcessing})
	if f.lockErr != nil {
		return f.lockErr
	}
	if err := f.lockable(storeID, requestID); err != nil {
		return err
	}
	f.rows[storeID] = storeRow{swb.StoreProcessing, requestID}
	return nil
}

func (f *fakeSWBStore) SetStatus(_ context.Context, storeID, requestID string, to swb.StoreStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, storeCall{"set", storeID, requestID, to})
	if f.setErr != nil {
		return f.setErr
	}
	from := map[swb.StoreStatus][]swb.StoreStatus{
		swb.StoreProcessed: {swb.StoreProcessing, swb.StoreProcessed},
		swb.StorePending:   {swb.StoreCreated, swb.StorePending, swb.StoreProcessing},
	}[to]
	row, ok := f.rows[storeID]
	switch {
	case !ok:
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	case slices.Contains(from, row.Status) && (row.Owner == "" || row.Owner == requestID):
		f.rows[storeID] = storeRow{Status: to}
		return nil
	}
	return egress.Errorf(egress.ECONFLICT, "egress store %s is %s (owner %q)", storeID, row.Status, row.Owner)
}

func (f *fakeSWBStore) row(id string) storeRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[id]
}

// sets returns the SetStatus calls.
func (f *fakeSWBStore) sets() []storeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []storeCall
	for _, c := range f.calls {
		if c.Op == "set" {
			out = append(out, c)
		}
	}
	return out
}

// fakeObjects is S3: objects by "bucket/key", manifests, and a record of
// copies, zips and deleted prefixes. readErr and deleteErr fail those calls.
type fakeObjects struct {
	mu        sync.Mutex
	data      map[string][]byte
	manifests map[string]egress.Manifest
	copied    []egress.CopyJob
	zipped    []egress.ZipEntry
	leftOut   []egress.LeftOut // what WriteZip was told was left out
	deleted   []string         // "bucket/prefix"
	hidden    []string         // "bucket/key" of HideObject
	purged    []string         // "bucket/key" of DeleteVersions

	readErr, deleteErr error
	onWriteZip         func() // run as a zip is written
	zipCallsLeft       int    // WriteZipJob calls that return unfinished before one finishes
	zipJobs            []egress.ZipJob
	onCopyAll          func() // run as files are copied
}

func (f *fakeObjects) Read(_ context.Context, bucket, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	b, ok := f.data[bucket+"/"+key]
	if !ok {
		return nil, egress.Errorf(egress.ENOTFOUND, "object %q not found in bucket %s", key, bucket)
	}
	return b, nil
}

func (f *fakeObjects) CopyAll(_ context.Context, jobs []egress.CopyJob, _ int) ([]egress.File, error) {
	if f.onCopyAll != nil {
		f.onCopyAll()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copied = append(f.copied, jobs...)
	files := make([]egress.File, len(jobs))
	for i, j := range jobs {
		files[i] = egress.File{Path: j.Path, SourceKey: j.Source.Key, VersionID: j.Source.VersionID, StagedVersionID: "staged-" + j.Source.VersionID, Size: 10, SHA256: "sum-" + j.Path}
	}
	return files, nil
}

func (f *fakeObjects) WriteManifest(_ context.Context, bucket, key string, m egress.Manifest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.manifests[bucket+"/"+key] = m
	return nil
}

func (f *fakeObjects) ReadManifest(_ context.Context, bucket, key string) (egress.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.manifests[bucket+"/"+key]
	if !ok {
		return egress.Manifest{}, egress.Errorf(egress.ENOTFOUND, "manifest %q not found in bucket %s", key, bucket)
	}
	return m, nil
}

func (f *fakeObjects) AbortUploads(_ context.Context, bucket, prefix string) error { return nil }

func (f *fakeObjects) DeletePrefix(_ context.Context, bucket, prefix string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, bucket+"/"+prefix)
	if f.deleteErr != nil {
		return 0, f.deleteErr
	}
	for k := range f.data {
		if strings.HasPrefix(k, bucket+"/"+prefix) {
			delete(f.data, k)
		}
	}
	return 1, nil
}

func (f *fakeObjects) WriteZipJob(_ context.Context, job egress.ZipJob) (egress.ZipResult, bool, error) {
	if f.onWriteZip != nil {
		f.onWriteZip()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zipJobs = append(f.zipJobs, job)
	if f.zipCallsLeft > 0 {
		f.zipCallsLeft--
		return egress.ZipResult{Bucket: job.Bucket, Key: job.Key, Size: 50}, false, nil
	}
	f.zipped = append(f.zipped, job.Entries...)
	f.leftOut = append(f.leftOut, job.LeftOut...)
	f.data[job.Bucket+"/"+job.Key] = []byte("zip")
	return egress.ZipResult{Bucket: job.Bucket, Key: job.Key, Size: 100}, true, nil
}

// fakeExecutions starts executions, or fails with err.
type fakeExecutions struct {
	mu      sync.Mutex
	started []string
	err     error
	onStart func() // run at every Start, before it answers
}

// Start starts one execution per name, as Step Functions does: starting a
// name again returns the same execution.
func (f *fakeExecutions) Start(_ context.Context, name string, _ any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.onStart != nil {
		f.onStart()
	}
	if f.err != nil {
		return "", f.err
	}
	if !slices.Contains(f.started, name) {
		f.started = append(f.started, name)
	}
	return f.ExecutionArn(name), nil
}

func (f *fakeExecutions) ExecutionArn(name string) string {
	return "arn:aws:states:eu-west-2:123456789012:execution:egress:" + name
}

// fakeMailer keeps what it was asked to send.
type fakeMailer struct {
	mu   sync.Mutex
	sent []egress.Email
	// onSend, when set, is asked first; an error fails the send.
	onSend func(context.Context, egress.Email) error
}

func (f *fakeMailer) Send(ctx context.Context, e egress.Email) error {
	if f.onSend != nil {
		if err := f.onSend(ctx, e); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, e)
	return nil
}

// to returns the e-mails sent to addr.
func (f *fakeMailer) to(addr string) []egress.Email {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []egress.Email
	for _, e := range f.sent {
		if slices.Contains(e.To, addr) {
			out = append(out, e)
		}
	}
	return out
}

// transientErr is what a throttled or dropped connection looks like to
// Transient.
type transientErr struct{}

func (transientErr) Error() string   { return "i/o timeout" }
func (transientErr) Timeout() bool   { return true }
func (transientErr) Temporary() bool { return true }

// Names the fixtures use.
const (
	reqID       = "req-1"
	wsID        = "ws-1"
	storeBucket = "swb-egress-store"
	listBucket  = "swb-egress-notification"
	listKey     = wsID + "/results-ver1.json"
	adminEmail  = "admin@example.org"
	staging     = "staging"
	datalake    = "datalake"
)

var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// env is a Handlers over fresh fakes, with SWB's store PENDING and a valid
// object list in place.
type env struct {
	h     *workflow.Handlers
	reqs  *fakeRequests
	store *fakeSWBStore
	objs  *fakeObjects
	execs *fakeExecutions
	mail  *fakeMailer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		reqs:  &fakeRequests{byID: map[string]egress.Request{}},
		store: &fakeSWBStore{rows: map[string]storeRow{wsID: {Status: swb.StorePending}}},
		objs:  &fakeObjects{data: map[string][]byte{}, manifests: map[string]egress.Manifest{}},
		execs: &fakeExecutions{},
		mail:  &fakeMailer{},
	}
	e.objs.data[listBucket+"/"+listKey] = objectList(t, file("tables/summary.csv"), file("figures/km curve.png"))
	e.h = &workflow.Handlers{
		Requests: e.reqs, SWBStore: e.store, Objects: e.objs, Executions: e.execs, Mailer: e.mail,
		Settings: workflow.Settings{
			StagingBucket: staging, DatalakeBucket: datalake,
			Chain: egress.DefaultChain(false), ReviewerGroups: egress.DefaultReviewerGroups(),
			StageTimeout: 24 * time.Hour, CopyConcurrency: 2, AdminEmail: adminEmail,
			SWBStoreBucket: storeBucket, SWBListBucket: listBucket,
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now },
	}
	return e
}

// put stores r as the request the workflow is running, with SWB's store
// locked for it, and returns it as stored.
func (e *env) put(t *testing.T, r egress.Request) egress.Request {
	t.Helper()
	status := r.Status
	r.Status = egress.StatusProcessing
	if _, err := e.reqs.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.store.rows[r.StoreID] = storeRow{swb.StoreProcessing, r.ID}
	if status != egress.StatusProcessing {
		// Set directly: tests start from any status, as a crash could leave it.
		stored := e.reqs.get(t, r.ID)
		stored.Status = status
		e.reqs.byID[r.ID] = stored
	}
	return e.reqs.get(t, r.ID)
}

// request is a request as intake creates it from message().
func request() egress.Request {
	return egress.Request{
		ID: reqID, StoreID: wsID, WorkspaceID: wsID, StoreName: "results", ProjectID: "P1",
		RequestedBy: "u-1", RequestedByEmail: "researcher@example.org", RequestedAt: now.Add(-time.Hour),
		Status: egress.StatusProcessing, StoreBucket: storeBucket, StoreBucketPath: wsID + "/",
		ObjectListLocation: "arn:aws:s3:::" + listBucket + "/" + listKey,
	}
}

// message is SWB's notification for request(), edited by edit.
func message(t *testing.T, edit func(map[string]any)) events.SNSEvent {
	t.Helper()
	m := map[string]any{
		"id": reqID, "egress_store_id": wsID, "egress_store_name": "results", "workspace_id": wsID,
		"project_id": "P1", "created_at": "2026-11-27T09:00:00.000Z", "created_by": "u-1",
		"created_by_email": "researcher@example.org", "updated_at": "2026-11-27T09:00:00.000Z",
		"updated_by": "u-1", "updated_by_email": "researcher@example.org",
		"s3_bucketname": storeBucket, "s3_bucketpath": wsID + "/", "status": "PENDING", "ver": 1,
		"egress_store_object_list_location": "arn:aws:s3:::" + listBucket + "/" + listKey,
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "sns-1", Message: string(b)}}}}
}

// file is a listed object version below the workspace prefix.
func file(rel string) swb.Object {
	return swb.Object{Key: wsID + "/" + rel, Size: 10, VersionID: "v-" + strings.ReplaceAll(rel, "/", "-")}
}

// objectList is the object list file SWB writes.
func objectList(t *testing.T, objs ...swb.Object) []byte {
	t.Helper()
	b, err := json.Marshal(swb.ObjectList{Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func failure(name, cause string) workflow.FailureInput {
	in := workflow.FailureInput{RequestID: reqID}
	in.Error.Error, in.Error.Cause = name, cause
	return in
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := egress.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func (f *fakeObjects) WriteJSON(_ context.Context, bucket, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[bucket+"/"+key] = b
	return nil
}

func (f *fakeObjects) ReadJSON(ctx context.Context, bucket, key string, v any) error {
	b, err := f.Read(ctx, bucket, key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
