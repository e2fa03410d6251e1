package stack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.template.json from the synthesized stacks")

// assetHash matches the content hashes of assets (function code), which
// change with every build of the functions.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalized is a template as checked in: indented JSON, asset hashes
// replaced.
func normalized(t *testing.T, tmpl map[string]any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(tmpl, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(assetHash.ReplaceAll(b, []byte("<asset hash>")), '\n')
}

// The synthesized Sample template is checked in, so every infrastructure
// change shows in review. go test ./infra/stack -run Golden -update
// rewrites it.
func TestGolden(t *testing.T) {
	s := synth(t)
	for _, name := range []string{sampleStack, fullStack} {
		got := normalized(t, s.templates[name])
		file := "testdata/" + name + ".template.json"
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./infra/stack -run Golden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s; review the change and run go test ./infra/stack -run Golden -update\n%s",
				name, file, firstDifference(want, got))
		}
	}
}

// firstDifference shows the first differing line with some context.
func firstDifference(want, got []byte) string {
	w, g := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl []byte
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if !bytes.Equal(wl, gl) {
			return "line " + strconv.Itoa(i+1) + ":\n- " + string(wl) + "\n+ " + string(gl)
		}
	}
	return ""
}
