package schema_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/events/schema"
	"github.com/tre-egress/egress/shared/egress"
)

// doc is the schema as plain JSON, to compare its lists with the Go ones.
func doc(t *testing.T) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(schema.JSON, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func at(v any, path ...string) any {
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// The schema lists exactly the detail-types, statuses and detail fields of
// shared/egress: a status, detail-type or field added on one side only
// fails here.
func TestEventSchemaMatchesTheDomain(t *testing.T) {
	d := doc(t)
	if got, want := strs(at(d, "properties", "detail-type", "enum")), egress.DetailTypes(); !slices.Equal(got, want) {
		t.Errorf("%s detail-type enum\n %q\nshared/egress DetailTypes()\n %q", schema.File, got, want)
	}
	var statuses []string
	for _, s := range egress.Statuses {
		statuses = append(statuses, string(s))
	}
	if got := strs(at(d, "$defs", "status", "enum")); !slices.Equal(got, statuses) {
		t.Errorf("%s status enum\n %q\negress.Statuses\n %q", schema.File, got, statuses)
	}
	var fields []string
	rt := reflect.TypeFor[egress.StatusChange]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	props := at(d, "$defs", "detail", "properties").(map[string]any)
	var inSchema []string
	for k := range props {
		inSchema = append(inSchema, k)
	}
	slices.Sort(fields)
	slices.Sort(inSchema)
	required := strs(at(d, "$defs", "detail", "required"))
	slices.Sort(required)
	if !slices.Equal(inSchema, fields) || !slices.Equal(required, fields) {
		t.Errorf("%s detail properties %v, required %v; egress.StatusChange's fields %v", schema.File, inSchema, required, fields)
	}
}

// envelope is an event as EventBridge delivers it, around detail.
func envelope(detailType string, detail any) []byte {
	d, _ := json.Marshal(detail)
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detailType, "source": egress.BusSource,
		"account": "111111111111", "time": "2026-12-01T10:00:00Z", "region": "eu-west-2", "resources": []string{}, "detail": json.RawMessage(d),
	})
	return b
}

// Every status change the domain publishes validates; events that break
// the contract do not.
func TestEventSchemaValidates(t *testing.T) {
	s, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	base := egress.Event{RequestID: "5f0d9a52", Workspace: "ws-1", Project: "proj-1", At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Actor: "ig@example.org", Stage: "IG", Kind: egress.EventDecision, From: egress.StatusProcessing}
	var good egress.StatusChange
	for _, to := range egress.Statuses {
		if to == base.From {
			continue // no change; creation is below
		}
		e := base
		e.To = to
		sc, dt, ok, err := egress.StatusChangeOf(e, "00000000000000000002")
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", to, ok, err)
		}
		if err := schema.Validate(s, envelope(dt, sc)); err != nil {
			t.Errorf("%s: %v", to, err)
		}
		good = sc
	}
	created := base
	created.Kind, created.From, created.To, created.Stage = egress.EventCreated, "", egress.StatusProcessing, ""
	sc, dt, _, _ := egress.StatusChangeOf(created, "00000000000000000001")
	if err := schema.Validate(s, envelope(dt, sc)); err != nil {
		t.Errorf("created: %v", err)
	}

	asMap := func(sc egress.StatusChange) map[string]any {
		b, _ := json.Marshal(sc)
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	for _, tc := range []struct {
		name       string
		detailType string
		change     func(map[string]any)
	}{
		{"a task token", "Egress Request Revoked", func(m map[string]any) { m["task_token"] = "AAAA" }},
		{"a link", "Egress Request Revoked", func(m map[string]any) { m["presign_url"] = "https://example.org/x" }},
		{"no workspace", "Egress Request Revoked", func(m map[string]any) { delete(m, "workspace_id") }},
		{"an unknown status", "Egress Request Revoked", func(m map[string]any) { m["to_status"] = "LOST" }},
		{"a time of another layout", "Egress Request Revoked", func(m map[string]any) { m["at"] = "2026-12-01 10:00" }},
		{"an unknown detail-type", "Egress Request Lost", func(map[string]any) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := asMap(good)
			tc.change(m)
			if err := schema.Validate(s, envelope(tc.detailType, m)); err == nil {
				t.Errorf("validated: %v", m)
			}
		})
	}
}
