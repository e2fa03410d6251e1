package egress_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule: the domain, the SWB contract and the use cases
// (workflow handlers, reviewers' API) link no adapter and no AWS SDK
// package; adapters depend on them, never the reverse. Their ports are
// declared in these types, so the adapters implement them and tests can
// fake them.
func TestDependencyRule(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to list dependencies")
	}
	const module = "github.com/tre-egress/egress/"
	contract := []string{"shared/egress", "shared/swb", "statemachine"}
	tests := []struct {
		pkg     string
		allowed []string // packages of this module it may link, besides itself
	}{
		{"shared/egress", nil},
		{"shared/swb", contract[:1]},
		{"statemachine", contract[:1]},
		{"shared/workflow", contract},
		{"shared/api", contract},
	}
	for _, tt := range tests {
		out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tt.pkg, err)
		}
		allowed := map[string]bool{module + tt.pkg: true}
		for _, p := range tt.allowed {
			allowed[module+p] = true
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module) && !allowed[dep] ||
				strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(dep, "github.com/aws/smithy-go") {
				t.Errorf("%s links %s", tt.pkg, dep)
			}
		}
	}
}
