package api_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// sampleToken is the task token of events/store-task-token.json; the
// update samples send its TokenRef.
const sampleToken = "AQCEAAAAKgAAAAMAAAAAAAAAAexampletoken"

func sample(t *testing.T, name string) api.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev api.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// Every events/egress-api-*.json sample runs through the Lambda handler,
// in the order of a request's life, against a request with its ids.
func TestSampleEvents(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join("..", "..", "events", "egress-api-*.json"))
	order := []string{
		"egress-api-list-requests.json", "egress-api-get-request.json", "egress-api-requests.json",
		"egress-api-request-files.json", "egress-api-request-file-page.json", "egress-api-request-history.json", "egress-api-request-checks.json",
		"egress-api-preview-file.json", "egress-api-update-request.json", "egress-api-update-request-rit.json", "egress-api-download-data.json",
	}
	// What each result must show.
	shows := map[string]string{
		"egress-api-request-files.json":      `"path":"results/a.csv"`,
		"egress-api-request-file-page.json":  `"items":[{"path":"results/a.csv"`,
		"egress-api-request-history.json":    `"kind":"CREATED"`,
		"egress-api-request-checks.json":     `"notable":[{"path":"results/a.csv","check":"sdc","severity":"WARNING"`,
		"egress-api-preview-file.json":       `"rows":[["a","b"],["1","2"]]`,
		"egress-api-update-request.json":     "IGAPPROVED",
		"egress-api-update-request-rit.json": "RITAPPROVED",
		"egress-api-download-data.json":      "X-Amz-Signature",
	}
	for _, n := range names {
		if !slices.Contains(order, filepath.Base(n)) && !slices.Contains(lifecycleSamples, filepath.Base(n)) {
			t.Errorf("sample %s is not exercised here", filepath.Base(n))
		}
	}
	e := newEnv(t)
	ctx := context.Background()
	first := sample(t, "egress-api-get-request.json")
	var args struct {
		ID string `json:"egress_request_id"`
	}
	json.Unmarshal(first.Arguments, &args)
	r := newRequest()
	r.ID, r.WorkspaceID, r.TaskToken = args.ID, "4b2f8c1e-7a6d-4e3b-9f0a-1c2d3e4f5a6b", sampleToken
	r.StagingObjectMetadataVersion = "manifests/" + r.WorkspaceID + "/" + r.ID + ".json"
	staged := e.stage(t, r, "results/a.csv", []byte("a,b\n1,2\n"))
	staged.Findings = []egress.Finding{{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `row 2, column "b": count 2 is below the threshold of 10`}}
	checks := egress.Summarise(egress.EngineClamAV, nil, []egress.File{staged})
	r.Checks = &checks
	if err := e.objects.WriteManifest(ctx, e.staging, r.StagingObjectMetadataVersion, egress.Manifest{RequestID: r.ID,
		Files: []egress.File{staged}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.table.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	handler := api.Handler(e.svc)
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			ev := sample(t, name)
			if !slices.Contains(api.FieldResolvers, ev.Info.ParentTypeName+"."+ev.Info.FieldName) {
				t.Fatalf("%s.%s is not a resolver field", ev.Info.ParentTypeName, ev.Info.FieldName)
			}
			switch name {
			case "egress-api-update-request-rit.json": // the workflow now awaits RIT
				cur, _ := e.table.Get(ctx, r.ID)
				cur.TaskToken, cur.CurrentReviewerGroup = sampleToken, egress.GroupRIT
				if _, err := e.table.Update(ctx, cur, egress.Event{Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow}); err != nil {
					t.Fatal(err)
				}
			case "egress-api-download-data.json": // released
				cur, _ := e.table.Get(ctx, r.ID)
				cur.ZipKey = e.zipKey
				if _, err := e.table.Update(ctx, cur, egress.Event{Kind: egress.EventReleased, Actor: egress.ActorWorkflow}); err != nil {
					t.Fatal(err)
				}
			}
			out, err := handler(ctx, ev)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := json.Marshal(out)
			want, ok := shows[name]
			if !ok {
				want = r.ID
			}
			if !strings.Contains(string(b), want) {
				t.Errorf("result %s lacks %s", b, want)
			}
		})
	}
	got, _ := e.table.Get(ctx, r.ID)
	if got.Status != egress.StatusRITApproved || got.DownloadCount != 1 {
		t.Fatalf("after the samples: %s, %d downloads", got.Status, got.DownloadCount)
	}
}

// lifecycleSamples are the egress-api samples of the review lifecycle,
// run by TestLifecycleSampleEvents on a request of their own.
var lifecycleSamples = []string{"egress-api-review-request.json", "egress-api-cancel-request.json"}

// The lifecycle's samples through the Lambda handler: a vote with a
// per-file decision decides the IG stage, then a TRE admin cancels the
// request awaiting RIT.
func TestLifecycleSampleEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var args struct {
		Request struct {
			ID string `json:"egress_request_id"`
		} `json:"request"`
	}
	json.Unmarshal(sample(t, lifecycleSamples[0]).Arguments, &args)
	r := newRequest()
	r.ID, r.WorkspaceID, r.TaskToken = args.Request.ID, "4b2f8c1e-7a6d-4e3b-9f0a-1c2d3e4f5a6b", sampleToken
	r.StagingObjectMetadataVersion = "manifests/" + r.WorkspaceID + "/" + r.ID + ".json"
	staged := e.stage(t, r, "results/a.csv", []byte("a,b\n1,2\n"))
	staged.Findings = []egress.Finding{{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `row 2, column "b": count 2 is below the threshold of 10`}}
	checks := egress.Summarise(egress.EngineClamAV, nil, []egress.File{staged})
	r.Checks = &checks
	if err := e.objects.WriteManifest(ctx, e.staging, r.StagingObjectMetadataVersion, egress.Manifest{RequestID: r.ID,
		Files: []egress.File{staged}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.table.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	handler := api.Handler(e.svc)
	for name, want := range map[string]egress.Status{lifecycleSamples[0]: egress.StatusIGApproved} {
		out, err := handler(ctx, sample(t, name))
		if b, _ := json.Marshal(out); err != nil || !strings.Contains(string(b), string(want)) {
			t.Fatalf("%s: %s, %v; want %s", name, b, err, want)
		}
	}
	cur, _ := e.table.Get(ctx, r.ID) // the workflow now awaits RIT
	cur.TaskToken, cur.CurrentReviewerGroup = sampleToken, egress.GroupRIT
	if _, err := e.table.Update(ctx, cur, egress.Event{Kind: egress.EventTaskToken, Actor: egress.ActorWorkflow}); err != nil {
		t.Fatal(err)
	}
	out, err := handler(ctx, sample(t, lifecycleSamples[1]))
	if b, _ := json.Marshal(out); err != nil || !strings.Contains(string(b), string(egress.StatusCancelled)) {
		t.Fatalf("%s: %s, %v", lifecycleSamples[1], b, err)
	}
}
