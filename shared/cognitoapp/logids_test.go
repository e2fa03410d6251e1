package cognitoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/logctx"
)

// The trigger, run as the Lambda runtime runs it on its sample event, logs
// one line with the invocation's ids and the groups set; it has no egress
// request, and logs no user attribute.
func TestTriggerLogsInvocationIDs(t *testing.T) {
	const awsID, root = "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1-5759e988-bd862e3fe1be46a994272793"
	payload, err := os.ReadFile("../../events/pre-token-generation.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{config.EnvReviewerGroups: "InformationGovernance"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := functions.Lookup("pre-token-generation")
	if !ok {
		t.Fatal("no pre-token-generation row")
	}
	var logs bytes.Buffer
	h, err := build(context.Background(), fn, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: awsID})
	ctx = logctx.WithTrace(ctx, "Root="+root+";Parent=53995c3f42cd8ad8;Sampled=1")
	if _, err := lambda.NewHandler(h).Invoke(ctx, payload); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line: %v: %s", err, logs.Bytes())
	}
	if line[logctx.AwsRequestID] != awsID || line[logctx.XrayTraceID] != root {
		t.Errorf("line without the invocation's ids: %s", logs.Bytes())
	}
	if g, _ := line["groups"].([]any); len(g) != 1 || g[0] != "InformationGovernance" {
		t.Errorf("groups %v, want [InformationGovernance]", line["groups"])
	}
	for _, attr := range []string{"ida.reviewer", "Ida Reviewer", "6f1c2a3b"} {
		if strings.Contains(logs.String(), attr) {
			t.Errorf("log line holds user attribute %q: %s", attr, logs.Bytes())
		}
	}
}
