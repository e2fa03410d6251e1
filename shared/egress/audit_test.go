package egress

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// chainOf links events in order from the first.
func chainOf(events ...Event) ([]Event, string) {
	prev := ""
	out := make([]Event, len(events))
	for i, e := range events {
		out[i] = Link(prev, int64(i)+1, e)
		prev = out[i].Hash
	}
	return out, prev
}

func sampleTrail() []Event {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return []Event{
		{RequestID: "r1", Workspace: "ws", Project: "p", At: at, Kind: EventCreated, Actor: "res@example.org", To: StatusProcessing},
		{RequestID: "r1", Workspace: "ws", Project: "p", At: at.Add(time.Minute), Kind: EventPreview, Actor: "ig@example.org", From: StatusProcessing, To: StatusProcessing, Stage: "IG", Reason: "a.csv"},
		{RequestID: "r1", Workspace: "ws", Project: "p", At: at.Add(time.Hour), Kind: EventDecision, Actor: "ig@example.org", From: StatusProcessing, To: StatusIGApproved, Stage: "IG", Reason: "fine"},
		{RequestID: "r1", Workspace: "ws", Project: "p", At: at.Add(2 * time.Hour), Kind: EventDownload, Actor: "ig@example.org", From: StatusIGApproved, To: StatusIGApproved, Reason: "download 1 of 3"},
	}
}

// The hash is over a documented encoding: this value is what a verifier
// in another language must compute for the first event (this one was
// computed in Python from ChainHash's documentation).
func TestChainHashEncoding(t *testing.T) {
	e := sampleTrail()[0]
	e.Sequence = 1
	const want = "7a4522bc338027c627f62891fb85b113a55130f75cf771de9c8ee58d35423561"
	if got := ChainHash("", e); got != want {
		t.Errorf("ChainHash = %s, want %s", got, want)
	}
	// Every field is covered, and the length prefixes keep a shifted
	// boundary between two fields from hashing alike.
	base := ChainHash("", e)
	changes := map[string]func(*Event){
		"request":   func(e *Event) { e.RequestID = "r2" },
		"sequence":  func(e *Event) { e.Sequence = 2 },
		"workspace": func(e *Event) { e.Workspace = "ws2" },
		"project":   func(e *Event) { e.Project = "p2" },
		"at":        func(e *Event) { e.At = e.At.Add(time.Millisecond) },
		"kind":      func(e *Event) { e.Kind = EventDecision },
		"actor":     func(e *Event) { e.Actor = "x" },
		"from":      func(e *Event) { e.From = StatusProcessing },
		"to":        func(e *Event) { e.To = StatusRejected },
		"stage":     func(e *Event) { e.Stage = "IG" },
		"reason":    func(e *Event) { e.Reason = "r" },
		"boundary":  func(e *Event) { e.Workspace, e.Project = "w", "sp" },
	}
	for name, change := range changes {
		c := e
		change(&c)
		if ChainHash("", c) == base {
			t.Errorf("changing %s leaves the hash as it was", name)
		}
	}
	if ChainHash("x", e) == base {
		t.Error("the previous hash is not covered")
	}
}

func TestVerifyChain(t *testing.T) {
	legacy := Event{RequestID: "r1", Kind: EventCreated, Actor: "old"}
	tests := []struct {
		name    string
		tamper  func(events []Event, head string, length int64) ([]Event, string, int64)
		wantSeq int64 // 0: valid
		wantErr string
	}{
		{"intact", nil, 0, ""},
		{"stored out of order", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			ev[0], ev[3] = ev[3], ev[0]
			return ev, h, n
		}, 0, ""},
		{"legacy events first", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return append([]Event{legacy, legacy}, ev...), h, n
		}, 0, ""},
		{"reason edited", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			ev[2].Reason = "changed"
			return ev, h, n
		}, 3, "hash does not match"},
		{"actor edited and rehashed", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			ev[1].Actor = "someone@example.org"
			ev[1].Hash = ChainHash(ev[1].PreviousHash, ev[1])
			return ev, h, n
		}, 3, "previous_hash"},
		{"middle deleted", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return append(ev[:1], ev[2:]...), h, n
		}, 2, "missing"},
		{"last deleted", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return ev[:3], h, n
		}, 4, "missing"},
		{"last deleted and head kept consistent by hand", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return ev[:3], ev[2].Hash, n
		}, 4, "missing"},
		{"tail added", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return append(ev, Link(h, 5, ev[3])), h, n
		}, 5, "beyond"},
		{"repeated", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return append(ev, ev[1]), h, n
		}, 2, "more than once"},
		{"hash stripped from a middle event", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			ev[2].Sequence, ev[2].PreviousHash, ev[2].Hash = 0, "", ""
			return ev, h, n
		}, 2, "without a hash"},
		{"hash stripped from the first event", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			ev[0].Sequence, ev[0].PreviousHash, ev[0].Hash = 0, "", ""
			return ev, h, n
		}, 1, "missing"},
		{"wrong head", func(ev []Event, h string, n int64) ([]Event, string, int64) {
			return ev, "beef", n
		}, 4, "head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, head := chainOf(sampleTrail()...)
			length := int64(len(events))
			if tt.tamper != nil {
				events, head, length = tt.tamper(events, head, length)
			}
			err := VerifyChain(head, length, events)
			if tt.wantSeq == 0 {
				if err != nil {
					t.Fatalf("VerifyChain = %v, want nil", err)
				}
				return
			}
			var broken *ChainError
			if !errors.As(err, &broken) || broken.Sequence != tt.wantSeq || !strings.Contains(broken.Reason, tt.wantErr) {
				t.Fatalf("VerifyChain = %v, want broken at %d (%s)", err, tt.wantSeq, tt.wantErr)
			}
		})
	}
	if n := UnchainedPrefix([]Event{legacy, legacy}); n != 2 {
		t.Errorf("UnchainedPrefix = %d, want 2", n)
	}
	if err := VerifyChain("", 0, []Event{legacy}); err != nil {
		t.Errorf("a trail from before the chain: %v", err)
	}
}
