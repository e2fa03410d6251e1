package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/metrics"
)

// emfRecords decodes EMF lines, without their _aws directive.
func emfRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if _, ok := rec["_aws"]; !ok {
			t.Fatalf("not an EMF record: %s", l)
		}
		delete(rec, "_aws")
		out = append(out, rec)
	}
	return out
}

// The API records each decision's time to decision per stage and each
// granted download; the table's observer counts the status change the
// decision stored. Refusals record nothing.
func TestAPIMetrics(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	em := metrics.ForStack(&buf, "egress-test", nil)
	e.svc.Metrics, e.table.Observer = em, em

	awaiting := e.seed(t, fixture{"PROCESSING awaiting 2h", func(e *env, r *egress.Request) { r.AwaitingSince = now.Add(-2 * time.Hour) }})
	buf.Reset() // the seed's creation
	if _, err := e.call(igReviewer, "Mutation", "updateRequest", map[string]any{"request": map[string]any{
		"egress_request_id": awaiting.ID, "task_token": api.TokenRef(awaiting.TaskToken), "ig_reviewer_1_decision": "APPROVED"}}, nil); err != nil {
		t.Fatal(err)
	}
	id := awaiting.ID
	want := []map[string]any{
		{"Stack": "egress-test", "Status": "IGAPPROVED", "Requests": 1.0, "egress_request_id": id},
		{"Stack": "egress-test", "Stage": "IG", "TimeToDecision": 7200.0, "egress_request_id": id},
	}
	if got := emfRecords(t, &buf); !reflect.DeepEqual(got, want) {
		t.Errorf("decision recorded %v, want %v", got, want)
	}

	e.svc.MaxDownloads = 1
	released := e.seed(t, fixtures[3])
	buf.Reset()
	for _, wantErr := range []string{"", egress.ELIMIT} {
		in := api.DownloadInput{RequestID: released.ID, WorkspaceID: released.WorkspaceID, DownloadCount: "0"}
		if _, err := e.call(igReviewer, "Mutation", "downloadData", map[string]any{"request": in}, nil); errorType(err) != wantErr {
			t.Fatalf("download: %v, want %q", err, wantErr)
		}
	}
	if got, want := emfRecords(t, &buf), []map[string]any{{"Stack": "egress-test", "Downloads": 1.0, "egress_request_id": released.ID}}; !reflect.DeepEqual(got, want) {
		t.Errorf("downloads recorded %v, want %v (the refused one not counted)", got, want)
	}
}
