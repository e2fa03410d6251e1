package egress_test

import (
	"slices"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// TestChainFor: a request keeps the chain it was created under, and no
// configured groups means the default IG then RIT.
func TestChainFor(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		single bool
		want   []string
	}{
		{"defaults", nil, false, []string{egress.GroupIG, egress.GroupRIT}},
		{"defaults, single approval", nil, true, []string{egress.GroupIG}},
		{"configured", []string{"DataManager", "ResearchIT"}, false, []string{"DataManager", "ResearchIT"}},
		{"configured, single approval", []string{"DataManager", "ResearchIT"}, true, []string{"DataManager"}},
	}
	for _, tt := range tests {
		c, err := egress.ChainFor(tt.groups, egress.Request{SingleApproval: tt.single})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := c.Groups(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: groups %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := egress.ChainFor([]string{"a", "a"}, egress.Request{}); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("duplicate groups: error %v, want ValidationError", err)
	}
}

// A request is in flight while a stage awaits, and once approved until its
// release is recorded; the terminal statuses never are. It can be
// downloaded from then on, never once REVOKED.
func TestInFlight(t *testing.T) {
	two, single := egress.DefaultChain(false), egress.DefaultChain(true)
	tests := []struct {
		chain        egress.Chain
		status       egress.Status
		released     bool
		want         bool
		downloadable bool
	}{
		{two, egress.StatusProcessing, false, true, false},
		{two, egress.StatusIGApproved, false, true, false},
		{two, egress.StatusIGApproved, true, true, false},
		{two, egress.StatusRITApproved, false, true, false},
		{two, egress.StatusRITApproved, true, false, true},
		{single, egress.StatusIGApproved, false, true, false},
		{single, egress.StatusIGApproved, true, false, true},
		{two, egress.StatusFailed, false, false, false},
		{two, egress.StatusRejected, false, false, false},
		{two, egress.StatusRevoked, true, false, false},
	}
	for _, tt := range tests {
		r := egress.Request{Status: tt.status}
		if tt.released {
			r.ZipKey = "approved_egress/w/r/egress_data.zip"
		}
		if got := tt.chain.InFlight(r); got != tt.want {
			t.Errorf("%s (%d stages), released %v: in flight %v, want %v", tt.status, len(tt.chain.Stages), tt.released, got, tt.want)
		}
		if got := tt.chain.Downloadable(r); got != tt.downloadable {
			t.Errorf("%s (%d stages), released %v: downloadable %v, want %v", tt.status, len(tt.chain.Stages), tt.released, got, tt.downloadable)
		}
	}
	statuses := egress.InFlightStatuses()
	for _, s := range []egress.Status{egress.StatusProcessing, egress.StatusIGApproved, egress.StatusRITApproved} {
		if !slices.Contains(statuses, s) {
			t.Errorf("InFlightStatuses %v lacks %s", statuses, s)
		}
	}
	for _, s := range []egress.Status{egress.StatusFailed, egress.StatusExpired, egress.StatusRejected, egress.StatusRevoked, egress.StatusCancelled} {
		if slices.Contains(statuses, s) {
			t.Errorf("InFlightStatuses %v has %s", statuses, s)
		}
	}
}
