package migrate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
)

var migratedAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func ts(s string) time.Time {
	t, err := time.Parse(egress.TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseLegacyTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // TimeLayout; "" for an error
	}{
		{"2022-03-01T09:14:03.512Z", "2022-03-01T09:14:03.512Z"},         // SWB / toISOString
		{"2022-02-01T10:00:00Z", "2022-02-01T10:00:00.000Z"},             // no fraction
		{"Tue, 01 Mar 2022 11:02:47 GMT", "2022-03-01T11:02:47.000Z"},    // toUTCString
		{"Tue, 1 Mar 2022 11:02:47 GMT", "2022-03-01T11:02:47.000Z"},     // day without its zero
		{"Tue, 01 Mar 2022 12:02:47 +0100", "2022-03-01T11:02:47.000Z"},  // an offset
		{"2022-06-14T08:00:00.123456+00:00", "2022-06-14T08:00:00.123Z"}, // isoformat, microseconds cut to ms
		{"2022-06-14T09:00:00.123456+01:00", "2022-06-14T08:00:00.123Z"}, // isoformat with an offset
		{"2022-06-14T08:00:00.123456", "2022-06-14T08:00:00.123Z"},       // naive isoformat: UTC
		{"2022-06-14 08:00:00.123456", "2022-06-14T08:00:00.123Z"},       // str(datetime)
		{"2022-06-14 08:00:00", "2022-06-14T08:00:00.000Z"},              // str(datetime), no fraction
		{"last Tuesday", ""},
		{"01/03/2022", ""},
		{"2022-13-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		got, err := parseLegacyTime(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseLegacyTime(%q) = %v, want an error", tt.in, got)
		case tt.want == "" && !strings.Contains(err.Error(), tt.in):
			t.Errorf("parseLegacyTime(%q) error %q does not quote the value", tt.in, err)
		case tt.want != "" && (err != nil || egress.FormatTime(got) != tt.want):
			t.Errorf("parseLegacyTime(%q) = %s, %v; want %s", tt.in, egress.FormatTime(got), err, tt.want)
		}
	}
}

// fixtureByID maps every fixture item, by request id.
func fixtureByID(t *testing.T) map[string]Mapped {
	t.Helper()
	out := map[string]Mapped{}
	for i, item := range loadScan(t, fixturePath) {
		m := Map(item, i, "old-requests", migratedAt)
		out[m.ID] = m
	}
	return out
}

// eventShape is what a test checks of an event.
type eventShape struct {
	Kind, Actor, From, To, Stage, At string
}

func shapes(evs []egress.Event) []eventShape {
	var out []eventShape
	for _, e := range evs {
		out = append(out, eventShape{e.Kind, e.Actor, string(e.From), string(e.To), e.Stage, egress.FormatTime(e.At)})
	}
	return out
}

// TestMapFixture: each item of the original's table maps to its final
// status, its reviews and its history.
func TestMapFixture(t *testing.T) {
	got := fixtureByID(t)
	const (
		ig, rit, wf, mig = "ig.reviewer@example.org", "rit.admin@example.org", egress.ActorWorkflow, egress.ActorMigration
		now              = "2026-12-01T10:00:00.000Z"
	)
	type review struct{ Stage, Name, Email, At, Decision, Reason string }
	tests := []struct {
		id        string
		outcome   Outcome
		status    egress.Status
		single    bool
		downloads int
		released  bool
		reviews   []review
		events    []eventShape
	}{
		{
			id: "0b6a1c52-9e51-4c1b-8f0e-5d1f6a7b8c01", outcome: Import, status: egress.StatusRITApproved, downloads: 2, released: true,
			reviews: []review{
				{"IG", "", ig, "2022-03-01T11:02:47.000Z", "APPROVED", "Aggregate counts only, no small cells."},
				{"RIT", "Rita Admin", rit, "2022-03-02T08:30:00.000Z", "APPROVED", "Files checked, formats as expected."},
			},
			events: []eventShape{
				{egress.EventCreated, "researcher.one@example.org", "", "PROCESSING", "", "2022-03-01T09:14:03.512Z"},
				{egress.EventDecision, ig, "PROCESSING", "IGAPPROVED", "IG", "2022-03-01T11:02:47.000Z"},
				{egress.EventDecision, rit, "IGAPPROVED", "RITAPPROVED", "RIT", "2022-03-02T08:30:00.000Z"},
				{egress.EventReleased, wf, "RITAPPROVED", "RITAPPROVED", "", "2022-03-02T08:30:00.000Z"},
				{egress.EventDownload, mig, "RITAPPROVED", "RITAPPROVED", "", now},
				{egress.EventMigrated, mig, "RITAPPROVED", "RITAPPROVED", "", now},
			},
		},
		{
			id: "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e402", outcome: Import, status: egress.StatusIGApproved, single: true, released: true,
			reviews: []review{{"IG", "Iggy Governance", ig, "2022-04-11T15:00:00.000Z", "APPROVED", "Summary statistics, approved for release."}},
			events: []eventShape{
				{egress.EventCreated, "researcher.two@example.org", "", "PROCESSING", "", "2022-04-11T13:45:10.001Z"},
				{egress.EventDecision, ig, "PROCESSING", "IGAPPROVED", "IG", "2022-04-11T15:00:00.000Z"},
				{egress.EventReleased, wf, "IGAPPROVED", "IGAPPROVED", "", "2022-04-11T15:00:00.000Z"},
				{egress.EventMigrated, mig, "IGAPPROVED", "IGAPPROVED", "", now},
			},
		},
		{
			id: "2e3f4a51-6b7c-4d8e-9fa0-b1c2d3e4f503", outcome: Import, status: egress.StatusRejected,
			reviews: []review{{"IG", "", ig, "2022-05-02T09:10:11.000Z", "REJECTED", "Contains record-level data; aggregate first."}},
			events: []eventShape{
				{egress.EventCreated, "researcher.one@example.org", "", "PROCESSING", "", "2022-05-02T07:00:00.000Z"},
				{egress.EventDecision, ig, "PROCESSING", "REJECTED", "IG", "2022-05-02T09:10:11.000Z"},
				{egress.EventMigrated, mig, "REJECTED", "REJECTED", "", now},
			},
		},
		{
			id: "3f4a5b62-7c8d-4e9f-a0b1-c2d3e4f5a604", outcome: Import, status: egress.StatusRejected,
			reviews: []review{
				{"IG", "", ig, "2022-05-20T17:00:00.000Z", "APPROVED", "Fine from a governance view."},
				{"RIT", "", rit, "2022-05-23T08:05:00.000Z", "REJECTED", "Executable files are not allowed out."},
			},
			events: []eventShape{
				{egress.EventCreated, "researcher.three@example.org", "", "PROCESSING", "", "2022-05-20T16:20:00.250Z"},
				{egress.EventDecision, ig, "PROCESSING", "IGAPPROVED", "IG", "2022-05-20T17:00:00.000Z"},
				{egress.EventDecision, rit, "IGAPPROVED", "REJECTED", "RIT", "2022-05-23T08:05:00.000Z"},
				{egress.EventMigrated, mig, "REJECTED", "REJECTED", "", now},
			},
		},
		{id: "4a5b6c73-8d9e-4fa0-b1c2-d3e4f5a6b705", outcome: InFlight, status: egress.StatusProcessing},
		{id: "5b6c7d84-9ea0-4b1c-82d3-e4f5a6b7c806", outcome: InFlight, status: egress.StatusIGApproved},
		{
			id: "6c7d8e95-a0b1-4c2d-93e4-f5a6b7c8d907", outcome: Import, status: egress.StatusIGApproved, single: true, downloads: 1, released: true,
			reviews: []review{{"IG", "", "ig.lead@example.org", "2022-06-14T10:15:30.000Z", "APPROVED", "OK to release."}},
			events: []eventShape{
				{egress.EventCreated, "researcher.one@example.org", "", "PROCESSING", "", "2022-06-14T08:00:00.123Z"},
				{egress.EventDecision, "ig.lead@example.org", "PROCESSING", "IGAPPROVED", "IG", "2022-06-14T10:15:30.000Z"},
				{egress.EventReleased, wf, "IGAPPROVED", "IGAPPROVED", "", "2022-06-14T10:15:30.000Z"},
				{egress.EventDownload, mig, "IGAPPROVED", "IGAPPROVED", "", now},
				{egress.EventMigrated, mig, "IGAPPROVED", "IGAPPROVED", "", now},
			},
		},
		{
			// No decision time: the review keeps none, its event is dated
			// at the request's creation and says why.
			id: "7d8e9fa6-b1c2-4d3e-a4f5-a6b7c8d9ea08", outcome: Import, status: egress.StatusRejected,
			reviews: []review{{"IG", "", ig, "", "REJECTED", "Wrong files submitted."}},
			events: []eventShape{
				{egress.EventCreated, "researcher.two@example.org", "", "PROCESSING", "", "2022-02-01T10:00:00.000Z"},
				{egress.EventDecision, ig, "PROCESSING", "REJECTED", "IG", "2022-02-01T10:00:00.000Z"},
				{egress.EventMigrated, mig, "REJECTED", "REJECTED", "", now},
			},
		},
		{id: "8e9fa0b7-c2d3-4e4f-b5a6-b7c8d9eafb09", outcome: Malformed, status: egress.StatusRITApproved},
	}
	if len(got) != len(tests) {
		t.Fatalf("fixture maps to %d requests, the test knows %d", len(got), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.id[:8], func(t *testing.T) {
			m, ok := got[tt.id]
			if !ok {
				t.Fatalf("%s not in the fixture", tt.id)
			}
			if m.Outcome != tt.outcome || m.Status != string(tt.status) {
				t.Fatalf("outcome %s status %s (problems %q), want %s %s", m.Outcome, m.Status, m.Problems, tt.outcome, tt.status)
			}
			if m.Outcome != Import {
				if len(m.Events) != 0 || m.Request.ID != "" {
					t.Fatalf("a request not imported has a mapping: %+v", m.Request)
				}
				return
			}
			r := m.Request
			if r.ID != tt.id || r.Status != tt.status || r.SingleApproval != tt.single || r.DownloadCount != tt.downloads {
				t.Errorf("request %s %s single=%v downloads=%d, want %s %s %v %d", r.ID, r.Status, r.SingleApproval, r.DownloadCount, tt.id, tt.status, tt.single, tt.downloads)
			}
			if r.TaskToken != "" || r.CurrentReviewerGroup != "" {
				t.Errorf("a finished request keeps the old task token or awaits a group: %q %q", r.TaskToken, r.CurrentReviewerGroup)
			}
			if r.WorkspaceID == "" || r.WorkspaceID != r.StoreID || r.RequestedByEmail == "" || r.RequestedBy != "" {
				t.Errorf("workspace %q store %q requested by %q <%s>: want the store id as workspace, the e-mail apart", r.WorkspaceID, r.StoreID, r.RequestedBy, r.RequestedByEmail)
			}
			wantZip := ""
			if tt.released {
				wantZip = "approved_egress/" + r.WorkspaceID + "/" + r.ID + "/egress_data.zip"
			}
			if r.ZipKey != wantZip || r.Released() != tt.released || r.ReleasedAt.IsZero() == tt.released {
				t.Errorf("zip %q released at %v, want %q", r.ZipKey, r.ReleasedAt, wantZip)
			}
			var reviews []review
			for _, v := range r.Reviews {
				reviews = append(reviews, review{v.Stage, v.Name, v.Email, egress.FormatTime(v.At), string(v.Decision), v.Reason})
				if v.StageIndex != map[string]int{"IG": 0, "RIT": 1}[v.Stage] {
					t.Errorf("%s review at stage index %d", v.Stage, v.StageIndex)
				}
			}
			if !slices.Equal(reviews, tt.reviews) {
				t.Errorf("reviews\n%+v\nwant\n%+v", reviews, tt.reviews)
			}
			if evs := shapes(m.Events); !slices.Equal(evs, tt.events) {
				t.Errorf("events\n%+v\nwant\n%+v", evs, tt.events)
			}
			last := m.Events[len(m.Events)-1]
			if !strings.Contains(last.Reason, "old-requests") {
				t.Errorf("MIGRATED reason %q does not name the source table", last.Reason)
			}
			for _, e := range m.Events {
				if e.RequestID != r.ID {
					t.Errorf("event %s for request %q", e.Kind, e.RequestID)
				}
				if e.Kind == egress.EventDownload && !strings.Contains(e.Reason, "not who downloaded or when") {
					t.Errorf("downloads event reason %q does not say their times were not kept", e.Reason)
				}
			}
			lastReview := r.Reviews[len(r.Reviews)-1]
			if r.UpdatedAt.Before(r.RequestedAt) || (!lastReview.At.IsZero() && (!r.UpdatedAt.Equal(lastReview.At) || r.UpdatedBy != lastReview.Email)) {
				t.Errorf("updated %v by %s, want at the last decision %v by %s", r.UpdatedAt, r.UpdatedBy, lastReview.At, lastReview.Email)
			}
		})
	}
	if p := got["8e9fa0b7-c2d3-4e4f-b5a6-b7c8d9eafb09"].Problems; len(p) != 2 ||
		!strings.Contains(p[0], `requested_dt: "last Tuesday"`) || !strings.Contains(p[1], `RITAPPROVED but the decisions are IG "REJECTED"`) {
		t.Errorf("malformed item's problems %q, want its date and its decisions named", p)
	}
	if v := got["7d8e9fa6-b1c2-4d3e-a4f5-a6b7c8d9ea08"].Events[1].Reason; !strings.Contains(v, "recorded no time") {
		t.Errorf("an undated decision's event reason %q does not say so", v)
	}
}

// base is a finished two-stage request in the original's layout, for
// tests that change one attribute.
func base() map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	return map[string]types.AttributeValue{
		"egress_request_id": s("req-1"), "swb_egress_store_id": s("ws-1"), "workspace_id": s("ws-1"),
		"project_id": s("P"), "requested_by": s("r@example.org"), "requested_dt": s("2022-01-01T00:00:00.000Z"),
		"egress_status": s("RITAPPROVED"), "is_single_approval_enabled": s("false"), "download_count": s("0"),
		"ig_reviewer_1_email": s("ig@example.org"), "ig_reviewer_1_decision": s("APPROVED"), "ig_reviewer_1_dt": s("Sat, 01 Jan 2022 01:00:00 GMT"),
		"rit_reviewer_2_email": s("rit@example.org"), "rit_reviewer_2_decision": s("APPROVED"), "rit_reviewer_2_dt": s("Sat, 01 Jan 2022 02:00:00 GMT"),
	}
}

// TestMapOutcomes: which items are in flight, which malformed and why.
func TestMapOutcomes(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	tests := []struct {
		name    string
		change  map[string]types.AttributeValue // nil value: remove
		outcome Outcome
		problem string // a problem that must be reported
	}{
		{"finished", nil, Import, ""},
		{"PENDING (intake, before the task token)", map[string]types.AttributeValue{"egress_status": s("PENDING"), "ig_reviewer_1_decision": nil, "rit_reviewer_2_decision": nil}, InFlight, ""},
		{"PROCESSING", map[string]types.AttributeValue{"egress_status": s("PROCESSING"), "ig_reviewer_1_decision": nil, "rit_reviewer_2_decision": nil}, InFlight, ""},
		{"IGAPPROVED two-stage", map[string]types.AttributeValue{"egress_status": s("IGAPPROVED"), "rit_reviewer_2_decision": nil}, InFlight, ""},
		{"IGAPPROVED without the flag", map[string]types.AttributeValue{"egress_status": s("IGAPPROVED"), "rit_reviewer_2_decision": nil, "is_single_approval_enabled": nil}, InFlight, ""},
		{"IGAPPROVED single, flag a BOOL", map[string]types.AttributeValue{"egress_status": s("IGAPPROVED"), "rit_reviewer_2_decision": nil, "is_single_approval_enabled": &types.AttributeValueMemberBOOL{Value: true}}, Import, ""},
		{"download_count a Number", map[string]types.AttributeValue{"download_count": &types.AttributeValueMemberN{Value: "3"}}, Import, ""},
		{"an unknown status", map[string]types.AttributeValue{"egress_status": s("APPROVED")}, Malformed, `egress_status: "APPROVED" is not a status the original wrote`},
		{"no status", map[string]types.AttributeValue{"egress_status": nil}, Malformed, "egress_status is missing"},
		{"no id", map[string]types.AttributeValue{"egress_request_id": nil}, Malformed, "egress_request_id is missing"},
		{"an in-flight item without an id", map[string]types.AttributeValue{"egress_request_id": nil, "egress_status": s("PROCESSING")}, Malformed, "egress_request_id is missing"},
		{"no requested_dt", map[string]types.AttributeValue{"requested_dt": nil}, Malformed, "requested_dt is missing"},
		{"a bad reviewer time", map[string]types.AttributeValue{"rit_reviewer_2_dt": s("soon")}, Malformed, `rit_reviewer_2_dt: "soon"`},
		{"a bad flag", map[string]types.AttributeValue{"is_single_approval_enabled": s("yes")}, Malformed, `is_single_approval_enabled: "yes", want true or false`},
		{"a bad count", map[string]types.AttributeValue{"download_count": s("-1")}, Malformed, `download_count: "-1"`},
		{"a bad decision", map[string]types.AttributeValue{"ig_reviewer_1_decision": s("MAYBE")}, Malformed, `ig_reviewer_1_decision: "MAYBE"`},
		{"REJECTED with no rejection", map[string]types.AttributeValue{"egress_status": s("REJECTED")}, Malformed, "REJECTED but the decisions are"},
		{"RITAPPROVED missing RIT", map[string]types.AttributeValue{"rit_reviewer_2_decision": nil}, Malformed, "RITAPPROVED but the decisions are"},
		{"RITAPPROVED with single approval", map[string]types.AttributeValue{"is_single_approval_enabled": s("True")}, Malformed, "a single-approval request ends IGAPPROVED"},
		{"single IGAPPROVED with a RIT decision", map[string]types.AttributeValue{"egress_status": s("IGAPPROVED"), "is_single_approval_enabled": s("true")}, Malformed, "IGAPPROVED with single approval but"},
		{"no workspace at all", map[string]types.AttributeValue{"workspace_id": nil, "swb_egress_store_id": nil}, Malformed, "workspace_id and swb_egress_store_id are missing"},
		{"a list attribute", map[string]types.AttributeValue{"project_id": &types.AttributeValueMemberL{}}, Malformed, "project_id: a list, want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := base()
			for k, v := range tt.change {
				if v == nil {
					delete(item, k)
				} else {
					item[k] = v
				}
			}
			m := Map(item, 4, "old", migratedAt)
			if m.Outcome != tt.outcome {
				t.Fatalf("outcome %s (problems %q), want %s", m.Outcome, m.Problems, tt.outcome)
			}
			if tt.problem != "" && !slices.ContainsFunc(m.Problems, func(p string) bool { return strings.Contains(p, tt.problem) }) {
				t.Fatalf("problems %q, want one containing %q", m.Problems, tt.problem)
			}
			if wantNote := tt.name == "IGAPPROVED without the flag"; (m.Note != "") != wantNote || (wantNote && !strings.Contains(m.Note, "is_single_approval_enabled is missing")) {
				t.Fatalf("note %q", m.Note)
			}
			if tt.outcome != Malformed && len(m.Problems) > 0 {
				t.Fatalf("problems %q on a %s item", m.Problems, m.Outcome)
			}
			if _, ok := item["egress_request_id"]; !ok && m.ID != "(item 5)" {
				t.Fatalf("an item without an id is named %q, want its place in the scan", m.ID)
			}
		})
	}
}

// TestMapNeverKeepsTheTaskToken: the old token is a secret of an execution
// that is over.
func TestMapNeverKeepsTheTaskToken(t *testing.T) {
	item := base()
	item["task_token"] = &types.AttributeValueMemberS{Value: "secret-token"}
	m := Map(item, 0, "old", migratedAt)
	if m.Outcome != Import || m.Request.TaskToken != "" || m.Request.ResumeToken != "" {
		t.Fatalf("outcome %s, task token %q resume token %q", m.Outcome, m.Request.TaskToken, m.Request.ResumeToken)
	}
	for _, e := range m.Events {
		if strings.Contains(e.Reason, "secret-token") {
			t.Fatalf("event %s holds the token", e.Kind)
		}
	}
}
