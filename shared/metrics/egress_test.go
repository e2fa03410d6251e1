package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// records decodes the EMF lines written to buf: each record's dimensions
// (from its directive) and metric values, and checks each directive's
// units against Definitions.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
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
		var d struct {
			CloudWatchMetrics []directive
		}
		raw, _ := json.Marshal(rec["_aws"])
		json.Unmarshal(raw, &d)
		for _, m := range d.CloudWatchMetrics[0].Metrics {
			def, ok := Lookup(m.Name)
			if !ok {
				t.Errorf("metric %s is not in Definitions", m.Name)
				continue
			}
			if m.Unit != def.Unit {
				t.Errorf("metric %s in %s, Definitions say %s", m.Name, m.Unit, def.Unit)
			}
			want := append([]string{DimensionStack}, def.Dimensions...)
			if got := d.CloudWatchMetrics[0].Dimensions[0]; strings.Join(got, ",") != strings.Join(sortedAfterStack(want), ",") {
				t.Errorf("metric %s with dimensions %v, Definitions say %v", m.Name, got, want)
			}
		}
		if rec[PropRequestID] != "r1" {
			t.Errorf("record %s does not name its request", l)
		}
		delete(rec, "_aws")
		delete(rec, PropRequestID)
		out = append(out, rec)
	}
	return out
}

func sortedAfterStack(dims []string) []string {
	rest := append([]string(nil), dims[1:]...)
	for i := range rest {
		for j := i + 1; j < len(rest); j++ {
			if rest[j] < rest[i] {
				rest[i], rest[j] = rest[j], rest[i]
			}
		}
	}
	return append([]string{dims[0]}, rest...)
}

func TestEmitter(t *testing.T) {
	ctx := context.Background()
	req := egress.Request{ID: "r1", Status: egress.StatusRejected}
	tests := []struct {
		name string
		emit func(e *Emitter)
		want []map[string]any
	}{
		{
			name: "a status change counts once, with the new status",
			emit: func(e *Emitter) {
				e.StatusChanged(ctx, req, egress.Event{From: egress.StatusProcessing, To: egress.StatusRejected})
			},
			want: []map[string]any{{"Stack": "s", "Status": "REJECTED", "Requests": 1.0}},
		},
		{
			name: "creation counts",
			emit: func(e *Emitter) {
				e.StatusChanged(ctx, egress.Request{ID: "r1", Status: egress.StatusProcessing}, egress.Event{To: egress.StatusProcessing})
			},
			want: []map[string]any{{"Stack": "s", "Status": "PROCESSING", "Requests": 1.0}},
		},
		{
			name: "an event that keeps the status is not a change",
			emit: func(e *Emitter) {
				e.StatusChanged(ctx, req, egress.Event{From: egress.StatusRejected, To: egress.StatusRejected})
			},
		},
		{
			name: "time to decision in seconds per stage",
			emit: func(e *Emitter) { e.Decided(ctx, "r1", "IG", 90*time.Minute) },
			want: []map[string]any{{"Stack": "s", "Stage": "IG", "TimeToDecision": 5400.0}},
		},
		{
			name: "findings counted per check and severity; unknown values are other",
			emit: func(e *Emitter) {
				e.Checked(ctx, "r1", []egress.Finding{
					{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "EICAR in a.txt"},
					{Check: egress.CheckExtension, Severity: egress.SeverityWarning},
					{Check: egress.CheckMalware, Severity: egress.SeverityBlocking},
					{Check: "made-up /path/id", Severity: "LOUD"},
				})
			},
			want: []map[string]any{
				{"Stack": "s", "Check": "malware", "Severity": "BLOCKING", "Findings": 2.0},
				{"Stack": "s", "Check": "extension", "Severity": "WARNING", "Findings": 1.0},
				{"Stack": "s", "Check": "other", "Severity": "other", "Findings": 1.0},
			},
		},
		{
			name: "no findings, no record",
			emit: func(e *Emitter) { e.Checked(ctx, "r1", nil) },
		},
		{
			name: "a release's bytes and seconds in one record",
			emit: func(e *Emitter) { e.Released(ctx, "r1", 4096, 1500*time.Millisecond) },
			want: []map[string]any{{"Stack": "s", "ReleaseBytes": 4096.0, "ReleaseSeconds": 1.5}},
		},
		{
			name: "a download",
			emit: func(e *Emitter) { e.Downloaded(ctx, "r1") },
			want: []map[string]any{{"Stack": "s", "Downloads": 1.0}},
		},
		{
			name: "a failure by cause; an unknown cause is Internal",
			emit: func(e *Emitter) {
				e.Failed(ctx, "r1", egress.CauseTimeout)
				e.Failed(ctx, "r1", egress.FailureCause("s3://bucket/key not found"))
			},
			want: []map[string]any{
				{"Stack": "s", "Cause": "Timeout", "Failures": 1.0},
				{"Stack": "s", "Cause": "Internal", "Failures": 1.0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.emit(ForStack(&buf, "s", nil))
			got := records(t, &buf)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if len(got) != len(tt.want) || string(gotJSON) != string(wantJSON) {
				t.Errorf("records\n%s\nwant\n%s", gotJSON, wantJSON)
			}
		})
	}
}

// Without a stack name there is no emitter, and a nil one records nothing.
func TestNoStackNoMetrics(t *testing.T) {
	if e := ForStack(nil, "", nil); e != nil {
		t.Fatalf("ForStack with no stack = %v, want nil", e)
	}
	var e *Emitter
	e.Downloaded(context.Background(), "r1") // must not panic
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

// A metric that cannot be written is logged with the request id, and the
// caller carries on.
func TestEmitterLogsWriteErrors(t *testing.T) {
	var logs bytes.Buffer
	e := ForStack(failingWriter{}, "s", slog.New(slog.NewJSONHandler(&logs, nil)))
	e.Downloaded(context.Background(), "r1")
	if !strings.Contains(logs.String(), `"metric not recorded"`) || !strings.Contains(logs.String(), `"egress_request_id":"r1"`) {
		t.Errorf("log %s lacks the unrecorded metric", logs.String())
	}
}

// Every definition names a unit, and its dimensions are the shared names.
func TestDefinitions(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Definitions {
		if d.Name == "" || d.Unit == "" || d.Description == "" || seen[d.Name] {
			t.Errorf("definition %+v: needs a unique name, a unit and a description", d)
		}
		seen[d.Name] = true
	}
}
