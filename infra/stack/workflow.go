package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/statemachine"
)

// workflow creates the state machine from the repository's definition
// file; AWS fills in the function ARNs through DefinitionSubstitutions, so
// the deployed definition is the file the local engine runs.
func (b *builder) workflow() {
	subs := statemachine.FunctionSubstitutions(func(name string) *string { return b.fns[name].fn.FunctionArn() })
	var invoke []*string
	for _, fn := range functions.All() {
		if fn.Placeholder != "" {
			invoke = append(invoke, b.fns[fn.Name].fn.FunctionArn())
		}
	}
	logs := awslogs.NewLogGroup(b.stack, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{
		// Step Functions keeps the logs resource policy small for groups
		// under /aws/vendedlogs/.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + b.cfg.StackName() + "-workflow"),
		Retention:     b.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	b.workflowSM = awsstepfunctions.NewStateMachine(b.stack, jsii.String("Workflow"), &awsstepfunctions.StateMachineProps{
		Comment:                 jsii.String("Egress request workflow (statemachine/egress.asl.json)"),
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(statemachine.Raw()))),
		DefinitionSubstitutions: &subs,
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Execution data carries task tokens; they are never logged.
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	b.workflowSM.AddToRolePolicy(allow([]string{"lambda:InvokeFunction"}, invoke...))
	for _, fn := range functions.All() {
		if fn.Reads(config.EnvStateMachineArn) {
			b.fns[fn.Name].fn.AddEnvironment(jsii.String(config.EnvStateMachineArn), b.workflowSM.StateMachineArn(), nil)
		}
	}
}

// deadLetters creates the intake's dead-letter queue: messages SNS cannot
// deliver, and events start-workflow still fails on after Lambda's
// retries, land there. SSE-SQS rather than a customer key, so SNS can
// write to it without a key policy for the SWB account's topic. The
// execution-ended function has its own, for the same reasons: EventBridge
// writes the events it cannot deliver there, Lambda those the function
// still fails on.
func (b *builder) deadLetters() {
	queue := func(id string) awssqs.Queue {
		return awssqs.NewQueue(b.stack, jsii.String(id), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
	}
	b.intakeDLQ = queue("IntakeDeadLetterQueue")
	b.endedDLQ = queue("ExecutionEndedDeadLetterQueue")
}

// executionEnded routes the workflow's executions that end FAILED, ABORTED
// or TIMED_OUT to the execution-ended function, which cleans up after
// those that did not complete the definition's own failure path (a stop
// from the console, the execution timeout, an uncatchable error such as
// States.DataLimitExceeded, HandleFailure giving up). EventBridge retries
// a failed delivery for a day before it dead-letters the event.
func (b *builder) executionEnded() {
	b.endedRule = awsevents.NewRule(b.stack, jsii.String("ExecutionEndedRule"), &awsevents.RuleProps{
		Description: jsii.String("Egress workflow executions that ended FAILED, ABORTED or TIMED_OUT, to the execution-ended function"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]any{
				"status":          []any{"FAILED", "ABORTED", "TIMED_OUT"},
				"stateMachineArn": []any{b.workflowSM.StateMachineArn()},
			},
		},
	})
	b.endedRule.AddTarget(awseventstargets.NewLambdaFunction(b.fns["execution-ended"].fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: b.endedDLQ,
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
		RetryAttempts:   jsii.Number(185),
	}))
}

// intake subscribes start-workflow to SWB's topic, which may be in another
// account (its topic policy must let this account subscribe).
func (b *builder) intake() {
	f := b.fns["start-workflow"].fn
	topic := awssns.Topic_FromTopicArn(b.stack, jsii.String("SWBEgressTopic"), jsii.String(b.cfg.SWBNotificationTopicARN))
	topic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(f, &awssnssubscriptions.LambdaSubscriptionProps{
		DeadLetterQueue: b.intakeDLQ,
	}))
}
