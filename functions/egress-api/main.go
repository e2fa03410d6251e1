// Command egress-api is the AppSync direct Lambda resolver of the
// reviewers' GraphQL API; it only wires.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/app"
)

func main() {
	log := app.Logger()
	svc, err := app.APIFromEnv(context.Background(), log)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(api.Handler(svc))
}
