package local

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

const revokeRelease = `mutation($id: String!, $reason: String!) {
  revokeRelease(egress_request_id: $id, reason: $reason) { egress_status zip_removal }
}`

// released submits the sample store, approves every stage over GraphQL
// and waits for the release.
func released(t *testing.T, s *Stack, d GraphQLDecider) egress.Request {
	t.Helper()
	chain, _ := s.Config.Chain()
	sub := submit(t, s)
	for i := range chain.Stages {
		awaiting(t, s, sub.RequestID, i)
		if err := d.Decide(ctx(t), Reviewer(chain, i), sub.RequestID, egress.Approved, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), sub.RequestID)
	if err != nil || !r.Released() {
		t.Fatalf("not released: %s %s %v", r.Status, r.FailureCause, err)
	}
	return r
}

// Issue 14's acceptance end to end, under the functions' roles: a request
// approved and downloaded is revoked over GraphQL by a TRE admin; the link
// handed out before and a new downloadData are refused, no version of the
// zip is left, the history has the revocation, and the notices topic
// delivered to notify, which e-mailed the requester and the reviewers.
func TestRevokeEndToEnd(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	r := released(t, s, d)
	ig, admin := Reviewer(chain, 0), Reviewer(chain, 1) // the RIT stage's group is TREAdmin
	url, err := d.Download(ctx(t), ig, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status := httpStatus(t, url); status != http.StatusOK {
		t.Fatalf("set-up: the link got HTTP %d", status)
	}

	if err := d.Do(ctx(t), ig, revokeRelease, map[string]any{"id": r.ID, "reason": "x"}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("an IG reviewer revoking: %v", err)
	}
	var out struct {
		RevokeRelease struct {
			Status     string `json:"egress_status"`
			ZipRemoval string `json:"zip_removal"`
		} `json:"revokeRelease"`
	}
	if err := d.Do(ctx(t), admin, revokeRelease, map[string]any{"id": r.ID, "reason": "identifiable data found"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.RevokeRelease.Status != "REVOKED" || out.RevokeRelease.ZipRemoval != "PURGED" {
		t.Errorf("revokeRelease returned %+v", out.RevokeRelease)
	}

	if status := httpStatus(t, url); status != http.StatusNotFound {
		t.Errorf("the earlier link got HTTP %d, want 404", status)
	}
	if _, err := d.Download(ctx(t), ig, r.ID); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("downloadData after the revocation: %v", err)
	}
	if n, err := s.countVersions(ctx(t), DatalakeBucket, workflow.DatalakePrefix(r)); err != nil || n != 0 {
		t.Errorf("%d versions left under the release's prefix (%v)", n, err)
	}
	var hist struct {
		GetRequest struct {
			History []struct {
				Kind   string `json:"kind"`
				Actor  string `json:"actor"`
				Reason string `json:"reason"`
			} `json:"history"`
		} `json:"getRequest"`
	}
	if err := d.Do(ctx(t), ig, `query($id: String!) { getRequest(egress_request_id: $id) { history { kind actor reason } } }`, map[string]any{"id": r.ID}, &hist); err != nil {
		t.Fatal(err)
	}
	revoked := false
	for _, h := range hist.GetRequest.History {
		revoked = revoked || h.Kind == egress.EventRevoked && h.Actor == admin.Email && h.Reason == "identifiable data found"
	}
	if !revoked {
		t.Errorf("history has no REVOKED event by the admin: %+v", hist.GetRequest.History)
	}
	mails, _ := requestMail(s, r.ID)
	toRequester := mailTo(mails, r.RequestedByEmail, "revoked")
	if len(toRequester) != 1 || !strings.Contains(toRequester[0].Text, "identifiable data found") {
		t.Errorf("the requester's revocation e-mails: %+v", toRequester)
	}
	for i := range chain.Stages {
		if got := mailTo(mails, Reviewer(chain, i).Email, "revoked"); len(got) != 1 {
			t.Errorf("stage %d's reviewer got %d revocation e-mails", i+1, len(got))
		}
	}
}

// With revoke_retention_days: the zip is hidden (the link gets 404) and
// kept; workflow.PurgeRevoked, with the clock past the retention, deletes
// every version, and before it deletes nothing.
func TestRevokeRetainedThenPurged(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	r := released(t, s, d)
	url, err := d.Download(ctx(t), Reviewer(chain, 0), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	svc := *s.API // this revocation keeps the zip 30 days
	svc.RevokeRetention = 30 * 24 * time.Hour
	got, err := svc.RevokeRelease(ctx(t), Reviewer(chain, 1), r.ID, "kept for the investigation")
	if err != nil {
		t.Fatal(err)
	}
	if got.ZipRemoval != egress.ZipHidden {
		t.Fatalf("zip removal %s", got.ZipRemoval)
	}
	if status := httpStatus(t, url); status != http.StatusNotFound {
		t.Errorf("the earlier link got HTTP %d, want 404", status)
	}
	versions := func() int {
		n, err := s.countVersions(ctx(t), DatalakeBucket, r.ZipKey)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := versions(); n != 2 {
		t.Fatalf("%d versions and markers, want the zip and its delete marker", n)
	}

	// The purge-revoked function's handlers, under its own role, with
	// the clock moved on for them alone: the shared stack's other
	// requests must not time out.
	h := *s.tasks["purge-revoked"].handlers
	for _, tc := range []struct {
		after     time.Duration
		want      egress.ZipRemoval
		wantCount int
	}{{29 * 24 * time.Hour, egress.ZipHidden, 2}, {30 * 24 * time.Hour, egress.ZipPurged, 0}} {
		at := s.opts.Clock.Now().Add(tc.after)
		h.Now = func() time.Time { return at }
		if _, err := h.PurgeRevoked(context.Background(), workflow.PurgeInput{}); err != nil {
			t.Fatal(err)
		}
		stored, err := s.Requests.Get(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ZipRemoval != tc.want || versions() != tc.wantCount {
			t.Errorf("%s after: zip %s with %d versions, want %s with %d", tc.after, stored.ZipRemoval, versions(), tc.want, tc.wantCount)
		}
	}
}

// Without its grants egress-api cannot delete the zip's versions nor
// publish the notice: the revocation stands all the same (downloads are
// refused), the zip is left pending for the sweep, and no one is told.
func TestRevokeNeedsItsGrants(t *testing.T) {
	for _, tc := range []struct{ action, resource string }{
		{"s3:DeleteObjectVersion", "arn:aws:s3:::tre-sample-datalake/approved_egress/*"},
		{"sns:Publish", `{"Ref":"NoticesTopic98D133D1"}`},
	} {
		t.Run(tc.action, func(t *testing.T) {
			s, logs := startWithoutLogged(t, []string{"EgressApi"}, tc.action, tc.resource)
			chain, _ := s.Config.Chain()
			d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
			r := released(t, s, d)
			got, err := s.API.RevokeRelease(ctx(t), Reviewer(chain, 1), r.ID, "breach")
			if err != nil || got.Status != egress.StatusRevoked {
				t.Fatalf("revoke = %s, %v", got.Status, err)
			}
			if _, err := d.Download(ctx(t), Reviewer(chain, 0), r.ID); err == nil {
				t.Error("downloaded a revoked request")
			}
			if !strings.Contains(logs.String(), tc.action) {
				t.Errorf("no refusal of %s logged:\n%s", tc.action, logs.String())
			}
			mails, _ := requestMail(s, r.ID)
			told := len(mailTo(mails, r.RequestedByEmail, "revoked")) > 0
			switch tc.action {
			case "sns:Publish":
				if told || got.ZipRemoval != egress.ZipPurged {
					t.Errorf("without sns:Publish: told %v, zip %s", told, got.ZipRemoval)
				}
			default:
				if !told || got.ZipRemoval != egress.ZipPending {
					t.Errorf("without %s: told %v, zip %s", tc.action, told, got.ZipRemoval)
				}
			}
		})
	}
}
