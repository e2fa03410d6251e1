package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
)

// TestStateTransitions checks the count Standard Workflows bill: every
// state entered, inner states of a Map included, and every retry.
func TestStateTransitions(t *testing.T) {
	cases := []struct {
		name     string
		def      string
		failures int64 // how many times fn fails before it succeeds
		want     int64
	}{
		{name: "pass, pass, succeed", want: 3,
			def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Succeed"}}}`},
		{name: "choice to fail", want: 2,
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"F"}],"Default":"F"},"F":{"Type":"Fail","Error":"E"}}}`},
		{name: "task retried twice", failures: 2, want: 3,
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fn"},
				"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":3}],"End":true}}}`},
		{name: "map of three items, one inner state each", want: 4,
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","End":true,
				"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			e, clock := testEngine(t, map[string]Handler{"fn": func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
				if calls.Add(1) <= tc.failures {
					return nil, errors.New("not yet")
				}
				return json.RawMessage(`{}`), nil
			}}, 0)
			arn := start(t, e, tc.def, `{"x":1,"xs":[1,2,3]}`)
			observeDelays(t, clock, int(tc.failures)) // fire each retry's timer
			wait(t, e, arn)
			got, err := e.StateTransitions(arn)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("state transitions = %d, want %d", got, tc.want)
			}
		})
	}
	e, _ := testEngine(t, nil, 0)
	if _, err := e.StateTransitions("arn:aws:states:us-east-1:000000000000:execution:sm:none"); err == nil {
		t.Error("StateTransitions of an unknown execution: no error")
	}
}
