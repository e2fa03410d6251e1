// Command handle-failure is the handle-failure Lambda function; it only wires.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	log := app.Logger()
	h, err := app.FromEnv(context.Background(), log, config.EnvRequestsTable, config.EnvEventsTable, config.EnvSWBStoreTable, config.EnvStagingBucket, config.EnvDatalakeBucket)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(workflow.Task(h.HandleFailure))
}
