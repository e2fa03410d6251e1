// Package withsns is the SNS plug-in of app.Run: the reviewers' notice
// topics. Importing it links the SNS client; see package app.
package withsns

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/topics"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the SNS adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.SNS,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, sns.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, _ config.Config, c *sns.Client) {
	h.Publisher = topics.New(c)
}
