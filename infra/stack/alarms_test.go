package stack

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/metrics"
)

var (
	filterBraces = regexp.MustCompile(`^\{\s*(.*?)\s*\}$`)
	filterTerm   = regexp.MustCompile(`^\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"*]*)"$`)
)

// filterMatches evaluates a CloudWatch Logs JSON filter pattern on one log
// line, for the subset of the syntax the stack uses: exact string
// comparisons of top-level fields joined by &&. Anything else fails the
// test rather than be guessed at.
func filterMatches(t *testing.T, pattern, line string) bool {
	t.Helper()
	body := filterBraces.FindStringSubmatch(pattern)
	if body == nil {
		t.Fatalf("filter pattern %q is not a JSON pattern", pattern)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	match := true
	for _, term := range strings.Split(body[1], "&&") {
		m := filterTerm.FindStringSubmatch(strings.TrimSpace(term))
		if m == nil {
			t.Fatalf("filter pattern %q: term %q is outside the syntax this test evaluates", pattern, term)
		}
		if v, ok := fields[m[1]].(string); !ok || v != m[2] {
			match = false
		}
	}
	return match
}

// The resolver alarm counts internal errors and crashes, not users'
// refusals: its metric filters, run on lines as egress-api logs them,
// tell the two apart, and the alarm adds the function errors no line
// accounts for (crashes).
func TestResolverErrorAlarm(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	line := func(write func()) string {
		buf.Reset()
		write()
		return strings.TrimSpace(buf.String())
	}
	internal := line(func() {
		log.Error(api.LogResolverError, "field", "Query.listRequests", api.LogErrorCode, egress.EINTERNAL, "error", "query: timeout")
	})
	var refusals []string
	for _, code := range []string{egress.EFORBIDDEN, egress.EINVALID, egress.ECONFLICT, egress.ENOTFOUND} {
		refusals = append(refusals, line(func() {
			log.Warn(api.LogResolverError, "field", "Mutation.updateRequest", api.LogErrorCode, code)
		}))
	}
	others := []string{
		line(func() { log.Warn("decision refused", "code", egress.ECONFLICT, "error", "stale token") }),
		line(func() { log.Error("decision recorded but the workflow could not be resumed", "error", "throttled") }),
	}

	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		fnID, fn := byPath(t, tmpl, stackName, "EgressApi/Resource")
		apiLogs := get(props(fn), "LoggingConfig", "LogGroup")
		filters := map[string]string{} // metric name -> pattern
		namespace := "egress/" + s.configs[stackName].StackName()
		for id, f := range resources(tmpl, "AWS::Logs::MetricFilter") {
			p := props(f)
			m := get(p, "MetricTransformations", "0")
			if !reflect.DeepEqual(p["LogGroupName"], apiLogs) || get(m, "MetricNamespace") != namespace || get(m, "MetricValue") != "1" {
				t.Errorf("%s metric filter %s: %s", stackName, id, jsonString(p))
				continue
			}
			filters[get(m, "MetricName").(string)] = p["FilterPattern"].(string)
		}
		wantMatches := map[string][]string{
			"ApiInternalErrors": {internal},
			"ApiReturnedErrors": append([]string{internal}, refusals...),
		}
		for name, want := range wantMatches {
			pattern, ok := filters[name]
			if !ok {
				t.Fatalf("%s: no metric filter %s (have %v)", stackName, name, filters)
			}
			for _, l := range concat([]string{internal}, refusals, others) {
				if got, w := filterMatches(t, pattern, l), slices.Contains(want, l); got != w {
					t.Errorf("%s %s %q matches %s: %v, want %v", stackName, name, pattern, l, got, w)
				}
			}
		}

		_, alarm := byPath(t, tmpl, stackName, "ApiResolverErrorAlarm/Resource")
		queries, _ := props(alarm)["Metrics"].([]any)
		bound := map[string]string{}
		var expression string
		for _, q := range queries {
			if e, ok := get(q, "Expression").(string); ok {
				expression = e
				continue
			}
			m := get(q, "MetricStat", "Metric")
			name := get(m, "Namespace").(string) + "/" + get(m, "MetricName").(string)
			if name == "AWS/Lambda/Errors" && !reflect.DeepEqual(get(m, "Dimensions", "0", "Value"), ref(fnID)) {
				t.Errorf("%s: the alarm's Errors metric is not egress-api's: %s", stackName, jsonString(m))
			}
			bound[get(q, "Id").(string)] = name
		}
		want := map[string]string{
			"internal": namespace + "/ApiInternalErrors",
			"returned": namespace + "/ApiReturnedErrors",
			"errors":   "AWS/Lambda/Errors",
		}
		const wantExpression = "FILL(internal, 0) + IF(FILL(errors, 0) > FILL(returned, 0), FILL(errors, 0) - FILL(returned, 0), 0)"
		if !reflect.DeepEqual(bound, want) || expression != wantExpression {
			t.Errorf("%s resolver alarm: %q over %v, want %q over %v", stackName, expression, bound, wantExpression, want)
		}
	}
}

// The operations alarms read the scheduled checks' EMF metrics of this
// stack and fire on one request found, told to the alarm topic; a run
// that wrote nothing does not fire them.
func TestOperationsAlarms(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl, cfg := s.templates[stackName], s.configs[stackName]
		topicID, _ := byPath(t, tmpl, stackName, "AlarmTopic/Resource")
		for id, want := range map[string]struct {
			metric string
			period float64
		}{
			"StuckUnremindedAlarm":  {metrics.StuckUnreminded, 900},
			"StuckNoExecutionAlarm": {metrics.StuckNoExecution, 900},
			"StuckUndeliveredAlarm": {metrics.StuckUndelivered, 900},
			"ReleaseDriftAlarm":     {metrics.ReleaseDrift, 86400},
		} {
			_, a := byPath(t, tmpl, stackName, id+"/Resource")
			p := props(a)
			dims := []any{map[string]any{"Name": metrics.DimensionStack, "Value": cfg.StackName()}}
			if p["Namespace"] != metrics.Namespace || p["MetricName"] != want.metric || !reflect.DeepEqual(p["Dimensions"], dims) ||
				p["Period"] != want.period || p["Statistic"] != "Maximum" {
				t.Errorf("%s %s: metric %v %v %v every %v (%v)", stackName, id, p["Namespace"], p["MetricName"], p["Dimensions"], p["Period"], p["Statistic"])
			}
			if p["Threshold"] != 1.0 || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["EvaluationPeriods"] != 1.0 ||
				p["TreatMissingData"] != "notBreaching" {
				t.Errorf("%s %s: fires %v %v over %v periods, missing data %v", stackName, id, p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"], p["TreatMissingData"])
			}
			if !reflect.DeepEqual(p["AlarmActions"], []any{ref(topicID)}) {
				t.Errorf("%s %s: actions %v", stackName, id, p["AlarmActions"])
			}
		}
	}
}
