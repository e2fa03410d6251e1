package clamd

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// Replies a real clamd gives only in rare states (out of memory, a
// failing temporary folder), and the usual ones, read as findings.
func TestVerdict(t *testing.T) {
	cases := []struct {
		reply    string
		severity egress.Severity // "" for clean
		message  string
		err      string
	}{
		{"stream: OK", "", "", ""},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", egress.SeverityBlocking, "ClamAV found Win.Test.EICAR_HDB-1", ""},
		{"stream: Heuristics.Limits.Exceeded.MaxScanTime FOUND", egress.SeverityWarning,
			"not fully scanned by ClamAV: Heuristics.Limits.Exceeded.MaxScanTime", ""},
		{"INSTREAM size limit exceeded. ERROR", egress.SeverityWarning, "not scanned by ClamAV: larger than clamd's StreamMaxLength", ""},
		{"stream: Can't create temporary file ERROR", "", "", `could not scan: "stream: Can't create temporary file ERROR"`},
		{"UNKNOWN COMMAND", "", "", "could not scan"},
		{"", "", "", "could not scan"},
		{"stream: " + strings.Repeat("x", 1000) + " ERROR", "", "", "…"},
	}
	for _, c := range cases {
		v, err := verdict(c.reply)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || len(err.Error()) > 300 {
				t.Errorf("%.40q: error %v, want one saying %q, short", c.reply, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.reply, err)
		case c.severity == "":
			if len(v.Findings) != 0 {
				t.Errorf("%q: findings %v, want none", c.reply, v.Findings)
			}
		case len(v.Findings) != 1 || v.Findings[0] != (egress.Finding{Check: egress.CheckMalware, Severity: c.severity, Message: c.message}):
			t.Errorf("%q: findings %v, want %s %q", c.reply, v.Findings, c.severity, c.message)
		}
	}
}

// clamd's ERROR replies are retried by the workflow, not failed at once.
func TestScanErrorIsRetryable(t *testing.T) {
	_, err := verdict("stream: Can't allocate memory ERROR")
	var r interface{ RetryableError() bool }
	if !errors.As(err, &r) || !r.RetryableError() || workflow.ErrorName(fmt.Errorf("checking a.csv: %w", err)) != workflow.ErrTransient {
		t.Fatalf("%v is not a TransientError", err)
	}
}
