// Package app wires the workflow functions: the AWS clients a function's
// row lists, the workflow handlers over them, and the Lambda handler of
// the row's method. Each functions/<name>/main.go is one call to Run, and
// the local stack builds exactly the same handlers.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/awsclient"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/lambdamain"
	"github.com/tre-egress/egress/shared/notify"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/topics"
	"github.com/tre-egress/egress/shared/userpool"
	"github.com/tre-egress/egress/shared/workflow"
)

// Clients are the AWS clients of a workflow function; those of services
// its row does not list are nil.
type Clients struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SFN      *sfn.Client
	SES      *sesv2.Client
	SNS      *sns.Client
	Cognito  *cognitoidentityprovider.Client
}

// NewClients builds, from one aws.Config, the clients of the listed
// services only.
func NewClients(cfg aws.Config, s3PathStyle bool, services []functions.Service) Clients {
	var c Clients
	for _, s := range services {
		switch s {
		case functions.S3:
			c.S3 = awsclient.S3(cfg, s3PathStyle)
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
		}
	}
	return o
}

// Handlers builds the workflow handlers from cfg and the clients there
// are; an adapter whose client is nil stays nil.
func Handlers(cfg config.Config, c Clients, log *slog.Logger) (*workflow.Handlers, error) {
	chain, err := cfg.Chain()
	if err != nil {
		return nil, err
	}
	h := &workflow.Handlers{
		Settings: workflow.Settings{
			StagingBucket:   cfg.StagingBucket,
			DatalakeBucket:  cfg.DatalakeBucket,
			Chain:           chain,
			ReviewerGroups:  cfg.ReviewerGroups,
			StageTimeout:    cfg.StageTimeout,
			CopyConcurrency: cfg.CopyConcurrency,
			AdminEmail:      cfg.AdminEmail,
			ReviewerEmails:  cfg.ReviewerEmails,
			ReviewerTopics:  cfg.ReviewerTopics,
			WebAppURL:       cfg.WebAppURL,
			SWBStoreBucket:  cfg.SWBStoreBucket,
			SWBListBucket:   cfg.SWBListBucket,
		},
		Log: log,
	}
	// Assigned only when there is a client: a nil pointer in an interface
	// field would not compare equal to nil.
	if c.DynamoDB != nil {
		h.Requests = requests.NewTable(c.DynamoDB, cfg.RequestsTable, cfg.EventsTable)
		h.SWBStore = swbstore.New(c.DynamoDB, cfg.SWBStoreTable)
	}
	if c.S3 != nil {
		obj := objects.New(c.S3)
		obj.MultipartThreshold = cfg.MultipartThreshold
		obj.ScratchDir = cfg.EFSMountPath
		h.Objects = obj
	}
	if c.SFN != nil {
		h.Executions = stepfunctions.New(c.SFN, cfg.StateMachineArn)
	}
	if c.SES != nil {
		h.Mailer = notify.NewMailer(c.SES, cfg.FromEmail, cfg.SESConfigurationSet)
	}
	if c.SNS != nil {
		h.Publisher = topics.New(c.SNS)
	}
	// Without a pool id there is no directory: the configured addresses
	// and the topics' subscribers are told.
	if c.Cognito != nil && cfg.UserPoolID != "" {
		h.Directory = userpool.New(c.Cognito, cfg.UserPoolID)
	}
	return h, nil
}

// Run is a workflow function's main, e.g.
//
//	app.Run("copy-to-staging", (*workflow.Handlers).CopyToStaging)
//
// It builds the clients the row lists and the handlers over them, and
// hands Handler's result to the Lambda runtime. The method is named in
// main, not looked up from the row by name (see HandlerByName): Handler
// checks it is the row's.
func Run(name string, method any) { lambdamain.Start(name, build(method)) }

func build(method any) lambdamain.Build {
	return func(ctx context.Context, fn functions.Function, cfg config.Config, log *slog.Logger) (any, error) {
		awsCfg, err := awsclient.Load(ctx)
		if err != nil {
			return nil, err
		}
		h, err := Handlers(cfg, NewClients(awsCfg, cfg.S3PathStyle, fn.Services), log)
		if err != nil {
			return nil, err
		}
		return Handler(h, fn, method)
	}
}

var (
	handlersType = reflect.TypeFor[*workflow.Handlers]()
	contextType  = reflect.TypeFor[context.Context]()
	errorType    = reflect.TypeFor[error]()
)

// Handler is the Lambda handler of workflow function fn: method, a method
// expression such as (*workflow.Handlers).CopyToStaging that must be the
// row's Handler, bound to h. The Lambda runtime's handler path decodes the
// payload and encodes the result. For a task state (the row has a
// placeholder) the method's errors become the typed errors of
// workflow.TaskError, whose names the definition's Retry and Catch match.
//
// A lambda.Handler reuses its output buffer once Invoke returns, so one
// must not serve concurrent invocations (Lambda never asks it to).
func Handler(h *workflow.Handlers, fn functions.Function, method any) (lambda.Handler, error) {
	m := reflect.ValueOf(method)
	if err := checkMethod(fn, m); err != nil {
		return nil, fmt.Errorf("functions/%s: %w", fn.Name, err)
	}
	mt := m.Type()
	in := make([]reflect.Type, mt.NumIn()-1)
	for i := range in {
		in[i] = mt.In(i + 1)
	}
	out := make([]reflect.Type, mt.NumOut())
	for i := range out {
		out[i] = mt.Out(i)
	}
	recv := reflect.ValueOf(h)
	task := fn.Placeholder != ""
	bound := reflect.MakeFunc(reflect.FuncOf(in, out, false), func(args []reflect.Value) []reflect.Value {
		res := m.Call(append([]reflect.Value{recv}, args...))
		if last := res[len(res)-1]; task && !last.IsNil() {
			err := workflow.TaskError(last.Interface().(error))
			res[len(res)-1] = reflect.ValueOf(&err).Elem()
		}
		return res
	})
	return lambda.NewHandler(bound.Interface()), nil
}

// HandlerByName is Handler with the method looked up by the row's Handler
// name: what the local stack and the tests use. Lambda mains must not: a
// method looked up by a name only known at run time makes the linker keep
// every exported method of every type in the binary (the AWS clients'
// hundreds of operations), which takes a bootstrap over the 20 MiB limit.
func HandlerByName(h *workflow.Handlers, fn functions.Function) (lambda.Handler, error) {
	if fn.Handler == "" {
		return nil, fmt.Errorf("functions/%s names no workflow.Handlers method", fn.Name)
	}
	m, ok := handlersType.MethodByName(fn.Handler)
	if !ok {
		return nil, fmt.Errorf("functions/%s: workflow.Handlers has no method %s", fn.Name, fn.Handler)
	}
	return Handler(h, fn, m.Func.Interface())
}

// checkMethod checks m is the method fn names, with a signature the Lambda
// runtime accepts: func(*workflow.Handlers, context.Context, In) (Out, error)
// or func(*workflow.Handlers, context.Context, In) error.
func checkMethod(fn functions.Function, m reflect.Value) error {
	if fn.Handler == "" {
		return errors.New("the row names no workflow.Handlers method")
	}
	if m.Kind() != reflect.Func || m.IsNil() {
		return fmt.Errorf("handler is %s, not a method expression such as (*workflow.Handlers).%s", m.Kind(), fn.Handler)
	}
	want := ".(*Handlers)." + fn.Handler
	if name := runtime.FuncForPC(m.Pointer()).Name(); !strings.HasSuffix(name, want) || !strings.HasPrefix(name, handlersType.Elem().PkgPath()+".") {
		return fmt.Errorf("handler is %s, the row names (*workflow.Handlers).%s", name, fn.Handler)
	}
	t := m.Type()
	if t.IsVariadic() || t.NumIn() != 3 || t.In(0) != handlersType || t.In(1) != contextType ||
		t.NumOut() < 1 || t.NumOut() > 2 || t.Out(t.NumOut()-1) != errorType {
		return fmt.Errorf("(*workflow.Handlers).%s is %s; want func(context.Context, In) (Out, error) or func(context.Context, In) error", fn.Handler, t)
	}
	return nil
}
