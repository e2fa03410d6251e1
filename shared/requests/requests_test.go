package requests

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/tre-egress/egress/shared/egress"
)

func TestCreateGetRoundTrip(t *testing.T) {
	s, _ := newRequests(t)
	full := fullRequest("req-full")
	// Every field of the full request is set, so a field added to
	// egress.Request and not stored fails here.
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fullRequest leaves %s unset", v.Type().Field(i).Name)
		}
	}
	tests := []struct {
		name string
		in   egress.Request
	}{
		{"every field", full},
		{"intake minimum", minimalRequest("req-min", ms("2026-11-20T09:14:03.512Z"))},
		{"sub-millisecond times are truncated", func() egress.Request {
			r := minimalRequest("req-ns", ms("2026-11-20T09:14:03.512999999Z"))
			r.Reviews = []egress.Review{} // stored as none
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := create(t, s, tt.in)
			want := tt.in
			want.Version = 1
			want.RequestedAt = want.RequestedAt.Truncate(time.Millisecond)
			want.UpdatedAt = want.UpdatedAt.Truncate(time.Millisecond)
			if len(want.Reviews) == 0 {
				want.Reviews = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Get after Create:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestCreateReplay(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	first := create(t, s, minimalRequest("req-replay", ms("2026-11-20T09:00:00.000Z")))

	replay := minimalRequest("req-replay", ms("2026-11-20T09:30:00.000Z"))
	replay.StoreName = "changed"
	created, err := s.Create(ctx, replay)
	if err != nil || created {
		t.Fatalf("replayed Create = %v, %v; want false, nil", created, err)
	}
	got, err := s.Get(ctx, "req-replay")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("replay changed the request:\n got %+v\nwant %+v", got, first)
	}
	events, err := verifiedEvents(t, s, "req-replay")
	if err != nil {
		t.Fatal(err)
	}
	want := []egress.Event{{RequestID: "req-replay", Workspace: first.WorkspaceID, Project: first.ProjectID, At: first.UpdatedAt, Kind: egress.EventCreated,
		Actor: "researcher@example.org", To: egress.StatusProcessing}}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("events = %+v, want %+v", events, want)
	}
}

func TestCreateInvalid(t *testing.T) {
	s, _ := newRequests(t)
	at := ms("2026-11-20T09:00:00.000Z")
	tests := []struct {
		name string
		edit func(*egress.Request)
	}{
		{"no id", func(r *egress.Request) { r.ID = "" }},
		{"unknown status", func(r *egress.Request) { r.Status = "PENDING" }},
		{"no status", func(r *egress.Request) { r.Status = "" }},
		{"no requested time", func(r *egress.Request) { r.RequestedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := minimalRequest("req-invalid", at)
			tt.edit(&r)
			_, err := s.Create(context.Background(), r)
			wantCode(t, err, egress.EINVALID)
		})
	}
}

func TestGetMissing(t *testing.T) {
	s, _ := newRequests(t)
	_, err := s.Get(context.Background(), "no-such-request")
	wantCode(t, err, egress.ENOTFOUND)
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	at := ms("2026-11-20T09:00:00.000Z")
	tests := []struct {
		name      string
		changedBy bool                    // someone else updates the stored request first
		edit      func(r *egress.Request) // applied to the request before Update
		wantCode  string
	}{
		{"current version", false, func(r *egress.Request) {}, ""},
		{"stale version", true, func(r *egress.Request) {}, egress.ECONFLICT},
		{"version ahead", false, func(r *egress.Request) { r.Version = 5 }, egress.ECONFLICT},
		{"never stored version", false, func(r *egress.Request) { r.Version = 0 }, egress.EINVALID},
		{"missing request", false, func(r *egress.Request) { r.ID += "-none" }, egress.ENOTFOUND},
		{"unknown status", false, func(r *egress.Request) { r.Status = "DONE" }, egress.EINVALID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := create(t, s, minimalRequest(fmt.Sprintf("req-update-%d", i), at))
			stored := read
			if tt.changedBy {
				other := read
				other.FailureCause = "changed by someone else"
				var err error
				if stored, err = s.Update(ctx, other, egress.Event{Kind: egress.EventTransition, At: at}); err != nil {
					t.Fatal(err)
				}
			}
			r := read
			r.Status = egress.StatusIGApproved
			r.UpdatedAt = at.Add(time.Hour)
			r.UpdatedBy = "ig@example.org"
			r.CurrentReviewerGroup = egress.GroupRIT
			tt.edit(&r)
			ev := egress.Event{At: r.UpdatedAt, Kind: egress.EventDecision, Actor: "ig@example.org",
				From: read.Status, To: r.Status, Stage: "IG", Reason: "looks fine"}
			got, err := s.Update(ctx, r, ev)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				after, err := s.Get(ctx, read.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(after, stored) {
					t.Errorf("refused Update changed the request:\n got %+v\nwant %+v", after, stored)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := r
			want.Version = read.Version + 1
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Update returned\n %+v\nwant %+v", got, want)
			}
			after, err := s.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after, want) {
				t.Errorf("Get after Update\n %+v\nwant %+v", after, want)
			}
			events, err := verifiedEvents(t, s, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			ev.RequestID, ev.Workspace, ev.Project = r.ID, r.WorkspaceID, r.ProjectID
			if len(events) != 2 || !reflect.DeepEqual(events[1], ev) {
				t.Errorf("events = %+v, want CREATED then %+v", events, ev)
			}
		})
	}
}

func TestUpdateRejectsEventOfAnotherRequest(t *testing.T) {
	s, _ := newRequests(t)
	r := create(t, s, minimalRequest("req-own-event", ms("2026-11-20T09:00:00.000Z")))
	_, err := s.Update(context.Background(), r, egress.Event{RequestID: "req-other", Kind: egress.EventTransition})
	wantCode(t, err, egress.EINVALID)
}

// A download counted after the caller read the request must not be undone
// by the caller's update.
func TestUpdateKeepsDownloadCount(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	r := release(t, s, create(t, s, minimalRequest("req-keep-count", ms("2026-11-20T09:00:00.000Z"))))
	if _, err := s.IncrementDownloads(ctx, r.ID, 5, "ig@example.org"); err != nil {
		t.Fatal(err)
	}
	r.FailureCause = "later change" // r still says DownloadCount 0
	if _, err := s.Update(ctx, r, egress.Event{Kind: egress.EventTransition}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DownloadCount != 1 || got.FailureCause != "later change" {
		t.Errorf("after update: download count %d, failure cause %q; want 1, %q", got.DownloadCount, got.FailureCause, "later change")
	}
}

// Two reviewers deciding from the same read: exactly one wins.
func TestUpdateConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	for round := range 10 {
		read := create(t, s, minimalRequest(fmt.Sprintf("req-race-%d", round), ms("2026-11-20T09:00:00.000Z")))
		outcomes := []egress.Status{egress.StatusIGApproved, egress.StatusRejected}
		errs := make([]error, len(outcomes))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, to := range outcomes {
			wg.Go(func() {
				r := read
				r.Status = to
				<-start
				_, errs[i] = s.Update(ctx, r, egress.Event{Kind: egress.EventDecision, From: read.Status, To: to})
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: both updates succeeded", round)
				}
				winner = i
				continue
			}
			wantCode(t, err, egress.ECONFLICT)
		}
		if winner < 0 {
			t.Fatalf("round %d: no update succeeded: %v", round, errs)
		}
		got, err := s.Get(ctx, read.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != outcomes[winner] || got.Version != 2 {
			t.Errorf("round %d: stored %s version %d, want the winner's %s version 2", round, got.Status, got.Version, outcomes[winner])
		}
		events, err := verifiedEvents(t, s, read.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[1].To != outcomes[winner] {
			t.Errorf("round %d: events = %+v, want CREATED and the winner's", round, events)
		}
	}
}

func TestIncrementDownloads(t *testing.T) {
	ctx := context.Background()
	s, db := newRequests(t)
	at := ms("2026-11-20T09:00:00.000Z")
	released := func(id string) string {
		return release(t, s, create(t, s, minimalRequest(id, at))).ID
	}
	tests := []struct {
		name   string
		id     string
		limit  int
		calls  int    // downloads attempted
		counts []int  // counts returned by the successful ones
		last   string // error code of the last attempt, "" for success
	}{
		{"up to the limit", released("req-dl-limit"), 3, 4, []int{1, 2, 3}, egress.ELIMIT},
		{"limit one", released("req-dl-one"), 1, 2, []int{1}, egress.ELIMIT},
		{"not released", create(t, s, minimalRequest("req-dl-unreleased", at)).ID, 3, 1, nil, egress.ECONFLICT},
		{"missing request", "req-dl-none", 3, 1, nil, egress.ENOTFOUND},
		{"zero limit", released("req-dl-zero"), 0, 1, nil, egress.EINVALID},
		{"revoked", revoked(t, s, "req-dl-revoked", at), 3, 1, nil, egress.ECONFLICT},
		{"count attribute absent", func() string {
			id := released("req-dl-absent")
			_, err := db.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(s.table), Key: requestKey(id), UpdateExpression: aws.String("REMOVE download_count"),
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}(), 2, 2, []int{1, 2}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var counts []int
			var err error
			for range tt.calls {
				var n int
				if n, err = s.IncrementDownloads(ctx, tt.id, tt.limit, "ig@example.org"); err == nil {
					counts = append(counts, n)
				}
			}
			if tt.last == "" && err != nil {
				t.Fatalf("last download: %v", err)
			}
			if tt.last != "" {
				wantCode(t, err, tt.last)
			}
			if !reflect.DeepEqual(counts, tt.counts) {
				t.Errorf("counts = %v, want %v", counts, tt.counts)
			}
		})
	}
}

func TestIncrementDownloadsLimitMessage(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	r := release(t, s, create(t, s, minimalRequest("req-dl-msg", ms("2026-11-20T09:00:00.000Z"))))
	if _, err := s.IncrementDownloads(ctx, r.ID, 1, "ig@example.org"); err != nil {
		t.Fatal(err)
	}
	_, err := s.IncrementDownloads(ctx, r.ID, 1, "ig@example.org")
	if got, want := egress.ErrorMessage(err), "download limit of 1 reached"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// revoked stores a released request as REVOKED and returns its id.
func revoked(t *testing.T, s *Table, id string, at time.Time) string {
	t.Helper()
	r := release(t, s, create(t, s, minimalRequest(id, at)))
	r.Status = egress.StatusRITApproved
	r, _, err := egress.Revoke(r, egress.DefaultChain(false), egress.Identity{Email: "admin@example.org"}, "breach", at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(context.Background(), r, egress.Event{Kind: egress.EventRevoked, Actor: "admin@example.org", At: at}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A revoked request is refused by the count's own condition, whatever the
// caller read before, with a message saying why.
func TestIncrementDownloadsRevoked(t *testing.T) {
	s, _ := newRequests(t)
	id := revoked(t, s, "req-dl-revoked-msg", ms("2026-11-20T09:00:00.000Z"))
	_, err := s.IncrementDownloads(context.Background(), id, 3, "ig@example.org")
	wantCode(t, err, egress.ECONFLICT)
	if got := egress.ErrorMessage(err); !strings.Contains(got, "was revoked") {
		t.Errorf("message = %q, want it to say the request was revoked", got)
	}
	got, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.DownloadCount != 0 {
		t.Errorf("download count = %d after a refused download", got.DownloadCount)
	}
}

// Twenty browsers racing for the only download: exactly one wins.
func TestIncrementDownloadsConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	r := release(t, s, create(t, s, minimalRequest("req-dl-race", ms("2026-11-20T09:00:00.000Z"))))
	const n = 20
	counts, errs := make([]int, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			counts[i], errs[i] = s.IncrementDownloads(ctx, r.ID, 1, fmt.Sprintf("ig%d@example.org", i))
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			if counts[i] != 1 {
				t.Errorf("winner got count %d, want 1", counts[i])
			}
			continue
		}
		wantCode(t, err, egress.ELIMIT)
	}
	if ok != 1 {
		t.Fatalf("%d downloads succeeded, want exactly 1", ok)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DownloadCount != 1 {
		t.Errorf("stored download count %d, want 1", got.DownloadCount)
	}
	events, err := verifiedEvents(t, s, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	downloads := 0
	for _, e := range events {
		if e.Kind == egress.EventDownload {
			downloads++
		}
	}
	if downloads != 1 {
		t.Errorf("%d DOWNLOAD events, want 1", downloads)
	}
}

// The audit trail of a whole life, in order, with who, when, from, to,
// stage and reason.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now.Add(72 * time.Hour) }
	r := create(t, s, minimalRequest("req-audit", now))

	r.TaskToken, r.CurrentReviewerGroup = "tok", egress.GroupIG
	r, err := s.Update(ctx, r, egress.Event{At: now.Add(time.Minute), Kind: egress.EventTaskToken,
		Actor: egress.ActorWorkflow, Stage: "IG"})
	if err != nil {
		t.Fatal(err)
	}
	ig := egress.Identity{Subject: "sub-ig", Email: "ig@example.org", Name: "Ida", Groups: []string{egress.GroupIG}}
	decided, ev, err := egress.DefaultChain(true).Decide(r, ig, egress.Approved, "fine", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r, err = s.Update(ctx, decided, ev); err != nil {
		t.Fatal(err)
	}
	r = release(t, s, r)
	if _, err := s.IncrementDownloads(ctx, r.ID, 3, "ig@example.org"); err != nil {
		t.Fatal(err)
	}

	got, err := verifiedEvents(t, s, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []egress.Event{
		{Kind: egress.EventCreated, At: now, Actor: "researcher@example.org", To: egress.StatusProcessing},
		{Kind: egress.EventTaskToken, At: now.Add(time.Minute), Actor: egress.ActorWorkflow, Stage: "IG"},
		{Kind: egress.EventDecision, At: now.Add(time.Hour), Actor: "ig@example.org",
			From: egress.StatusProcessing, To: egress.StatusIGApproved, Stage: "IG", Reason: "fine"},
		{Kind: egress.EventReleased, At: ms("2026-11-22T08:00:00.000Z"), Actor: egress.ActorWorkflow},
		{Kind: egress.EventDownload, At: now.Add(72 * time.Hour), Actor: "ig@example.org",
			From: egress.StatusIGApproved, To: egress.StatusIGApproved, Reason: "download 1 of 3"},
	}
	for i := range want {
		want[i].RequestID, want[i].Workspace, want[i].Project = r.ID, r.WorkspaceID, r.ProjectID
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}

// TestAddEventOnce: any number of callers, at once or later, record one
// event, placed after the version it follows whatever was written since,
// and the request itself is not changed.
func TestAddEventOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := create(t, s, minimalRequest("req-once", now))
	r.TaskToken, r.CurrentReviewerGroup = "tok", egress.GroupIG
	if _, err := s.Update(ctx, r, egress.Event{At: now.Add(time.Hour), Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, Stage: "IG"}); err != nil {
		t.Fatal(err)
	}
	started := egress.Event{RequestID: r.ID, At: now.Add(time.Minute), Kind: egress.EventStarted, Actor: egress.ActorWorkflow,
		From: egress.StatusProcessing, To: egress.StatusProcessing, Reason: "execution arn"}
	var added sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 20 {
		added.Go(func() {
			ok, err := s.AddEventOnce(ctx, started, 1)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				n++
			}
		})
	}
	added.Wait()
	if again, err := s.AddEventOnce(ctx, started, 1); err != nil || again {
		t.Fatalf("a later call added %v, %v", again, err)
	}
	if n != 1 {
		t.Fatalf("%d callers added the event, want 1", n)
	}
	got, err := verifiedEvents(t, s, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{egress.EventCreated, egress.EventStarted, egress.EventTaskToken}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	want := started
	want.Workspace, want.Project = r.WorkspaceID, r.ProjectID // filled in from the request
	if got[1] != want {
		t.Errorf("event %+v, want %+v", got[1], want)
	}
	if stored, err := s.Get(ctx, r.ID); err != nil || stored.Version != 2 {
		t.Fatalf("request at version %d (%v), want 2", stored.Version, err)
	}
	for _, bad := range []struct {
		ev    egress.Event
		after int64
	}{{egress.Event{Kind: egress.EventStarted}, 1}, {egress.Event{RequestID: r.ID}, 1}, {started, 0}} {
		_, err := s.AddEventOnce(ctx, bad.ev, bad.after)
		wantCode(t, err, egress.EINVALID)
	}
}

// TestAddEvent: previews are recorded each time, concurrent ones with the
// same time included, after the version they were made at and in time
// order there, without changing the request.
func TestAddEvent(t *testing.T) {
	ctx := context.Background()
	s, db := newRequests(t)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now.Add(3 * time.Minute) }
	r := create(t, s, minimalRequest("req-preview", now))
	r.TaskToken, r.CurrentReviewerGroup = "tok", egress.GroupIG
	if _, err := s.Update(ctx, r, egress.Event{At: now.Add(time.Hour), Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, Stage: "IG"}); err != nil {
		t.Fatal(err)
	}
	preview := func(at time.Time, path string) egress.Event {
		return egress.Event{RequestID: r.ID, At: at, Kind: egress.EventPreview, Actor: "ig@example.org",
			From: egress.StatusProcessing, To: egress.StatusProcessing, Stage: "IG", Reason: "previewed " + path}
	}
	// Written out of time order; the trail orders them.
	if err := s.AddEvent(ctx, preview(now.Add(2*time.Minute), "b.csv"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, preview(time.Time{}, "c.csv"), 1); err != nil { // now: minute 3
		t.Fatal(err)
	}
	db.reset()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := s.AddEvent(ctx, preview(now.Add(time.Minute), "a.csv"), 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Each preview reads the head and chains itself on in a transaction,
	// again when another moved the head first.
	if ops := db.reset(); ops["TransactWriteItems"] < 10 || ops["GetItem"] < 10 || len(ops) != 2 {
		t.Errorf("operations %v, want at least 10 GetItem and TransactWriteItems only", ops)
	}
	got, err := verifiedEvents(t, s, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range got {
		trail = append(trail, e.Kind+" "+e.Reason)
	}
	want := []string{egress.EventCreated + " "}
	for range 10 {
		want = append(want, "PREVIEW previewed a.csv")
	}
	want = append(want, "PREVIEW previewed b.csv", "PREVIEW previewed c.csv", egress.EventTaskToken+" ")
	if !reflect.DeepEqual(trail, want) {
		t.Fatalf("trail\n%v\nwant\n%v", trail, want)
	}
	wantPreview := preview(now.Add(time.Minute), "a.csv")
	wantPreview.Workspace = r.WorkspaceID
	if got[12].At != now.Add(3*time.Minute) || got[1] != wantPreview {
		t.Errorf("events %+v, %+v", got[1], got[12])
	}
	if stored, err := s.Get(ctx, r.ID); err != nil || stored.Version != 2 {
		t.Fatalf("request at version %d (%v), want 2", stored.Version, err)
	}
	for _, bad := range []struct {
		name  string
		ev    egress.Event
		after int64
	}{
		{"no request", egress.Event{Kind: egress.EventPreview}, 1},
		{"no kind", egress.Event{RequestID: r.ID}, 1},
		{"no version", preview(now, "a.csv"), 0},
	} {
		t.Run(bad.name, func(t *testing.T) {
			wantCode(t, s.AddEvent(ctx, bad.ev, bad.after), egress.EINVALID)
		})
	}
}
