package egress

import (
	"encoding/json"
	"fmt"
	"time"
)

// The events the stack publishes on its EventBridge bus: one per status
// change of a request, read from the audit trail (so none is published for
// a change that was not stored, and none is lost for one that was), plus
// one when the approved files are released into the datalake. README,
// "Events"; schema events/schema/egress-status-change.schema.json.

// BusSource is the source of every event the stack publishes.
const BusSource = "egress"

// Limits of one EventBridge PutEvents call.
const (
	MaxBusEntries    = 10         // entries per call
	MaxBusBatchBytes = 256 * 1024 // the sum of the entries' sizes (BusEntry.Size)
)

// detailTypes is the one list of detail-types: by the status a request
// moved to. The awaiting statuses after stage 2 (STAGE<k>APPROVED) are
// "Egress Request Stage <k> Approved" (DetailTypeOf).
var detailTypes = map[Status]string{
	StatusProcessing:  "Egress Request Created",
	StatusIGApproved:  "Egress Request IG Approved",
	StatusRITApproved: "Egress Request RIT Approved",
	StatusRejected:    "Egress Request Rejected",
	StatusReturned:    "Egress Request Returned",
	StatusCancelled:   "Egress Request Cancelled",
	StatusBlocked:     "Egress Request Blocked",
	StatusFailed:      "Egress Request Failed",
	StatusExpired:     "Egress Request Expired",
	StatusRevoked:     "Egress Request Revoked",
}

// DetailTypeReleased is the detail-type of a release: the approved files'
// zip is in the datalake (the status stays the approved one).
const DetailTypeReleased = "Egress Request Released"

// DetailTypeOf returns the detail-type of a change to status to; ok is
// false for a status with none (an unknown one).
func DetailTypeOf(to Status) (string, bool) {
	if dt, ok := detailTypes[to]; ok {
		return dt, true
	}
	for k := 2; k < MaxStages; k++ {
		if to == stagePassed(k) {
			return fmt.Sprintf("Egress Request Stage %d Approved", k), true
		}
	}
	return "", false
}

// DetailTypes lists every detail-type the stack publishes: those of
// Statuses, in their order, then DetailTypeReleased.
func DetailTypes() []string {
	var out []string
	for _, s := range Statuses {
		if dt, ok := DetailTypeOf(s); ok {
			out = append(out, dt)
		}
	}
	return append(out, DetailTypeReleased)
}

// StatusChange is the detail of a published event. It carries who, what
// and when, never a reason, file names or contents, tokens or links:
// consumers read the request through the API for more.
type StatusChange struct {
	// EventID is "<egress_request_id>/<the audit event's position>":
	// the same for every delivery of one change, so consumers drop
	// duplicates by it (delivery is at least once).
	EventID     string `json:"event_id"`
	RequestID   string `json:"egress_request_id"`
	WorkspaceID string `json:"workspace_id"`
	ProjectID   string `json:"project_id"`
	FromStatus  Status `json:"from_status"` // "" for Created
	ToStatus    Status `json:"to_status"`
	Stage       string `json:"stage"` // the approval stage decided ("IG", "RIT", ...), or ""
	Actor       string `json:"actor"` // e-mail or subject of a person, or "workflow"
	At          string `json:"at"`    // TimeLayout, UTC
	Kind        string `json:"kind"`  // the audit event's kind (Event* constants)
	// Sequence and Hash are the audit event's place in its request's
	// hash chain (ChainHash): a copy of the chain outside the table, so a
	// later edit of the table shows against what other accounts received.
	// 0 and "" for events stored before the chain.
	Sequence int64  `json:"sequence"`
	Hash     string `json:"hash"`
}

// StatusChangeOf returns the published detail of audit event e, stored at
// position seq of its request's trail, and its detail-type; ok is false
// for an event that changes no status (a vote, a download, a preview, a
// reminder ...), which is not published.
func StatusChangeOf(e Event, seq string) (sc StatusChange, detailType string, ok bool, err error) {
	switch {
	case e.Kind == EventReleased:
		detailType = DetailTypeReleased
	case e.Kind == EventCreated || (e.To != "" && e.To != e.From):
		dt, known := DetailTypeOf(e.To)
		if !known {
			return StatusChange{}, "", false, Errorf(EINVALID, "request %s: event %s: status %q has no detail-type", e.RequestID, seq, e.To)
		}
		detailType = dt
	default:
		return StatusChange{}, "", false, nil
	}
	if e.RequestID == "" || seq == "" {
		return StatusChange{}, "", false, Errorf(EINVALID, "audit event %q of request %q: request id and position are required", e.Kind, e.RequestID)
	}
	return StatusChange{
		EventID:     e.RequestID + "/" + seq,
		RequestID:   e.RequestID,
		WorkspaceID: e.Workspace,
		ProjectID:   e.Project,
		FromStatus:  e.From,
		ToStatus:    e.To,
		Stage:       e.Stage,
		Actor:       e.Actor,
		At:          FormatTime(e.At),
		Kind:        e.Kind,
		Sequence:    e.Sequence,
		Hash:        e.Hash,
	}, detailType, true, nil
}

// BusEntry is one event to put on the bus.
type BusEntry struct {
	DetailType string
	Detail     json.RawMessage // a JSON object
	Time       time.Time
	// ID names the entry in logs and failures (StatusChange.EventID).
	ID string
}

// NewBusEntry is the entry of a status change.
func NewBusEntry(sc StatusChange, detailType string, at time.Time) (BusEntry, error) {
	b, err := json.Marshal(sc)
	if err != nil {
		return BusEntry{}, fmt.Errorf("encode event %s: %w", sc.EventID, err)
	}
	return BusEntry{DetailType: detailType, Detail: b, Time: at, ID: sc.EventID}, nil
}

// Size is the entry's size as EventBridge counts it against
// MaxBusBatchBytes: source, detail-type and detail in UTF-8 bytes, and 14
// bytes for the time (no resources).
func (e BusEntry) Size() int {
	return len(BusSource) + len(e.DetailType) + len(e.Detail) + 14
}

// BusBatches splits entries, in order, into PutEvents calls: at most
// MaxBusEntries and MaxBusBatchBytes each. An entry larger than
// MaxBusBatchBytes on its own is an error: EventBridge would refuse it
// whatever the batch.
func BusBatches(entries []BusEntry) ([][]BusEntry, error) {
	var (
		out   [][]BusEntry
		cur   []BusEntry
		bytes int
	)
	for _, e := range entries {
		n := e.Size()
		if n > MaxBusBatchBytes {
			return nil, Errorf(EINVALID, "event %s is %d bytes, over EventBridge's %d", e.ID, n, MaxBusBatchBytes)
		}
		if len(cur) == MaxBusEntries || bytes+n > MaxBusBatchBytes {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, e)
		bytes += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}
