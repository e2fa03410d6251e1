package sfn

import (
	"errors"
	"strings"
	"testing"
)

// compileRule compiles a single top-level Choice rule.
func compileRule(t *testing.T, rule string) *choiceRule {
	t.Helper()
	rule = strings.TrimSuffix(rule, "}") + `,"Next":"Y"}`
	m, err := compile([]byte(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[` + rule + `]},"Y":{"Type":"Succeed"}}}`))
	if err != nil {
		t.Fatalf("compile %s: %v", rule, err)
	}
	return m.states["C"].choices[0]
}

func TestChoiceOperators(t *testing.T) {
	input := `{"s":"banana","n":5,"f":2.5,"b":true,"t":"2024-03-14T01:59:00Z","z":null,
		"s2":"cherry","n2":5,"b2":false,"t2":"2024-03-14T02:00:00Z","star":"a*b","back":"a\\b"}`
	cases := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringEquals":"apple"}`, false},
		{`{"Variable":"$.n","StringEquals":"5"}`, false}, // wrong type is false, not an error
		{`{"Variable":"$.s","StringEqualsPath":"$.s"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.s2"}`, false},
		{`{"Variable":"$.s","StringLessThan":"cherry"}`, true},
		{`{"Variable":"$.s","StringLessThan":"banana"}`, false},
		{`{"Variable":"$.s","StringLessThanPath":"$.s2"}`, true},
		{`{"Variable":"$.s2","StringLessThanPath":"$.s"}`, false},
		{`{"Variable":"$.s","StringLessThanEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringLessThanEquals":"apple"}`, false},
		{`{"Variable":"$.s","StringLessThanEqualsPath":"$.s"}`, true},
		{`{"Variable":"$.s2","StringLessThanEqualsPath":"$.s"}`, false},
		{`{"Variable":"$.s","StringGreaterThan":"apple"}`, true},
		{`{"Variable":"$.s","StringGreaterThan":"banana"}`, false},
		{`{"Variable":"$.s2","StringGreaterThanPath":"$.s"}`, true},
		{`{"Variable":"$.s","StringGreaterThanPath":"$.s2"}`, false},
		{`{"Variable":"$.s","StringGreaterThanEquals":"banana"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"cherry"}`, false},
		{`{"Variable":"$.s","StringGreaterThanEqualsPath":"$.s"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEqualsPath":"$.s2"}`, false},
		{`{"Variable":"$.s","StringMatches":"b*na"}`, true},
		{`{"Variable":"$.s","StringMatches":"*an*"}`, true},
		{`{"Variable":"$.s","StringMatches":"b*x"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.s","StringMatches":"b\\*a"}`, false},
		{`{"Variable":"$.back","StringMatches":"a\\\\b"}`, true},
		{`{"Variable":"$.n","NumericEquals":5}`, true},
		{`{"Variable":"$.n","NumericEquals":5.0}`, true},
		{`{"Variable":"$.n","NumericEquals":6}`, false},
		{`{"Variable":"$.s","NumericEquals":5}`, false},
		{`{"Variable":"$.n","NumericEqualsPath":"$.n2"}`, true},
		{`{"Variable":"$.n","NumericEqualsPath":"$.f"}`, false},
		{`{"Variable":"$.f","NumericLessThan":3}`, true},
		{`{"Variable":"$.f","NumericLessThan":2.5}`, false},
		{`{"Variable":"$.f","NumericLessThanPath":"$.n"}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.f"}`, false},
		{`{"Variable":"$.f","NumericLessThanEquals":2.5}`, true},
		{`{"Variable":"$.f","NumericLessThanEquals":2}`, false},
		{`{"Variable":"$.n","NumericLessThanEqualsPath":"$.n2"}`, true},
		{`{"Variable":"$.n","NumericLessThanEqualsPath":"$.f"}`, false},
		{`{"Variable":"$.n","NumericGreaterThan":4.9}`, true},
		{`{"Variable":"$.n","NumericGreaterThan":5}`, false},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.f"}`, true},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.n2"}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEquals":5}`, true},
		{`{"Variable":"$.n","NumericGreaterThanEquals":5.1}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEqualsPath":"$.n2"}`, true},
		{`{"Variable":"$.f","NumericGreaterThanEqualsPath":"$.n"}`, false},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEquals":false}`, false},
		{`{"Variable":"$.s","BooleanEquals":true}`, false},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.b"}`, true},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.b2"}`, false},
		{`{"Variable":"$.t","TimestampEquals":"2024-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.t","TimestampEquals":"2024-03-14T02:59:00+01:00"}`, true},
		{`{"Variable":"$.t","TimestampEquals":"2024-03-14T01:59:01Z"}`, false},
		{`{"Variable":"$.s","TimestampEquals":"2024-03-14T01:59:00Z"}`, false},
		{`{"Variable":"$.t","TimestampEqualsPath":"$.t"}`, true},
		{`{"Variable":"$.t","TimestampEqualsPath":"$.t2"}`, false},
		{`{"Variable":"$.t","TimestampLessThan":"2024-03-14T02:00:00Z"}`, true},
		{`{"Variable":"$.t","TimestampLessThan":"2024-03-14T01:59:00Z"}`, false},
		{`{"Variable":"$.t","TimestampLessThanPath":"$.t2"}`, true},
		{`{"Variable":"$.t2","TimestampLessThanPath":"$.t"}`, false},
		{`{"Variable":"$.t","TimestampLessThanEquals":"2024-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.t","TimestampLessThanEquals":"2024-03-14T01:58:59Z"}`, false},
		{`{"Variable":"$.t","TimestampLessThanEqualsPath":"$.t"}`, true},
		{`{"Variable":"$.t2","TimestampLessThanEqualsPath":"$.t"}`, false},
		{`{"Variable":"$.t2","TimestampGreaterThan":"2024-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThan":"2024-03-14T01:59:00Z"}`, false},
		{`{"Variable":"$.t2","TimestampGreaterThanPath":"$.t"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThanPath":"$.t2"}`, false},
		{`{"Variable":"$.t","TimestampGreaterThanEquals":"2024-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThanEquals":"2024-03-14T02:00:00Z"}`, false},
		{`{"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.t"}`, true},
		{`{"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.t2"}`, false},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.s","IsNull":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.missing","IsPresent":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.z","IsPresent":true}`, true},
		{`{"Variable":"$.f","IsNumeric":true}`, true},
		{`{"Variable":"$.s","IsNumeric":true}`, false},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.n","IsString":true}`, false},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.z","IsBoolean":true}`, false},
		{`{"Variable":"$.t","IsTimestamp":true}`, true},
		{`{"Variable":"$.s","IsTimestamp":true}`, false},
		{`{"Variable":"$.n","IsTimestamp":false}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":true}]}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":false}]}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":4},{"Variable":"$.b","BooleanEquals":true}]}`, true},
		{`{"Or":[{"Variable":"$.n","NumericEquals":4},{"Variable":"$.b","BooleanEquals":false}]}`, false},
		{`{"Not":{"Variable":"$.n","NumericEquals":4}}`, true},
		{`{"Not":{"Variable":"$.n","NumericEquals":5}}`, false},
		{`{"And":[{"Not":{"Variable":"$.missing","IsPresent":true}},{"Or":[{"Variable":"$.s","StringMatches":"x*"},{"Variable":"$.s","StringMatches":"ban*"}]}]}`, true},
		{`{"Variable":"$$.State.Name","StringEquals":"C"}`, true},
	}
	data, err := decodeJSON([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	ctxObj := map[string]any{"State": map[string]any{"Name": "C"}}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			got, err := compileRule(t, tc.rule).eval(&evalEnv{data: data, ctx: ctxObj})
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChoiceMissingPathsAreRuntimeErrors(t *testing.T) {
	for _, rule := range []string{
		`{"Variable":"$.missing","StringEquals":"x"}`,
		`{"Variable":"$.s","StringEqualsPath":"$.missing"}`,
		`{"Variable":"$.missing","IsNull":true}`,
	} {
		_, err := compileRule(t, rule).eval(&evalEnv{data: map[string]any{"s": "x"}})
		var se *stateError
		if !asStateError(err, &se) || se.name != StatesRuntime {
			t.Errorf("%s: err = %v, want %s", rule, err, StatesRuntime)
		}
	}
}

func asStateError(err error, se **stateError) bool { return errors.As(err, se) }

func TestWildcardMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"log-*.txt", "log-2024.txt", true},
		{"log-*.txt", "log-2024.csv", false},
		{"*.log", "a.log.log", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{`\*`, "*", true},
		{`\*`, "x", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tc := range cases {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
