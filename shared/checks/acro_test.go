package checks

import (
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

func TestApplyACRO(t *testing.T) {
	staged := func() []egress.File {
		return []egress.File{
			{Path: "out/results.json"},
			{Path: "out/crosstab_x.csv"},
			{Path: "out/plots/hist.png"},
			{Path: "other/dup.csv"}, {Path: "more/dup.csv"},
			{Path: "out/summary.txt", Findings: []egress.Finding{{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: "kept"}}},
		}
	}
	tests := []struct {
		name string
		outs []sdc.ACROOutput
		want map[string][]string // path: its findings, "SEVERITY check: message"
	}{
		{"review with exception and comments", []sdc.ACROOutput{{UID: "crosstab_x", Type: "crosstab", Status: "review",
			Summary: "review; threshold: 1 cells suppressed", Exception: "cells are not people", Comments: []string{"see note", "checked"},
			Files: []string{"crosstab_x.csv"}}},
			map[string][]string{"out/crosstab_x.csv": {`WARNING acro: ACRO output "crosstab_x" (crosstab): status review; review; threshold: 1 cells suppressed; researcher's exception: "cells are not people"; comments: see note; checked`}}},
		{"pass on two files, one in a subfolder", []sdc.ACROOutput{{UID: "hist", Type: "histogram", Status: "pass", Summary: "pass",
			Files: []string{"plots/hist.png", "crosstab_x.csv", "crosstab_x.csv"}}},
			map[string][]string{
				"out/plots/hist.png": {`INFO acro: ACRO output "hist" (histogram): status pass; pass`},
				"out/crosstab_x.csv": {`INFO acro: ACRO output "hist" (histogram): status pass; pass`},
			}},
		{"fail, by unique base name", []sdc.ACROOutput{{UID: "t", Status: "fail", Files: []string{"/home/me/summary.txt"}}},
			map[string][]string{"out/summary.txt": {"WARNING sdc: kept", `WARNING acro: ACRO output "t": status fail`}}},
		{"missing and ambiguous files", []sdc.ACROOutput{{UID: "m", Status: "pass", Files: []string{"gone.csv", "dup.csv"}}},
			map[string][]string{"out/results.json": {
				`INFO acro: ACRO output "m" names "gone.csv", which is not in the request`,
				`INFO acro: ACRO output "m" names "dup.csv", which is not in the request`}}},
		{"no files", []sdc.ACROOutput{{UID: "n", Status: "review", Summary: "review"}},
			map[string][]string{"out/results.json": {`WARNING acro: ACRO output "n": status review; review`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := staged()
			ApplyACRO(files, "out/results.json", tt.outs)
			for _, f := range files {
				var got []string
				for _, fd := range f.Findings {
					got = append(got, fd.String())
				}
				want := tt.want[f.Path]
				if want == nil && f.Path == "out/summary.txt" {
					want = []string{"WARNING sdc: kept"}
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s findings:\n%s\nwant:\n%s", f.Path, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		files := staged()
		outs := make([]sdc.ACROOutput, 3*egress.MaxFindingsPerFile)
		for i := range outs {
			outs[i] = sdc.ACROOutput{UID: "o", Status: "pass", Summary: strings.Repeat("s", 2*egress.MaxFindingMessage), Files: []string{"crosstab_x.csv"}}
		}
		ApplyACRO(files, "out/results.json", outs)
		fs := files[1].Findings
		if len(fs) != egress.MaxFindingsPerFile || len(fs[0].Message) > egress.MaxFindingMessage {
			t.Fatalf("%d findings, the first of %d bytes: not bounded", len(fs), len(fs[0].Message))
		}
	})
}
