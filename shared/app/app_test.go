package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func row(t *testing.T, name string) functions.Function {
	t.Helper()
	fn, ok := functions.Lookup(name)
	if !ok {
		t.Fatalf("no row %s", name)
	}
	return fn
}

// Every workflow function's row names a workflow.Handlers method with a
// signature the Lambda runtime accepts.
func TestEveryRowHasItsMethod(t *testing.T) {
	n := 0
	for _, fn := range functions.All() {
		if fn.Handler == "" {
			continue
		}
		n++
		if _, err := HandlerByName(&workflow.Handlers{}, fn); err != nil {
			t.Errorf("%s: %v", fn.Name, err)
		}
	}
	if n == 0 {
		t.Fatal("no workflow functions in the table")
	}
}

func TestHandlerRefuses(t *testing.T) {
	staging := row(t, "copy-to-staging")
	renamed := staging
	renamed.Handler = "CopyToStagingX"
	tests := []struct {
		name   string
		fn     functions.Function
		method any
		want   string
	}{
		{"another row's method", staging, (*workflow.Handlers).Notify, "the row names (*workflow.Handlers).CopyToStaging"},
		{"a function that is not a method", staging, func(context.Context, workflow.RequestInput) error { return nil }, "the row names"},
		{"not a function", staging, "CopyToStaging", "not a method expression"},
		{"nil", staging, nil, "not a method expression"},
		{"a row without a method", row(t, "egress-api"), (*workflow.Handlers).Notify, "names no workflow.Handlers method"},
		{"a method that does not exist", renamed, (*workflow.Handlers).CopyToStaging, "the row names (*workflow.Handlers).CopyToStagingX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Handler(&workflow.Handlers{}, tt.fn, tt.method)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := HandlerByName(&workflow.Handlers{}, renamed); err == nil || !strings.Contains(err.Error(), "no method CopyToStagingX") {
		t.Fatalf("by name: %v", err)
	}
}

// Task errors reach Step Functions under the names Retry and Catch match;
// a payload the runtime cannot decode fails as the runtime reports it.
func TestHandlerErrors(t *testing.T) {
	for _, fn := range functions.All() {
		if fn.Placeholder == "" {
			continue
		}
		t.Run(fn.Name, func(t *testing.T) {
			h, err := HandlerByName(&workflow.Handlers{}, fn)
			if err != nil {
				t.Fatal(err)
			}
			// Every task refuses a payload without egress_request_id
			// before touching an adapter.
			_, err = h.Invoke(context.Background(), []byte(`{}`))
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) || ie.Type != "ValidationError" || !strings.Contains(ie.Message, "egress_request_id") {
				t.Fatalf("invalid payload: %#v", err)
			}
			_, err = h.Invoke(context.Background(), []byte(`{"egress_request_id": 7}`))
			var ue *json.UnmarshalTypeError
			if !errors.As(err, &ue) {
				t.Fatalf("undecodable payload: %#v", err)
			}
		})
	}
}

func TestCheckPlugins(t *testing.T) {
	plug := func(services ...functions.Service) []Plugin {
		var ps []Plugin
		for _, s := range services {
			ps = append(ps, Plugin{Service: s, Wire: func(aws.Config, config.Config, *workflow.Handlers) {}})
		}
		return ps
	}
	purge := row(t, "purge-revoked") // DynamoDB, S3
	tests := []struct {
		name    string
		fn      functions.Function
		plugins []Plugin
		want    []string // in the error; none for no error
	}{
		{"the row's services", purge, plug(functions.DynamoDB, functions.S3), nil},
		{"in another order", purge, plug(functions.S3, functions.DynamoDB), nil},
		{"no services, no plug-ins", row(t, "pre-token-generation"), nil, nil},
		{"one missing", purge, plug(functions.DynamoDB),
			[]string{"functions/purge-revoked: ", "the row lists S3, which main does not plug (withs3.Plugin)"}},
		{"none", purge, nil, []string{"lists DynamoDB", "lists S3"}},
		{"one the row does not list", purge, plug(functions.DynamoDB, functions.S3, functions.SES),
			[]string{"functions/purge-revoked: main plugs SES, which the row does not list"}},
		{"twice", purge, plug(functions.DynamoDB, functions.S3, functions.S3), []string{"main plugs S3 twice"}},
		{"without Wire", purge, append(plug(functions.DynamoDB), Plugin{Service: functions.S3}), []string{"the S3 plug-in has no Wire"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPlugins(tt.fn, tt.plugins)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

// What Run builds: the handlers with the adapters of the plug-ins, over
// the configuration of the Lambda environment, then the Lambda handler of
// the method main names; refused when either is not the row's.
func TestBuild(t *testing.T) {
	for k, v := range map[string]string{"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"} {
		t.Setenv(k, v)
	}
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{config.EnvStagingBucket: "staging"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	fn := row(t, "purge-revoked")
	var wired []functions.Service
	plug := func(s functions.Service) Plugin {
		return Plugin{Service: s, Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
			if awsCfg.Region != "eu-west-2" || cfg.StagingBucket != "staging" || h.Settings.StagingBucket != "staging" {
				t.Errorf("%s wired with %+v, %+v, %+v", s, awsCfg, cfg, h.Settings)
			}
			wired = append(wired, s)
		}}
	}
	plugins := []Plugin{plug(functions.DynamoDB), plug(functions.S3)}
	h, err := build((*workflow.Handlers).PurgeRevoked, plugins)(context.Background(), fn, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.(interface {
		Invoke(context.Context, []byte) ([]byte, error)
	}); !ok {
		t.Fatalf("built %T, not a lambda.Handler", h)
	}
	if !slices.Equal(wired, fn.Services) {
		t.Fatalf("wired %v, want %v", wired, fn.Services)
	}
	if _, err := build((*workflow.Handlers).Release, plugins)(context.Background(), fn, cfg, nil); err == nil {
		t.Fatal("purge-revoked built with Release")
	}
	wired = nil
	if _, err := build((*workflow.Handlers).PurgeRevoked, plugins[:1])(context.Background(), fn, cfg, nil); err == nil || !strings.Contains(err.Error(), "S3") {
		t.Fatalf("purge-revoked built without S3: %v", err)
	}
	if len(wired) != 0 {
		t.Fatalf("wired %v despite a plug-in missing", wired)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := build((*workflow.Handlers).PurgeRevoked, plugins)(context.Background(), fn, cfg, nil); err == nil ||
		!strings.Contains(err.Error(), "functions/purge-revoked") || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("purge-revoked built without credentials: %v", err)
	}
}
