// Command store-task-token is the store-task-token Lambda function; it only wires.
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Start(func(h *workflow.Handlers) any { return workflow.Step(h.StoreTaskToken) }, config.EnvRequestsTable, config.EnvEventsTable)
}
