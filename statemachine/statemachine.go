// Package statemachine embeds egress.asl.json, the one workflow definition
// that AWS Step Functions and the local engine both run, and fills in its
// ${Placeholder} substitutions the way CloudFormation's
// DefinitionSubstitutions does.
package statemachine

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/tre-egress/egress/functions"
)

//go:embed egress.asl.json
var definition []byte

// Raw returns the definition with its placeholders.
func Raw() []byte { return append([]byte(nil), definition...) }

// placeholder is compiled on first use: the functions that link this
// package for its state names never substitute the definition, and
// compiling at package init cost their cold start.
var placeholder = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`) })

// Placeholders lists the definition's placeholder names, sorted.
func Placeholders() []string {
	seen := map[string]bool{}
	for _, m := range placeholder().FindAllSubmatch(definition, -1) {
		seen[string(m[1])] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Definition substitutes every placeholder. A placeholder without a value,
// or a value nobody asked for, is an error naming it, so the definition and
// its callers cannot drift apart silently.
func Definition(subs map[string]string) ([]byte, error) {
	var missing []string
	for _, n := range Placeholders() {
		if _, ok := subs[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("state machine definition: no value for %s", strings.Join(missing, ", "))
	}
	want := map[string]bool{}
	for _, n := range Placeholders() {
		want[n] = true
	}
	for n := range subs {
		if !want[n] {
			return nil, fmt.Errorf("state machine definition: unknown placeholder %s", n)
		}
	}
	out := placeholder().ReplaceAllFunc(definition, func(m []byte) []byte {
		v := subs[string(placeholder().FindSubmatch(m)[1])]
		// Values land inside JSON strings; escape them as JSON would.
		b, _ := json.Marshal(v)
		return b[1 : len(b)-1]
	})
	if !json.Valid(out) {
		return nil, fmt.Errorf("state machine definition: not valid JSON after substitution")
	}
	return out, nil
}

// FunctionSubstitutions maps the placeholder of every function that is a
// task state (its row's Placeholder in the functions table) to arn of the
// function's name: Definition's input locally, DefinitionSubstitutions'
// (CloudFormation tokens) in the CDK app.
func FunctionSubstitutions[V any](arn func(function string) V) map[string]V {
	subs := map[string]V{}
	for _, f := range functions.All() {
		if f.Placeholder != "" {
			subs[f.Placeholder] = arn(f.Name)
		}
	}
	return subs
}
