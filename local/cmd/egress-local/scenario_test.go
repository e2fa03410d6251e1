package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
)

func TestParseStages(t *testing.T) {
	tests := []struct {
		arg             string
		blinded, single bool
		names           []string
		reviewers0      int
		err             string
	}{
		{arg: "", names: nil},
		{arg: "3", names: []string{"IG", "RIT", "Stage3"}, reviewers0: 1},
		{arg: "5", blinded: true, names: []string{"IG", "RIT", "Stage3", "Stage4", "Stage5"}, reviewers0: 2},
		{arg: "1", names: []string{"IG"}, reviewers0: 1},
		{arg: `[{"name":"IG","group":"InformationGovernance"}]`, names: []string{"IG"}},
		{arg: "6", err: "want 1 to 5"},
		{arg: "0", err: "want 1 to 5"},
		{arg: "three", err: "want a number 1..5 or approval_stages JSON"},
		{arg: "2", single: true, err: "--single and --stages"},
		{arg: "", blinded: true, err: "--blinded needs --stages N"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := parseStages(tt.arg, tt.blinded, tt.single)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.names, ",") {
				t.Fatalf("stages %v, want %v", names, tt.names)
			}
			if tt.reviewers0 != 0 && got[0].Reviewers != tt.reviewers0 {
				t.Errorf("first stage reviewers %d, want %d", got[0].Reviewers, tt.reviewers0)
			}
			if len(got) > 2 && got[2].Group != "DataOwner" {
				t.Errorf("third stage group %q", got[2].Group)
			}
		})
	}
}

func TestParseDecision(t *testing.T) {
	tests := []struct {
		in   string
		want local.Step
		err  string
	}{
		{in: "approve", want: local.Step{Word: "approve"}},
		{in: "cancel", want: local.Step{Word: "cancel"}},
		{in: "approve:reject=a.csv+dir/b c.csv", want: local.Step{Word: "approve", RejectFiles: []string{"a.csv", "dir/b c.csv"}}},
		{in: "accept", err: `decision "accept": want approve, reject, return, cancel`},
		{in: "approve:a.csv", err: "approve:reject=PATH+PATH"},
		{in: "return:reject=a.csv", err: "only approve names files"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := local.ParseDecision(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got.Word != tt.want.Word || strings.Join(got.RejectFiles, "|") != strings.Join(tt.want.RejectFiles, "|") {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestDemo runs what make demo runs, on one stack: every scenario as
// expected, in order.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := local.Start(ctx, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	changed := t.TempDir()
	var names []string
	var statuses []egress.Status
	err = demoScenarios(ctx, st, sampleStore(), changed, func(name string, rep local.Report, err error) error {
		names, statuses = append(names, name), append(statuses, rep.Status)
		if err == nil && !rep.ExpectedResult {
			t.Errorf("%s: %v", name, rep.Problems)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []egress.Status{egress.StatusRITApproved, egress.StatusRejected, egress.StatusReturned, egress.StatusRITApproved, egress.StatusRevoked,
		egress.StatusBlocked, egress.StatusRITApproved}
	if strings.Join(statusStrings(statuses), ",") != strings.Join(statusStrings(want), ",") {
		t.Fatalf("scenarios %v ended %v, want %v", names, statuses, want)
	}
	if b, err := os.ReadFile(filepath.Join(changed, "tables", "summary.csv")); err != nil || !strings.Contains(string(b), "suppressed") {
		t.Errorf("the resubmitted store's changed file: %q, %v", b, err)
	}
}

func statusStrings(ss []egress.Status) []string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s))
	}
	return out
}
