// Package app wires the workflow functions: the workflow handlers, the
// adapters of the AWS services a function's row lists, and the Lambda
// handler of the row's method. Each functions/<name>/main.go is one call
// to Run naming its method and one plug-in per service (packages
// shared/app/with<service>); the local stack builds the same handlers
// over every client with package shared/app/allservices.
//
// The package links no AWS service client: a function links those of the
// plug-ins its main names, and nothing else.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/awsclient"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/lambdamain"
	"github.com/tre-egress/egress/shared/metrics"
	"github.com/tre-egress/egress/shared/workflow"
)

// A Plugin adds the adapters of one AWS service to the workflow handlers
// of a Lambda function. Each lives in a package of its own,
// shared/app/with<service>, so that a main links the SDK client of a
// service only when it names that service's plug-in.
type Plugin struct {
	Service functions.Service
	// Wire builds the service's client from awsCfg and sets the adapters
	// over it on h.
	Wire func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers)
}

// NewHandlers builds the workflow handlers' settings from cfg, without
// adapters: the plug-ins, or the local stack, add those.
func NewHandlers(cfg config.Config, log *slog.Logger) (*workflow.Handlers, error) {
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
			Checks:          CheckSettings(cfg.Checks),
			// VerifyReleaseDays is the scheduled verification's window.
			VerifyReleaseDays: cfg.VerifyReleaseDays,
		},
		Log: log,
	}
	// Only when there is an emitter: a nil pointer in an interface field
	// would not compare equal to nil.
	if em := metrics.ForStack(nil, cfg.StackName, log); em != nil {
		h.Metrics = em
	}
	return h, nil
}

// CheckSettings are the CheckFiles step's bounds from the checks' settings.
func CheckSettings(s egress.CheckSettings) workflow.CheckSettings {
	s = s.WithDefaults()
	return workflow.CheckSettings{
		Engine:      egress.EngineName(s.Malware.Engine),
		ScanTimeout: time.Duration(s.Malware.TimeoutMinutes) * time.Minute,
		// At most about 200 polls, whatever the timeout: each is a few
		// events of the execution's history, which Step Functions caps at
		// 25,000.
		PollSeconds: max(15, s.Malware.TimeoutMinutes*60/200),
	}
}

// Run is a workflow function's main, e.g.
//
//	app.Run("copy-to-staging", (*workflow.Handlers).CopyToStaging, withdynamodb.Plugin, withs3.Plugin)
//
// It checks the plug-ins are those of the services the row lists, builds
// the handlers with their adapters, and hands Handler's result to the
// Lambda runtime. The method and the plug-ins are named in main, not
// looked up from the row (see HandlerByName), so that the binary links
// only what the function calls; the row stays the one list they are
// checked against.
func Run(name string, method any, plugins ...Plugin) {
	lambdamain.Start(name, build(method, plugins))
}

func build(method any, plugins []Plugin) lambdamain.Build {
	return func(ctx context.Context, fn functions.Function, cfg config.Config, log *slog.Logger) (any, error) {
		if err := CheckPlugins(fn, plugins); err != nil {
			return nil, err
		}
		h, err := NewHandlers(cfg, log)
		if err != nil {
			return nil, err
		}
		if len(plugins) > 0 {
			awsCfg, err := awsclient.Load()
			if err != nil {
				return nil, fmt.Errorf("functions/%s: %w", fn.Name, err)
			}
			for _, p := range plugins {
				p.Wire(awsCfg, cfg, h)
			}
		}
		return Handler(h, fn, method)
	}
}

// CheckPlugins checks that plugins are those of fn's services, each once:
// the row is the list of what a function calls, and its IAM permissions
// are granted from it.
func CheckPlugins(fn functions.Function, plugins []Plugin) error {
	var problems []string
	plugged := map[functions.Service]bool{}
	for _, p := range plugins {
		switch {
		case p.Wire == nil:
			problems = append(problems, fmt.Sprintf("the %s plug-in has no Wire", p.Service))
		case plugged[p.Service]:
			problems = append(problems, fmt.Sprintf("main plugs %s twice", p.Service))
		case !fn.Uses(p.Service):
			problems = append(problems, fmt.Sprintf("main plugs %s, which the row does not list", p.Service))
		}
		plugged[p.Service] = true
	}
	for _, s := range fn.Services {
		if !plugged[s] {
			problems = append(problems, fmt.Sprintf("the row lists %s, which main does not plug (with%s.Plugin)", s, strings.ToLower(string(s))))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("functions/%s: %s", fn.Name, strings.Join(problems, "; "))
	}
	return nil
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
