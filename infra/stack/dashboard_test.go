package stack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/metrics"
)

// dashboardBody returns the dashboard's body as JSON, CloudFormation's
// tokens (Refs, GetAtts) joined in as the text "TOKEN".
func dashboardBody(t *testing.T, dash map[string]any) map[string]any {
	t.Helper()
	var text strings.Builder
	switch b := props(dash)["DashboardBody"].(type) {
	case string:
		text.WriteString(b)
	case map[string]any:
		parts, _ := get(b, "Fn::Join").([]any)
		if len(parts) != 2 {
			t.Fatalf("dashboard body is %v, want a string or an Fn::Join", b)
		}
		for _, p := range parts[1].([]any) {
			if s, ok := p.(string); ok {
				text.WriteString(s)
			} else {
				text.WriteString("TOKEN")
			}
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(text.String()), &body); err != nil {
		t.Fatalf("dashboard body: %v\n%s", err, text.String())
	}
	return body
}

var searchExpr = regexp.MustCompile(`^SEARCH\('\{([^}]*)\} (\w+)="([^"]*)" MetricName="(\w+)"', '(\w+)', \d+\)$`)

// plotted is one line, or one search, of a dashboard widget.
type plotted struct {
	namespace, name string
	dims            map[string]string // a search's dimensions have "" values but Stack's
	label           string
	widget          string
}

func dashboardLines(t *testing.T, body map[string]any) []plotted {
	t.Helper()
	var out []plotted
	for _, w := range body["widgets"].([]any) {
		p, _ := get(w, "properties").(map[string]any)
		title, _ := p["title"].(string)
		lines, _ := p["metrics"].([]any)
		for _, l := range lines {
			l := l.([]any)
			if opts, ok := l[0].(map[string]any); ok {
				expr, _ := opts["expression"].(string)
				m := searchExpr.FindStringSubmatch(expr)
				if m == nil {
					t.Fatalf("widget %q: expression %q is not a search this test reads", title, expr)
				}
				schema := strings.Split(m[1], ",")
				dims := map[string]string{}
				for _, d := range schema[1:] {
					dims[d] = ""
				}
				dims[m[2]] = m[3]
				out = append(out, plotted{namespace: schema[0], name: m[4], dims: dims, widget: title})
				continue
			}
			pl := plotted{namespace: l[0].(string), name: l[1].(string), dims: map[string]string{}, widget: title}
			i := 2
			for ; i+1 < len(l); i += 2 {
				k, ok := l[i].(string)
				if !ok {
					break
				}
				pl.dims[k], _ = l[i+1].(string)
			}
			if i < len(l) {
				if opts, ok := l[i].(map[string]any); ok {
					pl.label, _ = opts["label"].(string)
				}
			}
			out = append(out, pl)
		}
	}
	return out
}

// The dashboard, named after its stack, plots every metric of
// shared/metrics' list with exactly its dimensions, so a metric added
// without a widget fails here; and every function's errors, throttles and
// duration, the workflow's failures and the tables' throttles.
func TestDashboardShowsEveryMetric(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		t.Run(stackName, func(t *testing.T) {
			tmpl := s.templates[stackName]
			dashes := resources(tmpl, "AWS::CloudWatch::Dashboard")
			if len(dashes) != 1 {
				t.Fatalf("%d dashboards, want 1", len(dashes))
			}
			var dash map[string]any
			for _, d := range dashes {
				dash = d
			}
			if got, want := props(dash)["DashboardName"], stackName+"-egress"; got != want {
				t.Errorf("dashboard name %v, want %s (named after the stack, so stacks do not collide)", got, want)
			}
			lines := dashboardLines(t, dashboardBody(t, dash))
			for _, def := range metrics.Definitions {
				want := map[string]bool{metrics.DimensionStack: true}
				for _, d := range def.Dimensions {
					want[d] = true
				}
				found := slices.ContainsFunc(lines, func(p plotted) bool {
					if p.namespace != metrics.Namespace || p.name != def.Name || p.dims[metrics.DimensionStack] != stackName || len(p.dims) != len(want) {
						return false
					}
					for d := range p.dims {
						if !want[d] {
							return false
						}
					}
					return true
				})
				if !found {
					t.Errorf("no widget plots %s/%s with dimensions Stack=%s %v", metrics.Namespace, def.Name, stackName, def.Dimensions)
				}
			}
			count := func(namespace, name string) []string {
				var labels []string
				for _, p := range lines {
					if p.namespace == namespace && p.name == name {
						labels = append(labels, p.label)
					}
				}
				return labels
			}
			for _, name := range []string{"Errors", "Throttles", "Duration"} {
				if got := count("AWS/Lambda", name); !slices.Equal(got, functions.Names()) {
					t.Errorf("Lambda %s plotted for %v, want every function %v", name, got, functions.Names())
				}
			}
			for _, name := range []string{"ExecutionsFailed", "ExecutionsTimedOut"} {
				if len(count("AWS/States", name)) != 1 {
					t.Errorf("state machine %s not plotted", name)
				}
			}
			for _, name := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
				if got := count("AWS/DynamoDB", name); len(got) != 2 {
					t.Errorf("DynamoDB %s plotted %d times, want once per table (requests, events)", name, len(got))
				}
			}
		})
	}
}

// The failure alarm fires on one FAILED request or one failed execution
// and tells the alarm topic the TRE admin is subscribed to.
func TestRequestFailuresAlarm(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		topicID, _ := byPath(t, tmpl, stackName, "AlarmTopic/Resource")
		_, alarm := byPath(t, tmpl, stackName, "RequestFailuresAlarm/Resource")
		p := props(alarm)
		if fmt.Sprint(p["AlarmActions"]) != fmt.Sprint([]any{map[string]any{"Ref": topicID}}) {
			t.Errorf("%s: alarm actions %v, want the alarm topic %s", stackName, p["AlarmActions"], topicID)
		}
		if p["Threshold"] != 1.0 || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: alarm fires at %v %v, want >= 1", stackName, p["ComparisonOperator"], p["Threshold"])
		}
		var seen []string
		for _, m := range p["Metrics"].([]any) {
			stat, ok := get(m, "MetricStat", "Metric").(map[string]any)
			if !ok {
				continue
			}
			dims := map[string]any{}
			for _, d := range stat["Dimensions"].([]any) {
				dims[get(d, "Name").(string)] = get(d, "Value")
			}
			seen = append(seen, fmt.Sprintf("%s/%s %v", stat["Namespace"], stat["MetricName"], dims[metrics.DimStatus]))
			if stat["Namespace"] == metrics.Namespace && dims[metrics.DimensionStack] != stackName {
				t.Errorf("%s: alarm reads %v of another stack", stackName, dims)
			}
		}
		slices.Sort(seen)
		if want := []string{"AWS/States/ExecutionsFailed <nil>", "Egress/Requests FAILED"}; !slices.Equal(seen, want) {
			t.Errorf("%s: alarm reads %v, want %v", stackName, seen, want)
		}
	}
}
