package stack

import (
	"reflect"
	"testing"
)

// The workflow's executions that end FAILED, ABORTED or TIMED_OUT reach
// execution-ended, with retries and a dead-letter queue EventBridge may
// write to, and the function has the same queue for its own failures.
func TestExecutionEndedRule(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		ruleID, rule := byPath(t, tmpl, stackName, "ExecutionEndedRule/Resource")
		smID, _ := byPath(t, tmpl, stackName, "Workflow/Resource")
		fnID, fn := byPath(t, tmpl, stackName, mustLookup(t, "execution-ended").ID+"/Resource")
		dlqID, _ := byPath(t, tmpl, stackName, "ExecutionEndedDeadLetterQueue/Resource")
		p := props(rule)
		want := map[string]any{
			"source":      []any{"aws.states"},
			"detail-type": []any{"Step Functions Execution Status Change"},
			"detail": map[string]any{
				"status":          []any{"FAILED", "ABORTED", "TIMED_OUT"},
				"stateMachineArn": []any{ref(smID)},
			},
		}
		if !reflect.DeepEqual(p["EventPattern"], want) || p["State"] != "ENABLED" {
			t.Errorf("%s: rule %s pattern %s", stackName, ruleID, jsonString(p["EventPattern"]))
		}
		targets, _ := p["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s: targets %s", stackName, jsonString(targets))
		}
		tg := targets[0]
		if !reflect.DeepEqual(get(tg, "Arn"), getAtt(fnID, "Arn")) ||
			!reflect.DeepEqual(get(tg, "DeadLetterConfig", "Arn"), getAtt(dlqID, "Arn")) ||
			get(tg, "RetryPolicy", "MaximumRetryAttempts") != float64(185) ||
			get(tg, "RetryPolicy", "MaximumEventAgeInSeconds") != float64(86400) {
			t.Errorf("%s: target %s", stackName, jsonString(tg))
		}
		if !reflect.DeepEqual(get(props(fn), "DeadLetterConfig", "TargetArn"), getAtt(dlqID, "Arn")) {
			t.Errorf("%s: function dead-letter config %s", stackName, jsonString(get(props(fn), "DeadLetterConfig")))
		}
		invokable := false
		for _, perm := range resources(tmpl, "AWS::Lambda::Permission") {
			pp := props(perm)
			invokable = invokable || pp["Principal"] == "events.amazonaws.com" &&
				reflect.DeepEqual(pp["FunctionName"], getAtt(fnID, "Arn")) && reflect.DeepEqual(pp["SourceArn"], getAtt(ruleID, "Arn"))
		}
		if !invokable {
			t.Errorf("%s: the rule may not invoke execution-ended", stackName)
		}
	}
}
