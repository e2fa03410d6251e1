package apiapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
)

func row(t *testing.T) functions.Function {
	t.Helper()
	fn, ok := functions.Lookup("egress-api")
	if !ok {
		t.Fatal("no egress-api row")
	}
	return fn
}

// API wires every setting the service reads from the configuration.
func TestAPI(t *testing.T) {
	env := map[string]string{
		config.EnvRequestsTable: "requests", config.EnvEventsTable: "events",
		config.EnvStagingBucket: "staging", config.EnvDatalakeBucket: "datalake",
		config.EnvReviewerGroups: "DataManager,ResearchIT", config.EnvMaxDownloads: "5",
		config.EnvDownloadExpiry: "120", config.EnvMaxRequestAgeDays: "30",
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, err := API(cfg, NewClients(aws.Config{Region: "eu-west-2"}, false, row(t).Services), nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Requests == nil || svc.Workflow == nil || svc.Presigner == nil || svc.Manifests == nil {
		t.Fatalf("adapters missing: %+v", svc)
	}
	if svc.StagingBucket != "staging" || svc.DatalakeBucket != "datalake" || svc.MaxDownloads != 5 ||
		svc.DownloadExpiry != 2*time.Minute || svc.MaxRequestAgeDays != 30 ||
		len(svc.ReviewerGroups) != 2 || svc.ReviewerGroups[1] != "ResearchIT" {
		t.Fatalf("settings: %+v", svc)
	}
}

// A client the row does not list is an error naming the service, not a
// nil pointer on the first request.
func TestAPIMissingClient(t *testing.T) {
	c := NewClients(aws.Config{Region: "eu-west-2"}, false, []functions.Service{functions.DynamoDB, functions.S3})
	if c.SFN != nil || c.S3 == nil || c.DynamoDB == nil {
		t.Fatalf("clients %+v", c)
	}
	_, err := API(config.Config{}, c, nil)
	if err == nil || !strings.Contains(err.Error(), "StepFunctions") {
		t.Fatalf("err = %v", err)
	}
}

// What Run builds from the row: the resolver over the row's clients.
func TestBuild(t *testing.T) {
	for k, v := range map[string]string{"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"} {
		t.Setenv(k, v)
	}
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if h, err := build(context.Background(), row(t), cfg, nil); err != nil || h == nil {
		t.Fatalf("%v, %v", h, err)
	}
	noSFN := row(t)
	noSFN.Services = []functions.Service{functions.S3, functions.DynamoDB}
	if _, err := build(context.Background(), noSFN, cfg, nil); err == nil || !strings.Contains(err.Error(), "functions/egress-api") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("AWS_REGION", "")
	if _, err := build(context.Background(), row(t), cfg, nil); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("built without a region: %v", err)
	}
}
