package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const revokeMutation = `mutation Revoke($id: String!, $reason: String!) {
  revokeRelease(egress_request_id: $id, reason: $reason) { egress_request_id egress_status revoked_by revoke_reason zip_removal }
}`

// admin is a TRE admin (Service.AdminGroups' default, TREAdmin).
var admin = egress.Identity{Subject: "sub-admin", Email: "admin@example.org", Name: "Ada Admin", Groups: []string{egress.GroupRIT}}

// notices records what the API publishes.
type notices struct {
	mu   sync.Mutex
	sent []egress.Notice
	fail error
}

func (n *notices) Publish(_ context.Context, x egress.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.sent = append(n.sent, x)
	return nil
}

func withRevoke(e *env, retention time.Duration) *notices {
	n := &notices{}
	e.svc.Zips, e.svc.RevokeRetention = e.objects, retention
	e.svc.Notices, e.svc.NoticesTopic = n, "arn:aws:sns:eu-west-2:123456789012:notices"
	return n
}

// Every fixture × caller: only a TRE admin may revoke, and only a released
// request in its chain's final approved status; a reason is required.
func TestRevokeReleaseRules(t *testing.T) {
	e := newEnv(t)
	withRevoke(e, 0)
	released := map[string]bool{"IGAPPROVED single approval, released": true, "RITAPPROVED": true}
	for _, f := range fixtures {
		for _, c := range []struct {
			name string
			who  egress.Identity
		}{{"admin", admin}, {"IG", igReviewer}, {"no group", noGroup}} {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				r := e.seed(t, f)
				_, err := e.call(c.who, "Mutation", "revokeRelease", map[string]any{"egress_request_id": r.ID, "reason": "breach"}, nil)
				want := ""
				switch {
				case c.who.Subject != admin.Subject:
					want = egress.EFORBIDDEN
				case !released[f.name]:
					want = egress.ECONFLICT
				}
				if got := errorType(err); got != want {
					t.Fatalf("errorType %q, want %q (%v)", got, want, err)
				}
				stored, gerr := e.table.Get(context.Background(), r.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if (stored.Status == egress.StatusRevoked) != (want == "") {
					t.Errorf("stored status %s", stored.Status)
				}
			})
		}
	}
	r := e.seed(t, fixtures[3])
	for _, reason := range []string{"", "   ", strings.Repeat("x", egress.MaxReasonLength+1)} {
		_, err := e.call(admin, "Mutation", "revokeRelease", map[string]any{"egress_request_id": r.ID, "reason": reason}, nil)
		if got := errorType(err); got != egress.EINVALID {
			t.Errorf("reason of %d characters: errorType %q, want ValidationError", len(reason), got)
		}
	}
	if _, err := e.call(admin, "Mutation", "revokeRelease", map[string]any{"egress_request_id": r.ID, "reason": "breach"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.call(admin, "Mutation", "revokeRelease", map[string]any{"egress_request_id": r.ID, "reason": "again"}, nil)
	if errorType(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("second revocation: %v", err)
	}
}

// With no retention: a download that worked is refused after the
// revocation, the link handed out before gets 404, no version of the zip
// is left, the history has the revocation and the zip's removal, and the
// notify function is asked to tell people. The schema lets only TRE
// admins call it.
func TestRevokeReleaseRetentionZero(t *testing.T) {
	e := newEnv(t)
	n := withRevoke(e, 0)
	r := e.seed(t, fixtures[3])
	url, err := e.svc.Download(context.Background(), igReviewer, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := fetch(t, url); status != http.StatusOK {
		t.Fatalf("set-up: the link got %d", status)
	}

	if resp := e.gql(igReviewer, revokeMutation, map[string]any{"id": r.ID, "reason": "breach"}); len(resp.Errors) == 0 || resp.Errors[0].ErrorType != "Unauthorized" {
		t.Errorf("IG reviewer through the schema: %+v", resp.Errors)
	}
	resp := e.gql(admin, revokeMutation, map[string]any{"id": r.ID, "reason": " identifiable data "})
	if len(resp.Errors) > 0 {
		t.Fatalf("revoke: %+v", resp.Errors)
	}
	var data struct {
		RevokeRelease map[string]string `json:"revokeRelease"`
	}
	decode(t, resp, &data)
	want := map[string]string{"egress_request_id": r.ID, "egress_status": "REVOKED", "revoked_by": admin.Email,
		"revoke_reason": "identifiable data", "zip_removal": "PURGED"}
	for k, v := range want {
		if data.RevokeRelease[k] != v {
			t.Errorf("%s = %q, want %q", k, data.RevokeRelease[k], v)
		}
	}

	_, err = e.svc.Download(context.Background(), igReviewer, r.ID)
	if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("download after the revocation: %v", err)
	}
	if status, _ := fetch(t, url); status != http.StatusNotFound {
		t.Errorf("the earlier link got %d, want 404", status)
	}
	out, err := e.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(e.datalake), Prefix: aws.String(e.zipKey)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions)+len(out.DeleteMarkers) != 0 {
		t.Errorf("%d versions and %d markers left", len(out.Versions), len(out.DeleteMarkers))
	}
	events, err := e.table.Events(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.HasSuffix(got, "DOWNLOAD,REVOKED,ZIP_REMOVED") {
		t.Errorf("history %s, want it to end DOWNLOAD,REVOKED,ZIP_REMOVED", got)
	}
	if len(n.sent) != 1 || n.sent[0].Topic != e.svc.NoticesTopic {
		t.Fatalf("notices %+v", n.sent)
	}
	var msg api.NoticeMessage
	if err := json.Unmarshal([]byte(n.sent[0].Text), &msg); err != nil || msg != (api.NoticeMessage{RequestID: r.ID, Kind: "revoked"}) {
		t.Errorf("notice %s (%v)", n.sent[0].Text, err)
	}
}

// With retention: the zip is hidden (the link gets 404) but its versions
// are kept until PurgeAfter.
func TestRevokeReleaseRetained(t *testing.T) {
	e := newEnv(t)
	withRevoke(e, 30*24*time.Hour)
	r := e.seed(t, fixtures[2]) // single approval, IGAPPROVED
	url, err := e.svc.Download(context.Background(), igReviewer, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.RevokeRelease(context.Background(), admin, r.ID, "breach")
	if err != nil {
		t.Fatal(err)
	}
	if got.ZipRemoval != egress.ZipHidden || !got.PurgeAfter.Equal(now.Add(30*24*time.Hour)) {
		t.Errorf("zip removal %s, purge after %s", got.ZipRemoval, got.PurgeAfter)
	}
	if status, _ := fetch(t, url); status != http.StatusNotFound {
		t.Errorf("the earlier link got %d, want 404", status)
	}
	out, err := e.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(e.datalake), Prefix: aws.String(e.zipKey)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions) != 1 || len(out.DeleteMarkers) != 1 {
		t.Errorf("%d versions and %d markers, want the version kept behind one marker", len(out.Versions), len(out.DeleteMarkers))
	}
}

// failingZips fails every removal.
type failingZips struct{}

func (failingZips) HideObject(context.Context, string, string) error {
	return errors.New("AccessDenied")
}
func (failingZips) DeleteVersions(context.Context, string, string) (int, error) {
	return 0, errors.New("AccessDenied")
}

// A zip that cannot be removed leaves the request REVOKED, downloads
// refused, and the removal noted as pending for the sweep; a notice that
// cannot be published does not undo the revocation either.
func TestRevokeReleaseZipNotRemoved(t *testing.T) {
	e := newEnv(t)
	n := withRevoke(e, 0)
	e.svc.Zips = failingZips{}
	n.fail = errors.New("SNS down")
	r := e.seed(t, fixtures[3])
	got, err := e.svc.RevokeRelease(context.Background(), admin, r.ID, "breach")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.table.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != egress.StatusRevoked || stored.ZipRemoval != egress.ZipPending || !strings.Contains(stored.FailureCause, "AccessDenied") || got.Version != stored.Version {
		t.Errorf("stored %s, zip removal %s, cause %q", stored.Status, stored.ZipRemoval, stored.FailureCause)
	}
	if _, err := e.svc.Download(context.Background(), igReviewer, r.ID); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Errorf("download: %v", err)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "notice not published") || !strings.Contains(logs, "revoked zip not removed") {
		t.Errorf("logs do not tell the failures:\n%s", logs)
	}
}

// revokeBetween stores a revocation right after the download's Get, before
// it counts: the race a download can lose.
type revokeBetween struct {
	api.Requests
	once   sync.Once
	revoke func()
}

func (r *revokeBetween) Get(ctx context.Context, id string) (egress.Request, error) {
	got, err := r.Requests.Get(ctx, id)
	r.once.Do(r.revoke)
	return got, err
}

// A download that read the request released, and counts it after the
// revocation was stored, is refused by the count's condition: no link, no
// count.
func TestDownloadRacingRevoke(t *testing.T) {
	e := newEnv(t)
	withRevoke(e, 0)
	r := e.seed(t, fixtures[3])
	racer := *e.svc
	racer.Requests = &revokeBetween{Requests: e.table, revoke: func() {
		if _, err := e.svc.RevokeRelease(context.Background(), admin, r.ID, "breach"); err != nil {
			t.Errorf("revoke: %v", err)
		}
	}}
	url, err := racer.Download(context.Background(), igReviewer, r.ID)
	if egress.ErrorCode(err) != egress.ECONFLICT || url != "" || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("download racing the revocation = %q, %v; want a ConflictError saying it was revoked", url, err)
	}
	stored, err := e.table.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != egress.StatusRevoked || stored.DownloadCount != 0 {
		t.Errorf("stored %s with %d downloads", stored.Status, stored.DownloadCount)
	}
}
