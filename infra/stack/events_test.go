package stack

import (
	"reflect"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// The audit events table streams its new items to publish-events, which
// reports the record to retry from; publish-events names the stack's bus;
// with event_bus_targets (Full) a rule forwards the bus's events to each,
// through a role allowed to put events there only.
func TestEventBus(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		tableID, table := byPath(t, tmpl, stackName, "EventsTable/Resource")
		busID, _ := byPath(t, tmpl, stackName, "EventBus/Resource")
		fnID, fn := byPath(t, tmpl, stackName, mustLookup(t, "publish-events").ID+"/Resource")
		if got := get(tmpl, "Outputs", "EventBusArn", "Value"); !reflect.DeepEqual(got, getAtt(busID, "Arn")) {
			t.Errorf("%s: output EventBusArn %s", stackName, jsonString(got))
		}
		if got := get(props(table), "StreamSpecification", "StreamViewType"); got != "NEW_IMAGE" {
			t.Errorf("%s: events table stream %v, want NEW_IMAGE", stackName, got)
		}
		if got := get(props(fn), "Environment", "Variables", "EVENT_BUS_NAME"); !reflect.DeepEqual(got, ref(busID)) {
			t.Errorf("%s: EVENT_BUS_NAME %s, want the bus", stackName, jsonString(got))
		}
		var mappings []map[string]any
		for _, m := range resources(tmpl, "AWS::Lambda::EventSourceMapping") {
			if reflect.DeepEqual(props(m)["FunctionName"], ref(fnID)) {
				mappings = append(mappings, props(m))
			}
		}
		if len(mappings) != 1 {
			t.Fatalf("%s: %d event source mappings of publish-events", stackName, len(mappings))
		}
		m := mappings[0]
		if !reflect.DeepEqual(m["EventSourceArn"], getAtt(tableID, "StreamArn")) || m["StartingPosition"] != "TRIM_HORIZON" ||
			!reflect.DeepEqual(m["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
			t.Errorf("%s: event source mapping %s", stackName, jsonString(m))
		}

		var forward []map[string]any
		for _, r := range resources(tmpl, "AWS::Events::Rule") {
			if reflect.DeepEqual(props(r)["EventBusName"], ref(busID)) {
				forward = append(forward, props(r))
			}
		}
		targets := s.configs[stackName].EventBusTargets
		if len(targets) == 0 {
			if len(forward) != 0 {
				t.Errorf("%s: rules on the bus without event_bus_targets: %s", stackName, jsonString(forward))
			}
			continue
		}
		if len(forward) != 1 {
			t.Fatalf("%s: %d rules on the bus, want 1", stackName, len(forward))
		}
		r := forward[0]
		if !reflect.DeepEqual(r["EventPattern"], map[string]any{"source": []any{egress.BusSource}}) {
			t.Errorf("%s: forwarding pattern %s", stackName, jsonString(r["EventPattern"]))
		}
		ts, _ := r["Targets"].([]any)
		if len(ts) != len(targets) {
			t.Fatalf("%s: targets %s, want %v", stackName, jsonString(ts), targets)
		}
		roleID, _ := byPath(t, tmpl, stackName, "EventForwardingRole/Resource")
		for i, tg := range ts {
			if get(tg, "Arn") != targets[i] || !reflect.DeepEqual(get(tg, "RoleArn"), getAtt(roleID, "Arn")) {
				t.Errorf("%s: target %d %s, want %s through the forwarding role", stackName, i, jsonString(tg), targets[i])
			}
		}
		var may []string
		for id, sts := range identityStatements(tmpl) {
			policy := tmpl["Resources"].(map[string]any)[id].(map[string]any)
			if !reflect.DeepEqual(get(props(policy), "Roles"), []any{ref(roleID)}) {
				continue
			}
			for _, st := range sts {
				may = append(may, jsonString(st))
			}
		}
		want := []string{jsonString(map[string]any{"Action": "events:PutEvents", "Effect": "Allow", "Resource": targets[0]})}
		if !reflect.DeepEqual(may, want) {
			t.Errorf("%s: the forwarding role may\n %v\nwant\n %v", stackName, may, want)
		}
	}
}
