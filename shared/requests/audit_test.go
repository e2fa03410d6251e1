package requests

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
