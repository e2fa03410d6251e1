package local

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/middleware"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/app/allservices"
	"github.com/tre-egress/egress/shared/egress"
)

// Every function runs in the stack with its own identity: its role in the
// golden template of the Sample context, which `make golden` regenerates
// from the CDK app. Its DynamoDB, Step Functions, SES, SNS and Cognito calls are checked
// in process (iam.Check); its S3 calls go to MinIO as a user of its own
// whose policy is the role's S3 statements, so the server refuses them,
// and Check covers what MinIO is laxer about. The stack's own clients
// (Stack.Clients: creating buckets and tables, playing SWB, reading what
// the functions wrote) keep the servers' root credentials.

// GoldenTemplate is the synthesized template the roles are read from,
// relative to the repository root. It is read when the stack starts, not
// embedded, so the stack always checks the template `make golden` last
// wrote.
const GoldenTemplate = "infra/stack/testdata/egress-Sample.template.json"

// ConfigurationSet is the local name of the template's SES configuration
// set, which the functions send through as in AWS.
const ConfigurationSet = "egress-mail"

// sampleResources are the ARNs the Sample context of infra/cdk.json gives
// SWB's store table and buckets and the datalake, which the template spells
// out; the local stack's resources stand in for them.
// TestSampleContextIsMapped keeps them in step with cdk.json.
var sampleResources = map[string]string{
	"arn:aws:s3:::swb-sample-egress-store":                                 "arn:aws:s3:::" + SWBStoreBucket,
	"arn:aws:s3:::swb-sample-egress-notification":                          "arn:aws:s3:::" + NotificationBucket,
	"arn:aws:s3:::tre-sample-datalake":                                     "arn:aws:s3:::" + DatalakeBucket,
	"arn:aws:dynamodb:eu-west-2:111111111111:table/swb-sample-EgressStore": "arn:aws:dynamodb:" + Region + ":" + Account + ":table/" + SWBStoreTable,
}

// Resolver maps the golden template's resources to the local stack's: its
// own resources by construct id, each function and role by the function's
// row, and the Sample context's external resources to the local ones.
func Resolver() iam.Resolver {
	names := map[string]string{
		"RequestsTable":        RequestsTable,
		"EventsTable":          EventsTable,
		"StagingBucket":        StagingBucket,
		"Workflow":             StateMachineName,
		"MailConfigurationSet": ConfigurationSet,
	}
	// One topic per approval stage, in stage order, as the stack creates them.
	for i, g := range egress.DefaultReviewerGroups() {
		arn := ReviewerTopicArn(g)
		names[fmt.Sprintf("ReviewerTopic%d", i)] = arn[strings.LastIndex(arn, ":")+1:]
	}
	names["UserPool"] = UserPoolID
	names["EventBus"] = EventBusName
	names["NoticesTopic"] = NoticesTopicArn[strings.LastIndex(NoticesTopicArn, ":")+1:]
	for _, fn := range functions.All() {
		names[fn.ID] = fn.Name
		names[fn.ID+"Role"] = fn.Name + "-role"
	}
	return iam.Resolver{Region: Region, Account: Account, Names: names, Rewrite: sampleResources}
}

// LoadPolicies reads the golden template from the repository that holds
// the working directory (or this source file) and resolves its roles to
// the local resources.
func LoadPolicies() (*iam.Policies, error) {
	path, err := findGoldenTemplate()
	if err != nil {
		return nil, err
	}
	return iam.LoadFile(path, Resolver())
}

// findGoldenTemplate finds GoldenTemplate in the repository.
func findGoldenTemplate() (string, error) {
	path, err := servers.InRepository(GoldenTemplate)
	if err != nil {
		return "", fmt.Errorf("local: %w: run the stack from the repository", err)
	}
	return path, nil
}

// shared is the Authorizer of every stack started without
// Options.Authorizer, so what the functions exercise accumulates over all
// the stacks of a process (a test binary's coverage of the roles).
var shared struct {
	once sync.Once
	auth *iam.Authorizer
	err  error
}

// SharedAuthorizer returns the Authorizer of the golden template's roles
// that stacks use by default, loading the template on first use.
func SharedAuthorizer() (*iam.Authorizer, error) {
	shared.once.Do(func() {
		var p *iam.Policies
		if p, shared.err = LoadPolicies(); shared.err == nil {
			shared.auth = NewAuthorizer(p)
		}
	})
	return shared.auth, shared.err
}

// NewAuthorizer returns an Authorizer of p that traces task tokens to the
// state machine of whichever running stack issued them.
func NewAuthorizer(p *iam.Policies) *iam.Authorizer {
	a := iam.NewAuthorizer(p)
	a.TaskToken = engines.stateMachineOf
	return a
}

// engines are the running stacks' engines, by which task tokens are traced
// to their state machine: an Authorizer may serve several stacks.
var engines = &engineSet{m: map[*sfn.Engine]bool{}}

type engineSet struct {
	mu sync.Mutex
	m  map[*sfn.Engine]bool
}

// track adds e until the returned closer runs.
func (s *engineSet) track(e *sfn.Engine) func() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[e] = true
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.m, e)
		return nil
	}
}

func (s *engineSet) stateMachineOf(token string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.m {
		if arn, ok := e.TaskTokenStateMachine(token); ok {
			return arn, nil
		}
	}
	return "", errors.New("no running local stack issued it")
}

// identities gives every function of the table its clients: those of the
// services its row lists, acting as the function. It runs once MinIO is
// up, before wire builds the handlers over them.
func (s *Stack) identities(ctx context.Context) error {
	s.auth = s.opts.Authorizer
	if s.auth == nil {
		var err error
		if s.auth, err = SharedAuthorizer(); err != nil {
			return err
		}
	}
	s.fnClients = map[string]allservices.Clients{}
	for _, fn := range functions.All() {
		c, err := s.clientsAs(ctx, fn)
		if err != nil {
			return fmt.Errorf("%s's identity: %w", fn.Name, err)
		}
		s.fnClients[fn.Name] = c
	}
	// Lambda reads publish-events' stream with the function's role.
	fn, _ := functions.Lookup("publish-events")
	cfg := s.awsConfig(s.DynamoDB.Endpoint)
	cfg.APIOptions = []func(*middleware.Stack) error{iam.Check(s.auth, fn.ID), s.logRefusals(fn), s.failCalls(fn)}
	s.eventSource = &eventSource{streams: dynamodbstreams.NewFromConfig(cfg), shards: map[string]shardPosition{}}
	return nil
}

// clientsOf returns the clients function fn runs with.
func (s *Stack) clientsOf(fn functions.Function) allservices.Clients { return s.fnClients[fn.Name] }

// clientsAs builds the clients of fn's row with fn's identity.
func (s *Stack) clientsAs(ctx context.Context, fn functions.Function) (allservices.Clients, error) {
	role, ok := s.auth.Policies().Functions[fn.ID]
	if !ok {
		return allservices.Clients{}, fmt.Errorf("the template has no function %s (run `make golden`?)", fn.ID)
	}
	check := []func(*middleware.Stack) error{iam.Check(s.auth, fn.ID), s.logRefusals(fn), s.failCalls(fn), s.countCalls(fn), s.injectFaults(fn)}
	cfg := func(endpoint string) aws.Config {
		c := s.awsConfig(endpoint)
		c.APIOptions = check
		c.Retryer = s.retryer()
		return c
	}
	var c allservices.Clients
	for _, svc := range fn.Services {
		switch svc {
		case functions.S3:
			doc, dropped, err := role.S3Policy()
			if err != nil {
				return allservices.Clients{}, err
			}
			if len(dropped) > 0 {
				return allservices.Clients{}, fmt.Errorf("MinIO cannot express %v", dropped)
			}
			user, err := iam.CreateMinIOUser(ctx, s.S3.Endpoint, s.S3.AccessKey, s.S3.SecretKey, fn.Name, doc)
			if err != nil {
				return allservices.Clients{}, err
			}
			c.S3 = s3.New(s3.Options{
				Region:                     s.S3.Region,
				BaseEndpoint:               aws.String(s.S3.Endpoint),
				UsePathStyle:               true,
				Credentials:                credentials.NewStaticCredentialsProvider(user.AccessKey, user.SecretKey, ""),
				RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
				ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
				APIOptions:                 append(slices.Clip(check), servers.ListUploadsByPrefix),
				Retryer:                    s.retryer()(),
			})
		case functions.DynamoDB:
			c.DynamoDB = dynamodb.NewFromConfig(cfg(s.DynamoDB.Endpoint))
		case functions.StepFunctions:
			c.SFN = awssfn.NewFromConfig(cfg(s.URL))
		case functions.SES:
			c.SES = sesv2.NewFromConfig(cfg(s.URL))
		case functions.SNS:
			c.SNS = sns.NewFromConfig(cfg(s.URL))
		case functions.Cognito:
			c.Cognito = cognitoidentityprovider.NewFromConfig(cfg(s.URL))
		case functions.EventBridge:
			c.Events = eventbridge.NewFromConfig(cfg(s.URL))
		default:
			// A new service needs its client here, acting as the function.
			return allservices.Clients{}, fmt.Errorf("no local client for service %s", svc)
		}
	}
	return c, nil
}

// retryer is the functions' SDK retryer: the SDK's standard one, with
// Options.RetryBackoff between attempts when set.
func (s *Stack) retryer() func() aws.Retryer {
	return func() aws.Retryer {
		if s.opts.RetryBackoff <= 0 {
			return retry.NewStandard()
		}
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return s.opts.RetryBackoff, nil })
		})
	}
}

// refusalLogID is the id of logRefusals' middleware.
const refusalLogID = "egress/local.logRefusals"

// logRefusals logs every call of fn that its role refuses, naming the
// action and the resource, so a test that fails because a grant went
// missing says which.
func (s *Stack) logRefusals(fn functions.Function) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		// Around Check, to see its refusals and the S3 server's it names.
		return stack.Initialize.Insert(middleware.InitializeMiddlewareFunc(refusalLogID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if denied, ok := errors.AsType[*iam.AccessDeniedError](err); ok {
				s.opts.Logger.Warn("IAM refused a call", "function", fn.Name, "role", fn.ID, "action", denied.Action, "resource", denied.Resource, "error", denied.Error())
			}
			return out, md, err
		}), iam.CheckID, middleware.Before)
	}
}

// Call is an AWS call a function makes, as Options.FailCall sees it.
type Call struct {
	Function  string // the function's name, as Options.Fail names it
	Service   string // the SDK's service id: "S3", "DynamoDB", ...
	Operation string // "UploadPartCopy", ...
	Params    any    // the operation's input, such as *s3.UploadPartCopyInput
	// Invocation is the workflow task invocation making the call (nil for
	// the API and for functions SNS, EventBridge or streams invoke).
	Invocation *Invocation
}

// failCallID is the id of failCalls' middleware.
const failCallID = "egress/local.failCalls"

// failCalls asks the stack's FailCall hook about every call of fn that its
// role allows (after Check, so a refused call never reaches it).
func (s *Stack) failCalls(fn functions.Function) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Insert(middleware.InitializeMiddlewareFunc(failCallID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			s.mu.Lock()
			fail := s.failCall
			s.mu.Unlock()
			inv := invocationOf(ctx)
			if inv != nil {
				if killed, _ := inv.state(); killed {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errKilled
				}
				inv.mu.Lock()
				inv.calls++
				inv.mu.Unlock()
			}
			if fail != nil {
				c := Call{Function: fn.Name, Service: middleware.GetServiceID(ctx), Operation: middleware.GetOperationName(ctx), Params: in.Parameters, Invocation: inv}
				// Without the call's stack values, so the hook may make calls of its own.
				if err := fail(middleware.ClearStackValues(ctx), c); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
			}
			return next.HandleInitialize(ctx, in)
		}), iam.CheckID, middleware.After)
	}
}
