package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/requests/requeststest"
)

const (
	listTable  = "bench-requests"
	listEvents = "bench-request-events"
	firstPage  = 50 // the frontend's page
	// Each listing runs listRepeats times, or fewer once it has taken
	// listBudget (a full scan of 100,000 requests takes seconds); the
	// median counts.
	listRepeats = 5
	listBudget  = 10 * time.Second
)

// inFlight are the statuses awaiting a decision, in the frontend's order.
var inFlight = []egress.Status{egress.StatusProcessing, egress.StatusIGApproved}

// statusMix is how the stored requests are spread over statuses: most
// finished long ago, a few percent in flight.
var statusMix = []struct {
	status egress.Status
	weight int
}{
	{egress.StatusProcessing, 2}, {egress.StatusIGApproved, 1}, {egress.StatusRITApproved, 70},
	{egress.StatusRejected, 20}, {egress.StatusFailed, 5}, {egress.StatusExpired, 2},
}

// runListing measures scenario 4 on a table of 100,000 requests: the first
// page (the 50 newest requests awaiting IG) and every in-flight request,
// read through the by-status index (requests.Requests.List) and with a full
// Scan filtered on status, which is what the original listRequests did.
// Both sides must return the same requests.
func runListing(ctx context.Context, env *Env) ([]Row, error) {
	db, err := env.DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	if err := requests.CreateTables(ctx, db, listTable, listEvents); err != nil {
		return nil, err
	}
	n := int(env.scaled(100_000, 2000)) // at least 50 in flight
	want, err := fillRequests(ctx, db, n)
	if err != nil {
		return nil, err
	}
	env.Logf("listing: %d requests stored, %d in flight", n, len(want))
	reqs := requests.NewTable(db, listTable, listEvents)
	wantFirst := want[:min(firstPage, len(want))]

	measures := []struct {
		name     string
		ours     func() ([]string, error)
		baseline func() ([]string, error)
		check    func([]string) error
		goal     *Goal
		baseName string
	}{
		{fmt.Sprintf("first page (%d newest in flight) of %d requests", firstPage, n),
			func() ([]string, error) { return listInFlight(ctx, reqs, firstPage) },
			func() ([]string, error) { return scanInFlight(ctx, db, firstPage, true) },
			same(wantFirst, true), ratioAtLeast(20), "full Scan (64 parallel segments) filtered on status, sorted newest first"},
		{fmt.Sprintf("all %d in flight of %d requests", len(want), n),
			func() ([]string, error) { return listInFlight(ctx, reqs, 0) },
			func() ([]string, error) { return scanInFlight(ctx, db, 0, true) },
			same(want, false), nil, "full Scan (64 parallel segments) filtered on status"},
		{fmt.Sprintf("first %d in flight found, any order", firstPage),
			func() ([]string, error) { return listInFlight(ctx, reqs, firstPage) },
			func() ([]string, error) { return scanInFlight(ctx, db, firstPage, false) },
			count(len(wantFirst)), nil, "Scan filtered on status, segment after segment, stopped at 50 matches"},
	}
	// Untimed: let DynamoDB Local's JVM compile its query and scan paths.
	if _, err := listInFlight(ctx, reqs, 0); err != nil {
		return nil, err
	}
	if _, err := scanInFlight(ctx, db, 0, true); err != nil {
		return nil, err
	}
	var rows []Row
	for _, m := range measures {
		ours, err := timeMedian(listRepeats, m.ours, m.check)
		if err != nil {
			return nil, fmt.Errorf("%s via the index: %w", m.name, err)
		}
		base, err := timeMedian(listRepeats, m.baseline, m.check)
		if err != nil {
			return nil, fmt.Errorf("%s via Scan: %w", m.name, err)
		}
		env.Logf("listing: %s: %s vs %s", m.name, ours, base)
		rows = append(rows, newRow(Row{Scenario: "4 Listing", Name: m.name + ": by-status index query",
			Ours: ms(ours), Baseline: ms(base), Unit: "ms", BaseName: m.baseName, Speedup: true, Goal: m.goal,
			Note: fmt.Sprintf("median of up to %d runs (fewer for runs of seconds); both sides return the same requests", listRepeats)}))
	}
	rows[len(rows)-1].Note = "for comparison only: Scan order is hash order, so a Scan stopped early returns some in-flight requests, not the newest page the frontend shows; the original listRequests scanned the whole table"
	return rows, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timeMedian runs f n times, or fewer once listBudget is spent, checks
// every result and returns the median time.
func timeMedian(n int, f func() ([]string, error), check func([]string) error) (time.Duration, error) {
	var times []time.Duration
	var spent time.Duration
	for len(times) < n && spent < listBudget {
		start := time.Now()
		got, err := f()
		d := time.Since(start)
		times, spent = append(times, d), spent+d
		if err == nil {
			err = check(got)
		}
		if err != nil {
			return 0, err
		}
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// same checks that a listing returned exactly want, in order if ordered.
func same(want []string, ordered bool) func([]string) error {
	if !ordered {
		want = slices.Sorted(slices.Values(want))
	}
	return func(got []string) error {
		if !ordered {
			got = slices.Sorted(slices.Values(got))
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("got %d requests, want %d (or not the same ones, or not in order)", len(got), len(want))
		}
		return nil
	}
}

// count checks that a listing returned n requests.
func count(n int) func([]string) error {
	return func(got []string) error {
		if len(got) != n {
			return fmt.Errorf("got %d requests, want %d", len(got), n)
		}
		return nil
	}
}

// listInFlight pages through the in-flight statuses with List, as the API
// does, and returns the ids: up to limit of them, or all when limit is 0.
func listInFlight(ctx context.Context, reqs *requests.Table, limit int) ([]string, error) {
	var ids []string
	for _, st := range inFlight {
		q := egress.ListQuery{Status: st, Limit: egress.MaxListLimit}
		for {
			if limit > 0 {
				q.Limit = limit - len(ids)
			}
			page, err := reqs.List(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Requests {
				ids = append(ids, r.ID)
			}
			if limit > 0 && len(ids) >= limit {
				return ids, nil
			}
			if page.NextToken == "" {
				break
			}
			q.NextToken = page.NextToken
		}
	}
	return ids, nil
}

// scanned is what the baseline decodes of each item.
type scanned struct {
	ID     string `dynamodbav:"egress_request_id"`
	Status string `dynamodbav:"egress_status"`
	Key    string `dynamodbav:"requested_key"`
}

// scanSegments splits the baseline's full scan into segments read at once.
// DynamoDB Local serves a Scan page in time proportional to what is left
// of its segment, so one sequential scan of 100,000 requests takes minutes
// there (quadratic) where DynamoDB's is linear; 64 segments keep that
// artifact small and make the baseline the fastest full scan there is.
const scanSegments = 64

// scanInFlight scans the whole table with a status filter. With ordered,
// it reads every segment at once and returns the in-flight ids in the
// index's order (status, then newest first), up to limit (all when 0);
// without, it reads segment after segment and stops as soon as limit
// matches are found.
func scanInFlight(ctx context.Context, db *dynamodb.Client, limit int, ordered bool) ([]string, error) {
	var found []scanned
	if ordered {
		parts := make([][]scanned, scanSegments)
		errs := make([]error, scanSegments)
		var wg sync.WaitGroup
		for seg := range parts {
			wg.Go(func() { parts[seg], errs[seg] = scanSegment(ctx, db, int32(seg), 0) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		found = slices.Concat(parts...)
		rank := map[string]int{}
		for i, st := range inFlight {
			rank[string(st)] = i
		}
		sort.Slice(found, func(i, j int) bool {
			a, b := found[i], found[j]
			return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), -cmp.Compare(a.Key, b.Key)) < 0
		})
	} else {
		for seg := int32(0); seg < scanSegments && len(found) < limit; seg++ {
			part, err := scanSegment(ctx, db, seg, limit-len(found))
			if err != nil {
				return nil, err
			}
			found = append(found, part...)
		}
	}
	if limit > 0 {
		found = found[:min(limit, len(found))]
	}
	ids := make([]string, len(found))
	for i, s := range found {
		ids[i] = s.ID
	}
	return ids, nil
}

// scanSegment reads segment seg of the table, filtered on the in-flight
// statuses, page by page; with enough > 0 it stops once it has that many.
func scanSegment(ctx context.Context, db *dynamodb.Client, seg int32, enough int) ([]scanned, error) {
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                aws.String(listTable),
		Segment:                  aws.Int32(seg),
		TotalSegments:            aws.Int32(scanSegments),
		FilterExpression:         aws.String("#s IN (:p, :i)"),
		ExpressionAttributeNames: map[string]string{"#s": requests.AttrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": &types.AttributeValueMemberS{Value: string(inFlight[0])},
			":i": &types.AttributeValueMemberS{Value: string(inFlight[1])},
		},
	})
	var found []scanned
	for p.HasMorePages() && (enough == 0 || len(found) < enough) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan segment %d: %w", seg, err)
		}
		var items []scanned
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, err
		}
		found = append(found, items...)
	}
	return found, nil
}

// fillRequests stores n requests spread over statusMix and the last three
// years, and returns the in-flight ids in the index's order. Items are
// copies of one request stored by requests.Requests.Create, so they are
// exactly what the store writes and reads.
func fillRequests(ctx context.Context, db *dynamodb.Client, n int) ([]string, error) {
	reqs := requests.NewTable(db, listTable, listEvents)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tmpl := egress.Request{
		ID: "template", StoreName: "results", StoreID: "ws-0001", ProjectID: "Project-Bench", WorkspaceID: "ws-0001",
		RequestedBy: "u-researcher", RequestedByEmail: "researcher@example.org", RequestedAt: now, UpdatedBy: "u-researcher", UpdatedAt: now,
		Status: egress.StatusProcessing, StoreBucket: "swb-egress-store", StoreBucketPath: "ws-0001/",
		ObjectListLocation:       "arn:aws:s3:::swb-egress-notification/ws-0001/results-ver1.json",
		SWBObjectMetadataVersion: "1", StagingObjectMetadataVersion: "ws-0001/template/manifest.json",
		CurrentReviewerGroup: egress.GroupIG, TaskToken: "AQCEAAAAKgAAAAMAAAAAAAAAAbench-token",
		Reviews: []egress.Review{{Stage: "IG", Group: egress.GroupIG, Subject: "u-ig", Name: "IG Reviewer", Email: "ig@example.org",
			At: now, Decision: egress.Approved}},
		ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:egress:template",
	}
	if _, err := reqs.Create(ctx, tmpl); err != nil {
		return nil, err
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(listTable), Key: key(tmpl.ID)})
	if err != nil {
		return nil, err
	}
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(listTable), Key: key(tmpl.ID)}); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(5, 5))
	total := 0
	for _, s := range statusMix {
		total += s.weight
	}
	type entry struct {
		id, key string
		status  egress.Status
	}
	items := make([]map[string]types.AttributeValue, n)
	var flying []entry
	for i := range items {
		w := rng.IntN(total)
		st := statusMix[0].status
		for _, s := range statusMix {
			if w -= s.weight; w < 0 {
				st = s.status
				break
			}
		}
		at := now.Add(-time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Millisecond)
		id := fmt.Sprintf("req-%08d", i)
		at8 := at.Format("2006-01-02T15:04:05.000Z")
		item := maps.Clone(out.Item)
		item[requests.AttrRequestID] = &types.AttributeValueMemberS{Value: id}
		item[requests.AttrStatus] = &types.AttributeValueMemberS{Value: string(st)}
		item["requested_dt"] = &types.AttributeValueMemberS{Value: at8}
		item[requests.AttrListKey] = &types.AttributeValueMemberS{Value: at8 + "#" + id}
		items[i] = item
		if slices.Contains(inFlight, st) {
			flying = append(flying, entry{id, at8 + "#" + id, st})
		}
	}
	if err := requeststest.BatchWrite(ctx, db, listTable, items); err != nil {
		return nil, err
	}
	sort.Slice(flying, func(i, j int) bool {
		a, b := flying[i], flying[j]
		return cmp.Or(cmp.Compare(slices.Index(inFlight, a.status), slices.Index(inFlight, b.status)), -cmp.Compare(a.key, b.key)) < 0
	})
	ids := make([]string, len(flying))
	for i, e := range flying {
		ids[i] = e.id
	}
	return ids, nil
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{requests.AttrRequestID: &types.AttributeValueMemberS{Value: id}}
}
