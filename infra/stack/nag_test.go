package stack

import (
	"strings"
	"testing"
)

// cdk-nag's AwsSolutions pack runs on every stack: no finding may be left
// unsuppressed, nothing else may warn, and nothing needs a lookup.
func TestNagAwsSolutions(t *testing.T) {
	s := synth(t)
	for name, findings := range s.findings {
		for _, f := range findings {
			t.Errorf("%s: %s", name, f)
		}
	}
}

// Every suppression says specifically why: cdk-nag itself only asks for
// ten characters.
func TestNagSuppressionReasons(t *testing.T) {
	s := synth(t)
	seen := 0
	for name, tmpl := range s.templates {
		for id, r := range tmpl["Resources"].(map[string]any) {
			rules, _ := get(r, "Metadata", "cdk_nag", "rules_to_suppress").([]any)
			for _, rule := range rules {
				seen++
				reason, _ := get(rule, "reason").(string)
				ruleID, _ := get(rule, "id").(string)
				if !strings.HasPrefix(ruleID, "AwsSolutions-") {
					t.Errorf("%s %s: suppression of %q", name, id, ruleID)
				}
				if len(reason) < 60 || strings.Contains(strings.ToLower(reason), "todo") {
					t.Errorf("%s %s: %s suppressed without a specific reason: %q", name, id, ruleID, reason)
				}
				if ruleID == "AwsSolutions-IAM5" && get(rule, "applies_to") == nil {
					t.Errorf("%s %s: IAM5 suppressed for every wildcard instead of the ones named", name, id)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no suppressions found: is cdk_nag metadata in the template?")
	}
}
