package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// HideObject and DeleteVersions keep what they were asked in hidden and
// purged; deleteErr fails them.
func (f *fakeObjects) HideObject(_ context.Context, bucket, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return f.deleteErr
	}
	f.hidden = append(f.hidden, bucket+"/"+key)
	return nil
}

func (f *fakeObjects) DeleteVersions(_ context.Context, bucket, key string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return 0, f.deleteErr
	}
	f.purged = append(f.purged, bucket+"/"+key)
	delete(f.data, bucket+"/"+key)
	return 1, nil
}

// revokedRequest stores a released request revoked at now with removal in
// the state given, kept for retention.
func (e *env) revokedRequest(t *testing.T, id string, removal egress.ZipRemoval, retention time.Duration) egress.Request {
	t.Helper()
	r := request()
	r.ID, r.Status, r.ZipKey = id, egress.StatusRITApproved, "approved_egress/"+wsID+"/"+id+"/egress_data.zip"
	r.Reviews = []egress.Review{{Stage: "IG", Group: egress.GroupIG, Email: "ig@example.org"}, {Stage: "RIT", Group: egress.GroupRIT, Email: "rit@example.org"}}
	r, _, err := egress.Revoke(r, egress.DefaultChain(false), egress.Identity{Email: "admin@example.org"}, "identifiable data", now)
	if err != nil {
		t.Fatal(err)
	}
	r.PurgeAfter, r.ZipRemoval = now.Add(retention), removal
	stored := e.put(t, r)
	e.objs.data[datalake+"/"+r.ZipKey] = []byte("zip")
	return stored
}

// One sweep over revoked requests in every removal state, at three times:
// what is due is purged or hidden, and recorded; nothing else is touched.
func TestPurgeRevoked(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name      string
		removal   egress.ZipRemoval
		retention time.Duration
		at        time.Time
		want      egress.ZipRemoval // stored after the sweep
		wantOut   workflow.PurgeOutput
	}{
		{"pending, no retention: purged", egress.ZipPending, 0, now, egress.ZipPurged, workflow.PurgeOutput{Purged: 1}},
		{"pending, kept: hidden", egress.ZipPending, 30 * day, now, egress.ZipHidden, workflow.PurgeOutput{Hidden: 1}},
		{"hidden, kept: untouched", egress.ZipHidden, 30 * day, now.Add(29 * day), egress.ZipHidden, workflow.PurgeOutput{}},
		{"hidden, retention passed: purged", egress.ZipHidden, 30 * day, now.Add(30 * day), egress.ZipPurged, workflow.PurgeOutput{Purged: 1}},
		{"purged: untouched", egress.ZipPurged, 0, now.Add(100 * day), egress.ZipPurged, workflow.PurgeOutput{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.revokedRequest(t, "req-revoked", tt.removal, tt.retention)
			e.h.Now = func() time.Time { return tt.at }
			out, err := e.h.PurgeRevoked(context.Background(), workflow.PurgeInput{})
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.wantOut {
				t.Errorf("output %+v, want %+v", out, tt.wantOut)
			}
			got := e.reqs.get(t, r.ID)
			if got.ZipRemoval != tt.want || got.Status != egress.StatusRevoked {
				t.Errorf("stored %s with zip %s, want REVOKED with %s", got.Status, got.ZipRemoval, tt.want)
			}
			zip := datalake + "/" + r.ZipKey
			if purged := slices.Contains(e.objs.purged, zip); purged != (tt.wantOut.Purged == 1) {
				t.Errorf("purged %v", e.objs.purged)
			}
			if hidden := slices.Contains(e.objs.hidden, zip); hidden != (tt.wantOut.Hidden == 1) {
				t.Errorf("hidden %v", e.objs.hidden)
			}
			if changed := got.Version != r.Version; changed != (tt.want != tt.removal) {
				t.Errorf("version %d -> %d", r.Version, got.Version)
			}
		})
	}
}

// Many revoked requests over several listing pages are all swept; one
// whose removal fails is noted on the request and left pending, and the
// sweep errs only when nothing could be done.
func TestPurgeRevokedPagesAndFailures(t *testing.T) {
	e := newEnv(t)
	const n = 250 // three pages of 100
	for i := range n {
		e.revokedRequest(t, fmt.Sprintf("req-%03d", i), egress.ZipPending, 0)
	}
	out, err := e.h.PurgeRevoked(context.Background(), workflow.PurgeInput{})
	if err != nil || out.Purged != n {
		t.Fatalf("PurgeRevoked = %+v, %v; want %d purged", out, err, n)
	}

	f := newEnv(t)
	r := f.revokedRequest(t, "req-fails", egress.ZipHidden, 0)
	f.objs.deleteErr = errors.New("AccessDenied")
	out, err = f.h.PurgeRevoked(context.Background(), workflow.PurgeInput{})
	if err == nil || out.Failed != 1 {
		t.Fatalf("PurgeRevoked = %+v, %v; want one failure and an error", out, err)
	}
	got := f.reqs.get(t, r.ID)
	if got.ZipRemoval != egress.ZipPending || !strings.Contains(got.FailureCause, "AccessDenied") {
		t.Errorf("stored zip %s, cause %q", got.ZipRemoval, got.FailureCause)
	}
	f.objs.deleteErr = nil
	if out, err := f.h.PurgeRevoked(context.Background(), workflow.PurgeInput{}); err != nil || out.Purged != 1 {
		t.Errorf("the retry = %+v, %v", out, err)
	}
	if got := f.reqs.get(t, r.ID); got.ZipRemoval != egress.ZipPurged || got.FailureCause != "" {
		t.Errorf("after the retry: zip %s, cause %q", got.ZipRemoval, got.FailureCause)
	}
}

// The notify function reads its task payload, or the same payload in an
// SNS event from the notices topic.
func TestNotifyInputEnvelope(t *testing.T) {
	tests := []struct {
		name, in string
		want     workflow.NotifyInput
		wantErr  bool
	}{
		{"task payload", `{"egress_request_id":"r1","kind":"approved"}`, workflow.NotifyInput{RequestID: "r1", Kind: "approved"}, false},
		{"SNS event", `{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"{\"egress_request_id\":\"r2\",\"kind\":\"revoked\"}"}}]}`,
			workflow.NotifyInput{RequestID: "r2", Kind: "revoked"}, false},
		{"two records", `{"Records":[{"Sns":{"Message":"{}"}},{"Sns":{"Message":"{}"}}]}`, workflow.NotifyInput{}, true},
		{"message not JSON", `{"Records":[{"Sns":{"Message":"hello"}}]}`, workflow.NotifyInput{}, true},
		{"not JSON", `[`, workflow.NotifyInput{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got workflow.NotifyInput
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// A revocation e-mails the requester with the reason, and each reviewer
// who decided and each configured address once, never the requester
// twice; a request not revoked is refused, and a requester who cannot be
// e-mailed fails the delivery (retried) before anyone else is told.
func TestNotifyRevoked(t *testing.T) {
	e := newEnv(t)
	e.h.Settings.ReviewerEmails = map[string][]string{egress.GroupIG: {"ig-team@example.org", "IG@example.org"}, egress.GroupRIT: {"researcher@example.org"}}
	r := e.revokedRequest(t, reqID, egress.ZipPurged, 0)
	if err := e.h.Notify(context.Background(), workflow.NotifyInput{RequestID: r.ID, Kind: "revoked"}); err != nil {
		t.Fatal(err)
	}
	mails := e.mail.to("researcher@example.org")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "identifiable data") || !strings.Contains(mails[0].Subject, "revoked") {
		t.Fatalf("requester's e-mails %+v", mails)
	}
	for _, a := range []string{"ig@example.org", "rit@example.org", "ig-team@example.org"} {
		if got := e.mail.to(a); len(got) != 1 || !strings.Contains(got[0].Text, "identifiable data") || !strings.Contains(got[0].Text, "admin@example.org") {
			t.Errorf("%s got %+v", a, got)
		}
	}
	if len(e.mail.sent) != 4 {
		t.Errorf("%d e-mails sent, want 4", len(e.mail.sent))
	}

	f := newEnv(t)
	f.put(t, func() egress.Request { r := request(); r.Status = egress.StatusRITApproved; return r }())
	wantCode(t, f.h.Notify(context.Background(), workflow.NotifyInput{RequestID: reqID, Kind: "revoked"}), egress.ECONFLICT)

	g := newEnv(t)
	g.revokedRequest(t, reqID, egress.ZipPurged, 0)
	g.mail.onSend = func(_ context.Context, m egress.Email) error {
		if slices.Contains(m.To, "researcher@example.org") {
			return errors.New("SES throttled")
		}
		return nil
	}
	if err := g.h.Notify(context.Background(), workflow.NotifyInput{RequestID: reqID, Kind: "revoked"}); err == nil || len(g.mail.sent) != 0 {
		t.Errorf("requester not e-mailed: err %v, %d others e-mailed", err, len(g.mail.sent))
	}
}

// The sample event (events/purge-revoked.json, for sam local invoke) is
// EventBridge's scheduled event, which the handler takes as its input.
func TestPurgeRevokedSampleEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/purge-revoked.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.PurgeInput
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("input: %v", err)
	}
	e := newEnv(t)
	if _, err := e.h.PurgeRevoked(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}
