package workflow_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/workflow"
)

// statusChange is EventBridge's event for an execution of reqID that
// ended with status, error and cause ("" leaves them null).
func statusChange(t *testing.T, status, errName, cause string) events.CloudWatchEvent {
	t.Helper()
	d := workflow.ExecutionDetail{
		ExecutionArn:    "arn:aws:states:eu-west-2:123456789012:execution:egress:" + reqID,
		StateMachineArn: "arn:aws:states:eu-west-2:123456789012:stateMachine:egress",
		Name:            reqID, Status: status,
	}
	if errName != "" {
		d.Error = &errName
	}
	if cause != "" {
		d.Cause = &cause
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return events.CloudWatchEvent{Version: "0", ID: "ev-1", DetailType: "Step Functions Execution Status Change",
		Source: "aws.states", Resources: []string{d.ExecutionArn}, Detail: b}
}

// released is request() as Release leaves it once the zip is recorded.
func released() egress.Request {
	r := request()
	r.Status = egress.StatusRITApproved
	r.ZipKey = workflow.ZipKey(r)
	r.ReleasedAt = now
	return r
}

// TestExecutionEnded: an execution that ends FAILED, ABORTED or TIMED_OUT
// without passing through HandleFailure is cleaned up as HandleFailure
// would, and the admin is told; one that did pass through it, and
// duplicate events, change nothing.
func TestExecutionEnded(t *testing.T) {
	tests := []struct {
		name                 string
		from                 egress.Status // "": no request stored
		status, errName      string
		cause                string
		wantStatus           egress.Status
		wantCleanup          bool   // store unlocked, staged copies and partial release deleted
		wantAdmin            string // "" means no e-mail
		wantCause            string
		wantNoStoreOrObjects bool
	}{
		{name: "stopped while awaiting IG", from: egress.StatusProcessing, status: "ABORTED",
			wantStatus: egress.StatusFailed, wantCleanup: true, wantAdmin: "ended ABORTED", wantCause: "ExecutionAborted"},
		{name: "stopped with an error and cause", from: egress.StatusIGApproved, status: "ABORTED", errName: "Operator", cause: "stuck",
			wantStatus: egress.StatusFailed, wantCleanup: true, wantAdmin: "ended ABORTED", wantCause: "Operator: stuck"},
		{name: "timed out awaiting RIT", from: egress.StatusIGApproved, status: "TIMED_OUT", errName: "States.Timeout", cause: "The execution timed out",
			wantStatus: egress.StatusExpired, wantCleanup: true, wantAdmin: "ended TIMED_OUT", wantCause: "States.Timeout: The execution timed out"},
		{name: "timed out after approval", from: egress.StatusRITApproved, status: "TIMED_OUT",
			wantStatus: egress.StatusFailed, wantCleanup: true, wantAdmin: "ended TIMED_OUT", wantCause: "States.Timeout"},
		{name: "failed beyond Catch", from: egress.StatusProcessing, status: "FAILED", errName: "States.DataLimitExceeded", cause: "too big",
			wantStatus: egress.StatusFailed, wantCleanup: true, wantAdmin: "ended FAILED", wantCause: "States.DataLimitExceeded: too big"},
		{name: "HandleFailure gave up", from: egress.StatusFailed, status: "FAILED", errName: workflow.ErrCleanupFailed,
			wantStatus: egress.StatusFailed, wantCleanup: true, wantAdmin: "ended FAILED"},
		{name: "ended through the failure path", from: egress.StatusFailed, status: "FAILED", errName: workflow.ErrRequestFailed,
			wantStatus: egress.StatusFailed, wantNoStoreOrObjects: true},
		{name: "already cleaned up", from: egress.StatusExpired, status: "ABORTED",
			wantStatus: egress.StatusExpired, wantCleanup: true},
		{name: "succeeded", from: egress.StatusRITApproved, status: "SUCCEEDED",
			wantStatus: egress.StatusRITApproved, wantNoStoreOrObjects: true},
		{name: "running", from: egress.StatusProcessing, status: "RUNNING",
			wantStatus: egress.StatusProcessing, wantNoStoreOrObjects: true},
		{name: "no such request", status: "ABORTED", wantNoStoreOrObjects: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			var before egress.Request
			if tt.from != "" {
				r := request()
				r.Status = tt.from
				if tt.from == egress.StatusFailed || tt.from == egress.StatusExpired {
					r.FailureCause = "first cause"
				}
				before = e.put(t, r)
			}
			ev := statusChange(t, tt.status, tt.errName, tt.cause)
			for range 2 { // EventBridge delivers at least once
				if err := e.h.ExecutionEnded(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if tt.from == "" {
				if len(e.store.calls)+len(e.objs.deleted)+len(e.mail.sent) != 0 {
					t.Fatalf("acted on a request that does not exist")
				}
				return
			}
			got := e.reqs.get(t, reqID)
			if got.Status != tt.wantStatus {
				t.Errorf("request %s, want %s", got.Status, tt.wantStatus)
			}
			if tt.wantCause != "" && got.FailureCause != tt.wantCause {
				t.Errorf("cause %q, want %q", got.FailureCause, tt.wantCause)
			}
			if tt.wantCause == "" && got.Version != before.Version {
				t.Errorf("request changed: %+v", got)
			}
			if tt.wantNoStoreOrObjects && (len(e.store.calls) != 0 || len(e.objs.deleted) != 0) {
				t.Errorf("store calls %v, deleted %v; want none", e.store.calls, e.objs.deleted)
			}
			if tt.wantCleanup {
				if row := e.store.row(wsID); row != (storeRow{Status: swb.StorePending}) {
					t.Errorf("store %+v, want PENDING", row)
				}
				for _, p := range []string{staging + "/" + egress.StagingPrefix(got), datalake + "/" + workflow.DatalakePrefix(got)} {
					if !slices.Contains(e.objs.deleted, p) {
						t.Errorf("deleted %v, want %s", e.objs.deleted, p)
					}
				}
			}
			mails := e.mail.to(adminEmail)
			switch {
			case tt.wantAdmin == "" && len(mails) != 0:
				t.Errorf("admin told: %+v", mails)
			case tt.wantAdmin != "" && tt.errName != workflow.ErrCleanupFailed && len(mails) != 1:
				t.Errorf("%d admin e-mails for a duplicated event, want 1", len(mails))
			case tt.wantAdmin != "" && (len(mails) == 0 || !strings.Contains(mails[0].Text, tt.wantAdmin) || !strings.Contains(mails[0].Text, got.FailureCause)):
				t.Errorf("admin e-mails %+v, want one about %q", mails, tt.wantAdmin)
			}
		})
	}
}

// TestFailureKeepsRecordedRelease: once the zip is recorded, links to it
// may be out. Whatever fails after that (here: marking SWB's store
// PROCESSED), failure handling never deletes it and the request stays
// approved; the store gets PROCESSED, never PENDING, and the cause says
// whether that worked.
func TestFailureKeepsRecordedRelease(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		row       storeRow
		setErr    error
		note      string // a failure cause already on the request
		run       func(*env) error
		wantErr   bool
		wantStore storeRow
		wantCause string
	}{
		{name: "HandleFailure, store marked on retry", row: storeRow{swb.StoreProcessing, reqID},
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "mark SWB egress store ws-1 processed: throttled"))
				return err
			},
			wantStore: storeRow{Status: swb.StoreProcessed},
			wantCause: "InternalError: mark SWB egress store ws-1 processed: throttled; the release was kept and the workspace's egress store is marked PROCESSED"},
		{name: "HandleFailure, store terminated", row: storeRow{Status: swb.StoreTerminated},
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.ECONFLICT, "store is TERMINATED"))
				return err
			},
			wantStore: storeRow{Status: swb.StoreTerminated},
			wantCause: "could not be marked PROCESSED (egress store ws-1 is TERMINATED"},
		{name: "HandleFailure, store unreachable", row: storeRow{swb.StoreProcessing, reqID}, setErr: transientErr{},
			run: func(e *env) error {
				_, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom"))
				return err
			},
			wantErr: true, wantStore: storeRow{swb.StoreProcessing, reqID}},
		{name: "execution stopped after the release", row: storeRow{swb.StoreProcessing, reqID},
			run:       func(e *env) error { return e.h.ExecutionEnded(ctx, statusChange(t, "ABORTED", "", "")) },
			wantStore: storeRow{Status: swb.StoreProcessed},
			wantCause: "ExecutionAborted; the release was kept and the workspace's egress store is marked PROCESSED"},
		// The API notes a decision whose resume failed in the cause; that
		// note must not stand for the failure being recorded.
		{name: "execution stopped after the release, a resume note on the request", row: storeRow{swb.StoreProcessing, reqID},
			note:      "decision recorded, but the workflow did not accept it: TaskTimedOut",
			run:       func(e *env) error { return e.h.ExecutionEnded(ctx, statusChange(t, "ABORTED", "", "")) },
			wantStore: storeRow{Status: swb.StoreProcessed},
			wantCause: "ExecutionAborted; the release was kept and the workspace's egress store is marked PROCESSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rel := released()
			rel.FailureCause = tt.note
			e.put(t, rel)
			e.store.rows[wsID] = tt.row
			e.store.setErr = tt.setErr
			for range 2 { // retried, or delivered twice
				if err := tt.run(e); (err != nil) != tt.wantErr {
					t.Fatalf("error %v, want error %v", err, tt.wantErr)
				}
			}
			got := e.reqs.get(t, reqID)
			if got.Status != egress.StatusRITApproved || got.ZipKey != workflow.ZipKey(got) {
				t.Errorf("request %s with zip %q, want it released and RITAPPROVED", got.Status, got.ZipKey)
			}
			for _, d := range e.objs.deleted {
				if strings.HasPrefix(d, datalake+"/") {
					t.Errorf("deleted the release: %s", d)
				}
			}
			if row := e.store.row(wsID); row != tt.wantStore {
				t.Errorf("store %+v, want %+v", row, tt.wantStore)
			}
			if slices.ContainsFunc(e.store.sets(), func(c storeCall) bool { return c.To == swb.StorePending }) {
				t.Errorf("a released store was set PENDING: %v", e.store.calls)
			}
			if tt.wantErr {
				return
			}
			if !strings.Contains(got.FailureCause, tt.wantCause) {
				t.Errorf("cause %q, want it to say %q", got.FailureCause, tt.wantCause)
			}
			if n := e.reqs.kinds(reqID)[egress.EventFailure]; n != 1 {
				t.Errorf("%d FAILURE events, want 1", n)
			}
			if !slices.Contains(e.objs.deleted, staging+"/"+egress.StagingPrefix(got)) {
				t.Errorf("staged copies not deleted: %v", e.objs.deleted)
			}
			// What NotifyAdmin, or ExecutionEnded, tells the admin.
			if err := e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "failed"}); err != nil {
				t.Fatal(err)
			}
			for _, m := range e.mail.to(adminEmail) {
				if !strings.Contains(m.Text, "the zip was kept") || strings.Contains(m.Text, "partial release were deleted") {
					t.Errorf("admin told %q", m.Text)
				}
			}
		})
	}
}

// The sample event (events/execution-ended.json, for sam local invoke) is
// what the handler reads: EventBridge's envelope around the execution.
func TestExecutionEndedSampleEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/execution-ended.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var d workflow.ExecutionDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.states" || ev.DetailType != "Step Functions Execution Status Change" ||
		d.Status != "ABORTED" || d.Name == "" || !strings.HasSuffix(d.ExecutionArn, ":"+d.Name) || d.Error != nil {
		t.Fatalf("event %+v, detail %+v", ev, d)
	}
}
