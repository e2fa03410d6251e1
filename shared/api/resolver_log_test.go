package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

type failingManifests struct{}

func (failingManifests) ReadManifest(context.Context, string, string) (egress.Manifest, error) {
	return egress.Manifest{}, errors.New("read manifest: connection reset by peer")
}

// Every error Handler returns is logged once with its code, so the
// deployment's alarm counts internal errors and not users' refusals
// (infra/stack/alarms.go); a success logs no such line.
func TestHandlerLogsErrorCodes(t *testing.T) {
	reviewer := &api.Identity{Sub: "u-1", Groups: []string{egress.GroupIG}}
	staged := json.RawMessage(`{"egress_request_id":"r-1","s3_staging_object_metadata_version":"manifests/ws/r-1.json"}`)
	tests := []struct {
		name      string
		ev        api.Event
		wantCode  string // "" for success
		wantLevel string
	}{
		{"no identity", api.Event{Info: api.Info{ParentTypeName: "Query", FieldName: "listRequests"}}, egress.EFORBIDDEN, "WARN"},
		{"not a reviewer", api.Event{Identity: &api.Identity{Sub: "u-2", Groups: []string{"Researchers"}},
			Info: api.Info{ParentTypeName: "Query", FieldName: "getRequest"}}, egress.EFORBIDDEN, "WARN"},
		{"invalid arguments", api.Event{Identity: reviewer, Arguments: json.RawMessage(`{}`),
			Info: api.Info{ParentTypeName: "Query", FieldName: "getRequest"}}, egress.EINVALID, "WARN"},
		{"internal", api.Event{Identity: reviewer, Source: staged,
			Info: api.Info{ParentTypeName: "Request", FieldName: "files"}}, egress.EINTERNAL, "ERROR"},
		{"success", api.Event{Identity: reviewer, Source: json.RawMessage(`{"egress_request_id":"r-1"}`),
			Info: api.Info{ParentTypeName: "Request", FieldName: "files"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			svc := &api.Service{Manifests: failingManifests{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			_, err := api.Handler(svc)(context.Background(), tt.ev)
			if got := errorType(err); got != tt.wantCode {
				t.Fatalf("error type %q, want %q (%v)", got, tt.wantCode, err)
			}
			var lines []map[string]any
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var m map[string]any
				if l != "" && json.Unmarshal([]byte(l), &m) == nil && m[slog.MessageKey] == api.LogResolverError {
					lines = append(lines, m)
				}
			}
			if tt.wantCode == "" {
				if len(lines) != 0 {
					t.Fatalf("a success logged %v", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("want one %q line, got %d in %s", api.LogResolverError, len(lines), logs.String())
			}
			l := lines[0]
			if l[api.LogErrorCode] != tt.wantCode || l[slog.LevelKey] != tt.wantLevel || l["field"] != tt.ev.Info.ParentTypeName+"."+tt.ev.Info.FieldName {
				t.Errorf("logged %v, want %s=%s at %s", l, api.LogErrorCode, tt.wantCode, tt.wantLevel)
			}
		})
	}
}
