// Package withstepfunctions is the Step Functions plug-in of app.Run: the
// executions adapter. Importing it links the Step Functions client; see
// package app.
package withstepfunctions

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the Step Functions adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.StepFunctions,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, sfn.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, cfg config.Config, c *sfn.Client) {
	w := stepfunctions.New(c, cfg.StateMachineArn)
	h.Executions, h.ExecutionReader = w, w
}
