// Package withses is the SES plug-in of app.Run: the mailer. Importing it
// links the SES v2 client; see package app.
package withses

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/notify"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the SES adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.SES,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, sesv2.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, cfg config.Config, c *sesv2.Client) {
	h.Mailer = notify.NewMailer(c, cfg.FromEmail, cfg.SESConfigurationSet)
}
