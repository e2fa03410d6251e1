package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/logctx"
)

// The API's lines carry the invocation's Lambda request id and X-Ray trace
// id: per-request lines beside egress_request_id, the resolver's error line
// too.
func TestLogsCarryInvocationIDs(t *testing.T) {
	const awsID, root = "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1-5759e988-bd862e3fe1be46a994272793"
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: awsID})
	ctx = logctx.WithTrace(ctx, "Root="+root+";Parent=53995c3f42cd8ad8;Sampled=1")
	e := newEnv(t)
	rel := e.seed(t, fixtures[3])
	if _, err := e.svc.Download(ctx, igReviewer, rel.ID); err != nil {
		t.Fatal(err)
	}
	// No identity: refused, and logged by the resolver.
	if _, err := api.Handler(e.svc)(ctx, api.Event{Info: api.Info{ParentTypeName: "Query", FieldName: "listRequests"}}); err == nil {
		t.Fatal("listRequests without an identity succeeded")
	}
	want := map[string]string{"download granted": rel.ID, api.LogResolverError: ""}
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		msg, _ := line["msg"].(string)
		egressID, ok := want[msg]
		if !ok {
			continue
		}
		delete(want, msg)
		if line[logctx.AwsRequestID] != awsID || line[logctx.XrayTraceID] != root {
			t.Errorf("%q without the invocation's ids: %s", msg, l)
		}
		if egressID != "" && line["egress_request_id"] != egressID {
			t.Errorf("%q without egress_request_id %s: %s", msg, egressID, l)
		}
	}
	if len(want) > 0 {
		t.Errorf("no line for %v in:\n%s", want, e.logs.String())
	}
}
