package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests/requeststest"
)

// pad returns s lengthened to n characters.
func pad(s string, n int) string {
	return s + strings.Repeat("x", max(0, n-len(s)))
}

// realistic is a request in status st with every field a request in that
// status has filled as in production: UUIDs, bucket names and ARNs of real
// length, names, e-mails and reasons of 100 characters.
func realistic(i int, st egress.Status, at time.Time, single bool) egress.Request {
	id := fmt.Sprintf("3f2b8c1e-9d4a-4e7b-a1c5-%012d", i)
	ws := fmt.Sprintf("8b7e6f1a-2c3d-4e5f-9a0b-%012d", i%500)
	r := egress.Request{
		ID: id, StoreName: pad("results-for-publication-", 40), StoreID: ws, ProjectID: "proj-" + ws[:8], WorkspaceID: ws,
		RequestedBy: "u-" + ws[:20], RequestedByEmail: pad("researcher.", 90) + "@example.org", RequestedAt: at,
		UpdatedBy: pad("ig.reviewer.", 90) + "@example.org", UpdatedAt: at.Add(time.Hour), Status: st,
		StoreBucket: "swb-prod-egress-store-123456789012", StoreBucketPath: ws + "/",
		ObjectListLocation:       "arn:aws:s3:::swb-prod-egress-notification-123456789012/" + ws + "/egress-store-ver1.json",
		SWBObjectMetadataVersion: "3", StagingObjectMetadataVersion: "manifests/" + ws + "/" + id + ".json",
		SingleApproval: single, DownloadCount: 1,
		ExecutionArn: "arn:aws:states:eu-west-2:123456789012:execution:egress:" + id,
	}
	ig := egress.Review{Stage: "IG", Group: egress.GroupIG, Subject: "sub-ig", Name: pad("Ida IG ", 100), Email: pad("ida.", 88) + "@example.org",
		At: at.Add(time.Hour), Decision: egress.Approved, Reason: pad("Aggregate tables only, no small cells: ", 100)}
	rit := egress.Review{Stage: "RIT", Group: egress.GroupRIT, Subject: "sub-rit", Name: pad("Rob RIT ", 100), Email: pad("rob.", 88) + "@example.org",
		At: at.Add(2 * time.Hour), Decision: egress.Approved, Reason: pad("Checked the output against the plan: ", 100)}
	switch st {
	case egress.StatusProcessing:
		r.TaskToken, r.CurrentReviewerGroup = pad("AQCEAAAAKgAAAAMAAAAAAAAAAe", 100), egress.GroupIG
	case egress.StatusIGApproved:
		r.Reviews = []egress.Review{ig}
		if single {
			r.ZipKey, r.ReleasedAt = "approved_egress/"+ws+"/"+id+"/egress_data.zip", at.Add(3*time.Hour)
		} else {
			r.TaskToken, r.CurrentReviewerGroup = pad("AQCEAAAAKgAAAAMAAAAAAAAAAe", 100), egress.GroupRIT
		}
	case egress.StatusRITApproved:
		r.Reviews = []egress.Review{ig, rit}
		r.ZipKey, r.ReleasedAt = "approved_egress/"+ws+"/"+id+"/egress_data.zip", at.Add(3*time.Hour)
	case egress.StatusRejected:
		ig.Decision = egress.Rejected
		r.Reviews = []egress.Review{ig}
	case egress.StatusFailed, egress.StatusExpired:
		r.FailureCause = pad("States.Timeout: the stage waited longer than stage_timeout_seconds ", 100)
	}
	return r
}

// The design size of a listed request holds for a request with every field
// filled, and the cap of finished requests leaves half the budget to
// in-flight ones.
func TestRequestViewSize(t *testing.T) {
	r := realistic(1, egress.StatusRITApproved, now, false)
	r.TaskToken, r.FailureCause = "AQCEAAAAKgAAAAMAAAAAAAAAAe", pad("note: ", 100)
	b, err := json.Marshal(api.NewRequestView(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a full request view is %d bytes", len(b))
	if len(b) > api.RequestViewBytes {
		t.Errorf("a full request view is %d bytes, over the design size %d", len(b), api.RequestViewBytes)
	}
	if api.MaxListedFinished*api.RequestViewBytes > api.ListResponseBudget/2 {
		t.Errorf("%d finished requests of %d bytes take over half of %d bytes", api.MaxListedFinished, api.RequestViewBytes, api.ListResponseBudget)
	}
	if api.ListResponseBudget >= api.MaxListResponseBytes || api.MaxListResponseBytes >= 6<<20 {
		t.Errorf("budget %d, hard bound %d, Lambda's limit %d", api.ListResponseBudget, api.MaxListResponseBytes, 6<<20)
	}
}

// listed calls listRequests as AppSync does and returns the result as the
// resolver returns it (its JSON) and the ids in it.
func listed(t *testing.T, e *env) (json.RawMessage, []string, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := e.call(igReviewer, "Query", "listRequests", nil, nil)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var views []api.RequestView
	if err := json.Unmarshal(out, &views); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	return out, ids, took
}

// Acceptance: listRequests at 100,000 stored requests returns within
// Lambda's 6 MB and AppSync's 30 s, with every in-flight request present
// and then the newest finished ones.
func TestListRequestsHundredThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 100,000 requests (about a minute on two loaded cores)")
	}
	e := newEnv(t)
	const n = 100_000
	span := 3 * 365 * 24 * time.Hour
	rs := make([]egress.Request, n)
	var flying, done []egress.Request
	for i := range rs {
		// Spread over three years in a shuffled order; 3% in flight.
		at := now.Add(-time.Duration(i*7919%n) * (span / n)).Truncate(time.Millisecond)
		var st egress.Status
		single := false
		switch k := i % 100; {
		case k < 2:
			st = egress.StatusProcessing
		case k < 3:
			st = egress.StatusIGApproved
		case k < 6:
			st, single = egress.StatusIGApproved, true // finished under single approval
		case k < 70:
			st = egress.StatusRITApproved
		case k < 90:
			st = egress.StatusRejected
		case k < 96:
			st = egress.StatusFailed
		default:
			st = egress.StatusExpired
		}
		rs[i] = realistic(i, st, at, single)
		if full := rs[i]; now.Sub(at) > span/20 && st != egress.StatusProcessing && st != egress.StatusIGApproved {
			// Finished long ago: never listed, only there to be skipped, so
			// stored lean to keep the seeding quick.
			rs[i] = egress.Request{ID: full.ID, Status: st, RequestedAt: at, UpdatedAt: at, WorkspaceID: full.WorkspaceID}
		}
		if st == egress.StatusProcessing || (st == egress.StatusIGApproved && !single) {
			flying = append(flying, rs[i])
		} else {
			done = append(done, rs[i])
		}
	}
	start := time.Now()
	if err := requeststest.Put(context.Background(), e.db, e.requestsTable, rs); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d requests (%d in flight) in %s", n, len(flying), time.Since(start).Round(time.Millisecond))
	e.ops.reset()

	out, ids, took := listed(t, e)
	t.Logf("listRequests: %d requests, %d bytes, in %s", len(ids), len(out), took.Round(time.Millisecond))
	if len(out) > api.MaxListResponseBytes || len(out) >= 6<<20 {
		t.Errorf("response of %d bytes, over the limit", len(out))
	}
	if took >= 30*time.Second {
		t.Errorf("listRequests took %s, AppSync gives up at 30 s", took)
	}
	got := map[string]bool{}
	for _, id := range ids {
		got[id] = true
	}
	for _, r := range flying {
		if !got[r.ID] {
			t.Fatalf("in-flight request %s (%s, %s) missing", r.ID, r.Status, r.RequestedAt)
		}
	}
	// The rest are the newest finished ones, as many as the budget holds.
	k := len(ids) - len(flying)
	if k <= 0 || k > api.MaxListedFinished {
		t.Fatalf("%d finished requests listed", k)
	}
	slices.SortFunc(done, func(a, b egress.Request) int {
		return cmp.Or(b.RequestedAt.Compare(a.RequestedAt), cmp.Compare(b.ID, a.ID))
	})
	for _, r := range done[:k] {
		if !got[r.ID] {
			t.Fatalf("finished request %s (%s) missing, though %d older ones are listed", r.ID, r.RequestedAt, k)
		}
	}
	noScan(t, e, "listRequests")
}

// When the requests awaiting a decision alone exceed the response limit,
// the oldest are listed up to it, no finished ones, and the admin is told
// in an error log line.
func TestListRequestsInFlightOverLimit(t *testing.T) {
	e := newEnv(t)
	var rs, flying []egress.Request
	for i := range 40 {
		r := realistic(i, egress.StatusIGApproved, now.Add(-time.Duration(i)*time.Hour).Truncate(time.Millisecond), false)
		r.Reviews[0].Reason = pad("", 200_000) // 40 × 200 KB: 8 MB in flight
		rs, flying = append(rs, r), append(flying, r)
	}
	rs = append(rs, realistic(100, egress.StatusRejected, now, false))
	if err := requeststest.Put(context.Background(), e.db, e.requestsTable, rs); err != nil {
		t.Fatal(err)
	}
	out, ids, _ := listed(t, e)
	if len(out) > api.MaxListResponseBytes {
		t.Fatalf("response of %d bytes", len(out))
	}
	// flying is newest first: the listed ones must be its oldest.
	k := len(ids)
	if k == 0 || k == len(flying) {
		t.Fatalf("%d of %d listed", k, len(flying))
	}
	oldest := map[string]bool{}
	for _, r := range flying[len(flying)-k:] {
		oldest[r.ID] = true
	}
	for _, id := range ids {
		if !oldest[id] {
			t.Fatalf("%s listed, not one of the %d oldest in flight", id, k)
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, "left out requests awaiting a decision") || !strings.Contains(logs, `"left_out":`+fmt.Sprint(len(flying)-k)) {
		t.Fatalf("no error for the admin:\n%s", logs)
	}
}
