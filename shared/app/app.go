// Package app composes configuration and adapters into the handlers every
// function runs, so each functions/*/main.go only wires and the local stack
// builds exactly the same thing.
package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/notify"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/workflow"
)

// Logger is the JSON logger every function writes to stdout (CloudWatch).
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Handlers builds the workflow handlers from cfg and clients.
func Handlers(cfg config.Config, c config.Clients, log *slog.Logger) (*workflow.Handlers, error) {
	chain, err := cfg.Chain()
	if err != nil {
		return nil, err
	}
	obj := objects.New(c.S3)
	obj.MultipartThreshold = cfg.MultipartThreshold
	obj.ScratchDir = cfg.EFSMountPath
	return &workflow.Handlers{
		Requests:   requests.NewTable(c.DynamoDB, cfg.RequestsTable, cfg.EventsTable),
		SWBStore:   swbstore.New(c.DynamoDB, cfg.SWBStoreTable),
		Objects:    obj,
		Executions: stepfunctions.New(c.SFN, cfg.StateMachineArn),
		Mailer:     notify.NewMailer(c.SES, cfg.FromEmail, cfg.SESConfigurationSet),
		Settings: workflow.Settings{
			StagingBucket:   cfg.StagingBucket,
			DatalakeBucket:  cfg.DatalakeBucket,
			Chain:           chain,
			ReviewerGroups:  cfg.ReviewerGroups,
			StageTimeout:    cfg.StageTimeout,
			CopyConcurrency: cfg.CopyConcurrency,
			AdminEmail:      cfg.AdminEmail,
			ReviewerEmails:  cfg.ReviewerEmails,
			WebAppURL:       cfg.WebAppURL,
			SWBStoreBucket:  cfg.SWBStoreBucket,
			SWBListBucket:   cfg.SWBListBucket,
		},
		Log: log,
	}, nil
}

// FromEnv is what a function's main calls: read the environment, check the
// variables it needs, load AWS clients and build the handlers. Errors name
// the variable at fault.
func FromEnv(ctx context.Context, log *slog.Logger, required ...string) (*workflow.Handlers, error) {
	if err := config.Require(os.Getenv, required...); err != nil {
		return nil, err
	}
	cfg, clients, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return Handlers(cfg, clients, log)
}

// load reads the configuration from the environment and builds the AWS
// clients from the Lambda environment.
func load(ctx context.Context) (config.Config, config.Clients, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return cfg, config.Clients{}, err
	}
	clients, err := config.LoadClients(ctx, cfg)
	return cfg, clients, err
}

// Start is a workflow function's main: it builds the handlers from the
// environment, checking the variables the function needs, and hands the
// one pick chooses to the Lambda runtime. A configuration error is logged
// and ends the process, so a misconfigured function fails at init.
func Start(pick func(*workflow.Handlers) any, required ...string) {
	log := Logger()
	h, err := FromEnv(context.Background(), log, required...)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(pick(h))
}
