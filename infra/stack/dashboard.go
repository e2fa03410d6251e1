package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/metrics"
)

// DashboardName is the stack's CloudWatch dashboard: named after the stack,
// so two stacks in one account keep theirs apart.
func DashboardName(c Config) string { return c.StackName() + "-egress" }

// metricsPeriod is the period of the dashboard's graphs and the failure
// alarm.
var metricsPeriod = awscdk.Duration_Minutes(jsii.Number(5))

// egressMetric is one of the functions' EMF metrics (shared/metrics) of
// this stack, with dims besides Stack.
func (b *builder) egressMetric(name, statistic string, dims map[string]string) awscloudwatch.Metric {
	d := map[string]*string{metrics.DimensionStack: jsii.String(b.cfg.StackName())}
	for k, v := range dims {
		d[k] = jsii.String(v)
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &d,
		Period:        metricsPeriod,
		Statistic:     jsii.String(statistic),
	})
}

// egressSearch plots metric name of this stack, one line per value of its
// dimensions: their values are fixed sets (statuses, checks, causes) or
// the configuration's (stage names), so the search finds whichever were
// emitted.
func (b *builder) egressSearch(name, statistic string) awscloudwatch.IMetric {
	def, ok := metrics.Lookup(name)
	if !ok {
		panic("stack: no metric definition " + name) // a programming error the tests catch
	}
	schema := strings.Join(append([]string{metrics.Namespace, metrics.DimensionStack}, def.Dimensions...), ",")
	var labels []string
	for _, d := range def.Dimensions {
		labels = append(labels, "${PROP('Dim."+d+"')}")
	}
	return awscloudwatch.NewSearchExpression(&awscloudwatch.SearchExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s} %s="%s" MetricName="%s"', '%s', %d)`,
			schema, metrics.DimensionStack, b.cfg.StackName(), name, statistic, int(*metricsPeriod.ToSeconds(nil)))),
		// One line per value, named by it.
		Label:  jsii.String(strings.Join(labels, " ")),
		Period: metricsPeriod,
	})
}

// dashboard is the on-call admin's view of the stack: the requests' flow
// from the functions' metrics, and the health of the functions, the
// workflow and the tables. It also adds the failure alarm on the alarm
// topic.
func (b *builder) dashboard() {
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
		if len(right) > 0 {
			p.Right = &right
		}
		return awscloudwatch.NewGraphWidget(p)
	}
	one := func(ms ...awscloudwatch.IMetric) []awscloudwatch.IMetric { return ms }
	sum, avg := "Sum", "Average"

	var errs, throttles, durations []awscloudwatch.IMetric
	for _, name := range functions.Names() {
		fn := b.fns[name].fn
		opts := func(stat string) *awscloudwatch.MetricOptions {
			return &awscloudwatch.MetricOptions{Period: metricsPeriod, Statistic: jsii.String(stat), Label: jsii.String(name)}
		}
		errs = append(errs, fn.MetricErrors(opts(sum)))
		throttles = append(throttles, fn.MetricThrottles(opts(sum)))
		durations = append(durations, fn.MetricDuration(opts("p90")))
	}
	smOpts := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: metricsPeriod, Statistic: jsii.String(sum), Label: jsii.String(label)}
	}
	var tableThrottles []awscloudwatch.IMetric
	for _, t := range []struct {
		label string
		table interface {
			Metric(*string, *awscloudwatch.MetricOptions) awscloudwatch.Metric
		}
	}{{"requests", b.requests}, {"events", b.events}} {
		for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
			tableThrottles = append(tableThrottles, t.table.Metric(jsii.String(m), smOpts(t.label+" "+m)))
		}
	}

	awscloudwatch.NewDashboard(b.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(DashboardName(b.cfg)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Requests by status (status changes)", 12, one(b.egressSearch(metrics.Requests, sum))),
				graph("Time to decision per stage (seconds, average)", 12, one(b.egressSearch(metrics.TimeToDecision, avg))),
			},
			{
				graph("Checks' findings by check and severity", 8, one(b.egressSearch(metrics.Findings, sum))),
				graph("Releases: zip bytes (left), seconds to write (right)", 8,
					one(b.egressMetric(metrics.ReleaseBytes, sum, nil)), b.egressMetric(metrics.ReleaseSeconds, "Maximum", nil)),
				graph("Downloads granted", 8, one(b.egressMetric(metrics.Downloads, sum, nil))),
			},
			{
				graph("Failures by cause", 12, one(b.egressSearch(metrics.Failures, sum))),
				graph("Workflow executions failed and timed out", 12, one(
					b.workflowSM.MetricFailed(smOpts("ExecutionsFailed")), b.workflowSM.MetricTimedOut(smOpts("ExecutionsTimedOut")))),
			},
			{
				graph("Function errors", 8, errs),
				graph("Function throttles", 8, throttles),
				graph("Function duration (p90, ms)", 8, durations),
			},
			{
				graph("Stuck requests (check-stuck, every 15 minutes; alarms at 1)", 12, one(
					b.egressMetric(metrics.StuckUnreminded, "Maximum", nil),
					b.egressMetric(metrics.StuckNoExecution, "Maximum", nil),
					b.egressMetric(metrics.StuckUndelivered, "Maximum", nil))),
				graph("Releases verified (left) and drifted (right; alarms at 1), daily", 12,
					one(b.egressMetric(metrics.ReleasesVerified, sum, nil)), b.egressMetric(metrics.ReleaseDrift, "Maximum", nil)),
			},
			{graph("DynamoDB throttled requests", 24, tableThrottles)},
		},
	})

	// One alarm on any failure: a request marked FAILED (whoever failed
	// it), or a workflow execution that failed.
	failures := awscloudwatch.NewAlarm(b.stack, jsii.String("RequestFailuresAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("An egress request was marked FAILED, or a workflow execution failed: see the dashboard " +
			DashboardName(b.cfg) + " and the request's failure_cause"),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Label:      jsii.String("FAILED requests and failed executions"),
			Expression: jsii.String("FILL(failed, 0) + FILL(executions, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"failed":     b.egressMetric(metrics.Requests, sum, map[string]string{metrics.DimStatus: string(egress.StatusFailed)}),
				"executions": b.workflowSM.MetricFailed(smOpts("ExecutionsFailed")),
			},
			Period: metricsPeriod,
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	failures.AddAlarmAction(awscloudwatchactions.NewSnsAction(b.alarmTopic))
}
