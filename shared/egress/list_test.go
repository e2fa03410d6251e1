package egress_test

import (
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

func TestListQueryNormalize(t *testing.T) {
	tests := []struct {
		name      string
		q         egress.ListQuery
		wantLimit int
		wantErr   bool
	}{
		{"default page", egress.ListQuery{Status: egress.StatusProcessing}, egress.DefaultListLimit, false},
		{"small page", egress.ListQuery{Status: egress.StatusRejected, Limit: 7}, 7, false},
		{"largest page", egress.ListQuery{Status: egress.StatusRejected, Limit: egress.MaxListLimit}, egress.MaxListLimit, false},
		{"too large is clamped", egress.ListQuery{Status: egress.StatusRejected, Limit: egress.MaxListLimit + 1}, egress.MaxListLimit, false},
		{"negative limit", egress.ListQuery{Status: egress.StatusProcessing, Limit: -1}, 0, true},
		{"unknown status", egress.ListQuery{Status: "PENDING", Limit: 10}, 0, true},
		{"no status", egress.ListQuery{}, 0, true},
		{"a workspace", egress.ListQuery{WorkspaceID: "ws-1"}, egress.DefaultListLimit, false},
		{"a submitter", egress.ListQuery{RequestedBy: "u-1", Limit: 3}, 3, false},
		{"status and workspace", egress.ListQuery{Status: egress.StatusProcessing, WorkspaceID: "ws-1"}, 0, true},
		{"workspace and submitter", egress.ListQuery{WorkspaceID: "ws-1", RequestedBy: "u-1"}, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.q.Normalize()
		if tt.wantErr {
			if egress.ErrorCode(err) != egress.EINVALID {
				t.Errorf("%s: error %v, want ValidationError", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Limit != tt.wantLimit || got.Status != tt.q.Status {
			t.Errorf("%s: got %+v, want limit %d", tt.name, got, tt.wantLimit)
		}
	}
}

func TestListLimit(t *testing.T) {
	tests := []struct{ in, def, want int }{
		{0, 50, 50},
		{1, 50, 1},
		{egress.MaxListLimit, 50, egress.MaxListLimit},
		{egress.MaxListLimit * 10, 50, egress.MaxListLimit},
	}
	for _, tt := range tests {
		if got, err := egress.ListLimit(tt.in, tt.def); err != nil || got != tt.want {
			t.Errorf("ListLimit(%d, %d) = %d, %v; want %d", tt.in, tt.def, got, err, tt.want)
		}
	}
	if _, err := egress.ListLimit(-5, 50); egress.ErrorCode(err) != egress.EINVALID {
		t.Errorf("ListLimit(-5) error %v, want ValidationError", err)
	}
}
