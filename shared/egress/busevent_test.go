package egress_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// Every status has a detail-type of its own: adding a status without one
// fails here.
func TestEveryStatusHasADetailType(t *testing.T) {
	seen := map[string]egress.Status{}
	for _, s := range egress.Statuses {
		dt, ok := egress.DetailTypeOf(s)
		if !ok {
			t.Errorf("status %s has no detail-type (shared/egress/busevent.go)", s)
			continue
		}
		if !strings.HasPrefix(dt, "Egress Request ") {
			t.Errorf("detail-type %q of %s does not start with \"Egress Request \"", dt, s)
		}
		if prev, dup := seen[dt]; dup {
			t.Errorf("statuses %s and %s share detail-type %q", prev, s, dt)
		}
		seen[dt] = s
	}
	if _, ok := egress.DetailTypeOf("NOPE"); ok {
		t.Error("an unknown status has a detail-type")
	}
	if got, want := len(egress.DetailTypes()), len(egress.Statuses)+1; got != want {
		t.Errorf("DetailTypes() has %d, want %d (one per status and Released)", got, want)
	}
}

func TestStatusChangeOf(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := egress.Event{RequestID: "r1", Workspace: "ws", Project: "p", At: at, Actor: "ig@example.org", Reason: "secret justification"}
	with := func(kind string, from, to egress.Status) egress.Event {
		e := base
		e.Kind, e.From, e.To = kind, from, to
		return e
	}
	for _, tc := range []struct {
		name       string
		ev         egress.Event
		detailType string // "" = not published
		wantErr    bool
	}{
		{"created", with(egress.EventCreated, "", egress.StatusProcessing), "Egress Request Created", false},
		{"IG decision", with(egress.EventDecision, egress.StatusProcessing, egress.StatusIGApproved), "Egress Request IG Approved", false},
		{"stage 2 of 3", with(egress.EventDecision, egress.StatusIGApproved, "STAGE2APPROVED"), "Egress Request Stage 2 Approved", false},
		{"rejected", with(egress.EventDecision, egress.StatusIGApproved, egress.StatusRejected), "Egress Request Rejected", false},
		{"failed", with(egress.EventTransition, egress.StatusRITApproved, egress.StatusFailed), "Egress Request Failed", false},
		{"released", with(egress.EventReleased, egress.StatusRITApproved, egress.StatusRITApproved), "Egress Request Released", false},
		{"a vote", with(egress.EventVote, egress.StatusProcessing, egress.StatusProcessing), "", false},
		{"a download", with(egress.EventDownload, egress.StatusRITApproved, egress.StatusRITApproved), "", false},
		{"a preview (no statuses)", with(egress.EventPreview, "", ""), "", false},
		{"an unknown status", with(egress.EventTransition, egress.StatusProcessing, "LOST"), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, dt, ok, err := egress.StatusChangeOf(tc.ev, "00000000000000000002")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if ok != (tc.detailType != "") || dt != tc.detailType {
				t.Fatalf("detail-type %q (published %v), want %q", dt, ok, tc.detailType)
			}
			if !ok {
				return
			}
			want := egress.StatusChange{EventID: "r1/00000000000000000002", RequestID: "r1", WorkspaceID: "ws", ProjectID: "p",
				FromStatus: tc.ev.From, ToStatus: tc.ev.To, Actor: "ig@example.org", At: "2026-12-01T10:00:00.000Z", Kind: tc.ev.Kind}
			if sc != want {
				t.Errorf("detail\n got %+v\nwant %+v", sc, want)
			}
			b, _ := json.Marshal(sc)
			if strings.Contains(string(b), "secret") {
				t.Errorf("the detail carries the reason: %s", b)
			}
		})
	}
}

func TestBusBatches(t *testing.T) {
	entry := func(id string, detailBytes int) egress.BusEntry {
		return egress.BusEntry{ID: id, DetailType: "Egress Request Created", Detail: json.RawMessage(`"` + strings.Repeat("x", detailBytes-2) + `"`)}
	}
	overhead := entry("x", 2).Size() - 2
	n := func(k int) []egress.BusEntry {
		var out []egress.BusEntry
		for i := range k {
			out = append(out, entry(string(rune('a'+i%26)), 100))
		}
		return out
	}
	big := egress.MaxBusBatchBytes/2 - overhead // two fill a batch exactly
	for _, tc := range []struct {
		name    string
		entries []egress.BusEntry
		sizes   []int // entries per batch
		wantErr bool
	}{
		{"none", nil, nil, false},
		{"one", n(1), []int{1}, false},
		{"ten", n(10), []int{10}, false},
		{"eleven", n(11), []int{10, 1}, false},
		{"twenty-five", n(25), []int{10, 10, 5}, false},
		{"two fill 256 KB exactly", []egress.BusEntry{entry("a", big), entry("b", big)}, []int{2}, false},
		{"three of half 256 KB", []egress.BusEntry{entry("a", big), entry("b", big), entry("c", big)}, []int{2, 1}, false},
		{"a byte over", []egress.BusEntry{entry("a", big), entry("b", big+1)}, []int{1, 1}, false},
		{"one too big", []egress.BusEntry{entry("a", egress.MaxBusBatchBytes)}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batches, err := egress.BusBatches(tc.entries)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var sizes []int
			var flat []egress.BusEntry
			for _, b := range batches {
				sizes = append(sizes, len(b))
				total := 0
				for _, e := range b {
					total += e.Size()
				}
				if total > egress.MaxBusBatchBytes || len(b) > egress.MaxBusEntries {
					t.Errorf("a batch of %d entries, %d bytes", len(b), total)
				}
				flat = append(flat, b...)
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tc.sizes)
			}
			if !tc.wantErr {
				for i := range flat {
					if flat[i].ID != tc.entries[i].ID {
						t.Fatalf("entry %d is %s, want %s (order kept)", i, flat[i].ID, tc.entries[i].ID)
					}
				}
			}
		})
	}
}
