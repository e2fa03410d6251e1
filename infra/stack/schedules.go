package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
)

// schedules runs each scheduled function of the table (send-reminders)
// every Schedule with an EventBridge rule. A run that is not delivered
// is not worth delivering late: the next one comes within Schedule and
// does the same work.
func (b *builder) schedules() {
	for _, fn := range functions.All() {
		if fn.Schedule == 0 {
			continue
		}
		rule := awsevents.NewRule(b.stack, jsii.String(fn.ID+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String(fmt.Sprintf("Runs the %s function every %g minutes", fn.Name, fn.Schedule.Minutes())),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(fn.Schedule.Minutes()))),
		})
		rule.AddTarget(awseventstargets.NewLambdaFunction(b.fns[fn.Name].fn, &awseventstargets.LambdaFunctionProps{
			MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(fn.Schedule.Seconds())),
			RetryAttempts: jsii.Number(2),
		}))
	}
}
