// Command copy-to-staging is the copy-to-staging Lambda function; it only wires.
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Start(func(h *workflow.Handlers) any { return workflow.Task(h.CopyToStaging) }, config.EnvRequestsTable, config.EnvEventsTable, config.EnvStagingBucket)
}
