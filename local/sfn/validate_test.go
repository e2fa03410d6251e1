package sfn

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateRejects(t *testing.T) {
	const ok = `"Ok":{"Type":"Succeed"}`
	cases := []struct {
		name, def, want string
	}{
		{"not JSON", `{`, "not valid JSON"},
		{"not an object", `[]`, "must be a JSON object"},
		{"missing StartAt", `{"States":{` + ok + `}}`, `missing required field "StartAt"`},
		{"missing States", `{"StartAt":"Ok"}`, `missing required field "States"`},
		{"empty States", `{"StartAt":"Ok","States":{}}`, `field "States" must be a non-empty object`},
		{"StartAt does not exist", `{"StartAt":"Nope","States":{` + ok + `}}`, `field "StartAt": state "Nope" does not exist`},
		{"unknown top-level field", `{"StartAt":"Ok","Bogus":1,"States":{` + ok + `}}`, `unknown field "Bogus"`},
		{"bad TimeoutSeconds", `{"StartAt":"Ok","TimeoutSeconds":0,"States":{` + ok + `}}`, `field "TimeoutSeconds": must be between 1 and 99999999`},
		{"JSONata", `{"StartAt":"Ok","QueryLanguage":"JSONata","States":{` + ok + `}}`, `only "JSONPath" is supported`},
		{"missing Type", `{"StartAt":"A","States":{"A":{"End":true}}}`, `state "A": missing required field "Type"`},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Activity","End":true}}}`, `state "A": field "Type": unknown state type "Activity"`},
		{"unknown state field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Resultz":1,"End":true}}}`, `state "A": unknown field "Resultz"`},
		{"field of another type", `{"StartAt":"A","States":{"A":{"Type":"Pass","Retry":[],"End":true}}}`, `state "A": unknown field "Retry"`},
		{"unsupported field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{},"End":true}}}`, `state "A": field "Assign" is not supported by this local engine`},
		{"no Next or End", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, `state "A": must have "Next" or "End": true`},
		{"both Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Ok","End":true},` + ok + `}}`, `state "A": fields "Next" and "End" are mutually exclusive`},
		{"Next target missing", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `state "A": field "Next": target state "B" does not exist`},
		{"Default target missing", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"Ok"}],"Default":"Nope"},` + ok + `}}`,
			`state "C": field "Default": target state "Nope" does not exist`},
		{"Choice Next target missing", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"Nope"}],"Default":"Ok"},` + ok + `}}`,
			`state "C": field "Choices[0].Next": target state "Nope" does not exist`},
		{"Catch Next target missing", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nope"}],"End":true}}}`,
			`state "T": field "Catch[0].Next": target state "Nope" does not exist`},
		{"unreachable state", `{"StartAt":"Ok","States":{` + ok + `,"Orphan":{"Type":"Pass","End":true}}}`, `state "Orphan": state is not reachable from StartAt "Ok"`},
		{"Succeed with Next", `{"StartAt":"S","States":{"S":{"Type":"Succeed","Next":"S"}}}`, `state "S": unknown field "Next"`},
		{"Fail with End", `{"StartAt":"F","States":{"F":{"Type":"Fail","End":true}}}`, `state "F": unknown field "End"`},
		{"Choice with End", `{"StartAt":"C","States":{"C":{"Type":"Choice","End":true,"Choices":[{"Variable":"$.a","IsNull":true,"Next":"Ok"}]},` + ok + `}}`, `state "C": unknown field "End"`},
		{"Choice without Choices", `{"StartAt":"C","States":{"C":{"Type":"Choice","Default":"Ok"},` + ok + `}}`, `state "C": "Choices" must be a non-empty array`},
		{"Choice rule without Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true}],"Default":"Ok"},` + ok + `}}`,
			`state "C" Choices[0]: missing required field "Next"`},
		{"Choice rule two operators", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"IsString":true,"Next":"Ok"}]},` + ok + `}}`,
			`must have exactly one comparison operator`},
		{"Choice unknown operator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"Ok"}]},` + ok + `}}`,
			`state "C" Choices[0]: unknown field "StringContains"`},
		{"Choice operand type", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"Ok"}]},` + ok + `}}`,
			`field "NumericEquals": must be a number, got string`},
		{"Choice bad timestamp", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","TimestampEquals":"yesterday","Next":"Ok"}]},` + ok + `}}`,
			`field "TimestampEquals": must be an RFC 3339 timestamp`},
		{"Choice missing Variable", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"IsNull":true,"Next":"Ok"}]},` + ok + `}}`,
			`missing required field "Variable" for IsNull`},
		{"nested rule with Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true,"Next":"Ok"},"Next":"Ok"}]},` + ok + `}}`,
			`a nested rule must not have "Next"`},
		{"Wait without duration", `{"StartAt":"W","States":{"W":{"Type":"Wait","End":true}}}`, `state "W": exactly one of "Seconds", "SecondsPath", "Timestamp" and "TimestampPath" is required`},
		{"Wait two durations", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, `exactly one of "Seconds"`},
		{"Wait negative", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":-1,"End":true}}}`, `field "Seconds": must be between 0 and 99999999, got -1`},
		{"Wait bad timestamp", `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2024-01-01 00:00:00","End":true}}}`, `field "Timestamp": "2024-01-01 00:00:00" is not an RFC 3339 timestamp`},
		{"Fail Error and ErrorPath", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`, `fields "Error" and "ErrorPath" are mutually exclusive`},
		{"Task without Resource", `{"StartAt":"T","States":{"T":{"Type":"Task","End":true}}}`, `state "T": missing required field "Resource"`},
		{"unsupported Resource", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`, `field "Resource": resource "arn:aws:states:::sqs:sendMessage" is not supported`},
		{"lambda:invoke without FunctionName", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"Payload":{}},"End":true}}}`,
			`field "Parameters": arn:aws:states:::lambda:invoke requires a FunctionName parameter`},
		{"heartbeat not below timeout", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`,
			`field "HeartbeatSeconds": must be smaller than TimeoutSeconds (5), got 5`},
		{"TimeoutSeconds and path", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}}}`,
			`fields "TimeoutSeconds" and "TimeoutSecondsPath" are mutually exclusive`},
		{"States.ALL not alone", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["States.ALL","X"]}],"End":true}}}`,
			`state "T" Retry[0]: field "ErrorEquals": States.ALL must appear alone`},
		{"States.ALL retrier not last", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],"End":true}}}`,
			`state "T" Retry[0]: a retrier matching States.ALL must be the last one`},
		{"States.ALL catcher not last", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Ok"},{"ErrorEquals":["X"],"Next":"Ok"}],"End":true},` + ok + `}}`,
			`state "T" Catch[0]: a catcher matching States.ALL must be the last one`},
		{"empty ErrorEquals", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":[]}],"End":true}}}`,
			`state "T" Retry[0]: "ErrorEquals" must be a non-empty array`},
		{"misspelt States error", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["States.Timout"]}],"End":true}}}`,
			`unknown error name "States.Timout"`},
		{"bad BackoffRate", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}}}`,
			`field "BackoffRate": must be at least 1.0, got 0.5`},
		{"bad JitterStrategy", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}],"End":true}}}`,
			`field "JitterStrategy": must be "FULL" or "NONE", got "HALF"`},
		{"bad IntervalSeconds", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}],"End":true}}}`,
			`field "IntervalSeconds": must be between 1 and 99999999, got 0`},
		{"Retry on Pass", `{"StartAt":"A","States":{"A":{"Type":"Pass","Catch":[],"End":true}}}`, `state "A": unknown field "Catch"`},
		{"bad InputPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"a.b","End":true}}}`, `state "A": field "InputPath": invalid JSONPath "a.b": must start with '$'`},
		{"ResultPath not a reference path", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, `field "ResultPath": invalid reference path "$.a[*]"`},
		{"ResultPath into context", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$$.a","End":true}}}`, `field "ResultPath": must not address the context object`},
		{"Parameters path invalid", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"nope"},"End":true}}}`, `field "Parameters": field "x.$": invalid JSONPath "nope"`},
		{"Parameters non-string .$", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":1},"End":true}}}`, `the value of a field ending in .$ must be a string`},
		{"Parameters bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}`, `unknown function "States.Nope"`},
		{"Parameters intrinsic arity", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"n":{"x.$":"States.ArrayLength($.a, $.b)"}},"End":true}}}`, `in field "n": field "x.$": invalid intrinsic function`},
		{"Parallel without Branches", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true}}}`, `state "P": "Branches" must be a non-empty array`},
		{"branch error names the branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"}}}]}}}`,
			`state "A" (in branch 0 of Parallel "P"): field "Next": target state "Z" does not exist`},
		{"branch cannot reach outer state", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Ok","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Ok"}}}]},` + ok + `}}`,
			`state "A" (in branch 0 of Parallel "P"): field "Next": target state "Ok" does not exist`},
		{"duplicate state name", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"A","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}]},"A":{"Type":"Succeed"}}}`,
			`duplicate state name`},
		{"Map without processor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, `state "M": missing required field "ItemProcessor"`},
		{"Map both selectors", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemSelector":{},"Parameters":{},"End":true,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}}}}}`,
			`fields "ItemSelector" and "Parameters" are mutually exclusive`},
		{"Map distributed", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}}}}}`,
			`only INLINE is supported`},
		{"Map processor errors", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass"}}}}}}`,
			`state "I" (in the ItemProcessor of Map "M"): must have "Next" or "End": true`},
		{"Map bad MaxConcurrency", `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":-1,"End":true,"Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}}}}}`,
			`field "MaxConcurrency": must be between 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]byte(tc.def))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	defs := []string{
		`{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"QueryLanguage":"JSONPath","StartAt":"A","States":{
			"A":{"Type":"Pass","Comment":"x","Result":{"a":1},"ResultPath":"$.r","Next":"T"},
			"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName.$":"$.fn","Payload":{"t.$":"$$.Task.Token"}},
				"TimeoutSecondsPath":"$.timeout","HeartbeatSeconds":30,
				"Retry":[{"ErrorEquals":["States.Timeout","Custom"],"IntervalSeconds":3,"MaxAttempts":0,"BackoffRate":1.5,"MaxDelaySeconds":10,"JitterStrategy":"FULL","Comment":"c"},{"ErrorEquals":["States.ALL"]}],
				"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"F"},{"ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"F"}],"Next":"C"},
			"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","IsPresent":true},{"Not":{"Variable":"$.b","StringMatches":"x*"}}],"Next":"W"}],"Default":"P"},
			"W":{"Type":"Wait","TimestampPath":"$.when","Next":"P"},
			"P":{"Type":"Parallel","Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Succeed"}}}],"ResultSelector":{"r.$":"$[0]"},"Next":"M"},
			"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.mc","ItemSelector":{"i.$":"$$.Map.Item.Value"},
				"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"Next":"S"},
			"S":{"Type":"Succeed"},
			"F":{"Type":"Fail","ErrorPath":"$.err.Error","CausePath":"States.Format('{}', $.err.Cause)"}}}`,
	}
	for _, def := range defs {
		if err := Validate([]byte(def)); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Validate([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"},"B":{"Type":"Wat"}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("Validate = %v, want 3 problems (bad Next, bad Type, unreachable B)", err)
	}
}
