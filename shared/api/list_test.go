package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// item is a stored request as the store's package documentation describes
// it (requested_key = "<requested_dt>#<id>"), for bulk seeding.
type item struct {
	ID             string `dynamodbav:"egress_request_id"`
	Status         string `dynamodbav:"egress_status"`
	RequestedAt    string `dynamodbav:"requested_dt"`
	ListKey        string `dynamodbav:"requested_key"`
	UpdatedAt      string `dynamodbav:"updated_dt"`
	WorkspaceID    string `dynamodbav:"workspace_id"`
	ProjectID      string `dynamodbav:"project_id"`
	SingleApproval bool   `dynamodbav:"is_single_approval_enabled"`
	Version        int64  `dynamodbav:"version"`
}

// seedBulk writes n requests straight to the table, 25 a batch, 8 batches
// at a time: statuses in turn, requested from now back over 100 days,
// workspaces ws-0..ws-9. It returns them.
func seedBulk(t *testing.T, e *env, n int) []egress.Request {
	t.Helper()
	table := e.requestsTable
	rs := make([]egress.Request, n)
	for i := range rs {
		at := now.Add(-time.Duration(i) * 100 * 24 * time.Hour / time.Duration(n)).Truncate(time.Millisecond)
		rs[i] = egress.Request{
			ID: fmt.Sprintf("bulk-%05d", i), Status: egress.Statuses[i%len(egress.Statuses)], RequestedAt: at,
			WorkspaceID: fmt.Sprintf("ws-%d", i%10), ProjectID: fmt.Sprintf("proj-%d", i%3), SingleApproval: i%7 == 0,
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for batch := range slices.Chunk(rs, 25) {
		writes := make([]types.WriteRequest, len(batch))
		for j, r := range batch {
			ts := r.RequestedAt.UTC().Format("2006-01-02T15:04:05.000Z")
			av, err := attributevalue.MarshalMap(item{ID: r.ID, Status: string(r.Status), RequestedAt: ts, ListKey: ts + "#" + r.ID,
				UpdatedAt: ts, WorkspaceID: r.WorkspaceID, ProjectID: r.ProjectID, SingleApproval: r.SingleApproval, Version: 1})
			if err != nil {
				t.Fatal(err)
			}
			writes[j] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pending := map[string][]types.WriteRequest{table: writes}
			for len(pending) > 0 {
				out, err := e.db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
				if err != nil {
					t.Error(err)
					return
				}
				pending = out.UnprocessedItems
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	e.ops.reset()
	return rs
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
			var want []egress.Request
			for _, r := range all {
				awaiting := r.Status == egress.StatusProcessing || (r.Status == egress.StatusIGApproved && !r.SingleApproval)
				if days == 0 || awaiting || !r.RequestedAt.Before(since) {
					want = append(want, r)
				}
			}
			got, err := e.svc.ListRequests(ctx, igReviewer)
			if err != nil {
				t.Fatal(err)
			}
			sameSet(t, "listRequests", idSet(t, got), want)
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
