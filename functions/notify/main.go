// Command notify is the notify Lambda function; it only wires.
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Start(func(h *workflow.Handlers) any { return workflow.Step(h.Notify) }, config.EnvRequestsTable, config.EnvEventsTable, config.EnvFromEmail)
}
