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
