package local

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/tre-egress/egress/local/iam"
)

// unexercised are the grants of the golden template's roles that no test
// of this package exercises, each with the reason it is granted all the
// same. A key is "<construct id> <action> <resource>", the resource
// resolved to the local stack's, exactly as a coverage failure prints it.
// Every other grant is exercised, so removing it from the template makes a
// test fail with the function's AccessDenied for it.
var unexercised = map[string]string{
	"ExecutionEnded ses:SendEmail arn:aws:ses:us-east-1:000000000000:identity/example.org": sesDomain,
	"Notify ses:SendEmail arn:aws:ses:us-east-1:000000000000:identity/example.org":         sesDomain,
	"SendReminders ses:SendEmail arn:aws:ses:us-east-1:000000000000:identity/example.org":  sesDomain,
	"StartWorkflow ses:SendEmail arn:aws:ses:us-east-1:000000000000:identity/example.org":  sesDomain,
	"StoreTaskToken ses:SendEmail arn:aws:ses:us-east-1:000000000000:identity/example.org": sesDomain,
}

// sesDomain is why the sender's domain identity is granted: the sender may
// be verified through its domain in the deploying account, and SES then
// authorises SendEmail on the domain identity; the local stack authorises
// the sender as its address identity, which the tests exercise.
const sesDomain = "the sender may be verified through its domain in the deploying account, and SES then authorises the domain identity; " +
	"locally the sender is authorised as the address identity"

// grantKey is how unexercised names a grant.
func grantKey(g iam.Grant) string { return g.Function + " " + g.Action + " " + g.Resource }

// checkIAMCoverage runs after the package's tests, which all use the
// shared Authorizer unless they set their own: when they all passed and
// none was filtered out, every grant of the template must have been
// exercised or have a reason in unexercised, and every reason must still
// be needed. It returns the exit code.
func checkIAMCoverage(code int) int {
	if code != 0 || filtered() || shared.auth == nil {
		return code
	}
	if problems := coverageProblems(shared.auth, unexercised); len(problems) > 0 {
		fmt.Printf("FAIL: IAM coverage of %s (local/iam_coverage_test.go):\n\t%s\n", GoldenTemplate, strings.Join(problems, "\n\t"))
		return 1
	}
	return code
}

// filtered reports whether the run left tests out, so the grants they
// exercise would look unexercised.
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}

// coverageProblems compares what a's grants exercised with reasons.
func coverageProblems(a *iam.Authorizer, reasons map[string]string) []string {
	var problems []string
	granted, idle := map[string]bool{}, map[string]bool{}
	for _, g := range a.Grants("") {
		granted[grantKey(g)] = true
	}
	for _, g := range a.Unused() {
		k := grantKey(g)
		idle[k] = true
		if reasons[k] == "" {
			problems = append(problems, fmt.Sprintf("%s: %s on %s is granted (%s statement %d) but no test exercises it: exercise it, remove the grant, or give the reason for %q",
				g.Function, g.Action, g.Resource, g.Policy, g.Statement, k))
		}
	}
	for k := range reasons {
		switch {
		case !granted[k]:
			problems = append(problems, fmt.Sprintf("%q has a reason but the template does not grant it: remove the reason (or restore the grant)", k))
		case !idle[k]:
			problems = append(problems, fmt.Sprintf("%q has a reason but the tests now exercise it: remove the reason", k))
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}
