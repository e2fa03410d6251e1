// Package apitest reads contract 3's Request fields for the tests of
// every package that checks the frontend's API (shared/api, local/appsync
// and local), from the one copy in shared/api/testdata.
package apitest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Field is one of contract 3's Request fields and its GraphQL type.
type Field struct{ Name, Type string }

// RequestFields reads the 29 fields of type Request, in order, from
// shared/api/testdata/request-fields.txt ("name Type" a line).
func RequestFields(t testing.TB) []Field {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("apitest: cannot tell where its source is")
	}
	path := filepath.Join(filepath.Dir(file), "..", "testdata", "request-fields.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Field
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("request-fields.txt: %q is not \"name Type\"", line)
		}
		out = append(out, Field{name, strings.TrimSpace(typ)})
	}
	if len(out) != 29 {
		t.Fatalf("request-fields.txt lists %d fields, want 29", len(out))
	}
	return out
}

// RequestFieldNames is RequestFields' names.
func RequestFieldNames(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, f := range RequestFields(t) {
		names = append(names, f.Name)
	}
	return names
}
