package workflow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/workflow"
)

// TestFailureCause: the cause HandleFailure stores is what a person needs
// (the error name and the handler's message), with URLs and tokens removed
// and its length bounded.
func TestFailureCause(t *testing.T) {
	token := strings.Repeat("AAAAtoken", 20) // 180 opaque characters, like a task token
	tests := []struct {
		name, errName, cause string
		want                 string
	}{
		{"Lambda error, name not repeated", egress.ENOTFOUND,
			`{"errorMessage":"NotFoundError: object \"ws-1/a.csv\" not found","errorType":"NotFoundError","stackTrace":["main.go:1"]}`,
			`NotFoundError: object "ws-1/a.csv" not found`},
		{"Lambda error of another name", "Runtime.ExitError",
			`{"errorMessage":"signal: killed","errorType":"Runtime.ExitError"}`,
			"Runtime.ExitError: signal: killed"},
		{"plain text cause", egress.EINTERNAL, "zip upload failed", "InternalError: zip upload failed"},
		{"JSON without a message is kept", egress.EINTERNAL, `{"errorType":"X"}`, `InternalError: {"errorType":"X"}`},
		{"no cause", "States.Timeout", "", "States.Timeout"},
		{"presigned URL", egress.EINTERNAL,
			`{"errorMessage":"GET https://datalake.s3.amazonaws.com/a.zip?X-Amz-Signature=abc failed"}`,
			"InternalError: GET [url] failed"},
		{"task token", egress.ECONFLICT, "token " + token + " is stale", "ConflictError: token [redacted] is stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.put(t, request())
			if _, err := e.h.HandleFailure(context.Background(), failure(tt.errName, tt.cause)); err != nil {
				t.Fatal(err)
			}
			if got := e.reqs.get(t, reqID).FailureCause; got != tt.want {
				t.Errorf("cause %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFailureCauseIsBounded(t *testing.T) {
	const bound = 1000 // failure causes are shown in the API and e-mails
	tests := []struct {
		name  string
		cause string
	}{
		{"long text", strings.Repeat("stack frame ", 500)},
		{"long Lambda message", `{"errorMessage":"` + strings.Repeat("x y ", 1000) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.put(t, request())
			if _, err := e.h.HandleFailure(context.Background(), failure(egress.EINTERNAL, tt.cause)); err != nil {
				t.Fatal(err)
			}
			got := e.reqs.get(t, reqID).FailureCause
			if body, ok := strings.CutSuffix(got, "…"); !ok || len(body) != bound {
				t.Errorf("cause of %d bytes (ends %q), want %d bytes and an ellipsis", len(got), got[max(0, len(got)-8):], bound)
			}
			if !strings.HasPrefix(got, egress.EINTERNAL+": ") {
				t.Errorf("cause %.40q... lost the error name", got)
			}
		})
	}
}

// TestHandleFailureStatus: a stage timeout expires a request still awaiting
// a decision; one whose decision was stored as the stage timed out cannot
// expire and fails instead; a request that already ended keeps its status
// and cause, and is cleaned up again.
func TestHandleFailureStatus(t *testing.T) {
	tests := []struct {
		name      string
		from      egress.Status
		errName   string
		want      egress.Status
		wantCause string // "" means the new cause
	}{
		{"awaiting IG, timeout", egress.StatusProcessing, "States.Timeout", egress.StatusExpired, ""},
		{"awaiting RIT, timeout", egress.StatusIGApproved, "States.Timeout", egress.StatusExpired, ""},
		{"approved as it timed out", egress.StatusRITApproved, "States.Timeout", egress.StatusFailed, ""},
		// A person's outcome stored as the stage timed out stands; the
		// clean-up still runs.
		{"rejected as it timed out", egress.StatusRejected, "States.Timeout", egress.StatusRejected, ""},
		{"returned as it timed out", egress.StatusReturned, "States.Timeout", egress.StatusReturned, ""},
		{"cancelled as it timed out", egress.StatusCancelled, "States.Timeout", egress.StatusCancelled, ""},
		{"cancelled, clean-up failed", egress.StatusCancelled, egress.EINTERNAL, egress.StatusCancelled, ""},
		{"rejected, clean-up failed", egress.StatusRejected, egress.EINTERNAL, egress.StatusRejected, ""},
		{"cancelled, failure noted before", egress.StatusCancelled, egress.EINTERNAL, egress.StatusCancelled, "first cause"},
		{"awaiting IG, error", egress.StatusProcessing, egress.EINTERNAL, egress.StatusFailed, ""},
		{"release failed", egress.StatusRITApproved, egress.ECONFLICT, egress.StatusFailed, ""},
		{"already failed", egress.StatusFailed, "States.Timeout", egress.StatusFailed, "first cause"},
		{"already expired", egress.StatusExpired, egress.EINTERNAL, egress.StatusExpired, "first cause"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := request()
			r.Status, r.TaskToken, r.CurrentReviewerGroup = tt.from, "token-1", egress.GroupIG
			if tt.wantCause != "" {
				r.FailureCause = tt.wantCause
			}
			e.put(t, r)
			events := len(e.reqs.events)
			out, err := e.h.HandleFailure(context.Background(), failure(tt.errName, "boom"))
			if err != nil {
				t.Fatal(err)
			}
			got := e.reqs.get(t, reqID)
			if out.Status != tt.want || got.Status != tt.want {
				t.Fatalf("output %s, stored %s, want %s", out.Status, got.Status, tt.want)
			}
			if tt.wantCause != "" {
				if got.FailureCause != tt.wantCause || len(e.reqs.events) != events {
					t.Errorf("an ended request changed: cause %q, %d new events", got.FailureCause, len(e.reqs.events)-events)
				}
			} else {
				if want := tt.errName + ": boom"; got.FailureCause != want {
					t.Errorf("cause %q, want %q", got.FailureCause, want)
				}
				if got.TaskToken != "" || got.CurrentReviewerGroup != "" {
					t.Errorf("an ended request still awaits a decision: token %q, group %q", got.TaskToken, got.CurrentReviewerGroup)
				}
				if ev := e.reqs.events[len(e.reqs.events)-1]; ev.From != tt.from || ev.To != tt.want {
					t.Errorf("event %s -> %s, want %s -> %s", ev.From, ev.To, tt.from, tt.want)
				}
			}
			// Cleanup runs whether or not the status moved: a retry must finish it.
			wantDeleted := []string{staging + "/" + egress.StagingPrefix(r), staging + "/copies/" + r.WorkspaceID + "/" + r.ID + "/", staging + "/releases/" + r.WorkspaceID + "/" + r.ID + "/", datalake + "/" + workflow.DatalakePrefix(r)}
			if !slices.Equal(e.objs.deleted, wantDeleted) {
				t.Errorf("deleted %v, want %v", e.objs.deleted, wantDeleted)
			}
		})
	}
}

// TestObjectListRefused: a list in another bucket, a store bucket that is
// not SWB's, and lists with entries that cannot be released are refused
// before anything changes at intake, and by CopyToStaging before a copy.
func TestObjectListRefused(t *testing.T) {
	tests := []struct {
		name        string
		listBucket  string // where the message says the list is; default listBucket
		storeBucket string // default storeBucket
		list        []byte // nil: no list file
		code, want  string
	}{
		{name: "list in another bucket", listBucket: "other-notifications", code: egress.EINVALID, want: `bucket "other-notifications" is not the SWB notification bucket`},
		{name: "another store bucket", storeBucket: "other-store", code: egress.EINVALID, want: `"other-store" is not the SWB egress store bucket`},
		{name: "reserved SHA256SUMS", list: []byte(`{"objects":[{"Key":"ws-1/SHA256SUMS","Size":1,"VersionId":"v1"}]}`), code: egress.EINVALID, want: `path "SHA256SUMS" is reserved`},
		{name: "reserved manifest.json", list: []byte(`{"objects":[{"Key":"ws-1/a.csv","Size":1,"VersionId":"v1"},{"Key":"ws-1/manifest.json","Size":1,"VersionId":"v2"}]}`), code: egress.EINVALID, want: `path "manifest.json" is reserved`},
		{name: "key outside the workspace", list: []byte(`{"objects":[{"Key":"ws-2/a.csv","Size":1,"VersionId":"v1"}]}`), code: egress.EINVALID, want: `"ws-2/a.csv"`},
		{name: "no version", list: []byte(`{"objects":[{"Key":"ws-1/a.csv","Size":1}]}`), code: egress.EINVALID, want: `"ws-1/a.csv"`},
		{name: "parent segment", list: []byte(`{"objects":[{"Key":"ws-1/../a.csv","Size":1,"VersionId":"v1"}]}`), code: egress.EINVALID, want: `"ws-1/../a.csv"`},
		{name: "only folders", list: []byte(`{"objects":[{"Key":"ws-1/","Size":0,"VersionId":"v1"}]}`), code: egress.EINVALID, want: "no files to release"},
		{name: "not JSON", list: []byte("<Error/>"), code: egress.EINVALID, want: "not JSON"},
		{name: "no list file", code: egress.ENOTFOUND, want: "not found"},
	}
	for _, tt := range tests {
		setup := func(t *testing.T) (*env, egress.Request) {
			e := newEnv(t)
			r := request()
			if tt.listBucket != "" {
				r.ObjectListLocation = "arn:aws:s3:::" + tt.listBucket + "/" + listKey
				e.objs.data[tt.listBucket+"/"+listKey] = e.objs.data[listBucket+"/"+listKey]
			}
			if tt.storeBucket != "" {
				r.StoreBucket = tt.storeBucket
			}
			if tt.list != nil || tt.code == egress.ENOTFOUND {
				delete(e.objs.data, listBucket+"/"+listKey)
			}
			if tt.list != nil {
				e.objs.data[listBucket+"/"+listKey] = tt.list
			}
			return e, r
		}
		t.Run(tt.name+"/intake", func(t *testing.T) {
			e, r := setup(t)
			ev := message(t, func(m map[string]any) {
				m["egress_store_object_list_location"] = r.ObjectListLocation
				m["s3_bucketname"] = r.StoreBucket
			})
			if err := e.h.Intake(context.Background(), ev); err != nil {
				t.Fatalf("a refusal is not retried, got %v", err)
			}
			if _, err := e.reqs.Get(context.Background(), reqID); egress.ErrorCode(err) != egress.ENOTFOUND {
				t.Errorf("request created for a refused submission (err %v)", err)
			}
			if len(e.store.calls) != 0 || len(e.execs.started) != 0 {
				t.Errorf("store calls %v, executions %v; want none", e.store.calls, e.execs.started)
			}
			if row := e.store.row(wsID); row.Status != swb.StorePending {
				t.Errorf("store %s, want PENDING", row.Status)
			}
			mails := e.mail.to(adminEmail)
			if len(mails) != 1 || !strings.Contains(mails[0].Text, tt.want) {
				t.Fatalf("admin e-mails %+v, want one saying %q", mails, tt.want)
			}
		})
		t.Run(tt.name+"/staging", func(t *testing.T) {
			e, r := setup(t)
			e.put(t, r)
			_, err := e.h.CopyToStaging(context.Background(), workflow.RequestInput{RequestID: reqID})
			wantCode(t, err, tt.code)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if len(e.objs.copied) != 0 {
				t.Errorf("copied %d files of a refused list", len(e.objs.copied))
			}
		})
	}
}

// TestIntakeRetriesTransientListRead: a list that cannot be read for now is
// retried by Lambda, not refused to the admin.
func TestIntakeRetriesTransientListRead(t *testing.T) {
	e := newEnv(t)
	e.objs.readErr = transientErr{}
	err := e.h.Intake(context.Background(), message(t, nil))
	if err == nil || !workflow.Transient(err) {
		t.Fatalf("Intake = %v, want a transient error", err)
	}
	if _, gerr := e.reqs.Get(context.Background(), reqID); egress.ErrorCode(gerr) != egress.ENOTFOUND {
		t.Errorf("request created before the list was read (err %v)", gerr)
	}
	if mails := e.mail.to(adminEmail); len(mails) != 0 {
		t.Errorf("admin told of a transient error: %+v", mails)
	}
}

// TestUnhappyPathsUnlockStore: rejection, failure and expiry each leave
// SWB's store PENDING, unlocked by this request, so the workspace is never
// stuck in PROCESSING. (An intake that cannot start never locked it:
// TestIntakeNeverLocks.)
func TestUnhappyPathsUnlockStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		from       egress.Status // "": no request stored (intake)
		setup      func(*env)
		run        func(*env) error
		wantErr    bool
		wantStatus egress.Status
	}{
		{name: "rejection", from: egress.StatusRejected,
			run: func(e *env) error {
				return e.h.HandleRejection(ctx, workflow.RequestInput{RequestID: reqID})
			}, wantStatus: egress.StatusRejected},
		{name: "failure", from: egress.StatusProcessing,
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			}, wantStatus: egress.StatusFailed},
		{name: "expiry", from: egress.StatusIGApproved,
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure("States.Timeout", ""))
				return err
			}, wantStatus: egress.StatusExpired},
		{name: "failure whose cleanup fails", from: egress.StatusRITApproved,
			setup: func(e *env) { e.objs.deleteErr = errors.New("s3 unavailable") },
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			}, wantErr: true, wantStatus: egress.StatusFailed},
		{name: "failure retried after the unlock", from: egress.StatusFailed,
			setup: func(e *env) { e.store.rows[wsID] = storeRow{Status: swb.StorePending} },
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			}, wantStatus: egress.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.from != "" {
				r := request()
				r.Status = tt.from
				e.put(t, r)
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			if err := tt.run(e); (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if row := e.store.row(wsID); row != (storeRow{Status: swb.StorePending}) {
				t.Errorf("store %+v, want PENDING with no owner", row)
			}
			if !slices.Contains(e.store.sets(), storeCall{"set", wsID, reqID, swb.StorePending}) {
				t.Errorf("store calls %v; want this request to unlock it", e.store.calls)
			}
			if got := e.reqs.get(t, reqID).Status; got != tt.wantStatus {
				t.Errorf("request %s, want %s", got, tt.wantStatus)
			}
		})
	}
}

// TestStoreNotUnlocked: a store another request holds is never unlocked,
// and a failed unlock is retried rather than forgotten.
func TestStoreNotUnlocked(t *testing.T) {
	ctx := context.Background()
	other := storeRow{Status: swb.StoreProcessing, Owner: "req-0"}
	tests := []struct {
		name       string
		stored     bool // a request is stored and holds the lock
		setup      func(*env)
		run        func(*env) error
		wantErr    bool
		wantStore  storeRow
		wantStatus egress.Status
	}{
		{name: "intake, store held by another request",
			setup: func(e *env) { e.store.rows[wsID] = other },
			run:   func(e *env) error { return e.h.Intake(ctx, message(t, nil)) },
			// The request fails and the admin is told; the other request's lock stands.
			wantStore: other, wantStatus: egress.StatusFailed},
		{name: "failure, store held by another request", stored: true,
			setup: func(e *env) { e.store.rows[wsID] = other },
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			}, wantStore: other, wantStatus: egress.StatusFailed},
		{name: "failure, store unreachable", stored: true,
			setup: func(e *env) { e.store.setErr = transientErr{} },
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			}, wantErr: true, wantStore: storeRow{swb.StoreProcessing, reqID}, wantStatus: egress.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.stored {
				e.put(t, request())
			}
			tt.setup(e)
			if err := tt.run(e); (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if row := e.store.row(wsID); row != tt.wantStore {
				t.Errorf("store %+v, want %+v", row, tt.wantStore)
			}
			if got := e.reqs.get(t, reqID).Status; got != tt.wantStatus {
				t.Errorf("request %s, want %s", got, tt.wantStatus)
			}
		})
	}
}

// TestReleaseOfARequestFailedMeanwhile: a stopped or timed-out execution
// does not stop a running release, and its clean-up may fail the request
// while the zip is written. The release then records nothing and deletes
// the zip: nothing stays in the datalake for a request that is not
// approved.
func TestReleaseOfARequestFailedMeanwhile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := request()
	r.Status = egress.StatusRITApproved
	r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
	r = e.put(t, r)
	e.objs.manifests[staging+"/"+r.StagingObjectMetadataVersion] = egress.Manifest{RequestID: reqID, Files: []egress.File{{Path: "a.csv", StagedVersionID: "v1"}}}
	e.objs.onWriteZip = func() {
		if err := e.h.ExecutionEnded(ctx, statusChange(t, "ABORTED", "", "")); err != nil {
			t.Error(err)
		}
	}
	_, err := e.h.Release(ctx, workflow.RequestInput{RequestID: reqID})
	if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "the zip was deleted") {
		t.Fatalf("err = %v, want a conflict saying the zip was deleted", err)
	}
	got := e.reqs.get(t, reqID)
	if got.Status != egress.StatusFailed || got.Released() {
		t.Fatalf("request %s, released %v; want FAILED and not released", got.Status, got.Released())
	}
	if _, ok := e.objs.data[datalake+"/"+workflow.ZipKey(got)]; ok {
		t.Fatal("the zip of a failed request is still in the datalake")
	}
}

// TestReleaseOverInvocations: a zip that needs more than one invocation
// returns done false, records nothing and deletes nothing until the call
// that finishes it; every call names the checkpoint under releases/ and
// stops within the budget.
func TestReleaseOverInvocations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.h.Settings.ReleaseBudget = time.Minute
	r := request()
	r.Status = egress.StatusRITApproved
	r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
	r = e.put(t, r)
	e.objs.manifests[staging+"/"+r.StagingObjectMetadataVersion] = egress.Manifest{RequestID: reqID, Files: []egress.File{{Path: "a.csv", StagedVersionID: "v1"}}}
	e.objs.zipCallsLeft = 2
	for call := 1; call <= 3; call++ {
		start := time.Now()
		out, err := e.h.Release(ctx, workflow.RequestInput{RequestID: reqID})
		if err != nil {
			t.Fatal(err)
		}
		got := e.reqs.get(t, reqID)
		if out.Done != (call == 3) || got.Released() != (call == 3) || (call < 3 && len(e.objs.deleted) != 0) {
			t.Fatalf("call %d: done %t, released %t, deleted %v", call, out.Done, got.Released(), e.objs.deleted)
		}
		job := e.objs.zipJobs[call-1]
		if job.CheckpointBucket != staging || job.CheckpointKey != "releases/"+wsID+"/"+reqID+"/checkpoint" ||
			job.Stop.Before(start) || job.Stop.After(time.Now().Add(time.Minute)) {
			t.Fatalf("call %d: checkpoint %s/%s, stop in %v", call, job.CheckpointBucket, job.CheckpointKey, time.Until(job.Stop))
		}
	}
	if !slices.Contains(e.objs.deleted, staging+"/releases/"+wsID+"/"+reqID+"/") {
		t.Fatalf("checkpoint not deleted: %v", e.objs.deleted)
	}
}

// TestStagingOfARequestEndedMeanwhile: the execution is stopped while its
// files are copied, and execution-ended cleans up (FAILED, store
// unlocked) before the copies finish. The staging task then records
// nothing, deletes what it copied and leaves the store unlocked, whether
// the clean-up ran after its lock or before it.
func TestStagingOfARequestEndedMeanwhile(t *testing.T) {
	ctx := context.Background()
	for _, when := range []string{"after the lock", "before the lock"} {
		t.Run(when, func(t *testing.T) {
			e := newEnv(t)
			if err := e.h.Intake(ctx, message(t, nil)); err != nil {
				t.Fatal(err)
			}
			stop := func() {
				if err := e.h.ExecutionEnded(ctx, statusChange(t, "ABORTED", "", "")); err != nil {
					t.Error(err)
				}
			}
			if when == "after the lock" {
				e.objs.onCopyAll = stop
			} else {
				e.store.onLock = stop
			}
			if _, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID}); err == nil {
				t.Fatal("staging of an ended request succeeded")
			}
			got := e.reqs.get(t, reqID)
			if got.Status != egress.StatusFailed || got.StagingObjectMetadataVersion != "" {
				t.Fatalf("request %s, manifest %q; want FAILED without a manifest", got.Status, got.StagingObjectMetadataVersion)
			}
			if row := e.store.row(wsID); row.Status != swb.StorePending {
				t.Fatalf("store %+v, want PENDING", row)
			}
			deleted := 0
			for _, d := range e.objs.deleted {
				if d == staging+"/"+egress.StagingPrefix(got) {
					deleted++
				}
			}
			if deleted < 2 {
				t.Fatalf("staging prefix deleted %d times (%v): want by the clean-up and again after the copies", deleted, e.objs.deleted)
			}
		})
	}
}

// TestStagingOverInvocations: copies that need more than one invocation
// return done false with the files copied so far saved under copies/,
// record nothing until the call that copies the last file, and each call
// copies only what the checkpoint lacks. A checkpoint of another list is
// ignored, and a file staging cannot hash within one invocation is
// refused before anything is copied.
func TestStagingOverInvocations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.h.Settings.CopyBudget, e.h.Settings.CopyChunkFiles = time.Nanosecond, 1
	r := e.put(t, request())
	e.objs.data[listBucket+"/"+listKey] = objectList(t, file("a.csv"), file("b/c.csv"), file("d.csv"))
	checkpoint := staging + "/copies/" + wsID + "/" + reqID + "/checkpoint.json"
	for call := 1; call <= 3; call++ {
		out, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID})
		if err != nil {
			t.Fatal(err)
		}
		got := e.reqs.get(t, reqID)
		if out.Done != (call == 3) || out.FileCount != call || (got.StagingObjectMetadataVersion != "") != (call == 3) || len(e.objs.copied) != call {
			t.Fatalf("call %d: %+v, manifest %q, %d copies", call, out, got.StagingObjectMetadataVersion, len(e.objs.copied))
		}
		if call < 3 && len(e.objs.manifests[checkpoint].Files) != call {
			t.Fatalf("call %d: checkpoint holds %d files", call, len(e.objs.manifests[checkpoint].Files))
		}
	}
	m := e.objs.manifests[staging+"/"+manifestKeyOf(r)]
	if len(m.Files) != 3 || m.Files[0].Path != "a.csv" || m.Files[1].Path != "b/c.csv" || m.Files[2].Path != "d.csv" {
		t.Fatalf("manifest files %+v", m.Files)
	}
	if !slices.Contains(e.objs.deleted, staging+"/copies/"+wsID+"/"+reqID+"/") {
		t.Fatalf("checkpoint not deleted: %v", e.objs.deleted)
	}

	t.Run("checkpoint of another list", func(t *testing.T) {
		e := newEnv(t)
		e.h.Settings.CopyBudget, e.h.Settings.CopyChunkFiles = time.Nanosecond, 1
		e.put(t, request())
		e.objs.data[listBucket+"/"+listKey] = objectList(t, file("a.csv"), file("d.csv"))
		e.objs.manifests[checkpoint] = egress.Manifest{Files: []egress.File{{Path: "other.csv", SourceKey: wsID + "/other.csv", VersionID: "v-other.csv"}}}
		out, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID})
		if err != nil || out.Done || len(e.objs.copied) != 1 || e.objs.copied[0].Path != "a.csv" {
			t.Fatalf("%+v, %v; copied %+v, want a.csv copied afresh", out, err, e.objs.copied)
		}
	})

	t.Run("file too big to hash in one invocation", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, request())
		big := file("huge.bin")
		big.Size = egress.MaxReleaseBytes + 1
		e.objs.data[listBucket+"/"+listKey] = objectList(t, file("a.csv"), big)
		_, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID})
		wantCode(t, err, egress.EINVALID)
		if !strings.Contains(err.Error(), "huge.bin") || len(e.objs.copied) != 0 {
			t.Fatalf("error %v after %d copies; want huge.bin named before any copy", err, len(e.objs.copied))
		}
	})
}

func manifestKeyOf(r egress.Request) string {
	return "manifests/" + r.WorkspaceID + "/" + r.ID + ".json"
}
