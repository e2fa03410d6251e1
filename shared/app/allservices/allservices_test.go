package allservices

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

var every = []functions.Service{functions.S3, functions.DynamoDB, functions.StepFunctions, functions.SES, functions.SNS, functions.Cognito, functions.EventBridge}

func row(t *testing.T, name string) functions.Function {
	t.Helper()
	fn, ok := functions.Lookup(name)
	if !ok {
		t.Fatalf("no row %s", name)
	}
	return fn
}

func TestClients(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-2"}
	all := NewClients(cfg, true, every)
	if all.S3 == nil || all.DynamoDB == nil || all.SFN == nil || all.SES == nil || all.SNS == nil || all.Cognito == nil || all.Events == nil {
		t.Fatalf("all: %+v", all)
	}
	if !all.S3.Options().UsePathStyle {
		t.Error("S3 client is not path-style")
	}
	for _, fn := range functions.All() {
		for _, c := range []Clients{NewClients(cfg, false, fn.Services), all.Only(fn.Services)} {
			for s, built := range map[functions.Service]bool{functions.S3: c.S3 != nil, functions.DynamoDB: c.DynamoDB != nil,
				functions.StepFunctions: c.SFN != nil, functions.SES: c.SES != nil,
				functions.SNS: c.SNS != nil, functions.Cognito: c.Cognito != nil, functions.EventBridge: c.Events != nil} {
				if built != fn.Uses(s) {
					t.Errorf("%s: %s client built: %v", fn.Name, s, built)
				}
			}
		}
	}
}

// adapters reports which adapters h has.
func adapters(h *workflow.Handlers) map[string]bool {
	return map[string]bool{"Requests": h.Requests != nil, "SWBStore": h.SWBStore != nil, "Objects": h.Objects != nil,
		"Executions": h.Executions != nil, "Mailer": h.Mailer != nil,
		"Publisher": h.Publisher != nil, "Directory": h.Directory != nil, "Bus": h.Bus != nil, "Audit": h.Audit != nil}
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
	if got := adapters(h); !got["Requests"] || !got["SWBStore"] || !got["Mailer"] || got["Objects"] || got["Executions"] {
		t.Fatalf("notify's adapters: %v", got)
	}
}

// Every service has its plug-in, and a Lambda function's plug-in sets the
// same adapters as the local stack's wiring over that service's client.
func TestPlugins(t *testing.T) {
	if len(Plugins) != len(every) {
		t.Errorf("%d plug-ins for %d services", len(Plugins), len(every))
	}
	// A pool id, or the Cognito plug-in has nothing to set.
	cfg, err := config.FromEnv(func(k string) string { return map[string]string{config.EnvUserPoolID: "eu-west-2_pool"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := aws.Config{Region: "eu-west-2"}
	for _, s := range every {
		p, ok := Plugins[s]
		if !ok {
			t.Errorf("no plug-in for %s", s)
			continue
		}
		if p.Service != s {
			t.Errorf("the %s plug-in says it is %s's", s, p.Service)
		}
		plugged, err := app.NewHandlers(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Wire(awsCfg, cfg, plugged)
		wired, err := Handlers(cfg, NewClients(awsCfg, false, []functions.Service{s}), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, want := adapters(plugged), adapters(wired)
		n := 0
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: plug-in sets %s: %v; Handlers: %v", s, k, got[k], want[k])
			}
			if got[k] {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: the plug-in sets no adapter", s)
		}
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
	if got := adapters(h); !got["Publisher"] || !got["Directory"] || !got["Mailer"] || got["Objects"] {
		t.Fatalf("store-task-token's adapters: %v", got)
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
