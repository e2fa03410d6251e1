package sdc

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseACRO: any results.json gives outputs or an error, never a
// panic; the same bytes give the same outputs in the same order (map
// order must not leak); every text a reviewer sees is within its bound;
// errors stay short however long the hostile key.
func FuzzParseACRO(f *testing.F) {
	sample, err := os.ReadFile("testdata/results.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, s := range []string{
		`{"results":{}}`, `{"results":null}`, `{"results":[]}`, `[]`, `{"results":{"a":1}}`,
		`{"results":{"a":{"uid":"x"},"b":{"uid":"x"}}}`,
		`{"results":{"a":{"files":["  ", "../../etc/passwd", {"name":"\u0000"}, 3]}}}`,
		`{"results":{"` + strings.Repeat("k", 5000) + `":[]}}`,
		`{"results":{"a":{"summary":"` + strings.Repeat("é", 400) + `","comments":["` + strings.Repeat(`c","`, 30) + `"]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ParseACRO(bytes.NewReader(data))
		if err != nil {
			if len(err.Error()) > 2048 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		again, err := ParseACRO(bytes.NewReader(data))
		if err != nil || !reflect.DeepEqual(out, again) {
			t.Fatalf("parsed twice, differs: %v", err)
		}
		for i, o := range out {
			if i > 0 && out[i-1].UID > o.UID {
				t.Fatalf("outputs not sorted by uid: %q before %q", out[i-1].UID, o.UID)
			}
			texts := map[string]int{"status": len(o.Status), "type": len(o.Type), "method": len(o.Method), "uid": len(o.UID) - maxACROName + maxName,
				"summary": len(o.Summary) - maxACROText + maxName, "exception": len(o.Exception) - maxACROText + maxName}
			for what, n := range texts {
				if n > maxName {
					t.Fatalf("%s of output %d is over its bound", what, i)
				}
			}
			if len(o.Comments) > maxACROComment+1 {
				t.Fatalf("%d comments", len(o.Comments))
			}
			for _, c := range o.Comments {
				if len(c) > maxACROText {
					t.Fatalf("comment of %d bytes", len(c))
				}
			}
			for _, name := range o.Files {
				if name == "" || strings.TrimSpace(name) != name && len(name) < maxACROName || len(name) > maxACROName {
					t.Fatalf("file name %q", name)
				}
			}
		}
	})
}
