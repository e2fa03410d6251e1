package outputs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileAndPick(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "out.json")
	os.WriteFile(file, []byte(`{"egress-Prod":{"GraphQLEndpoint":"https://a"},"egress-Test":{"GraphQLEndpoint":"https://b"},"other":{"X":"y"}}`), 0o600)
	all, err := ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		stack, want, err string
	}{
		{"egress-Test", "https://b", ""},
		{"", "", "holds stacks egress-Prod, egress-Test: pick one with --stack"},
		{"nope", "", `has no stack "nope"`},
	} {
		out, err := all.Pick("src", tt.stack)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("stack %q: error %v, want %q", tt.stack, err, tt.err)
			}
			continue
		}
		if err != nil || out[GraphQLEndpoint] != tt.want {
			t.Errorf("stack %q: %v %v", tt.stack, out, err)
		}
	}
	// The only egress stack (with a GraphQLEndpoint) is picked alone.
	one := Stacks{"egress-Prod": {GraphQLEndpoint: "https://a"}, "other": {"X": "y"}}
	if out, err := one.Pick("src", ""); err != nil || out[GraphQLEndpoint] != "https://a" {
		t.Errorf("one egress stack: %v %v", out, err)
	}
	if _, err := (Stacks{"other": {}}).Pick("src", ""); err == nil || !strings.Contains(err.Error(), "no stack with a GraphQLEndpoint output") {
		t.Errorf("no egress stack: %v", err)
	}
	os.WriteFile(file, []byte(`["not", "outputs"]`), 0o600)
	if _, err := ReadFile(file); err == nil || !strings.Contains(err.Error(), "not a cdk outputs file") {
		t.Errorf("bad file: %v", err)
	}
}
