package local

import (
	"bufio"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// EventBusName is the local name of the stack's event bus.
const EventBusName = "egress-events"

// BusEvent is one event the local bus accepted, as EventBridge delivers
// it to a rule's targets.
type BusEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// EventBus implements EventBridge PutEvents (JSON 1.1, AWSEvents.PutEvents)
// for the stack's one bus, with AWS's limits: at most 10 entries and 256
// KB a call, Source, DetailType and Detail required, Detail a JSON object.
// Each accepted event is appended to a JSON Lines file a person can read
// (one event a line) and kept for tests.
type EventBus struct {
	name, arn, path string
	now             func() time.Time

	mu     sync.Mutex
	events []BusEvent
}

// NewEventBus writes the events of bus name to path.
func NewEventBus(name, path string, now func() time.Time) (*EventBus, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("event log %s: %w", path, err)
	}
	f.Close()
	return &EventBus{name: name, arn: "arn:aws:events:" + Region + ":" + Account + ":event-bus/" + name, path: path, now: now}, nil
}

// Path is the bus's JSON Lines log.
func (b *EventBus) Path() string { return b.path }

// Events returns every event accepted so far, in order.
func (b *EventBus) Events() []BusEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BusEvent(nil), b.events...)
}

type putEventsEntry struct {
	Source       *string  `json:"Source"`
	DetailType   *string  `json:"DetailType"`
	Detail       *string  `json:"Detail"`
	EventBusName *string  `json:"EventBusName"`
	Resources    []string `json:"Resources"`
	Time         *float64 `json:"Time"` // epoch seconds
}

type putEventsResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ServeHTTP handles PutEvents.
func (b *EventBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	if op := r.Header.Get("X-Amz-Target"); op != "AWSEvents.PutEvents" {
		fail(http.StatusBadRequest, "UnknownOperationException", "only PutEvents is implemented, not "+op)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	var in struct {
		Entries []putEventsEntry `json:"Entries"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	switch {
	case len(in.Entries) == 0:
		fail(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null")
		return
	case len(in.Entries) > egress.MaxBusEntries:
		fail(http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", egress.MaxBusEntries))
		return
	}
	total := 0
	for _, e := range in.Entries {
		// EventBridge's entry size: source, detail-type, detail, resources
		// in UTF-8 bytes, and 14 for the time.
		total += len(deref(e.Source)) + len(deref(e.DetailType)) + len(deref(e.Detail)) + 14
		for _, res := range e.Resources {
			total += len(res)
		}
	}
	if total > egress.MaxBusBatchBytes {
		fail(http.StatusBadRequest, "ValidationException", fmt.Sprintf("Total size of the entries in the request is over the limit (%d bytes, at most %d).", total, egress.MaxBusBatchBytes))
		return
	}
	out := struct {
		FailedEntryCount int               `json:"FailedEntryCount"`
		Entries          []putEventsResult `json:"Entries"`
	}{}
	var accepted []BusEvent
	for _, e := range in.Entries {
		ev, code, msg := b.entry(e)
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putEventsResult{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		out.Entries = append(out.Entries, putEventsResult{EventID: ev.ID})
		accepted = append(accepted, ev)
	}
	if err := b.append(accepted); err != nil {
		fail(http.StatusInternalServerError, "InternalException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// entry checks one entry as EventBridge does, and returns its event or
// the entry's error code and message.
func (b *EventBus) entry(e putEventsEntry) (BusEvent, string, string) {
	bus := deref(e.EventBusName)
	switch {
	case bus != b.name && bus != b.arn:
		return BusEvent{}, "ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", cmp.Or(bus, "default"))
	case deref(e.Source) == "":
		return BusEvent{}, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case deref(e.DetailType) == "":
		return BusEvent{}, "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case deref(e.Detail) == "":
		return BusEvent{}, "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	var detail map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*e.Detail), &detail); err != nil || detail == nil {
		return BusEvent{}, "MalformedDetail", "Detail is malformed."
	}
	at := b.now().UTC()
	if e.Time != nil {
		sec, frac := math.Modf(*e.Time)
		at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	var id [16]byte
	rand.Read(id[:])
	h := hex.EncodeToString(id[:])
	return BusEvent{
		Version: "0", ID: h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		DetailType: *e.DetailType, Source: *e.Source, Account: Account, Time: at.Format(time.RFC3339), Region: Region,
		Resources: append([]string{}, e.Resources...), Detail: json.RawMessage(*e.Detail),
	}, "", ""
}

// append writes events to the log, one JSON line each, and keeps them.
func (b *EventBus) append(events []BusEvent) error {
	if len(events) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, ev := range events {
		line, err := json.Marshal(ev)
		if err != nil {
			f.Close()
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("event log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	b.events = append(b.events, events...)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
