package app

import (
	"context"
	"encoding/json"
	"errors"
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

func TestClients(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-2"}
	all := NewClients(cfg, true, []functions.Service{functions.S3, functions.DynamoDB, functions.StepFunctions, functions.SES, functions.SNS, functions.Cognito})
	if all.S3 == nil || all.DynamoDB == nil || all.SFN == nil || all.SES == nil || all.SNS == nil || all.Cognito == nil {
		t.Fatalf("all: %+v", all)
	}
	if !all.S3.Options().UsePathStyle {
		t.Error("S3 client is not path-style")
	}
	for _, fn := range functions.All() {
		for _, c := range []Clients{NewClients(cfg, false, fn.Services), all.Only(fn.Services)} {
			for s, built := range map[functions.Service]bool{functions.S3: c.S3 != nil, functions.DynamoDB: c.DynamoDB != nil,
				functions.StepFunctions: c.SFN != nil, functions.SES: c.SES != nil, functions.SNS: c.SNS != nil, functions.Cognito: c.Cognito != nil} {
				if built != fn.Uses(s) {
					t.Errorf("%s: %s client built: %v", fn.Name, s, built)
				}
			}
		}
	}
}

// Adapters exist exactly for the clients there are: a nil client leaves a
// nil interface, not an interface holding a nil pointer.
func TestHandlersAdapters(t *testing.T) {
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(aws.Config{Region: "eu-west-2"}, false, row(t, "notify").Services)
	h, err := Handlers(cfg, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Requests == nil || h.SWBStore == nil || h.Mailer == nil {
		t.Fatalf("notify's adapters missing: %+v", h)
	}
	if h.Objects != nil || h.Executions != nil || h.Publisher != nil || h.Directory != nil {
		t.Fatalf("notify has adapters of services it does not call: %+v", h)
	}
}

// store-task-token tells reviewers through the stage's topic and the
// group's members in the user pool the configuration names.
func TestHandlersReviewerAdapters(t *testing.T) {
	env := map[string]string{
		config.EnvReviewerTopics: `{"InformationGovernance":"arn:aws:sns:eu-west-2:123456789012:ig"}`,
		config.EnvUserPoolID:     "eu-west-2_pool",
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(aws.Config{Region: "eu-west-2"}, false, row(t, "store-task-token").Services)
	h, err := Handlers(cfg, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Publisher == nil || h.Directory == nil || h.Objects == nil || h.Mailer == nil {
		t.Fatalf("store-task-token's adapters missing: %+v", h)
	}
	if h.Settings.ReviewerTopics["InformationGovernance"] != "arn:aws:sns:eu-west-2:123456789012:ig" {
		t.Fatalf("topics %v", h.Settings.ReviewerTopics)
	}
	// Without a pool id there is no directory to ask.
	cfg.UserPoolID = ""
	if h, err = Handlers(cfg, c, nil); err != nil || h.Directory != nil {
		t.Fatalf("directory without a pool: %+v, %v", h.Directory, err)
	}
}

// What Run builds: the row's clients, then the Lambda handler of the
// method main names, refused when it is not the row's.
func TestBuild(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	fn := row(t, "notify")
	h, err := build((*workflow.Handlers).Notify)(context.Background(), fn, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.(interface {
		Invoke(context.Context, []byte) ([]byte, error)
	}); !ok {
		t.Fatalf("built %T, not a lambda.Handler", h)
	}
	if _, err := build((*workflow.Handlers).Release)(context.Background(), fn, cfg, nil); err == nil {
		t.Fatal("notify built with Release")
	}
}
