package workflow_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// checkedFiles are staged files with what the checks found in them.
var checkedFiles = []egress.File{
	{Path: "tables/a.csv", Findings: []egress.Finding{
		{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `row 3 ("London"), column "n": count 3 is below the threshold of 10`},
		{Check: egress.CheckACRO, Severity: egress.SeverityInfo, Message: "results.json: output a.csv: status pass"},
	}},
	{Path: "tables/b.csv", Findings: []egress.Finding{
		{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: `column "count": the total 40 reveals the suppressed cell in row 5`},
		{Check: egress.CheckMalware, Severity: egress.SeverityWarning, Message: "not scanned: larger than max_scan_bytes"},
	}},
	{Path: "README.txt"},
}

func summary(engine string, request []egress.Finding, files []egress.File) *egress.CheckSummary {
	s := egress.Summarise(engine, request, files)
	return &s
}

// The reviewers' notice, and each reminder, says what the automated checks
// found: counts, the engine, and each notable finding's file and reason on
// its own line; or that the checks found nothing, or did not run.
func TestReviewerNoticeShowsChecks(t *testing.T) {
	manyFiles := make([]egress.File, 14)
	for i := range manyFiles {
		manyFiles[i] = egress.File{Path: fmt.Sprintf("t/%02d.csv", i), Findings: []egress.Finding{
			{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: fmt.Sprintf("cell %d is small", i)}}}
	}
	tests := []struct {
		name    string
		checks  *egress.CheckSummary
		want    []string
		notWant []string
	}{
		{"not run", nil, []string{"Automated checks: not run\n"}, []string{"warning"}},
		{"nothing found", summary(egress.EngineClamAV, nil, []egress.File{{Path: "a.csv"}}),
			[]string{"Automated checks: no findings (malware engine ClamAV)\n"}, nil},
		// Informational findings only: counted, not listed.
		{"notes only", summary(egress.EngineGuardDuty, nil, []egress.File{{Path: "a.csv", Findings: []egress.Finding{
			{Check: egress.CheckACRO, Severity: egress.SeverityInfo, Message: "results.json: status pass"},
			{Check: egress.CheckArchive, Severity: egress.SeverityInfo, Message: "lists 2 entries"}}}}),
			[]string{"Automated checks: no warnings, 2 notes for the reviewers in the web app (malware engine GuardDuty)\n"},
			[]string{"status pass"}},
		{"warnings", summary(egress.EngineClamAV, nil, checkedFiles), []string{
			"Automated checks: 3 warnings, findings on 2 files (malware engine ClamAV):\n",
			// What a message quotes from the files stays in the web app.
			"\n  tables/a.csv: sdc: a possible disclosure risk in the table (row and column in the web app)\n",
			"\n  tables/b.csv: sdc: a possible disclosure risk in the table (row and column in the web app)\n",
			"\n  tables/b.csv: malware: not scanned: larger than max_scan_bytes\n",
		}, []string{"status pass", "more in the web app", "London", "count 3", "total 40"}},
		{"one warning on the request as a whole, no scanner", summary(egress.EngineNone, []egress.Finding{
			{Check: egress.CheckCount, Severity: egress.SeverityWarning, Message: "12 files"}}, nil), []string{
			"Automated checks: 1 warning (malware engine none: files not scanned):\n",
			"\n  the request as a whole: count: 12 files\n",
		}, nil},
		{"more than the notable", summary(egress.EngineClamAV, nil, manyFiles), []string{
			"Automated checks: 14 warnings, findings on 14 files (malware engine ClamAV):\n",
			"\n  t/09.csv: sdc: a possible disclosure risk in the table (row and column in the web app)\n",
			"\n  and 4 more in the web app\n",
		}, []string{"t/10.csv"}},
		{"a message cannot add lines", summary(egress.EngineClamAV, nil, []egress.File{{Path: "x.csv\nBcc: a@b", Findings: []egress.Finding{
			{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: "column \"n\r\nApproved: yes\": count 2"}}}}), []string{
			"\n  x.csv Bcc: a@b: sdc: a possible disclosure risk in the table (row and column in the web app)\n",
		}, []string{"\nApproved", "\nBcc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(what, text string) {
				t.Helper()
				for _, w := range tt.want {
					if !strings.Contains(text, w) {
						t.Errorf("%s lacks %q:\n%s", what, w, text)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(text, w) {
						t.Errorf("%s has %q:\n%s", what, w, text)
					}
				}
			}
			e, pub, _ := reviewersEnv(t, egress.StatusProcessing)
			r := e.reqs.byID[reqID]
			r.Checks = tt.checks
			e.reqs.byID[reqID] = r
			if err := e.h.StoreTaskToken(context.Background(), workflow.TokenInput{RequestID: reqID, TaskToken: token}); err != nil {
				t.Fatal(err)
			}
			if len(pub.notices) != 1 {
				t.Fatalf("notices %+v", pub.notices)
			}
			check("notice", pub.notices[0].Text)
			for _, m := range e.mail.sent {
				check("e-mail to "+m.To[0], m.Text)
			}

			// A day later the stage's first reminder says the same.
			r = e.reqs.byID[reqID]
			r.Stages, r.AwaitingSince = remindedStages, now.Add(-25*time.Hour)
			e.reqs.byID[reqID] = r
			if out, err := e.h.SendReminders(context.Background(), workflow.ReminderInput{ID: "run"}); err != nil || out.Sent != 1 || len(pub.notices) != 2 {
				t.Fatalf("reminders %+v %v, %d notices", out, err, len(pub.notices))
			}
			if !strings.HasPrefix(pub.notices[1].Subject, "Reminder") {
				t.Fatalf("second notice %q is not the reminder", pub.notices[1].Subject)
			}
			check("reminder", pub.notices[1].Text)
		})
	}
}

// The longest findings still make a bounded notice.
func TestReviewerNoticeChecksBounded(t *testing.T) {
	e, pub, _ := reviewersEnv(t, egress.StatusProcessing)
	var files []egress.File
	for i := range egress.MaxFindingsPerFile {
		files = append(files, egress.File{Path: fmt.Sprintf("%04d", i) + strings.Repeat("p", 2000), Findings: []egress.Finding{
			{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: strings.Repeat("m", egress.MaxFindingMessage)}}})
	}
	r := e.reqs.byID[reqID]
	r.Checks = summary(egress.EngineClamAV, nil, files)
	e.reqs.byID[reqID] = r
	if err := e.h.StoreTaskToken(context.Background(), workflow.TokenInput{RequestID: reqID, TaskToken: token}); err != nil {
		t.Fatal(err)
	}
	if len(pub.notices) != 1 {
		t.Fatalf("notices %+v", pub.notices)
	}
	text := pub.notices[0].Text
	if len(text) > 16<<10 || strings.Count(text, "  0") != egress.MaxNotableFindings || !strings.Contains(text, "and 40 more") {
		t.Errorf("notice of %d bytes, %d findings listed:\n%.3000s", len(text), strings.Count(text, "  0"), text)
	}
}

// The requester of a BLOCKED request is told which files blocked it and
// why, that nothing was released and no reviewer saw it, and nothing of
// the reviewers' warnings; without a stored summary, the end reason says
// why.
func TestBlockedNotice(t *testing.T) {
	blockedBy := append([]egress.File{{Path: "results/eicar.csv", Findings: []egress.Finding{
		{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "clamd found Eicar-Test-Signature"}}}, {Path: "bin/tool.csv", Findings: []egress.Finding{
		{Check: egress.CheckType, Severity: egress.SeverityBlocking, Message: "the bytes are application/x-msdownload, not text/csv"}}}},
		checkedFiles...)
	tests := []struct {
		name    string
		summary bool
		want    []string
		notWant []string
	}{
		{"with the summary", true, []string{
			"blocked by the automated checks before review",
			"Nothing was released",
			"  results/eicar.csv: clamd found Eicar-Test-Signature\n",
			"  bin/tool.csv: the bytes are application/x-msdownload, not text/csv\n",
			"egress store is unlocked",
		}, []string{"tables/a.csv", "count 3"}},
		// Without the summary the e-mail does not quote the end reason,
		// which may quote the files; the web app shows it.
		{"end reason only", false, []string{
			"Nothing was released",
			"each file and reason is shown with the request in the web app",
		}, []string{"Eicar-Test-Signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.put(t, request())
			s := egress.Summarise(egress.EngineClamAV, nil, blockedBy)
			blocked, _, err := egress.Block(r, s, now)
			if err != nil {
				t.Fatal(err)
			}
			if tt.summary {
				blocked.Checks = &s
			}
			e.reqs.byID[reqID] = blocked
			if err := e.h.Notify(context.Background(), workflow.NotifyInput{RequestID: reqID, Kind: "BLOCKED"}); err != nil {
				t.Fatal(err)
			}
			if len(e.mail.sent) != 1 {
				t.Fatalf("e-mails %+v, want one", e.mail.sent)
			}
			m := e.mail.sent[0]
			if len(m.To) != 1 || m.To[0] != "researcher@example.org" || len(m.Cc) != 0 {
				t.Errorf("to %v cc %v, want the requester only", m.To, m.Cc)
			}
			if !strings.Contains(m.Subject, reqID) || !strings.Contains(m.Subject, "blocked") {
				t.Errorf("subject %q", m.Subject)
			}
			for _, w := range tt.want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(m.Text, w) {
					t.Errorf("text has %q, a warning for reviewers:\n%s", w, m.Text)
				}
			}
		})
	}
}
