package stack

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/infra/outputs"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/metrics"
)

// alarms tells the TRE admin, through an encrypted topic, of failed or
// timed-out executions, undeliverable intake messages and API errors.
func (b *builder) alarms() {
	b.alarmTopic = awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("egress " + b.cfg.StackName() + " alarms"),
		MasterKey:   b.stateKey,
		EnforceSSL:  jsii.Bool(true),
	})
	b.alarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(b.cfg.AdminEmail), nil))
	action := awscloudwatchactions.NewSnsAction(b.alarmTopic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}

	alarm := func(id, description string, m awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(b.stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             m,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	alarm("WorkflowFailedAlarm", "An egress workflow execution failed; the TRE admin is e-mailed what was cleaned up (see the request's failure_cause)",
		b.workflowSM.MetricFailed(sum))
	alarm("WorkflowTimedOutAlarm", "An egress workflow execution timed out; execution-ended cleans up and e-mails the TRE admin",
		b.workflowSM.MetricTimedOut(sum))
	alarm("WorkflowAbortedAlarm", "An egress workflow execution was stopped; execution-ended cleans up and e-mails the TRE admin",
		b.workflowSM.MetricAborted(sum))
	alarm("ExecutionEndedDeadLetterAlarm", "Ended executions could not be cleaned up (their SWB stores may stay PROCESSING); the events wait in the execution-ended dead-letter queue",
		b.endedDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	alarm("ExecutionEndedDeliveryAlarm", "EventBridge failed to invoke execution-ended for an ended execution (it retries for a day, then dead-letters the event)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Events"),
			MetricName:    jsii.String("FailedInvocations"),
			DimensionsMap: &map[string]*string{"RuleName": b.endedRule.RuleName()},
			Period:        five,
			Statistic:     jsii.String("Sum"),
		}))
	alarm("IntakeDeadLetterAlarm", "SWB egress messages could not be processed and wait in the intake dead-letter queue",
		b.intakeDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	alarm("ApiResolverErrorAlarm", "The egress-api resolver failed: internal errors or crashes, not users' refusals",
		b.resolverFailures(sum))
	b.operationsAlarms(alarm)
	alarm("ApiServerErrorAlarm", "The AppSync API returned server errors",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/AppSync"),
			MetricName:    jsii.String("5XXError"),
			DimensionsMap: &map[string]*string{"GraphQLAPIId": b.graphql.ApiId()},
			Period:        five,
			Statistic:     jsii.String("Sum"),
		}))
}

// operationsAlarms are the alarms on the scheduled checks' metrics (EMF,
// shared/metrics): stuck requests (check-stuck, every 15 minutes) and
// release drift (verify-releases, daily). Each fires on one request found;
// a run that wrote nothing (the function failed) is missing data, not a
// breach, as the function's errors have their own signal.
func (b *builder) operationsAlarms(alarm func(id, description string, m awscloudwatch.IMetric)) {
	emf := func(name string, period awscdk.Duration) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(metrics.Namespace),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{metrics.DimensionStack: jsii.String(b.cfg.StackName())},
			Period:        period,
			Statistic:     jsii.String("Maximum"),
		})
	}
	// One period holds one run's count: Maximum, not Sum, so two runs
	// finding the same request count it once.
	stuck := awscdk.Duration_Minutes(jsii.Number(15))
	alarm("StuckUnremindedAlarm", "Requests await a decision past their reminder window with no reminder sent: check send-reminders (README, Operations)",
		emf(metrics.StuckUnreminded, stuck))
	alarm("StuckNoExecutionAlarm", "Requests in flight have no running workflow execution (their SWB stores may stay PROCESSING): retryRequest settles them (README, Operations)",
		emf(metrics.StuckNoExecution, stuck))
	alarm("StuckUndeliveredAlarm", "Recorded decisions have not reached the workflow: retryRequest delivers them (README, Operations)",
		emf(metrics.StuckUndelivered, stuck))
	alarm("ReleaseDriftAlarm", "A released zip differs from what was approved: see verify-releases' log and verifyRelease (README, Operations)",
		emf(metrics.ReleaseDrift, awscdk.Duration_Hours(jsii.Number(24))))
}

// outputs are every value the frontend's configuration needs, and the
// names an admin looks for after a deployment.
func (b *builder) outputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(b.stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	domain := jsii.String(*b.poolDomain.DomainName() + ".auth." + b.region() + ".amazoncognito.com")
	if b.cfg.CustomDomain.Enabled {
		domain = b.poolDomain.DomainName()
	}
	out(outputs.GraphQLEndpoint, "AppSync GraphQL endpoint (aws_appsync_graphqlEndpoint)", b.graphql.GraphqlUrl())
	out(outputs.Region, "AWS region (aws_project_region, aws_appsync_region, aws_cognito_region)", b.stack.Region())
	out("AuthenticationType", "AppSync authorization (aws_appsync_authenticationType)", jsii.String("AMAZON_COGNITO_USER_POOLS"))
	out(outputs.UserPoolID, "Cognito user pool id (aws_user_pools_id)", b.pool.UserPoolId())
	out(outputs.UserPoolClientID, "Cognito app client id (aws_user_pools_web_client_id)", b.poolClient.UserPoolClientId())
	out(outputs.CognitoDomain, "Cognito hosted UI domain (oauth.domain)", domain)
	out(outputs.CLIClientID, "egressctl's Cognito app client id (egressctl --outputs)", b.cliClient.UserPoolClientId())
	out(outputs.CLICallbackURL, "egressctl's sign-in redirect on this machine", jsii.String(CLICallbackURL))
	out(outputs.ReviewerGroups, "Reviewer groups in approval-stage order (egress_reviewer_roles)", jsii.String(strings.Join(b.cfg.ReviewerRoles, ",")))
	out("SingleApproval", "Whether one approval releases a request (enable_single_approval)", jsii.String(strconv.FormatBool(b.cfg.SingleApproval)))
	out(outputs.MaxDownloads, "Downloads allowed per released request (max_downloads_allowed)", jsii.String(strconv.Itoa(b.cfg.MaxDownloads)))
	out(outputs.WebAppURL, "Web app URL (OAuth redirect sign-in and sign-out URL)", b.webURL)
	out(outputs.AmplifyAppID, "Amplify Hosting app of the web app", b.amplifyApp.AttrAppId())
	out(outputs.AmplifyBranch, "Amplify Hosting branch to deploy the built frontend to", b.amplifyBranch.BranchName())
	out(outputs.WebClientScopes, "OAuth scopes of the web client (oauth.scope), space-separated", jsii.String(strings.Join(b.webScopes, " ")))
	out(outputs.AdminGroup, "TRE admins' group: cancel, revoke, verify", jsii.String(egress.GroupRIT))
	if g := b.cfg.ResearcherGroup; g != "" {
		out(outputs.ResearcherGroup, "Researchers' group: read their own requests (researcher_group)", jsii.String(g))
	}
	if b.consoleURL != nil {
		out(outputs.ConsoleURL, "Reviewer console URL (web_console "+b.cfg.WebConsole+"); make deploy publishes it", b.consoleURL)
		out(outputs.ConsoleBranch, "Amplify Hosting branch make deploy publishes the reviewer console to", b.consoleBranch.BranchName())
	}
	out("StagingBucketName", "Staging bucket", b.staging.BucketName())
	out("RequestsTableName", "Requests table", b.requests.TableName())
	out("EventsTableName", "Audit events table", b.events.TableName())
	out("StateMachineArn", "Egress workflow", b.workflowSM.StateMachineArn())
	out("IntakeDeadLetterQueueUrl", "Intake dead-letter queue", b.intakeDLQ.QueueUrl())
	out("ExecutionEndedDeadLetterQueueUrl", "Dead-letter queue of ended executions not cleaned up", b.endedDLQ.QueueUrl())
	out("AlarmTopicArn", "Alarm topic (the TRE admin's e-mail is subscribed; confirm the subscription)", b.alarmTopic.TopicArn())
	for i, t := range b.noticeTopics {
		out("ReviewerTopic"+strconv.Itoa(i)+"Arn", fmt.Sprintf("Approval stage %d: notices of requests awaiting group %s (subscribe its reviewers' e-mail addresses)", i+1, t.group), t.topic.TopicArn())
	}
	out("SESConfigurationSetName", "SES configuration set the functions send through", b.configSet.ConfigurationSetName())
	out("EventBusArn", "EventBridge bus of every request status change, source egress (README, Events)", b.bus.EventBusArn())
}

// Metric filters on egress-api's log lines for the errors it returns
// (shared/api.Handler).
var (
	// apiInternalErrors matches the line of an internal error.
	apiInternalErrors = fmt.Sprintf(`{ $.%s = %q && $.%s = %q }`, slog.MessageKey, api.LogResolverError, api.LogErrorCode, egress.EINTERNAL)
	// apiReturnedErrors matches the line of every error returned: internal
	// errors and refusals (ForbiddenError, ValidationError, ...).
	apiReturnedErrors = fmt.Sprintf(`{ $.%s = %q }`, slog.MessageKey, api.LogResolverError)
)

// resolverFailures counts egress-api's internal errors and crashes. Lambda
// counts every error a function returns, so its Errors metric also counts
// the refusals the resolver returns as GraphQL errors. The resolver logs
// one line per error it returns, with its code: internal errors are
// counted from those lines, and crashes (a panic, a timeout, running out
// of memory) are the function errors beyond the lines logged.
func (b *builder) resolverFailures(opts *awscloudwatch.MetricOptions) awscloudwatch.IMetric {
	fn := b.fns["egress-api"].fn
	namespace := jsii.String("egress/" + b.cfg.StackName())
	count := func(id, name, pattern string) awscloudwatch.IMetric {
		return awslogs.NewMetricFilter(b.stack, jsii.String(id), &awslogs.MetricFilterProps{
			LogGroup:        fn.LogGroup(),
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(pattern)),
			MetricNamespace: namespace,
			MetricName:      jsii.String(name),
			MetricValue:     jsii.String("1"),
		}).Metric(opts)
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Label: jsii.String("egress-api internal errors and crashes"),
		Expression: jsii.String("FILL(internal, 0) + " +
			"IF(FILL(errors, 0) > FILL(returned, 0), FILL(errors, 0) - FILL(returned, 0), 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"internal": count("ApiInternalErrors", "ApiInternalErrors", apiInternalErrors),
			"returned": count("ApiReturnedErrors", "ApiReturnedErrors", apiReturnedErrors),
			"errors":   fn.MetricErrors(opts),
		},
		Period: opts.Period,
	})
}
