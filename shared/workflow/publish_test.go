package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/auditstream"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// fakeBus is the event bus: it records every call, and may refuse a call
// or some of its entries.
type fakeBus struct {
	calls [][]egress.BusEntry
	// fail, when set, decides each call: an error for the whole call, or
	// the indexes of entries to refuse.
	fail func(call int, entries []egress.BusEntry) (map[int]string, error)
}

func (b *fakeBus) Put(_ context.Context, entries []egress.BusEntry) (map[int]string, error) {
	if len(entries) > egress.MaxBusEntries {
		return nil, fmt.Errorf("%d entries in one call", len(entries))
	}
	b.calls = append(b.calls, slices.Clone(entries))
	if b.fail != nil {
		return b.fail(len(b.calls)-1, entries)
	}
	return nil, nil
}

// published is every entry of the calls, by event id.
func (b *fakeBus) published() []string {
	var ids []string
	for _, c := range b.calls {
		for _, e := range c {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// streamRecord is the stream record of an audit event at position n of
// request id's trail.
func streamRecord(id string, n int, kind string, from, to egress.Status) events.DynamoDBEventRecord {
	s := events.NewStringAttribute
	seq := fmt.Sprintf("%020d", n)
	return events.DynamoDBEventRecord{
		EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: fmt.Sprintf("%d00", n),
			NewImage: map[string]events.DynamoDBAttributeValue{
				"egress_request_id": s(id), "seq": s(seq), "workspace_id": s("ws"), "project_id": s("p"),
				"at": s("2026-12-01T10:00:00.000Z"), "kind": s(kind), "actor": s(egress.ActorWorkflow),
				"from_status": s(string(from)), "to_status": s(string(to)), "stage": s(""), "reason": s("not published"),
				"sequence": events.NewNumberAttribute(fmt.Sprint(n)), "previous_hash": s(strings.Repeat("a", 64)), "hash": s(strings.Repeat("b", 64)),
			},
		},
	}
}

func publishHandlers(bus *fakeBus) *workflow.Handlers {
	return &workflow.Handlers{Bus: bus, Audit: auditstream.AuditStream{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// changes is n status-changing stream records of request r, at positions
// 1..n, followed by each a vote (not published).
func changes(r string, n int) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	for i := 1; i <= n; i++ {
		out = append(out, streamRecord(r, 2*i, egress.EventTransition, egress.StatusProcessing, egress.StatusIGApproved),
			streamRecord(r, 2*i+1, egress.EventVote, egress.StatusIGApproved, egress.StatusIGApproved))
	}
	return out
}

func ids(r string, positions ...int) []string {
	var out []string
	for _, n := range positions {
		out = append(out, fmt.Sprintf("%s/%020d", r, n))
	}
	return out
}

func TestPublishEvents(t *testing.T) {
	refuse := func(call int, idx ...int) func(int, []egress.BusEntry) (map[int]string, error) {
		return func(c int, _ []egress.BusEntry) (map[int]string, error) {
			if c != call {
				return nil, nil
			}
			m := map[int]string{}
			for _, i := range idx {
				m[i] = "InternalFailure"
			}
			return m, nil
		}
	}
	for _, tc := range []struct {
		name      string
		records   []events.DynamoDBEventRecord
		fail      func(int, []egress.BusEntry) (map[int]string, error)
		calls     []int    // entries per PutEvents call
		published []string // event ids sent, in order
		retryFrom string   // the batch item failure reported, "" for none
	}{
		{
			name:      "only status changes, in order",
			records:   append([]events.DynamoDBEventRecord{streamRecord("r", 1, egress.EventCreated, "", egress.StatusProcessing)}, changes("r", 2)...),
			calls:     []int{3},
			published: ids("r", 1, 2, 4),
		},
		{
			name:      "25 changes in calls of 10",
			records:   changes("r", 25),
			calls:     []int{10, 10, 5},
			published: ids("r", 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50),
		},
		{
			name: "modifications and removals are not events",
			records: func() []events.DynamoDBEventRecord {
				r := changes("r", 2)
				r[0].EventName = "MODIFY"
				r[2].EventName = "REMOVE"
				return r
			}(),
			calls:     nil,
			published: nil,
		},
		{
			name:    "a failed call retries from its first record",
			records: changes("r", 12),
			fail: func(c int, _ []egress.BusEntry) (map[int]string, error) {
				if c == 1 {
					return nil, errors.New("throttled")
				}
				return nil, nil
			},
			calls:     []int{10, 2},
			published: ids("r", 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24),
			retryFrom: "2200", // the 11th change, position 22
		},
		{
			name:      "refused entries retry from the first refused",
			records:   changes("r", 12),
			fail:      refuse(0, 7, 3),
			calls:     []int{10},
			published: ids("r", 2, 4, 6, 8, 10, 12, 14, 16, 18, 20),
			retryFrom: "800", // entry 3 of the first call: position 8
		},
		{
			name: "a record that does not decode is skipped",
			records: func() []events.DynamoDBEventRecord {
				r := changes("r", 2)
				r[0].Change.NewImage["at"] = events.NewStringAttribute("yesterday")
				return r
			}(),
			calls:     []int{1},
			published: ids("r", 4),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := &fakeBus{fail: tc.fail}
			resp, err := publishHandlers(bus).PublishEvents(context.Background(), events.DynamoDBEvent{Records: tc.records})
			if err != nil {
				t.Fatal(err)
			}
			var calls []int
			for _, c := range bus.calls {
				calls = append(calls, len(c))
			}
			if !slices.Equal(calls, tc.calls) {
				t.Errorf("calls of %v entries, want %v", calls, tc.calls)
			}
			if got := bus.published(); !slices.Equal(got, tc.published) {
				t.Errorf("published\n %v\nwant\n %v", got, tc.published)
			}
			var failures []string
			for _, f := range resp.BatchItemFailures {
				failures = append(failures, f.ItemIdentifier)
			}
			want := []string(nil)
			if tc.retryFrom != "" {
				want = []string{tc.retryFrom}
			}
			if !slices.Equal(failures, want) {
				t.Errorf("batch item failures %v, want %v", failures, want)
			}
		})
	}
}

// The detail published is the status change, and nothing else of the
// audit event (the reason stays in the trail).
func TestPublishEventsDetail(t *testing.T) {
	bus := &fakeBus{}
	rec := streamRecord("r", 3, egress.EventDecision, egress.StatusProcessing, egress.StatusRejected)
	if _, err := publishHandlers(bus).PublishEvents(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	if len(bus.calls) != 1 || len(bus.calls[0]) != 1 {
		t.Fatalf("calls %v", bus.calls)
	}
	e := bus.calls[0][0]
	if e.DetailType != "Egress Request Rejected" || !e.Time.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("detail-type %q, time %s", e.DetailType, e.Time)
	}
	var got map[string]any
	if err := json.Unmarshal(e.Detail, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"event_id": "r/00000000000000000003", "egress_request_id": "r", "workspace_id": "ws", "project_id": "p",
		"from_status": "PROCESSING", "to_status": "REJECTED", "stage": "", "actor": "workflow", "at": "2026-12-01T10:00:00.000Z", "kind": "DECISION",
		"sequence": 3.0, "hash": strings.Repeat("b", 64)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("detail\n got %v\nwant %v", got, want)
	}
}

// History imported by `egressctl migrate` is in the trail but is not news:
// none of it is published.
func TestPublishEventsSkipsImportedHistory(t *testing.T) {
	bus := &fakeBus{}
	rec := streamRecord("r", 1, egress.EventCreated, "", egress.StatusProcessing)
	rec.Change.NewImage["seq"] = events.NewStringAttribute("00000000000000000000" + auditstream.ImportMark + "0000000001")
	if _, err := publishHandlers(bus).PublishEvents(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	if len(bus.calls) != 0 {
		t.Errorf("imported history published: %v", bus.calls)
	}
}
