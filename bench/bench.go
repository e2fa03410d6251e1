// Package bench measures egress against baselines run in the same process,
// on the same machine, against the same servers: release (zip) throughput
// and memory, copy to staging, listing, cold start and end to end. Every
// figure is paired with a baseline doing the same work, because absolute
// times on a shared machine are noise while ratios are not.
//
// `make bench` runs it through cmd/egress-bench; BENCH_SCALE shrinks the
// data for a quick run.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Row is one line of the results table.
type Row struct {
	Scenario string  `json:"scenario"` // "1 Release throughput", ...
	Name     string  `json:"name"`     // what was measured
	Ours     float64 `json:"ours"`
	Baseline float64 `json:"baseline"`
	Unit     string  `json:"unit"`
	BaseName string  `json:"baseline_name"` // what the baseline is
	// Ratio is ours ÷ baseline, or, when Speedup is set (the figures are
	// times and the goal is a speedup), baseline ÷ ours: "this many times
	// faster".
	Ratio   float64 `json:"ratio"`
	Speedup bool    `json:"ratio_is_speedup"`
	Goal    *Goal   `json:"goal,omitempty"`
	Result  string  `json:"result"` // PASS, MISS, INFO (no goal) or ERROR
	Note    string  `json:"note,omitempty"`
}

// Goal is a target for a row's ratio or for our figure.
type Goal struct {
	Of    string  `json:"of"` // "ratio" or "ours"
	Op    string  `json:"op"` // ">=", "<=" or "<"
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"` // of Value when Of is "ours"
}

// Goals rows use.
func ratioAtLeast(v float64) *Goal { return &Goal{Of: "ratio", Op: ">=", Value: v} }
func ratioAtMost(v float64) *Goal  { return &Goal{Of: "ratio", Op: "<=", Value: v} }
func oursAtMost(v float64, unit string) *Goal {
	return &Goal{Of: "ours", Op: "<=", Value: v, Unit: unit}
}

func (g *Goal) String() string {
	op := map[string]string{">=": "≥", "<=": "≤", "<": "<"}[g.Op]
	v := strconv.FormatFloat(g.Value, 'g', -1, 64)
	if g.Of == "ratio" {
		return fmt.Sprintf("ratio %s %s×", op, v)
	}
	return fmt.Sprintf("%s %s %s", op, v, g.Unit)
}

func (g *Goal) met(r Row) bool {
	v := r.Ratio
	if g.Of == "ours" {
		v = r.Ours
	}
	switch g.Op {
	case ">=":
		return v >= g.Value
	case "<=":
		return v <= g.Value
	case "<":
		return v < g.Value
	}
	return false
}

// newRow fills in the ratio and the result of a measured row.
func newRow(r Row) Row {
	switch {
	case r.Speedup && r.Ours > 0:
		r.Ratio = r.Baseline / r.Ours
	case !r.Speedup && r.Baseline > 0:
		r.Ratio = r.Ours / r.Baseline
	}
	r.Result = "INFO"
	if r.Goal != nil {
		r.Result = "MISS"
		if r.Goal.met(r) {
			r.Result = "PASS"
		}
	}
	return r
}

// Compression is how the release zip stored one file type.
type Compression struct {
	Ext        string `json:"ext"`
	Method     string `json:"method"` // "deflate" or "store"
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"`
	Compressed int64  `json:"compressed_bytes"`
}

// Report is the outcome of a run: what bench/latest.json holds.
type Report struct {
	Started     time.Time     `json:"started"`
	WallSeconds float64       `json:"wall_seconds"`
	Scale       float64       `json:"scale"`
	Machine     Machine       `json:"machine"`
	Rows        []Row         `json:"rows"`
	Compression []Compression `json:"compression"`
}

// Machine describes where the figures were measured.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// Failed reports whether a scenario could not run.
func (r *Report) Failed() bool {
	for _, row := range r.Rows {
		if row.Result == "ERROR" {
			return true
		}
	}
	return false
}

// Scenario is one entry of the registry: a function returning rows.
type Scenario struct {
	Name string // short, for -run
	Run  func(ctx context.Context, env *Env) ([]Row, error)
}

// Scenarios is the registry, in the order of the issue.
var Scenarios = []Scenario{
	{"release", runRelease}, // rows of scenarios 1 and 2: one set of child runs measures both
	{"copy", runCopy},
	{"listing", runListing},
	{"coldstart", runColdStart},
	{"e2e", runEndToEnd},
	{"checks", runChecks},
	{"cost", runCost},
	{"console", runConsole},
}

// Run runs every scenario whose name matches only (all when nil) and
// returns the report. A scenario that fails adds an ERROR row and the
// others still run.
func Run(ctx context.Context, env *Env, only *regexp.Regexp) *Report {
	rep := &Report{
		Started: time.Now().UTC(),
		Scale:   env.Scale,
		Machine: Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Rows:    []Row{},
	}
	for _, s := range Scenarios {
		if only != nil && !only.MatchString(s.Name) {
			continue
		}
		start := time.Now()
		env.Logf("scenario %s: start", s.Name)
		rows, err := s.Run(ctx, env)
		rep.Rows = append(rep.Rows, rows...)
		if err != nil {
			env.Logf("scenario %s: %v", s.Name, err)
			rep.Rows = append(rep.Rows, Row{Scenario: s.Name, Name: "error", Result: "ERROR", Note: err.Error(),
				Ours: math.NaN(), Baseline: math.NaN(), Ratio: math.NaN()})
		}
		env.Logf("scenario %s: done in %s", s.Name, time.Since(start).Round(time.Millisecond))
	}
	rep.Compression = env.compression
	rep.WallSeconds = time.Since(rep.Started).Seconds()
	return rep
}

// WriteJSON writes the report as indented JSON. NaN (an error row's
// figures) is written as null.
func (r *Report) WriteJSON(w io.Writer) error {
	type row struct {
		Row
		Ours     *float64 `json:"ours"`
		Baseline *float64 `json:"baseline"`
		Ratio    *float64 `json:"ratio"`
	}
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	out := struct {
		*Report
		Rows []row `json:"rows"`
	}{Report: r, Rows: make([]row, 0, len(r.Rows))}
	for _, x := range r.Rows {
		out.Rows = append(out.Rows, row{Row: x, Ours: finite(x.Ours), Baseline: finite(x.Baseline), Ratio: finite(x.Ratio)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteMarkdown writes the results table, the compression table and the
// notes of rows that have one.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "BENCH_SCALE=%s · %s/%s · %d CPUs · %s · wall time %s\n\n",
		num(r.Scale), r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.GoVersion,
		(time.Duration(r.WallSeconds * float64(time.Second))).Round(time.Second))
	b.WriteString("| scenario | measure | ours | baseline | ratio | goal | result |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	var notes []string
	for _, row := range r.Rows {
		if row.Result == "ERROR" {
			fmt.Fprintf(&b, "| %s | %s | — | — | — | — | ERROR |\n", row.Scenario, row.Name)
			notes = append(notes, fmt.Sprintf("%s / %s: %s", row.Scenario, row.Name, row.Note))
			continue
		}
		goal := "—"
		if row.Goal != nil {
			goal = row.Goal.String()
		}
		ratio := num(row.Ratio) + "×"
		if row.Speedup {
			ratio += " faster"
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s %s (%s) | %s | %s | %s |\n",
			row.Scenario, row.Name, num(row.Ours), row.Unit, num(row.Baseline), row.Unit, row.BaseName,
			ratio, goal, row.Result)
		if row.Note != "" {
			notes = append(notes, fmt.Sprintf("%s / %s: %s", row.Scenario, row.Name, row.Note))
		}
	}
	if len(r.Compression) > 0 {
		b.WriteString("\nRelease zip, compression by file type:\n\n")
		b.WriteString("| type | method | files | bytes | stored as | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, c := range r.Compression {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", c.Ext, c.Method, c.Files,
				mib(c.Bytes), mib(c.Compressed), num(float64(c.Compressed)/float64(max(c.Bytes, 1))))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a figure with three significant digits, or more for big
// whole numbers.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func mib(n int64) string { return num(float64(n)/(1<<20)) + " MiB" }

// WriteFile writes the report as JSON to path.
func (r *Report) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
