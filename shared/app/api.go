package app

import (
	"log/slog"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/store"
)

// API builds the reviewers' API service from cfg and clients: what
// functions/egress-api runs and the local stack serves at /graphql.
func API(cfg config.Config, c config.Clients, log *slog.Logger) (*api.Service, error) {
	if _, err := cfg.Chain(); err != nil {
		return nil, err
	}
	obj := objects.New(c.S3)
	return &api.Service{
		Requests:          store.NewRequests(c.DynamoDB, cfg.RequestsTable, cfg.EventsTable),
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
