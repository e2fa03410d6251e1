// Command start-workflow is the SNS intake Lambda function; it only wires.
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Start(func(h *workflow.Handlers) any { return h.Intake },
		config.EnvRequestsTable, config.EnvEventsTable, config.EnvSWBStoreTable, config.EnvStateMachineArn)
}
