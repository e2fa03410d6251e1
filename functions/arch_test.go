package functions_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tre-egress/egress/infra/lambdabuild"
)

// mod is this module's path; the rules below name packages by full path.
const mod = "github.com/tre-egress/egress"

// archRule forbids packages, by import-path pattern, anywhere in the
// production dependencies (tests excluded) of other packages. A pattern
// ending in "/..." matches that path and everything below it; any other
// pattern matches exactly.
type archRule struct {
	name      string
	packages  []string // the packages checked; "/..." patterns allowed
	except    []string // packages matched by packages but not checked
	forbidden []string
}

// archRules are the structure the repository keeps: the domain is pure,
// the workflow and the API see their adapters only through ports, and each
// binary links only what its job needs.
var archRules = []archRule{
	{
		name:      "the domain imports no AWS package",
		packages:  []string{mod + "/shared/egress/..."},
		forbidden: []string{"github.com/aws/..."},
	},
	{
		name:     "the workflow, the API and the contracts they speak import no adapter",
		packages: []string{mod + "/shared/workflow/...", mod + "/shared/api/...", mod + "/shared/swb/...", mod + "/statemachine/..."},
		forbidden: []string{
			mod + "/shared/requests/...", mod + "/shared/objects/...", mod + "/shared/notify/...",
			mod + "/shared/stepfunctions/...", mod + "/shared/swbstore/...", mod + "/shared/eventbus/...", mod + "/shared/auditstream/...",
			mod + "/shared/app/...", mod + "/shared/apiapp/...", mod + "/shared/cognitoapp/...",
			mod + "/shared/lambdamain/...", mod + "/shared/awsclient/...",
			mod + "/local/...", "github.com/aws/aws-sdk-go-v2/...", "github.com/aws/smithy-go/...",
		},
	},
	{
		name:     "pre-token-generation links no S3, Step Functions, SES or GraphQL",
		packages: []string{mod + "/functions/pre-token-generation"},
		forbidden: []string{
			"github.com/aws/aws-sdk-go-v2/service/s3/...", "github.com/aws/aws-sdk-go-v2/service/sfn/...",
			"github.com/aws/aws-sdk-go-v2/service/sesv2/...", "github.com/vektah/gqlparser/...",
			mod + "/shared/api/...",
		},
	},
	{
		name:      "workflow functions link no GraphQL",
		packages:  []string{mod + "/functions/..."},
		except:    []string{mod + "/functions", mod + "/functions/egress-api", mod + "/functions/pre-token-generation"},
		forbidden: []string{"github.com/vektah/gqlparser/...", mod + "/shared/api/..."},
	},
	{
		name: "binaries do not link testing",
		packages: []string{
			mod + "/functions/...", mod + "/local/cmd/...", mod + "/bench/cmd/...", mod + "/infra/cmd/...",
		},
		forbidden: []string{"testing/...", mod + "/shared/testenv/..."},
	},
}

func TestArchitecture(t *testing.T) {
	root := moduleRoot(t)
	pkgs, err := listDeps(root, archPatterns(archRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range archRules {
		t.Run(r.name, func(t *testing.T) {
			violations, err := check(pkgs, r)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range violations {
				t.Error(v)
			}
		})
	}
}

// The checker fails a fixture module that breaks a rule, naming the
// import chain, and passes it under a rule it keeps.
func TestArchitectureCheckerFailsFixture(t *testing.T) {
	const fixture = "example.com/archfixture"
	tests := []struct {
		name string
		rule archRule
		want []string // violations, as check reports them
	}{
		{
			name: "testing linked through a helper",
			rule: archRule{name: "binaries do not link testing", packages: []string{fixture + "/cmd/..."}, forbidden: []string{"testing/..."}},
			want: []string{fixture + "/cmd/tool imports testing: " + fixture + "/cmd/tool → " + fixture + "/helper → testing"},
		},
		{
			name: "nothing forbidden linked",
			rule: archRule{name: "binaries do not link net/http", packages: []string{fixture + "/cmd/..."}, forbidden: []string{"net/http/..."}},
		},
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "archfixture"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, tt := range tests {
		patterns = append(patterns, tt.rule.packages...)
	}
	pkgs, err := listDeps(dir, patterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check(pkgs, tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("violations\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"testing/...", "testing", true},
		{"testing/...", "testing/fstest", true},
		{"testing/...", "testingx", false},
		{"github.com/aws/aws-sdk-go-v2/service/s3/...", "github.com/aws/aws-sdk-go-v2/service/s3control", false},
		{"github.com/aws/aws-sdk-go-v2/service/s3/...", "github.com/aws/aws-sdk-go-v2/service/s3/types", true},
		{mod + "/functions", mod + "/functions/notify", false},
		{mod + "/functions", mod + "/functions", true},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.path); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// moduleRoot is the folder of this module's go.mod, where go list must run
// for the import-path patterns to resolve.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(gomod)
}

// archPatterns are the packages every rule checks, for one go list run.
func archPatterns(rules []archRule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range r.packages {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// pkg is what go list -json reports of a package that the checks use.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string // direct, resolved
	Deps       []string // transitive
	DepOnly    bool     // only a dependency of the listed packages
	Error      *struct{ Err string }
}

// listed caches one go list run per module folder and patterns: the
// result is the same for every test of the binary.
var listed sync.Map // key string → func() (map[string]*pkg, error)

// listDeps runs go list -deps in dir for patterns with the functions'
// build context (package infra/lambdabuild: linux/arm64, its tags), so
// the graph is the one the deployed binaries are linked from.
func listDeps(dir string, patterns []string) (map[string]*pkg, error) {
	key := dir + "\x00" + strings.Join(patterns, "\x00")
	f, _ := listed.LoadOrStore(key, sync.OnceValues(func() (map[string]*pkg, error) {
		args := append([]string{"list", "-e", "-deps", "-tags", lambdabuild.Tags,
			"-json=ImportPath,Name,Imports,Deps,DepOnly,Error"}, patterns...)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// GOWORK=off: the fixture module is listed on its own, never
		// through a workspace that might include it.
		cmd.Env = append(os.Environ(), append(slices.Clone(lambdabuild.Env), "GOWORK=off")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go %s in %s: %w: %s", strings.Join(args, " "), dir, err, stderr.Bytes())
		}
		pkgs := map[string]*pkg{}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			p := new(pkg)
			if err := dec.Decode(p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("decode go list output: %w", err)
			}
			pkgs[p.ImportPath] = p
		}
		return pkgs, nil
	}))
	return f.(func() (map[string]*pkg, error))()
}

// check returns r's violations, one per checked package and forbidden
// package reached first on some import chain, as "P imports F: P → … → F".
// The walk does not go through a forbidden package, so the AWS SDK behind
// a forbidden adapter is reported once, as the adapter.
func check(pkgs map[string]*pkg, r archRule) ([]string, error) {
	var roots []string
	for path, p := range pkgs {
		if p.DepOnly || !matchAny(r.packages, path) || matchAny(r.except, path) {
			continue
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%s: %s", path, p.Error.Err)
		}
		roots = append(roots, path)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("rule %q checks no package: %v matched nothing", r.name, r.packages)
	}
	slices.Sort(roots)
	var out []string
	for _, root := range roots {
		// Breadth first, imports in order: each forbidden package gets one
		// of its shortest chains.
		from := map[string]string{root: ""}
		queue := []string{root}
		var hits []string
		for len(queue) > 0 {
			path := queue[0]
			queue = queue[1:]
			if path != root && matchAny(r.forbidden, path) {
				hits = append(hits, path)
				continue
			}
			p := pkgs[path]
			if p == nil {
				return nil, fmt.Errorf("%s: imported but not listed by go list", path)
			}
			for _, imp := range p.Imports {
				if _, seen := from[imp]; !seen {
					from[imp] = path
					queue = append(queue, imp)
				}
			}
		}
		slices.Sort(hits)
		for _, hit := range hits {
			chain := []string{hit}
			for p := from[hit]; p != ""; p = from[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			out = append(out, fmt.Sprintf("%s imports %s: %s", root, hit, strings.Join(chain, " → ")))
		}
	}
	return out, nil
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// match reports whether path matches pattern: "x/..." matches x and every
// path below it, anything else only itself.
func match(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}
