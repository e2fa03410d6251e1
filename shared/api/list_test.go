package api_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests/requeststest"
)

// seedBulk writes n requests straight to the table (requeststest):
// statuses in turn, requested from now back over 100 days, workspaces
// ws-0..ws-9. It returns them.
func seedBulk(t *testing.T, e *env, n int) []egress.Request {
	t.Helper()
	rs := make([]egress.Request, n)
	for i := range rs {
		at := now.Add(-time.Duration(i) * 100 * 24 * time.Hour / time.Duration(n)).Truncate(time.Millisecond)
		rs[i] = egress.Request{
			ID: fmt.Sprintf("bulk-%05d", i), Status: egress.Statuses[i%len(egress.Statuses)], RequestedAt: at, UpdatedAt: at,
			WorkspaceID: fmt.Sprintf("ws-%d", i%10), ProjectID: fmt.Sprintf("proj-%d", i%3), SingleApproval: i%7 == 0,
		}
	}
	if err := requeststest.Put(context.Background(), e.db, e.requestsTable, rs); err != nil {
		t.Fatal(err)
	}
	e.ops.reset()
	return rs
}

// grouped checks listRequests' order: by status in egress.Statuses order,
// newest requested first within each.
func grouped(t *testing.T, rs []egress.Request) {
	t.Helper()
	for i := 1; i < len(rs); i++ {
		a, b := rs[i-1], rs[i]
		sa, sb := slices.Index(egress.Statuses, a.Status), slices.Index(egress.Statuses, b.Status)
		if sa > sb || (sa == sb && a.RequestedAt.Before(b.RequestedAt)) {
			t.Fatalf("%s (%s, %s) listed before %s (%s, %s)", a.ID, a.Status, a.RequestedAt, b.ID, b.Status, b.RequestedAt)
		}
	}
}

// idSet returns the ids of rs, failing on a repeat.
func idSet(t *testing.T, rs []egress.Request) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, r := range rs {
		if set[r.ID] {
			t.Fatalf("%s returned twice", r.ID)
		}
		set[r.ID] = true
	}
	return set
}

func sameSet(t *testing.T, what string, got map[string]bool, want []egress.Request) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d requests, want %d", what, len(got), len(want))
	}
	for _, r := range want {
		if !got[r.ID] {
			t.Errorf("%s: %s (%s, %s) missing", what, r.ID, r.Status, r.RequestedAt)
			return
		}
	}
}

func noScan(t *testing.T, e *env, what string) {
	t.Helper()
	ops := e.ops.reset()
	if ops["Scan"] != 0 {
		t.Errorf("%s: %d Scan calls", what, ops["Scan"])
	}
	if ops["Query"] == 0 {
		t.Errorf("%s: no Query calls: %v", what, ops)
	}
	for op := range ops {
		if op != "Query" {
			t.Errorf("%s: unexpected %s calls: %v", what, op, ops)
		}
	}
}

// With 10,000 stored requests, listRequests and requests pages issue no
// Scan and return each wanted request exactly once.
func TestListingTenThousand(t *testing.T) {
	e := newEnv(t)
	all := seedBulk(t, e, 10000)
	ctx := context.Background()

	for _, days := range []int{0, 30} {
		t.Run(fmt.Sprintf("listRequests max age %d days", days), func(t *testing.T) {
			e.svc.MaxRequestAgeDays = days
			since := now.AddDate(0, 0, -days)
			var flying, done []egress.Request
			for _, r := range all {
				switch awaiting := r.Status == egress.StatusProcessing || (r.Status == egress.StatusIGApproved && !r.SingleApproval); {
				case awaiting:
					flying = append(flying, r)
				case days == 0 || !r.RequestedAt.Before(since):
					done = append(done, r)
				}
			}
			// These small requests fit the byte budget: the cap binds.
			slices.SortFunc(done, func(a, b egress.Request) int {
				return cmp.Or(b.RequestedAt.Compare(a.RequestedAt), cmp.Compare(b.ID, a.ID))
			})
			want := append(flying, done[:min(len(done), api.MaxListedFinished)]...)
			got, err := e.svc.ListRequests(ctx, igReviewer)
			if err != nil {
				t.Fatal(err)
			}
			sameSet(t, "listRequests", idSet(t, got), want)
			grouped(t, got)
			noScan(t, e, "listRequests")
		})
	}
	e.svc.MaxRequestAgeDays = 0

	filters := []struct {
		name   string
		filter api.RequestFilter
		limit  int
	}{
		{"everything", api.RequestFilter{}, 1000},
		{"one status", api.RequestFilter{Status: egress.StatusRejected}, 300},
		{"one workspace", api.RequestFilter{WorkspaceID: "ws-3"}, 100},
		{"workspace, project and status", api.RequestFilter{Status: egress.StatusProcessing, WorkspaceID: "ws-4", ProjectID: "proj-1"}, 7},
	}
	for _, f := range filters {
		t.Run("requests "+f.name, func(t *testing.T) {
			var want []egress.Request
			for _, r := range all {
				if (f.filter.Status == "" || r.Status == f.filter.Status) &&
					(f.filter.WorkspaceID == "" || r.WorkspaceID == f.filter.WorkspaceID) &&
					(f.filter.ProjectID == "" || r.ProjectID == f.filter.ProjectID) {
					want = append(want, r)
				}
			}
			var got []egress.Request
			token := ""
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatal("paging never ends")
				}
				p, err := e.svc.RequestsPage(ctx, igReviewer, f.filter, f.limit, token)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Requests) > f.limit {
					t.Fatalf("page of %d, limit %d", len(p.Requests), f.limit)
				}
				got = append(got, p.Requests...)
				if token = p.NextToken; token == "" {
					break
				}
			}
			sameSet(t, "requests", idSet(t, got), want)
			noScan(t, e, "requests")
		})
	}
}

// Page tokens are checked: one from another filter, or made up, is refused.
func TestRequestsPageTokens(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.seed(t, fixtures[4]) // REJECTED
	}
	ctx := context.Background()
	p, err := e.svc.RequestsPage(ctx, igReviewer, api.RequestFilter{Status: egress.StatusRejected}, 1, "")
	if err != nil || len(p.Requests) != 1 || p.NextToken == "" {
		t.Fatalf("page %+v %v", p, err)
	}
	tests := []struct {
		name   string
		filter api.RequestFilter
		token  string
		limit  int
	}{
		{"other status", api.RequestFilter{Status: egress.StatusProcessing}, p.NextToken, 1},
		{"garbage", api.RequestFilter{}, "not-a-token", 1},
		{"negative limit", api.RequestFilter{}, "", -1},
		{"unknown status", api.RequestFilter{Status: "DONE"}, "", 1},
	}
	for _, tt := range tests {
		if _, err := e.svc.RequestsPage(ctx, igReviewer, tt.filter, tt.limit, tt.token); egress.ErrorCode(err) != egress.EINVALID {
			t.Errorf("%s: err %v, want %s", tt.name, err, egress.EINVALID)
		}
	}
	// Through the resolver: limit 0 is refused, not read as "default".
	if _, err := e.call(igReviewer, "Query", "requests", map[string]any{"limit": 0}, nil); errorType(err) != egress.EINVALID {
		t.Errorf("limit 0: %v", err)
	}
}
