package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

// ApplyACRO puts what an ACRO/SACRO results.json (at resultsPath among
// files) says of each output on the files it names: one CheckACRO finding
// per output on each of its files, a warning for status fail or review,
// INFO for pass. A name is resolved against results.json's folder, or
// else against the base names of the staged files when exactly one
// matches. Outputs naming no staged file get an INFO finding on
// results.json itself. files' findings stay bounded.
func ApplyACRO(files []egress.File, resultsPath string, outs []sdc.ACROOutput) {
	byPath := map[string]int{}
	byBase := map[string][]int{}
	for i, f := range files {
		byPath[f.Path] = i
		byBase[path.Base(f.Path)] = append(byBase[path.Base(f.Path)], i)
	}
	results, hasResults := byPath[resultsPath]
	dir := path.Dir(resultsPath)
	touched := map[int]bool{}
	for _, o := range outs {
		f := egress.Finding{Check: egress.CheckACRO, Severity: egress.SeverityWarning, Message: acroMessage(o)}
		if strings.EqualFold(o.Status, "pass") {
			f.Severity = egress.SeverityInfo
		}
		done := map[int]bool{}
		for _, name := range o.Files {
			i, ok := byPath[path.Join(dir, name)]
			if !ok {
				if m := byBase[path.Base(name)]; len(m) == 1 {
					i, ok = m[0], true
				}
			}
			if !ok {
				if hasResults {
					files[results].Findings = append(files[results].Findings, egress.Finding{Check: egress.CheckACRO, Severity: egress.SeverityInfo,
						Message: fmt.Sprintf("ACRO output %q names %q, which is not in the request", o.UID, name)})
					touched[results] = true
				}
				continue
			}
			if done[i] {
				continue
			}
			done[i], touched[i] = true, true
			files[i].Findings = append(files[i].Findings, f)
		}
		if len(o.Files) == 0 && hasResults {
			files[results].Findings = append(files[results].Findings, f)
			touched[results] = true
		}
	}
	for i := range touched {
		files[i].Findings = egress.BoundFindings(files[i].Findings)
	}
}

// acroMessage is like `ACRO output "crosstab_x" (crosstab): status review;
// review; threshold: 1 cells suppressed; researcher's exception: "...";
// comments: ...`.
func acroMessage(o sdc.ACROOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ACRO output %q", o.UID)
	if o.Type != "" {
		fmt.Fprintf(&b, " (%s)", o.Type)
	}
	fmt.Fprintf(&b, ": status %s", o.Status)
	if o.Summary != "" {
		fmt.Fprintf(&b, "; %s", o.Summary)
	}
	if o.Exception != "" {
		fmt.Fprintf(&b, "; researcher's exception: %q", o.Exception)
	}
	if len(o.Comments) > 0 {
		fmt.Fprintf(&b, "; comments: %s", strings.Join(o.Comments, "; "))
	}
	return b.String()
}
