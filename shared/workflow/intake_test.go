package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/workflow"
)

// TestIntakeNeverLocks: intake only checks SWB's store; the execution's
// first task locks it. So a start that fails, however often it is retried,
// and a store another request holds, leave the store exactly as it was.
func TestIntakeNeverLocks(t *testing.T) {
	ctx := context.Background()
	other := storeRow{Status: swb.StoreProcessing, Owner: "req-0"}
	tests := []struct {
		name       string
		setup      func(*env)
		deliveries int  // Lambda's first try and its retries
		wantErr    bool // the message is retried (transient)
		wantStore  storeRow
		wantStatus egress.Status
		wantStart  bool
		wantAdmin  string // "" means no admin e-mail
	}{
		{name: "start throttled through every retry",
			setup: func(e *env) { e.execs.err = transientErr{} }, deliveries: 3,
			wantErr: true, wantStore: storeRow{Status: swb.StorePending}, wantStatus: egress.StatusProcessing},
		{name: "start refused",
			setup: func(e *env) { e.execs.err = egress.Errorf(egress.EINVALID, "state machine does not exist") }, deliveries: 1,
			wantStore: storeRow{Status: swb.StorePending}, wantStatus: egress.StatusFailed, wantAdmin: "state machine does not exist"},
		{name: "store held by another request",
			setup: func(e *env) { e.store.rows[wsID] = other }, deliveries: 2,
			wantStore: other, wantStatus: egress.StatusFailed, wantAdmin: "PROCESSING"},
		{name: "store terminated",
			setup: func(e *env) { e.store.rows[wsID] = storeRow{Status: swb.StoreTerminated} }, deliveries: 1,
			wantStore: storeRow{Status: swb.StoreTerminated}, wantStatus: egress.StatusFailed, wantAdmin: "TERMINATED"},
		{name: "store check throttled",
			setup: func(e *env) { e.store.lockErr = transientErr{} }, deliveries: 2,
			wantErr: true, wantStore: storeRow{Status: swb.StorePending}, wantStatus: egress.StatusProcessing},
		{name: "started", deliveries: 1,
			wantStore: storeRow{Status: swb.StorePending}, wantStatus: egress.StatusProcessing, wantStart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			for range tt.deliveries {
				if err := e.h.Intake(ctx, message(t, nil)); (err != nil) != tt.wantErr {
					t.Fatalf("error %v, want error %v", err, tt.wantErr)
				}
			}
			if len(e.store.calls) != 0 {
				t.Errorf("intake wrote SWB's store: %v", e.store.calls)
			}
			if row := e.store.row(wsID); row != tt.wantStore {
				t.Errorf("store %+v, want %+v", row, tt.wantStore)
			}
			r := e.reqs.get(t, reqID)
			if r.Status != tt.wantStatus {
				t.Errorf("request %s, want %s", r.Status, tt.wantStatus)
			}
			if started := len(e.execs.started) == 1; started != tt.wantStart {
				t.Errorf("executions %v, want started %v", e.execs.started, tt.wantStart)
			}
			mails := e.mail.to(adminEmail)
			if tt.wantAdmin == "" && len(mails) != 0 || tt.wantAdmin != "" && (len(mails) != 1 || !strings.Contains(mails[0].Text, tt.wantAdmin)) {
				t.Errorf("admin e-mails %+v, want one saying %q", mails, tt.wantAdmin)
			}
		})
	}
}

// TestDuplicateDeliveries: SNS delivers at least once. However many copies
// arrive, at once or later, there is one request, one execution and one
// STARTED event, and intake never changes the request after creating it,
// so it cannot race the workflow's versioned updates.
func TestDuplicateDeliveries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = e.h.Intake(ctx, message(t, nil)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantStatus egress.Status, wantVersion int64) {
		t.Helper()
		r := e.reqs.get(t, reqID)
		if r.Status != wantStatus || r.Version != wantVersion {
			t.Errorf("%s: request %s at version %d, want %s at %d", when, r.Status, r.Version, wantStatus, wantVersion)
		}
		if r.ExecutionArn != e.execs.ExecutionArn(reqID) {
			t.Errorf("%s: execution ARN %q", when, r.ExecutionArn)
		}
		if len(e.execs.started) != 1 {
			t.Errorf("%s: executions %v", when, e.execs.started)
		}
		if k := e.reqs.kinds(reqID); k[egress.EventCreated] != 1 || k[egress.EventStarted] != 1 {
			t.Errorf("%s: events %v, want one CREATED and one STARTED", when, k)
		}
	}
	check("20 at once", egress.StatusProcessing, 1)

	// Later copies: while the request awaits a decision, and once it ended.
	if _, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID}); err != nil {
		t.Fatal(err)
	}
	if err := e.h.StoreTaskToken(ctx, workflow.TokenInput{RequestID: reqID, Stage: 0, TaskToken: "token-1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Intake(ctx, message(t, nil)); err != nil {
		t.Fatal(err)
	}
	check("awaiting IG", egress.StatusProcessing, 3)
	if row := e.store.row(wsID); row != (storeRow{swb.StoreProcessing, reqID}) {
		t.Fatalf("store %+v after a duplicate, want locked by the request", row)
	}
	if _, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom")); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Intake(ctx, message(t, nil)); err != nil {
		t.Fatal(err)
	}
	check("finished", egress.StatusFailed, 4)
}

// TestCopyToStagingLocksStore: the first task takes SWB's store for the
// request (again, on a retry); a store another request holds fails the
// task before anything is copied, and that lock stands.
func TestCopyToStagingLocksStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		row       storeRow
		wantCode  string
		wantStore storeRow
	}{
		{"pending", storeRow{Status: swb.StorePending}, "", storeRow{swb.StoreProcessing, reqID}},
		{"retry", storeRow{swb.StoreProcessing, reqID}, "", storeRow{swb.StoreProcessing, reqID}},
		{"another request's", storeRow{swb.StoreProcessing, "req-0"}, egress.ECONFLICT, storeRow{swb.StoreProcessing, "req-0"}},
		{"terminated", storeRow{Status: swb.StoreTerminated}, egress.ECONFLICT, storeRow{Status: swb.StoreTerminated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.put(t, request())
			e.store.rows[wsID] = tt.row
			_, err := e.h.CopyToStaging(ctx, workflow.RequestInput{RequestID: reqID})
			if egress.ErrorCode(err) != tt.wantCode && !(tt.wantCode == "" && err == nil) {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if row := e.store.row(wsID); row != tt.wantStore {
				t.Errorf("store %+v, want %+v", row, tt.wantStore)
			}
			if copied := len(e.objs.copied) > 0; copied != (tt.wantCode == "") {
				t.Errorf("copied %d files", len(e.objs.copied))
			}
		})
	}
}

// TestLateDuplicateNeverAbandonsAMovedOnRequest: a copy of the message
// that read the request before the workflow moved it on, and then meets a
// refusal (here StartExecution's for a finished execution's name), leaves
// the request as the workflow left it: released, not FAILED, nobody told
// it failed.
func TestLateDuplicateNeverAbandonsAMovedOnRequest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if err := e.h.Intake(ctx, message(t, nil)); err != nil {
		t.Fatal(err)
	}
	e.execs.err = egress.Errorf(egress.ECONFLICT, "ExecutionAlreadyExists: execution %s already exists", reqID)
	// Between this delivery's read and its StartExecution, the execution
	// runs to a release.
	e.execs.onStart = func() {
		e.reqs.mu.Lock()
		defer e.reqs.mu.Unlock()
		r := e.reqs.byID[reqID]
		r.Status, r.ZipKey, r.Version = egress.StatusRITApproved, "approved_egress/"+wsID+"/"+reqID+".zip", r.Version+3
		e.reqs.byID[reqID] = r
	}
	before := len(e.mail.to(adminEmail))
	if err := e.h.Intake(ctx, message(t, nil)); err != nil {
		t.Fatal(err)
	}
	r := e.reqs.get(t, reqID)
	if r.Status != egress.StatusRITApproved || !r.Released() {
		t.Fatalf("request %s, released %v: a late duplicate changed a released request", r.Status, r.Released())
	}
	if n := len(e.mail.to(adminEmail)); n != before {
		t.Errorf("%d admin e-mails about a request that did not fail", n-before)
	}
}

// TestIntakeRefusesFileTooBigToStage: a file staging could not copy and
// hash in one invocation is refused at intake, before any reviewer spends
// time on the request: nothing created, nothing started, the store left
// unlocked and the admin told which file.
func TestIntakeRefusesFileTooBigToStage(t *testing.T) {
	e := newEnv(t)
	big := file("huge.bin")
	big.Size = egress.MaxReleaseBytes + 1
	e.objs.data[listBucket+"/"+listKey] = objectList(t, file("a.csv"), big)
	if err := e.h.Intake(context.Background(), message(t, nil)); err != nil {
		t.Fatalf("intake: %v (a refusal is final, not retried)", err)
	}
	if _, err := e.h.Requests.Get(context.Background(), reqID); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Errorf("request read: %v, want not found", err)
	}
	if len(e.execs.started) != 0 || len(e.store.calls) != 0 {
		t.Errorf("executions %v, store calls %v; want none", e.execs.started, e.store.calls)
	}
	if mails := e.mail.to(adminEmail); len(mails) != 1 || !strings.Contains(mails[0].Text, "huge.bin") {
		t.Errorf("admin e-mails %+v, want one naming huge.bin", mails)
	}
}
