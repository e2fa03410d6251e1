// Command egress-api is the AppSync direct Lambda resolver of the
// reviewers' GraphQL API; it only wires.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
)

func main() {
	log := app.Logger()
	svc, err := build(context.Background(), log)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(api.Handler(svc))
}

func build(ctx context.Context, log *slog.Logger) (*api.Service, error) {
	if err := config.Require(os.Getenv, config.EnvRequestsTable, config.EnvEventsTable, config.EnvStagingBucket, config.EnvDatalakeBucket); err != nil {
		return nil, err
	}
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	clients, err := config.LoadClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return app.API(cfg, clients, log)
}
