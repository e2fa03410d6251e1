// Package apiapp wires functions/egress-api, the AppSync resolver of the
// reviewers' API: the clients its row lists and the api.Service. It does
// not link the workflow's handlers, nor SES.
package apiapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/awsclient"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/lambdamain"
	"github.com/tre-egress/egress/shared/metrics"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/topics"
)

// Clients are the AWS clients the API may use.
type Clients struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SFN      *sfn.Client
	SNS      *sns.Client // the notices topic
}

// NewClients builds, from one aws.Config, the clients of the listed
// services; the others stay nil.
func NewClients(cfg aws.Config, s3PathStyle bool, services []functions.Service) Clients {
	var c Clients
	for _, s := range services {
		switch s {
		case functions.S3:
			c.S3 = objects.NewS3(cfg, s3PathStyle)
		case functions.DynamoDB:
			c.DynamoDB = dynamodb.NewFromConfig(cfg)
		case functions.StepFunctions:
			c.SFN = sfn.NewFromConfig(cfg)
		case functions.SNS:
			c.SNS = sns.NewFromConfig(cfg)
		}
	}
	return c
}

// API builds the reviewers' API service from cfg and clients: what
// functions/egress-api runs and the local stack serves at /graphql.
func API(cfg config.Config, c Clients, log *slog.Logger) (*api.Service, error) {
	var missing []error
	for _, m := range []struct {
		service functions.Service
		ok      bool
	}{{functions.S3, c.S3 != nil}, {functions.DynamoDB, c.DynamoDB != nil}, {functions.StepFunctions, c.SFN != nil}} {
		if !m.ok {
			missing = append(missing, fmt.Errorf("the API needs a %s client: list the service in its row", m.service))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	chain, err := cfg.Chain()
	if err != nil {
		return nil, err
	}
	obj := objects.New(c.S3)
	table := requests.NewTable(c.DynamoDB, cfg.RequestsTable, cfg.EventsTable)
	wf := stepfunctions.New(c.SFN, cfg.StateMachineArn)
	svc := &api.Service{
		Requests:          table,
		Workflow:          wf,
		Executions:        wf,
		Presigner:         obj,
		Manifests:         obj,
		VersionPresigner:  obj,
		HeadReader:        obj,
		ReviewerGroups:    cfg.ReviewerGroups,
		Chain:             chain,
		ResearcherGroup:   cfg.ResearcherGroup,
		StagingBucket:     cfg.StagingBucket,
		DatalakeBucket:    cfg.DatalakeBucket,
		MaxDownloads:      cfg.MaxDownloads,
		DownloadExpiry:    cfg.DownloadExpiry,
		MaxRequestAgeDays: cfg.MaxRequestAgeDays,
		Zips:              obj,
		ZipReader:         obj,
		Deleter:           obj,
		RevokeRetention:   time.Duration(cfg.RevokeRetentionDays) * 24 * time.Hour,
		NoticesTopic:      cfg.NoticesTopic,
		Log:               log,
	}
	// Without SNS a revocation still stands; it is logged that no one was
	// told.
	if c.SNS != nil {
		svc.Notices = topics.New(c.SNS)
	}
	// Only when there is an emitter (STACK_NAME set): a nil pointer in an
	// interface field would not compare equal to nil.
	if em := metrics.ForStack(nil, cfg.StackName, log); em != nil {
		svc.Metrics, table.Observer = em, em
	}
	// retryRequest unlocks the SWB store of a request it settles.
	if cfg.SWBStoreTable != "" {
		svc.SWBStore = swbstore.New(c.DynamoDB, cfg.SWBStoreTable)
	}
	return svc, nil
}

// Run is the resolver's main: apiapp.Run("egress-api").
func Run(name string) { lambdamain.Start(name, build) }

func build(_ context.Context, fn functions.Function, cfg config.Config, log *slog.Logger) (any, error) {
	awsCfg, err := awsclient.Load()
	if err != nil {
		return nil, fmt.Errorf("functions/%s: %w", fn.Name, err)
	}
	svc, err := API(cfg, NewClients(awsCfg, cfg.S3PathStyle, fn.Services), log)
	if err != nil {
		return nil, fmt.Errorf("functions/%s: %w", fn.Name, err)
	}
	return api.Handler(svc), nil
}
