package egress

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
)

// The audit trail of a request is a hash chain: event n carries the hash
// of event n-1 (PreviousHash, "" for event 1) and its own hash over its
// contents and that previous hash, and the request records the hash and
// number of its newest event (its head and length). Changing, removing or
// inserting any stored event, or cutting the trail short, breaks a link
// VerifyChain finds.
//
// ChainVersion opens the hashed encoding, so a later change of the
// encoding cannot be mistaken for this one.
const ChainVersion = "egress-audit-v1"

// ChainHash is the hash of e chained after the event whose hash is prev:
// hex SHA-256 of ChainVersion and a newline, then each of these fields as
// a netstring ("<decimal byte length>:<bytes>,"), in this order:
//
//	egress_request_id, sequence (decimal), previous_hash, workspace_id,
//	project_id, at (TimeLayout, UTC, milliseconds; "" for the zero time),
//	kind, actor, from_status, to_status, stage, reason
//
// Length prefixes make the encoding unambiguous whatever the fields hold,
// and anyone can recompute it without this code. e.PreviousHash and e.Hash
// are not read: prev is the link.
func ChainHash(prev string, e Event) string {
	h := sha256.New()
	h.Write([]byte(ChainVersion + "\n"))
	for _, f := range []string{
		e.RequestID, strconv.FormatInt(e.Sequence, 10), prev, e.Workspace, e.Project,
		FormatTime(e.At), e.Kind, e.Actor, string(e.From), string(e.To), e.Stage, e.Reason,
	} {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f + ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Link returns e placed after the event with hash prev at position seq
// (prev is "" and seq 1 for the first): e with Sequence, PreviousHash and
// Hash set.
func Link(prev string, seq int64, e Event) Event {
	e.Sequence, e.PreviousHash = seq, prev
	e.Hash = ChainHash(prev, e)
	return e
}

// ChainError names the first broken link of an audit trail: the event's
// sequence number (for a missing event, the number it should have had),
// its kind when the event is there, and what is wrong.
type ChainError struct {
	Sequence int64
	Kind     string
	Reason   string
}

func (e *ChainError) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("audit trail broken at event %d: %s", e.Sequence, e.Reason)
	}
	return fmt.Sprintf("audit trail broken at event %d (%s): %s", e.Sequence, e.Kind, e.Reason)
}

// Unchained reports whether e was stored before the audit chain existed:
// it has no position and no hash.
func (e Event) Unchained() bool { return e.Sequence == 0 && e.Hash == "" && e.PreviousHash == "" }

// UnchainedPrefix is how many events, in stored order, precede the chain:
// events of a request stored before audit chaining, which VerifyChain
// accepts unverified (a request older than the chain has such a leading
// run; say so when reporting a verified trail).
func UnchainedPrefix(events []Event) int {
	n := 0
	for n < len(events) && events[n].Unchained() {
		n++
	}
	return n
}

// VerifyChain checks a request's audit trail against the head and length
// its request records: events in stored order (as the store returns them),
// which VerifyChain orders by sequence. It returns nil for an intact trail
// or a *ChainError naming the first broken link: a sequence missing,
// repeated or beyond length, a previous hash that is not the hash of the
// event before, or a hash that does not match the event's contents. A
// leading run of unchained events (UnchainedPrefix) is history from before
// the chain and is not checked; an unchained event after a chained one is a
// broken link.
func VerifyChain(head string, length int64, events []Event) error {
	if length < 0 {
		return &ChainError{Reason: fmt.Sprintf("the request records a negative trail length %d", length)}
	}
	legacy := UnchainedPrefix(events)
	chained := slices.Clone(events[legacy:])
	for i, e := range chained {
		if e.Unchained() {
			// Its place in the chain is unknown: name the chained event
			// stored just before it.
			return &ChainError{Sequence: chained[i-1].Sequence, Kind: e.Kind,
				Reason: fmt.Sprintf("an event without a hash is stored after chained events (after event %d)", chained[i-1].Sequence)}
		}
	}
	slices.SortStableFunc(chained, func(a, b Event) int {
		switch {
		case a.Sequence < b.Sequence:
			return -1
		case a.Sequence > b.Sequence:
			return 1
		}
		return 0
	})
	prev := ""
	for i, e := range chained {
		want := int64(i) + 1
		switch {
		case e.Sequence < want: // sorted, so only a repeat or a non-positive number
			return &ChainError{Sequence: e.Sequence, Kind: e.Kind, Reason: fmt.Sprintf("sequence %d appears more than once or is not a position", e.Sequence)}
		case e.Sequence > want:
			return &ChainError{Sequence: want, Reason: fmt.Sprintf("event %d is missing (the next stored is %d)", want, e.Sequence)}
		case want > length:
			return &ChainError{Sequence: e.Sequence, Kind: e.Kind, Reason: fmt.Sprintf("beyond the trail's recorded length %d", length)}
		case e.PreviousHash != prev:
			return &ChainError{Sequence: e.Sequence, Kind: e.Kind, Reason: "previous_hash is not the hash of the event before"}
		case e.Hash != ChainHash(prev, e):
			return &ChainError{Sequence: e.Sequence, Kind: e.Kind, Reason: "hash does not match the event's contents"}
		}
		prev = e.Hash
	}
	if n := int64(len(chained)); n < length {
		return &ChainError{Sequence: n + 1, Reason: fmt.Sprintf("event %d is missing: the request records %d events, %d are stored", n+1, length, n)}
	}
	if prev != head {
		return &ChainError{Sequence: length, Kind: lastKind(chained), Reason: "the request's recorded head is not this event's hash"}
	}
	return nil
}

func lastKind(events []Event) string {
	if len(events) == 0 {
		return ""
	}
	return events[len(events)-1].Kind
}

// AuditPage is one page of a request's audit trail, in stored order, with
// the head and length its request records (read for every page: verify
// with the last page's). NextToken is empty on the last page.
type AuditPage struct {
	Events    []Event
	NextToken string
	Head      string
	Length    int64
}
