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
)

//go:embed egress.asl.json
var definition []byte

// Raw returns the definition with its placeholders.
func Raw() []byte { return append([]byte(nil), definition...) }

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders lists the definition's placeholder names, sorted.
func Placeholders() []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(definition, -1) {
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
	out := placeholder.ReplaceAllFunc(definition, func(m []byte) []byte {
		v := subs[string(placeholder.FindSubmatch(m)[1])]
		// Values land inside JSON strings; escape them as JSON would.
		b, _ := json.Marshal(v)
		return b[1 : len(b)-1]
	})
	if !json.Valid(out) {
		return nil, fmt.Errorf("state machine definition: not valid JSON after substitution")
	}
	return out, nil
}

// FunctionPlaceholders maps each Lambda function (by its functions/<name>
// directory) to the placeholder holding its ARN.
var FunctionPlaceholders = map[string]string{
	"copy-to-staging":  "CopyToStagingFunctionArn",
	"store-task-token": "StoreTaskTokenFunctionArn",
	"copy-to-datalake": "CopyToDatalakeFunctionArn",
	"handle-rejection": "HandleRejectionFunctionArn",
	"handle-failure":   "HandleFailureFunctionArn",
	"notify":           "NotifyFunctionArn",
}
