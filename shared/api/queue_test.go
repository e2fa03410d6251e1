package api_test

import (
	"context"
	"encoding/base64"
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

// A TRE admin of its own group, in no reviewer group.
var treAdmin = egress.Identity{Subject: "sub-admin", Email: "admin@example.org", Name: "Ada Admin", Groups: []string{"EgressAdmins"}}

// queueEnv stores requests at the IG stage (PROCESSING) and the RIT stage
// (IGAPPROVED), requested in shuffled order, and others that await
// nothing or another group. It returns the two stages' ids, oldest first.
func queueEnv(t *testing.T) (e *env, ig, rit []string) {
	t.Helper()
	e = researcherEnv(t)
	e.svc.AdminGroups = []string{"EgressAdmins"}
	at := func(minutes int) time.Time { return now.Add(-time.Duration(minutes) * time.Minute) }
	var rs []egress.Request
	add := func(id string, st egress.Status, minutes int, change func(*egress.Request)) {
		r := egress.Request{ID: id, Status: st, RequestedAt: at(minutes), UpdatedAt: at(minutes), WorkspaceID: "ws-1", ProjectID: "proj-1"}
		if change != nil {
			change(&r)
		}
		rs = append(rs, r)
	}
	for i, m := range []int{30, 500, 90, 7, 260} {
		add(fmt.Sprintf("q-ig-%d", i), egress.StatusProcessing, m, nil)
	}
	for i, m := range []int{45, 900, 5, 300} {
		add(fmt.Sprintf("q-rit-%d", i), egress.StatusIGApproved, m, nil)
	}
	// Awaiting nothing: released under single approval, or finished.
	add("q-single-released", egress.StatusIGApproved, 600, func(r *egress.Request) {
		r.SingleApproval, r.ZipKey = true, e.zipKey
	})
	add("q-rejected", egress.StatusRejected, 20, nil)
	add("q-released", egress.StatusRITApproved, 40, func(r *egress.Request) { r.ZipKey = e.zipKey })
	// Its own chain's second stage is another group's: the admin's only.
	add("q-other-group", egress.StatusIGApproved, 100, func(r *egress.Request) {
		r.Stages = []egress.StageSpec{{Name: "IG", Group: egress.GroupIG}, {Name: "DM", Group: "DataManagers"}}
	})
	if err := requeststest.Put(context.Background(), e.db, e.requestsTable, rs); err != nil {
		t.Fatal(err)
	}
	oldestFirst := func(prefix string) []string {
		var mine []egress.Request
		for _, r := range rs {
			if strings.HasPrefix(r.ID, prefix) {
				mine = append(mine, r)
			}
		}
		slices.SortFunc(mine, func(a, b egress.Request) int { return a.RequestedAt.Compare(b.RequestedAt) })
		var ids []string
		for _, r := range mine {
			ids = append(ids, r.ID)
		}
		return ids
	}
	e.ops.reset()
	return e, oldestFirst("q-ig-"), oldestFirst("q-rit-")
}

// reviewQueue lists each caller's stages in chain order, oldest requested
// first within a stage, page by page across the stage boundary, with one
// Query per page or per status crossed and never a Scan.
func TestReviewQueue(t *testing.T) {
	e, ig, rit := queueEnv(t)
	// The admin also sees the request another group's stage awaits, in
	// its place by time (100 minutes ago).
	ritAdmin := slices.Insert(slices.Clone(rit), 2, "q-other-group")
	researcher := egress.Identity{Subject: "sub-res", Email: "res@example.org", Name: "Res", UserID: "u-res", Groups: []string{researcherGroup}}
	tests := []struct {
		name  string
		who   egress.Identity
		limit int
		want  []string
		// The index partitions read, and the requests in them left out
		// (awaiting nothing, or another group): each may cost one Query.
		statuses, skipped int
		err               string
	}{
		{"IG, one page", igReviewer, 0, ig, 1, 0, ""},
		{"IG, pages of 2", igReviewer, 2, ig, 1, 0, ""},
		{"RIT", ritReviewer, 3, rit, 1, 2, ""},
		{"both groups", bothGroups, 4, append(slices.Clone(ig), rit...), 2, 2, ""},
		{"admin, pages of 3 across the stage boundary", treAdmin, 3, append(slices.Clone(ig), ritAdmin...), 2, 1, ""},
		{"admin, one page", treAdmin, 1000, append(slices.Clone(ig), ritAdmin...), 2, 1, ""},
		{"researcher", researcher, 0, nil, 0, 0, egress.EFORBIDDEN},
		{"no group", noGroup, 0, nil, 0, 0, egress.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ops.reset()
			var got []string
			token, pages := "", 0
			for {
				args := map[string]any{}
				if tt.limit > 0 {
					args["limit"] = tt.limit
				}
				if token != "" {
					args["nextToken"] = token
				}
				out, err := e.call(tt.who, "Query", "reviewQueue", args, nil)
				if tt.err != "" {
					if errorType(err) != tt.err {
						t.Fatalf("err %v, want %s", err, tt.err)
					}
					// The same refusal as the other reviewer queries.
					_, other := e.call(tt.who, "Query", "requests", nil, nil)
					if err.Error() != other.Error() {
						t.Errorf("refused with %q, requests with %q", err, other)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var page struct {
					Items []struct {
						ID string `json:"egress_request_id"`
					} `json:"items"`
					NextToken string `json:"nextToken"`
				}
				if err := json.Unmarshal(out, &page); err != nil {
					t.Fatal(err)
				}
				pages++
				if tt.limit > 0 && len(page.Items) > tt.limit {
					t.Fatalf("page %d has %d items, limit %d", pages, len(page.Items), tt.limit)
				}
				for _, it := range page.Items {
					got = append(got, it.ID)
				}
				if token = page.NextToken; token == "" {
					break
				}
				if pages > 50 {
					t.Fatal("paging never ends")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("queue\n got %v\nwant %v", got, tt.want)
			}
			ops := e.ops.reset()
			if most := pages + tt.statuses + tt.skipped; ops["Query"] == 0 || ops["Query"] > most || len(ops) != 1 {
				t.Errorf("%d pages read with %v, want at most %d Queries and nothing else", pages, ops, most)
			}
		})
	}
}

// A queue token says where it stopped and is bound to the caller's queue:
// made up, edited, another listing's or another caller's is a
// ValidationError.
func TestReviewQueueTokens(t *testing.T) {
	e, _, _ := queueEnv(t)
	ctx := context.Background()
	first, err := e.svc.ReviewQueue(ctx, treAdmin, 6, "")
	if err != nil || len(first.Requests) != 6 || first.NextToken == "" {
		t.Fatalf("admin's first page: %d requests, token %q, %v", len(first.Requests), first.NextToken, err)
	}
	// The admin's next page starts in the RIT stage, which IG does not review.
	var tok map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(first.NextToken)
	if err := json.Unmarshal(raw, &tok); err != nil || tok["s"] != string(egress.StatusIGApproved) {
		t.Fatalf("token %s (%v): want it to name status IGAPPROVED", raw, err)
	}
	edit := func(k string, v any) string {
		m := map[string]any{}
		for k, v := range tok {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	requestsPage, err := e.svc.RequestsPage(ctx, igReviewer, api.RequestFilter{Status: egress.StatusProcessing}, 1, "")
	if err != nil || requestsPage.NextToken == "" {
		t.Fatalf("requests page: %+v %v", requestsPage, err)
	}
	tests := []struct {
		name  string
		who   egress.Identity
		token string
		want  string // in the message
	}{
		{"garbage", treAdmin, "not-a-token", "invalid next token"},
		{"another caller's stage", igReviewer, first.NextToken, "does not belong to your review queue"},
		{"status edited to one awaiting nothing", treAdmin, edit("s", string(egress.StatusRITApproved)), "does not belong to your review queue"},
		{"status edited to another stage", treAdmin, edit("s", string(egress.StatusProcessing)), "listing of IGAPPROVED requests"},
		{"store position edited", treAdmin, edit("t", "garbage"), "invalid next token"},
		{"not marked as the queue's", treAdmin, edit("q", nil), "does not belong to your review queue"},
		{"the requests query's", igReviewer, requestsPage.NextToken, "does not belong to your review queue"},
	}
	for _, tt := range tests {
		_, err := e.svc.ReviewQueue(ctx, tt.who, 6, tt.token)
		if egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(egress.ErrorMessage(err), tt.want) {
			t.Errorf("%s: err %v, want %s saying %q", tt.name, err, egress.EINVALID, tt.want)
		}
	}
	// And the other way: requests refuses the queue's token.
	if _, err := e.svc.RequestsPage(ctx, ritReviewer, api.RequestFilter{}, 5, first.NextToken); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("requests took the queue's token: %v", err)
	}
	if _, err := e.call(igReviewer, "Query", "reviewQueue", map[string]any{"limit": 0}, nil); errorType(err) != egress.EINVALID {
		t.Errorf("limit 0: %v", err)
	}
	if _, err := e.svc.ReviewQueue(ctx, igReviewer, -1, ""); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("limit -1: %v", err)
	}
}
