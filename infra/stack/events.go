package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/shared/egress"
)

// eventBus creates the bus the status changes of requests are published
// on (README, "Events"). Consumers in this account add their own rules;
// those in other accounts are forwarded to (event_bus_targets).
func (b *builder) eventBus() {
	b.bus = awsevents.NewEventBus(b.stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		Description: jsii.String("egress " + b.cfg.StackName() + ": a request's every status change (source " + egress.BusSource + ")"),
	})
}

// publishEvents feeds publish-events from the audit events table's
// stream, in order (one batch per shard at a time), reporting the record
// to retry from (ReportBatchItemFailures); a record is retried until the
// stream drops it after 24 hours. Then it forwards the bus's events to
// the buses of event_bus_targets.
func (b *builder) publishEvents() {
	b.fns["publish-events"].fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(b.events, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(100),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	if len(b.cfg.EventBusTargets) == 0 {
		return
	}
	var arns []*string
	for _, a := range b.cfg.EventBusTargets {
		arns = append(arns, jsii.String(a))
	}
	role := awsiam.NewRole(b.stack, jsii.String("EventForwardingRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("egress " + b.cfg.StackName() + ": EventBridge forwards request status changes to event_bus_targets"),
	})
	role.AddToPolicy(allow([]string{"events:PutEvents"}, arns...))
	rule := awsevents.NewRule(b.stack, jsii.String("EventForwardingRule"), &awsevents.RuleProps{
		Description:  jsii.String("egress status changes to the event buses of event_bus_targets"),
		EventBus:     b.bus,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(egress.BusSource)},
	})
	for i, a := range b.cfg.EventBusTargets {
		target := awsevents.EventBus_FromEventBusArn(b.stack, jsii.Sprintf("EventBusTarget%d", i), jsii.String(a))
		rule.AddTarget(awseventstargets.NewEventBus(target, &awseventstargets.EventBusProps{Role: role}))
	}
}
