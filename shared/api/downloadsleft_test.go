package api_test

import (
	"encoding/json"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// downloads_left is max_downloads_allowed (3 here) less the downloads of a
// request that can be downloaded, by the rule downloadData applies, and
// null for any other.
func TestDownloadsLeft(t *testing.T) {
	e := newEnv(t)
	fixtureNamed := func(name string) fixture {
		for _, f := range fixtures {
			if f.name == name {
				return f
			}
		}
		t.Fatalf("no fixture %q", name)
		return fixture{}
	}
	with := func(name string, change func(e *env, r *egress.Request)) fixture {
		f := fixtureNamed(name)
		return fixture{name, func(e *env, r *egress.Request) { f.build(e, r); change(e, r) }}
	}
	tests := []struct {
		name string
		f    fixture
		want *int // nil: null
	}{
		{"released, none used", fixtureNamed("RITAPPROVED"), intPtr(3)},
		{"released, one used", with("RITAPPROVED", func(e *env, r *egress.Request) { r.DownloadCount = 1 }), intPtr(2)},
		{"released, all used", with("RITAPPROVED", func(e *env, r *egress.Request) { r.DownloadCount = 3 }), intPtr(0)},
		{"released, more used than now allowed", with("RITAPPROVED", func(e *env, r *egress.Request) { r.DownloadCount = 5 }), intPtr(0)},
		{"single approval, released", with("IGAPPROVED single approval, released", func(e *env, r *egress.Request) { r.DownloadCount = 2 }), intPtr(1)},
		{"approved, zip not written yet", with("RITAPPROVED", func(e *env, r *egress.Request) { r.ZipKey = "" }), nil},
		{"awaiting RIT", fixtureNamed("IGAPPROVED"), nil},
		{"awaiting IG", fixtureNamed("PROCESSING"), nil},
		{"rejected", fixtureNamed("REJECTED"), nil},
		{"revoked", with("RITAPPROVED", func(e *env, r *egress.Request) { r.Status, r.DownloadCount = egress.StatusRevoked, 1 }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.seed(t, tt.f)
			out, err := e.call(ritReviewer, "Query", "getRequest", map[string]any{"egress_request_id": r.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Left *int `json:"downloads_left"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == nil && got.Left != nil:
				t.Errorf("downloads_left %d, want null", *got.Left)
			case tt.want != nil && (got.Left == nil || *got.Left != *tt.want):
				t.Errorf("downloads_left %s, want %d", out, *tt.want)
			}
		})
	}
	// After a download, one fewer; through the schema, as the console asks.
	r := e.seed(t, fixtureNamed("RITAPPROVED"))
	if _, err := e.svc.Download(t.Context(), igReviewer, r.ID); err != nil {
		t.Fatal(err)
	}
	resp := e.gql(igReviewer, `query($id: String!) { getRequest(egress_request_id: $id) { download_count downloads_left } }`, map[string]any{"id": r.ID})
	var got struct {
		GetRequest struct {
			Count string `json:"download_count"`
			Left  *int   `json:"downloads_left"`
		} `json:"getRequest"`
	}
	decode(t, resp, &got)
	if len(resp.Errors) > 0 || got.GetRequest.Count != "1" || got.GetRequest.Left == nil || *got.GetRequest.Left != 2 {
		t.Errorf("after one download: %+v, errors %v", got.GetRequest, resp.Errors)
	}
}

func intPtr(n int) *int { return &n }
