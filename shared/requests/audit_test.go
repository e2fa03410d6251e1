package requests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// verifiedEvents is Events of request id after checking its chain against
// the request's head, with the chain fields cleared so tests compare
// contents.
func verifiedEvents(t *testing.T, s *Table, id string) ([]egress.Event, error) {
	t.Helper()
	events, err := s.Events(context.Background(), id)
	if err != nil {
		return nil, err
	}
	h, err := s.readHead(context.Background(), id)
	if err != nil {
		return nil, err
	}
	if err := egress.VerifyChain(h.Hash, h.Length, events); err != nil {
		t.Fatalf("audit trail of %s: %v", id, err)
	}
	for i := range events {
		events[i].Sequence, events[i].PreviousHash, events[i].Hash = 0, "", ""
	}
	return events, nil
}

// wantChain fails t unless request id's stored trail verifies, or, when
// wantSeq > 0, unless it fails naming exactly that event.
func wantChain(t *testing.T, s *Table, id string, wantSeq int64) {
	t.Helper()
	page, err := s.AuditTrail(context.Background(), id, egress.MaxListLimit, "")
	if err != nil {
		t.Fatal(err)
	}
	err = egress.VerifyChain(page.Head, page.Length, page.Events)
	var broken *egress.ChainError
	switch {
	case wantSeq == 0 && err != nil:
		t.Fatalf("audit trail of %s: %v", id, err)
	case wantSeq == 0:
	case !errors.As(err, &broken):
		t.Fatalf("audit trail of %s verified as %v; want broken at event %d", id, err, wantSeq)
	case broken.Sequence != wantSeq:
		t.Fatalf("audit trail of %s: %v; want broken at event %d", id, err, wantSeq)
	}
}

func importedHistory(id string, n int, start time.Time) []egress.Event {
	if n == 0 {
		return nil
	}
	events := []egress.Event{{At: start, Kind: egress.EventCreated, Actor: "researcher@example.org", To: egress.StatusProcessing}}
	for i := 1; i < n; i++ {
		events = append(events, egress.Event{RequestID: id, At: start.Add(time.Duration(i) * time.Minute), Kind: egress.EventDownload,
			Actor: "ig@example.org", From: egress.StatusIGApproved, To: egress.StatusIGApproved, Reason: fmt.Sprintf("download %d", i)})
	}
	return events
}

// TestImport: a request and its history are stored chained, in several
// transactions when long; a second run writes nothing; an interrupted
// one is continued.
func TestImport(t *testing.T) {
	ctx := context.Background()
	s, db := newRequests(t)
	start := ms("2026-11-20T09:00:00.000Z")
	for _, n := range []int{0, 1, 99, 250} {
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) {
			r := minimalRequest(fmt.Sprintf("req-import-%d", n), start)
			r.Status = egress.StatusIGApproved
			r.Version = 7 // ignored: stored at 1
			history := importedHistory(r.ID, n, start)
			db.reset()
			imported, err := s.Import(ctx, r, history)
			if err != nil || !imported {
				t.Fatalf("Import = %v, %v; want true", imported, err)
			}
			if ops := db.reset(); ops["TransactWriteItems"] != max(1, (n+1+99)/100) {
				t.Errorf("operations %v for %d events", ops, n)
			}
			got, err := s.Get(ctx, r.ID)
			if err != nil || got.Status != egress.StatusIGApproved || got.Version != 1 {
				t.Fatalf("stored %s at version %d (%v)", got.Status, got.Version, err)
			}
			events, err := verifiedEvents(t, s, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != n {
				t.Fatalf("%d events stored, want %d", len(events), n)
			}
			for i, e := range events {
				want := history[i]
				want.RequestID, want.Workspace, want.Project = r.ID, r.WorkspaceID, r.ProjectID
				if e != want {
					t.Fatalf("event %d = %+v, want %+v", i+1, e, want)
				}
			}
			// Second run: nothing written.
			imported, err = s.Import(ctx, r, history)
			if err != nil || imported {
				t.Fatalf("second Import = %v, %v; want false, nil", imported, err)
			}
			if ops := db.reset(); ops["TransactWriteItems"] != 1 || ops["PutItem"]+ops["UpdateItem"] != 0 {
				t.Errorf("second run: operations %v, want one refused transaction", ops)
			}
			// The chain goes on from the imported trail.
			if err := s.AddEvent(ctx, egress.Event{RequestID: r.ID, Kind: egress.EventPreview, Actor: "ig@example.org"}, 1); err != nil {
				t.Fatal(err)
			}
			wantChain(t, s, r.ID, 0)
		})
	}

	t.Run("interrupted", func(t *testing.T) {
		r := minimalRequest("req-import-cut", start)
		history := importedHistory(r.ID, 150, start)
		// As if the run stopped after its first transaction.
		s.db = &failingDB{DynamoDB: s.db, failAfter: 1}
		if _, err := s.Import(ctx, r, history); err == nil {
			t.Fatal("Import did not fail on its second transaction")
		}
		s.db = s.db.(*failingDB).DynamoDB
		if events, _ := verifiedEvents(t, s, r.ID); len(events) != 99 {
			t.Fatalf("%d events after the first transaction, want 99", len(events))
		}
		if imported, err := s.Import(ctx, r, history); err != nil || !imported {
			t.Fatalf("continued Import = %v, %v; want true", imported, err)
		}
		events, err := verifiedEvents(t, s, r.ID)
		if err != nil || len(events) != 150 {
			t.Fatalf("%d events (%v), want 150", len(events), err)
		}
		if imported, err := s.Import(ctx, r, history); err != nil || imported {
			t.Fatalf("third Import = %v, %v; want false, nil", imported, err)
		}
	})

	t.Run("already created", func(t *testing.T) {
		r := create(t, s, minimalRequest("req-import-exists", start))
		if imported, err := s.Import(ctx, r, importedHistory(r.ID, 3, start)); err != nil || imported {
			t.Fatalf("Import over a created request = %v, %v; want false, nil", imported, err)
		}
		events, err := verifiedEvents(t, s, r.ID)
		if err != nil || len(events) != 1 {
			t.Fatalf("%d events (%v), want only CREATED", len(events), err)
		}
	})

	for _, bad := range []struct {
		name   string
		r      egress.Request
		events []egress.Event
	}{
		{"no id", egress.Request{Status: egress.StatusProcessing, RequestedAt: start}, nil},
		{"bad status", egress.Request{ID: "x", Status: "NOPE", RequestedAt: start}, nil},
		{"no time", egress.Request{ID: "x", Status: egress.StatusProcessing}, nil},
		{"other request's event", minimalRequest("x", start), []egress.Event{{RequestID: "y", Kind: egress.EventCreated}}},
		{"no kind", minimalRequest("x", start), []egress.Event{{At: start}}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := s.Import(ctx, bad.r, bad.events)
			wantCode(t, err, egress.EINVALID)
		})
	}
}

// failingDB fails every TransactWriteItems after the first failAfter.
type failingDB struct {
	DynamoDB
	mu        sync.Mutex
	failAfter int
}

func (f *failingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter == 0 {
		return nil, errors.New("connection reset")
	}
	f.failAfter--
	return f.DynamoDB.TransactWriteItems(ctx, in, o...)
}

// releasedRequest creates a request and takes it through review to
// released, with previews, a started event and downloads on the way.
func releasedRequest(t *testing.T, s *Table, id string) egress.Request {
	t.Helper()
	ctx := context.Background()
	at := ms("2026-11-20T09:00:00.000Z")
	r := create(t, s, minimalRequest(id, at))
	if _, err := s.AddEventOnce(ctx, egress.Event{RequestID: id, At: at, Kind: egress.EventStarted, Actor: egress.ActorWorkflow}, 1); err != nil {
		t.Fatal(err)
	}
	r.TaskToken, r.CurrentReviewerGroup = "tok", egress.GroupIG
	r, err := s.Update(ctx, r, egress.Event{At: at.Add(time.Minute), Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow, Stage: "IG"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"a.csv", "b.csv"} {
		if err := s.AddEvent(ctx, egress.Event{RequestID: id, Kind: egress.EventPreview, Actor: "ig@example.org", Stage: "IG", Reason: path}, r.Version); err != nil {
			t.Fatal(err)
		}
	}
	r.Status, r.TaskToken, r.ZipKey = egress.StatusIGApproved, "", "approved_egress/"+id+".zip"
	r, err = s.Update(ctx, r, egress.Event{At: at.Add(time.Hour), Kind: egress.EventDecision, Actor: "ig@example.org",
		From: egress.StatusProcessing, To: egress.StatusIGApproved, Stage: "IG", Reason: "fine"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.IncrementDownloads(ctx, id, 5, "ig@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// A lifecycle with every kind of event write makes one verified chain
// 1..n whose head the request records.
func TestChainLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	releasedRequest(t, s, "req-chain")
	page, err := s.AuditTrail(ctx, "req-chain", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	seqs := map[int64]bool{}
	for _, e := range page.Events {
		kinds = append(kinds, e.Kind)
		seqs[e.Sequence] = true
		if e.Workspace != "ws" {
			t.Errorf("event %d (%s) has workspace %q, want the request's", e.Sequence, e.Kind, e.Workspace)
		}
	}
	want := []string{egress.EventCreated, egress.EventStarted, egress.EventTaskToken, egress.EventPreview, egress.EventPreview,
		egress.EventDecision, egress.EventDownload, egress.EventDownload}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("trail %v, want %v", kinds, want)
	}
	if page.Length != int64(len(want)) || len(seqs) != len(want) || page.NextToken != "" {
		t.Fatalf("length %d, %d distinct sequences, next %q; want %d, %d, none", page.Length, len(seqs), page.NextToken, len(want), len(want))
	}
	wantChain(t, s, "req-chain", 0)
}

// Previews, downloads and a workflow update racing on one request still
// make one chain, and no event is lost.
func TestChainConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	r := releasedRequest(t, s, "req-chain-race")
	before, err := s.Events(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	const previewers, previews, updates = 4, 5, 5
	var wg sync.WaitGroup
	for p := range previewers {
		wg.Go(func() {
			for i := range previews {
				ev := egress.Event{RequestID: r.ID, Kind: egress.EventPreview, Actor: "ig@example.org", Reason: fmt.Sprintf("%d/%d", p, i)}
				if err := s.AddEvent(ctx, ev, r.Version); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := s.IncrementDownloads(ctx, r.ID, 5, "ig@example.org"); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		// A writer that read the request once: head moves under it are
		// retried inside Update, so no ECONFLICT reaches it.
		cur := r
		for i := range updates {
			cur.RemindersSent = i + 1
			next, err := s.Update(ctx, cur, egress.Event{Kind: egress.EventReminder, Actor: egress.ActorWorkflow})
			if err != nil {
				t.Error(err)
				return
			}
			cur = next
		}
	})
	wg.Wait()
	after, err := s.Events(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(before) + previewers*previews + 1 + updates; len(after) != want {
		t.Fatalf("%d events, want %d", len(after), want)
	}
	wantChain(t, s, r.ID, 0)
}

// Editing any stored event is found at that event; removing the newest
// is found too.
func TestChainTamper(t *testing.T) {
	ctx := context.Background()
	s, db := newRequests(t)
	edits := []struct {
		name, attr string
		value      types.AttributeValue
		seq        int64
	}{
		{"reason", "reason", &types.AttributeValueMemberS{Value: "looks fine to me"}, 6},
		{"actor", "actor", &types.AttributeValueMemberS{Value: "someone-else@example.org"}, 4},
		{"time", "at", &types.AttributeValueMemberS{Value: "2026-11-20T09:00:00.001Z"}, 1},
		{"to status", "to_status", &types.AttributeValueMemberS{Value: string(egress.StatusRejected)}, 6},
		{"hash", "hash", &types.AttributeValueMemberS{Value: strings.Repeat("0", 64)}, 3},
		{"last event's reason", "reason", &types.AttributeValueMemberS{Value: "download 1 of 99"}, 8},
	}
	for i, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("req-tamper-%d", i)
			releasedRequest(t, s, id)
			wantChain(t, s, id, 0)
			if _, err := db.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(s.events),
				Key:                       eventKey(t, s, id, tt.seq),
				UpdateExpression:          aws.String("SET #a = :v"),
				ExpressionAttributeNames:  map[string]string{"#a": tt.attr},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": tt.value},
			}); err != nil {
				t.Fatal(err)
			}
			wantChain(t, s, id, tt.seq)
		})
	}
	for _, del := range []int64{8, 3} {
		t.Run(fmt.Sprintf("event %d deleted", del), func(t *testing.T) {
			id := fmt.Sprintf("req-tamper-del-%d", del)
			releasedRequest(t, s, id)
			if _, err := db.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.events), Key: eventKey(t, s, id, del)}); err != nil {
				t.Fatal(err)
			}
			wantChain(t, s, id, del)
		})
	}
}

// eventKey is the events table key of request id's event seq.
func eventKey(t *testing.T, s *Table, id string, seq int64) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.db.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(s.events),
		KeyConditionExpression:    aws.String("#id = :id"),
		FilterExpression:          aws.String("#seq = :seq"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrRequestID, "#seq": "sequence"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}, ":seq": &types.AttributeValueMemberN{Value: fmt.Sprint(seq)}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("event %d of %s: %d items, %v", seq, id, len(out.Items), err)
	}
	return map[string]types.AttributeValue{AttrRequestID: out.Items[0][AttrRequestID], AttrEventSeq: out.Items[0][AttrEventSeq]}
}

// AuditTrail pages with the listing conventions and refuses another
// request's token.
func TestAuditTrailPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	releasedRequest(t, s, "req-pages")
	releasedRequest(t, s, "req-pages-2")
	var all []egress.Event
	token, pages := "", 0
	for {
		page, err := s.AuditTrail(ctx, "req-pages", 3, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Events) > 3 || page.Length != 8 || page.Head == "" {
			t.Fatalf("page %d: %d events, length %d, head %q", pages, len(page.Events), page.Length, page.Head)
		}
		all = append(all, page.Events...)
		if token = page.NextToken; token == "" {
			if err := egress.VerifyChain(page.Head, page.Length, all); err != nil {
				t.Fatal(err)
			}
			break
		}
		if _, err := s.AuditTrail(ctx, "req-pages-2", 3, token); err == nil {
			t.Fatal("another request's token was accepted")
		}
	}
	if len(all) != 8 || pages < 3 {
		t.Fatalf("%d events in %d pages", len(all), pages)
	}
	for _, bad := range []struct {
		id, token string
		limit     int
		code      string
	}{
		{"req-pages", "%%%", 3, egress.EINVALID},
		{"req-pages", "", -1, egress.EINVALID},
		{"", "", 3, egress.EINVALID},
		{"req-missing", "", 3, egress.ENOTFOUND},
	} {
		_, err := s.AuditTrail(ctx, bad.id, bad.limit, bad.token)
		wantCode(t, err, bad.code)
	}
}
