package requests

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// seed writes requests straight to the table, 25 a batch, as Create would
// store them.
func seed(t *testing.T, s *Table, db *countingDB, rs []egress.Request) {
	t.Helper()
	ctx := context.Background()
	for batch := range slices.Chunk(rs, 25) {
		var writes []types.WriteRequest
		for _, r := range batch {
			r.Version = 1
			item, err := attributevalue.MarshalMap(toRecord(r))
			if err != nil {
				t.Fatal(err)
			}
			writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		pending := map[string][]types.WriteRequest{s.table: writes}
		for len(pending) > 0 {
			out, err := db.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				t.Fatalf("BatchWriteItem: %v", err)
			}
			pending = out.UnprocessedItems
		}
	}
}

// listAll pages through q and returns every page.
func listAll(t *testing.T, s *Table, q egress.ListQuery) [][]egress.Request {
	t.Helper()
	var pages [][]egress.Request
	for {
		p, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		pages = append(pages, p.Requests)
		if p.NextToken == "" {
			return pages
		}
		if len(pages) > 1000 {
			t.Fatal("List never ends")
		}
		q.NextToken = p.NextToken
	}
}

func TestList(t *testing.T) {
	s, db := newRequests(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	statuses := []egress.Status{egress.StatusProcessing, egress.StatusIGApproved, egress.StatusRejected, egress.StatusRITApproved}
	var all []egress.Request
	for i := range 1000 {
		// Three requests share each instant, so ties must be broken by id.
		r := minimalRequest(fmt.Sprintf("req-%04d", (i*7919)%1000), base.Add(time.Duration(i/3)*time.Minute))
		r.Status = statuses[i%len(statuses)]
		if i%5 == 0 {
			r.Status = egress.StatusProcessing
		}
		all = append(all, r)
	}
	seed(t, s, db, all)
	db.reset()

	since := base.Add(200 * time.Minute)
	tests := []struct {
		name  string
		q     egress.ListQuery
		match func(egress.Request) bool
	}{
		{"processing", egress.ListQuery{Status: egress.StatusProcessing, Limit: 50}, nil},
		{"ig approved", egress.ListQuery{Status: egress.StatusIGApproved, Limit: 50}, nil},
		{"rejected, default page", egress.ListQuery{Status: egress.StatusRejected}, nil},
		{"failed, none", egress.ListQuery{Status: egress.StatusFailed, Limit: 50}, nil},
		{"processing since", egress.ListQuery{Status: egress.StatusProcessing, Limit: 50, Since: since},
			func(r egress.Request) bool { return !r.RequestedAt.Before(since) }},
		{"processing, oldest first", egress.ListQuery{Status: egress.StatusProcessing, Limit: 50, Oldest: true}, nil},
		{"ig approved since, oldest first", egress.ListQuery{Status: egress.StatusIGApproved, Limit: 30, Since: since, Oldest: true},
			func(r egress.Request) bool { return !r.RequestedAt.Before(since) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if r.Status == tt.q.Status && (tt.match == nil || tt.match(r)) {
					want = append(want, listKey(r.RequestedAt, r.ID))
				}
			}
			slices.Sort(want)
			if !tt.q.Oldest {
				slices.Reverse(want) // newest first, ties by id descending
			}

			db.reset()
			pages := listAll(t, s, tt.q)
			limit := cmp.Or(tt.q.Limit, egress.DefaultListLimit)
			var got []string
			for i, p := range pages {
				if len(p) > limit {
					t.Fatalf("page %d has %d requests, limit %d", i, len(p), limit)
				}
				for _, r := range p {
					if r.Status != tt.q.Status {
						t.Fatalf("listed %s in status %s", r.ID, r.Status)
					}
					got = append(got, listKey(r.RequestedAt, r.ID))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("listed %d requests, want %d, each once, in order (oldest first: %v)\n got %.200v\nwant %.200v", len(got), len(want), tt.q.Oldest, got, want)
			}
			calls := db.reset()
			if calls["Scan"] != 0 || calls["Query"] != len(pages) || len(calls) != 1 {
				t.Errorf("calls = %v, want only one Query per page (%d)", calls, len(pages))
			}
		})
	}
}

func TestListInvalid(t *testing.T) {
	s, _ := newRequests(t)
	ctx := context.Background()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := `{"egress_status":"PROCESSING","requested_key":"2026-11-01T00:00:00.000Z#r1","egress_request_id":"r1"}`
	if _, err := s.List(ctx, egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(good)}); err != nil {
		t.Fatalf("well-formed token refused: %v", err)
	}
	tests := []struct {
		name string
		q    egress.ListQuery
	}{
		{"garbage token", egress.ListQuery{Status: egress.StatusProcessing, NextToken: "not a token!"}},
		{"not JSON", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64("hello")}},
		{"JSON of the wrong shape", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(`["a"]`)}},
		{"missing key", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(`{"egress_status":"PROCESSING","egress_request_id":"r1"}`)}},
		{"extra key", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(good[:len(good)-1] + `,"x":"y"}`)}},
		{"empty value", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(`{"egress_status":"PROCESSING","requested_key":"","egress_request_id":"r1"}`)}},
		{"key of another request", egress.ListQuery{Status: egress.StatusProcessing, NextToken: b64(`{"egress_status":"PROCESSING","requested_key":"2026-11-01T00:00:00.000Z#r2","egress_request_id":"r1"}`)}},
		{"token of another status", egress.ListQuery{Status: egress.StatusRejected, NextToken: b64(good)}},
		{"unknown status", egress.ListQuery{Status: "PENDING"}},
		{"no status", egress.ListQuery{}},
		{"negative limit", egress.ListQuery{Status: egress.StatusProcessing, Limit: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.List(ctx, tt.q)
			wantCode(t, err, egress.EINVALID)
		})
	}
}

// The by-workspace and by-requester indexes list one workspace's or one
// submitter's requests in every status, newest first, each once, a page
// at a time.
func TestListByWorkspaceAndRequester(t *testing.T) {
	s, db := newRequests(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var all []egress.Request
	for i := range 300 {
		// Two requests share each instant, so ties must be broken by id.
		r := minimalRequest(fmt.Sprintf("req-%04d", (i*7919)%300), base.Add(time.Duration(i/2)*time.Minute))
		r.Status = egress.Statuses[i%len(egress.Statuses)]
		r.WorkspaceID = fmt.Sprintf("ws-%d", i%3)
		r.RequestedBy = fmt.Sprintf("u-%d", i%4)
		all = append(all, r)
	}
	seed(t, s, db, all)
	// A request without a workspace or submitter is stored (an empty index
	// key would be refused) and listed in neither index.
	orphan := minimalRequest("orphan", base)
	orphan.WorkspaceID, orphan.RequestedBy = "", ""
	create(t, s, orphan)

	tests := []struct {
		name  string
		q     egress.ListQuery
		match func(egress.Request) bool
	}{
		{"workspace", egress.ListQuery{WorkspaceID: "ws-1", Limit: 30}, func(r egress.Request) bool { return r.WorkspaceID == "ws-1" }},
		{"workspace, default page", egress.ListQuery{WorkspaceID: "ws-2"}, func(r egress.Request) bool { return r.WorkspaceID == "ws-2" }},
		{"workspace since", egress.ListQuery{WorkspaceID: "ws-0", Limit: 7, Since: base.Add(100 * time.Minute)},
			func(r egress.Request) bool {
				return r.WorkspaceID == "ws-0" && !r.RequestedAt.Before(base.Add(100*time.Minute))
			}},
		{"unknown workspace", egress.ListQuery{WorkspaceID: "ws-9"}, func(egress.Request) bool { return false }},
		{"submitter", egress.ListQuery{RequestedBy: "u-3", Limit: 20}, func(r egress.Request) bool { return r.RequestedBy == "u-3" }},
		{"submitter, one a page", egress.ListQuery{RequestedBy: "u-0", Limit: 1}, func(r egress.Request) bool { return r.RequestedBy == "u-0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if tt.match(r) {
					want = append(want, listKey(r.RequestedAt, r.ID))
				}
			}
			slices.Sort(want)
			if !tt.q.Oldest {
				slices.Reverse(want) // newest first, ties by id descending
			}

			db.reset()
			pages := listAll(t, s, tt.q)
			limit := cmp.Or(tt.q.Limit, egress.DefaultListLimit)
			var got []string
			for i, p := range pages {
				if len(p) > limit {
					t.Fatalf("page %d has %d requests, limit %d", i, len(p), limit)
				}
				for _, r := range p {
					got = append(got, listKey(r.RequestedAt, r.ID))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("listed %d requests, want %d, each once, in order (oldest first: %v)\n got %.200v\nwant %.200v", len(got), len(want), tt.q.Oldest, got, want)
			}
			calls := db.reset()
			if calls["Scan"] != 0 || calls["Query"] != len(pages) || len(calls) != 1 {
				t.Errorf("calls = %v, want only one Query per page (%d)", calls, len(pages))
			}
		})
	}

	// A token carries on only the listing it came from.
	ctx := context.Background()
	first := func(q egress.ListQuery) string {
		t.Helper()
		q.Limit = 1
		p, err := s.List(ctx, q)
		if err != nil || p.NextToken == "" {
			t.Fatalf("List(%+v) = %+v, %v; want a page and a token", q, p, err)
		}
		return p.NextToken
	}
	ws1, u3, processing := first(egress.ListQuery{WorkspaceID: "ws-1"}), first(egress.ListQuery{RequestedBy: "u-3"}), first(egress.ListQuery{Status: egress.StatusProcessing})
	bound := []struct {
		name string
		q    egress.ListQuery
	}{
		{"workspace token, other workspace", egress.ListQuery{WorkspaceID: "ws-2", NextToken: ws1}},
		{"workspace token, submitter listing", egress.ListQuery{RequestedBy: "u-3", NextToken: ws1}},
		{"workspace token, status listing", egress.ListQuery{Status: egress.StatusProcessing, NextToken: ws1}},
		{"submitter token, other submitter", egress.ListQuery{RequestedBy: "u-2", NextToken: u3}},
		{"submitter token, workspace listing", egress.ListQuery{WorkspaceID: "ws-1", NextToken: u3}},
		{"status token, workspace listing", egress.ListQuery{WorkspaceID: "ws-1", NextToken: processing}},
		{"status token, submitter listing", egress.ListQuery{RequestedBy: "u-3", NextToken: processing}},
		{"status and workspace", egress.ListQuery{Status: egress.StatusProcessing, WorkspaceID: "ws-1"}},
	}
	for _, tt := range bound {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.List(ctx, tt.q)
			wantCode(t, err, egress.EINVALID)
		})
	}
	if _, err := s.List(ctx, egress.ListQuery{WorkspaceID: "ws-1", NextToken: ws1}); err != nil {
		t.Errorf("a workspace token refused by its own listing: %v", err)
	}
}
