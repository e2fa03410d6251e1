// Command copy-to-datalake is the copy-to-datalake Lambda function; it only wires.
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Start(func(h *workflow.Handlers) any { return workflow.Task(h.Release) }, config.EnvRequestsTable, config.EnvEventsTable, config.EnvSWBStoreTable, config.EnvStagingBucket, config.EnvDatalakeBucket)
}
