package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/stepfunctions"
)

// API builds the reviewers' API service from cfg and clients: what
// functions/egress-api runs and the local stack serves at /graphql.
func API(cfg config.Config, c config.Clients, log *slog.Logger) (*api.Service, error) {
	if _, err := cfg.Chain(); err != nil {
		return nil, err
	}
	obj := objects.New(c.S3)
	return &api.Service{
		Requests:          requests.NewTable(c.DynamoDB, cfg.RequestsTable, cfg.EventsTable),
		Workflow:          stepfunctions.New(c.SFN, cfg.StateMachineArn),
		Presigner:         obj,
		Manifests:         obj,
		ReviewerGroups:    cfg.ReviewerGroups,
		StagingBucket:     cfg.StagingBucket,
		DatalakeBucket:    cfg.DatalakeBucket,
		MaxDownloads:      cfg.MaxDownloads,
		DownloadExpiry:    cfg.DownloadExpiry,
		MaxRequestAgeDays: cfg.MaxRequestAgeDays,
		Log:               log,
	}, nil
}

// APIFromEnv is API for functions/egress-api: configuration and clients
// from the Lambda environment, with errors naming the variable at fault.
func APIFromEnv(ctx context.Context, log *slog.Logger) (*api.Service, error) {
	if err := config.Require(os.Getenv, config.EnvRequestsTable, config.EnvEventsTable, config.EnvStagingBucket, config.EnvDatalakeBucket); err != nil {
		return nil, err
	}
	cfg, clients, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return API(cfg, clients, log)
}
