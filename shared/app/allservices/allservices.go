// Package allservices builds the workflow handlers over every service's
// client at once: what the local stack and the tests use, which may link
// all of them. The adapters are those of the plug-ins (packages
// shared/app/with<service>), so a Lambda function and the local stack
// wire them alike.
package allservices

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withcognito"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withevents"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/app/withses"
	"github.com/tre-egress/egress/shared/app/withsns"
	"github.com/tre-egress/egress/shared/app/withstepfunctions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugins are every service's plug-in, by service.
var Plugins = map[functions.Service]app.Plugin{
	functions.S3:            withs3.Plugin,
	functions.DynamoDB:      withdynamodb.Plugin,
	functions.StepFunctions: withstepfunctions.Plugin,
	functions.SES:           withses.Plugin,
	functions.SNS:           withsns.Plugin,
	functions.Cognito:       withcognito.Plugin,
	functions.EventBridge:   withevents.Plugin,
}

// Clients are the AWS clients of a workflow function; those of services
// its row does not list are nil.
type Clients struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SFN      *sfn.Client
	SES      *sesv2.Client
	SNS      *sns.Client
	Cognito  *cognitoidentityprovider.Client
	Events   *eventbridge.Client
}

// NewClients builds, from one aws.Config, the clients of the listed
// services only.
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
		case functions.SES:
			c.SES = sesv2.NewFromConfig(cfg)
		case functions.SNS:
			c.SNS = sns.NewFromConfig(cfg)
		case functions.Cognito:
			c.Cognito = cognitoidentityprovider.NewFromConfig(cfg)
		case functions.EventBridge:
			c.Events = eventbridge.NewFromConfig(cfg)
		}
	}
	return c
}

// Only returns c without the clients of services not listed: what a
// function with those services would have.
func (c Clients) Only(services []functions.Service) Clients {
	var o Clients
	for _, s := range services {
		switch s {
		case functions.S3:
			o.S3 = c.S3
		case functions.DynamoDB:
			o.DynamoDB = c.DynamoDB
		case functions.StepFunctions:
			o.SFN = c.SFN
		case functions.SES:
			o.SES = c.SES
		case functions.SNS:
			o.SNS = c.SNS
		case functions.Cognito:
			o.Cognito = c.Cognito
		case functions.EventBridge:
			o.Events = c.Events
		}
	}
	return o
}

// Handlers builds the workflow handlers from cfg and the clients there
// are; an adapter whose client is nil stays nil.
func Handlers(cfg config.Config, c Clients, log *slog.Logger) (*workflow.Handlers, error) {
	h, err := app.NewHandlers(cfg, log)
	if err != nil {
		return nil, err
	}
	// Only when there is a client: a nil pointer in an interface field
	// would not compare equal to nil.
	if c.S3 != nil {
		withs3.Adapters(h, cfg, c.S3)
	}
	if c.DynamoDB != nil {
		withdynamodb.Adapters(h, cfg, c.DynamoDB)
	}
	if c.SFN != nil {
		withstepfunctions.Adapters(h, cfg, c.SFN)
	}
	if c.SES != nil {
		withses.Adapters(h, cfg, c.SES)
	}
	if c.SNS != nil {
		withsns.Adapters(h, cfg, c.SNS)
	}
	if c.Cognito != nil {
		withcognito.Adapters(h, cfg, c.Cognito)
	}
	if c.Events != nil {
		withevents.Adapters(h, cfg, c.Events)
	}
	return h, nil
}
