package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tre-egress/egress/web/browsertest"
)

// TestMain lets the release scenario re-execute the test binary as its
// child process.
func TestMain(m *testing.M) {
	if code, ok := MaybeRunChild(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestNewRow(t *testing.T) {
	tests := []struct {
		name      string
		row       Row
		wantRatio float64
		want      string
	}{
		{"throughput meets ratio", Row{Ours: 90, Baseline: 100, Goal: ratioAtLeast(0.8)}, 0.9, "PASS"},
		{"throughput misses ratio", Row{Ours: 70, Baseline: 100, Goal: ratioAtLeast(0.8)}, 0.7, "MISS"},
		{"speedup is baseline over ours", Row{Ours: 10, Baseline: 300, Speedup: true, Goal: ratioAtLeast(20)}, 30, "PASS"},
		{"start time at most", Row{Ours: 16, Baseline: 10, Goal: ratioAtMost(1.5)}, 1.6, "MISS"},
		{"absolute goal ignores ratio", Row{Ours: 100, Baseline: 10, Goal: oursAtMost(128, "MiB")}, 10, "PASS"},
		{"strictly below", Row{Ours: 1.1, Baseline: 1, Goal: &Goal{Of: "ours", Op: "<", Value: 1.1}}, 1.1, "MISS"},
		{"no goal", Row{Ours: 2, Baseline: 1}, 2, "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newRow(tt.row)
			if math.Abs(got.Ratio-tt.wantRatio) > 1e-9 || got.Result != tt.want {
				t.Fatalf("ratio %v result %s, want %v %s", got.Ratio, got.Result, tt.wantRatio, tt.want)
			}
		})
	}
}

func TestMixIsDeterministic(t *testing.T) {
	a, b := mix(1, 8<<20), mix(1, 8<<20)
	var total int64
	kinds := map[content]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("file %d differs between two calls: %+v, %+v", i, a[i], b[i])
		}
		total += a[i].Size
		kinds[a[i].Kind] = true
	}
	if total != 8<<20 || !kinds[text] || !kinds[random] {
		t.Fatalf("mix has %d bytes, kinds %v; want %d bytes of both kinds", total, kinds, 8<<20)
	}
	x, _ := readAll(a[4])
	y, _ := readAll(b[4])
	if !bytes.Equal(x, y) || int64(len(x)) != a[4].Size {
		t.Fatal("a file's content is not a function of its description")
	}
}

func readAll(f file) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(f.open())
	return b.Bytes(), err
}

// TestRun runs every scenario end to end on tiny data against the real
// servers and checks the table and the JSON have the promised shape.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO, DynamoDB Local and the embedded stack, and builds every function")
	}
	env, err := NewEnv(0.002, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	env.Functions = []string{"copy-to-datalake"} // building all takes long; make bench does
	rep := Run(context.Background(), env, nil)

	// The console's rows need Chromium and the built console: without
	// them, outside CI, the error is the skip's reason (browsertest.Need).
	_, noBrowser := browsertest.FindChromium()
	noBrowser = errors.Join(noBrowser, browsertest.Built())
	ci := os.Getenv("CI") != "" && os.Getenv("CI") != "false"
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}
	scenarios := map[string]int{}
	for _, r := range rep.Rows {
		if r.Result == "ERROR" && r.Scenario == "console" && noBrowser != nil && !ci {
			t.Logf("console row not measured: %s", r.Note)
			want = want[:len(want)-1]
			continue
		}
		if r.Result == "ERROR" {
			t.Errorf("%s: %s", r.Scenario, r.Note)
			continue
		}
		scenarios[r.Scenario[:1]]++
		switch {
		case r.Name == "" || r.Unit == "" || r.BaseName == "":
			t.Errorf("row %+v lacks a name, unit or baseline name", r)
		case !(r.Ours > 0) || !(r.Baseline > 0) || math.IsInf(r.Ratio, 0) || !(r.Ratio > 0):
			t.Errorf("row %q: ours %v baseline %v ratio %v, want positive figures", r.Name, r.Ours, r.Baseline, r.Ratio)
		case r.Result != newRow(r).Result:
			t.Errorf("row %q: result %s does not follow from its figures", r.Name, r.Result)
		}
	}
	for _, s := range want {
		if scenarios[s] == 0 {
			t.Errorf("no row for scenario %s", s)
		}
	}
	methods := map[string]string{}
	for _, c := range rep.Compression {
		methods[c.Ext] = c.Method
	}
	if methods[".csv"] != "deflate" || methods[".gz"] != "store" || methods[".png"] != "store" {
		t.Errorf("compression by type = %v, want CSV deflated and .gz/.png stored", methods)
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Scale float64          `json:"scale"`
		Rows  []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Scale != 0.002 || len(decoded.Rows) != len(rep.Rows) {
		t.Fatalf("JSON has scale %v and %d rows, want 0.002 and %d", decoded.Scale, len(decoded.Rows), len(rep.Rows))
	}
	for _, r := range decoded.Rows {
		for _, k := range []string{"scenario", "name", "ours", "baseline", "unit", "ratio", "result"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("JSON row %v lacks %q", r, k)
			}
		}
	}

	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for l := range strings.Lines(md.String()) {
		if strings.HasPrefix(l, "| ") && strings.Count(l, " | ") == 6 {
			lines++
		}
	}
	if want := len(rep.Rows) + 2; lines != want { // rows, header and rule
		t.Errorf("Markdown table has %d lines of 7 columns, want %d:\n%s", lines, want, md.String())
	}
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
