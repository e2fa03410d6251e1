package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// jsonOutputs are the --json shapes README documents, by golden name.
var jsonOutputs = map[string]any{
	"list":         listOutput{},
	"show":         showOutput{},
	"action":       actionOutput{},
	"verify":       verifyOutput{},
	"audit-verify": auditVerifyOutput{},
	"audit-export": auditEvent{}, // one line
	"download":     downloadOutput{},
}

// shapeOf describes the JSON a Go type marshals to: objects as their
// fields, arrays as [element], scalars as "string", "number", "bool",
// with "?" after a type that may be null (an object that may be null has
// the key "?").
func shapeOf(t reflect.Type) any {
	nullable := false
	if t.Kind() == reflect.Pointer {
		nullable, t = true, t.Elem()
	}
	var s any
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				for k, v := range shapeOf(f.Type).(map[string]any) {
					m[k] = v
				}
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			m[name] = shapeOf(f.Type)
		}
		if nullable {
			m["?"] = "null"
		}
		return m
	case reflect.Slice:
		s = []any{shapeOf(t.Elem())}
		return s
	case reflect.String:
		s = "string"
	case reflect.Bool:
		s = "bool"
	case reflect.Int, reflect.Int64, reflect.Float64:
		s = "number"
	default:
		panic("shapeOf: " + t.String())
	}
	if nullable {
		return s.(string) + "?"
	}
	return s
}

func goldenShape(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The --json shapes are those in testdata: a renamed, removed or retyped
// field fails here (go test ./cmd/egressctl -run JSONShapes -update
// rewrites them; then update README's field lists).
func TestJSONShapes(t *testing.T) {
	for name, v := range jsonOutputs {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(shapeOf(reflect.TypeOf(v)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("--json shape of %s changed:\n%s\nwant (%s):\n%s", name, got, path, want)
			}
		})
	}
}

// conforms checks actual --json output against the golden shape: every
// object has exactly the golden's keys, every value its type, null only
// where the golden allows it.
func conforms(t *testing.T, name, output string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(output), &v); err != nil {
		t.Fatalf("%s --json: %v\n%s", name, err, output)
	}
	if err := conform(v, goldenShape(t, name), "$"); err != "" {
		t.Errorf("%s --json does not conform to testdata/%s.golden: %s\n%s", name, name, err, output)
	}
}

func conform(v, shape any, path string) string {
	switch sh := shape.(type) {
	case string:
		typ, nullable := strings.CutSuffix(sh, "?")
		if v == nil {
			if nullable {
				return ""
			}
			return path + " is null"
		}
		ok := map[string]bool{"string": isType[string](v), "number": isType[float64](v), "bool": isType[bool](v)}[typ]
		if !ok {
			return path + " is not a " + typ
		}
	case []any:
		a, ok := v.([]any)
		if !ok {
			return path + " is not an array"
		}
		for i, e := range a {
			if err := conform(e, sh[0], fmt.Sprintf("%s[%d]", path, i)); err != "" {
				return err
			}
		}
	case map[string]any:
		if v == nil {
			if sh["?"] != nil {
				return ""
			}
			return path + " is null"
		}
		m, ok := v.(map[string]any)
		if !ok {
			return path + " is not an object"
		}
		var want, got []string
		for k := range sh {
			if k != "?" {
				want = append(want, k)
			}
		}
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			return path + " has keys " + strings.Join(got, ",") + ", want " + strings.Join(want, ",")
		}
		for _, k := range want {
			if err := conform(m[k], sh[k], path+"."+k); err != "" {
				return err
			}
		}
	}
	return ""
}

func isType[T any](v any) bool { _, ok := v.(T); return ok }
