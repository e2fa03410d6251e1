package stack

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tre-egress/egress/functions"
)

// Each scheduled function of the table is run by an EventBridge rule at
// its rate, and may be invoked by that rule; a late run is dropped, as
// the next one does the same work.
func TestSchedules(t *testing.T) {
	s := synth(t)
	scheduled := 0
	for _, fn := range functions.All() {
		if fn.Schedule == 0 {
			continue
		}
		scheduled++
		for _, stackName := range []string{sampleStack, fullStack} {
			tmpl := s.templates[stackName]
			ruleID, rule := byPath(t, tmpl, stackName, fn.ID+"Schedule/Resource")
			fnID, _ := byPath(t, tmpl, stackName, fn.ID+"/Resource")
			p := props(rule)
			want := fmt.Sprintf("rate(%d minutes)", int(fn.Schedule.Minutes()))
			if fn.Schedule%(24*time.Hour) == 0 { // CDK writes whole days as days
				want = fmt.Sprintf("rate(%d day%s)", int(fn.Schedule.Hours()/24), map[bool]string{true: "s"}[fn.Schedule > 24*time.Hour])
			}
			if p["ScheduleExpression"] != want || p["State"] != "ENABLED" {
				t.Errorf("%s: %s schedule %v (%v), want %s", stackName, fn.Name, p["ScheduleExpression"], p["State"], want)
			}
			targets, _ := p["Targets"].([]any)
			if len(targets) != 1 || !reflect.DeepEqual(get(targets[0], "Arn"), getAtt(fnID, "Arn")) ||
				get(targets[0], "RetryPolicy", "MaximumEventAgeInSeconds") != fn.Schedule.Seconds() {
				t.Errorf("%s: %s targets %s", stackName, fn.Name, jsonString(targets))
			}
			invokable := false
			for _, perm := range resources(tmpl, "AWS::Lambda::Permission") {
				pp := props(perm)
				invokable = invokable || pp["Principal"] == "events.amazonaws.com" &&
					reflect.DeepEqual(pp["FunctionName"], getAtt(fnID, "Arn")) && reflect.DeepEqual(pp["SourceArn"], getAtt(ruleID, "Arn"))
			}
			if !invokable {
				t.Errorf("%s: the schedule may not invoke %s", stackName, fn.Name)
			}
		}
	}
	if scheduled == 0 {
		t.Fatal("no scheduled function in the table")
	}
}
