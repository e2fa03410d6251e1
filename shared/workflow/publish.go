package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/egress"
)

// Bus puts events on the stack's EventBridge bus (eventbus.Bus).
type Bus interface {
	// Put sends entries, one of egress.BusBatches' batches, in one
	// PutEvents call, with source egress.BusSource. failed maps the
	// index of each entry EventBridge did not accept to its error code.
	Put(ctx context.Context, entries []egress.BusEntry) (failed map[int]string, err error)
}

// AuditStream reads the audit events table's stream records
// (auditstream.AuditStream).
type AuditStream interface {
	// Event decodes a record's new image: the audit event and its
	// position in its request's trail (the table's sort key).
	Event(image map[string]events.DynamoDBAttributeValue) (ev egress.Event, seq string, err error)
	// Imported reports whether the event at seq is history brought over
	// by `egressctl migrate`: past changes, not news, so not published.
	Imported(seq string) bool
}

// PublishEvents is the target of the audit events table's stream: it
// publishes every status change (and every release) it reads on the
// stack's bus, in the stream's order. As each change is stored in the
// same transaction as its audit event, none is published that did not
// happen and none is lost while the stream keeps it (24 hours).
//
// A failed PutEvents, or an entry EventBridge did not accept, reports the
// record it came from as the batch's failure: Lambda checkpoints the
// records before it and retries from it, so entries after a failed one
// in the same call are published again (at-least-once delivery:
// consumers drop duplicates by the detail's event_id). A record that
// cannot be decoded is logged and skipped: no retry would decode it.
func (h *Handlers) PublishEvents(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var (
		entries []egress.BusEntry
		records []string // by entry: the stream record's sequence number
	)
	for _, rec := range ev.Records {
		// The trail is append-only: only inserts are events.
		if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue
		}
		e, seq, err := h.Audit.Event(rec.Change.NewImage)
		if err != nil {
			h.log(ctx, e.RequestID).Error("audit stream record not published: it does not decode", "stream_sequence", rec.Change.SequenceNumber, "error", err)
			continue
		}
		if h.Audit.Imported(seq) {
			continue
		}
		sc, detailType, ok, err := egress.StatusChangeOf(e, seq)
		if err != nil {
			h.log(ctx, e.RequestID).Error("audit event not published", "seq", seq, "error", err)
			continue
		}
		if !ok {
			continue
		}
		entry, err := egress.NewBusEntry(sc, detailType, e.At)
		if err != nil {
			return events.DynamoDBEventResponse{}, err
		}
		if entry.Size() > egress.MaxBusBatchBytes {
			h.log(ctx, e.RequestID).Error("event not published: over EventBridge's size limit", "event_id", sc.EventID, "bytes", entry.Size())
			continue
		}
		entries = append(entries, entry)
		records = append(records, rec.Change.SequenceNumber)
	}
	batches, err := egress.BusBatches(entries)
	if err != nil { // sizes were checked above
		return events.DynamoDBEventResponse{}, err
	}
	first := 0 // index in entries of the batch's first entry
	for _, b := range batches {
		failed, err := h.Bus.Put(ctx, b)
		if err != nil {
			h.log(ctx, requestOf(b[0])).Error("events not published; the stream retries them", "event_id", b[0].ID, "entries", len(b), "error", err)
			return retryFrom(records[first]), nil
		}
		if len(failed) > 0 {
			i := minKey(failed)
			var codes []string
			for k, code := range failed {
				codes = append(codes, fmt.Sprintf("%s: %s", b[k].ID, code))
			}
			h.log(ctx, requestOf(b[i])).Error("EventBridge refused events; the stream retries from the first", "event_id", b[i].ID, "failed", strings.Join(codes, ", "))
			return retryFrom(records[first+i]), nil
		}
		for _, e := range b {
			h.log(ctx, requestOf(e)).Info("event published", "event_id", e.ID, "detail_type", e.DetailType)
		}
		first += len(b)
	}
	return events.DynamoDBEventResponse{}, nil
}

// retryFrom is the response that makes Lambda retry the batch from the
// stream record with sequence number seq.
func retryFrom(seq string) events.DynamoDBEventResponse {
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}
}

func minKey(m map[int]string) int {
	first := -1
	for k := range m {
		if first < 0 || k < first {
			first = k
		}
	}
	return first
}

// requestOf is the request id of an entry (its ID is "<request id>/<seq>").
func requestOf(e egress.BusEntry) string {
	id, _, _ := strings.Cut(e.ID, "/")
	return id
}
