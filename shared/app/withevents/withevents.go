// Package withevents is the EventBridge plug-in of app.Run: the stack's
// event bus, and the decoding of the audit events table's stream that
// feeds it. Importing it links the EventBridge client; see package app.
package withevents

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/auditstream"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/eventbus"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the EventBridge adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.EventBridge,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, eventbridge.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, cfg config.Config, c *eventbridge.Client) {
	h.Bus = eventbus.New(c, cfg.EventBus)
	h.Audit = auditstream.AuditStream{}
}
