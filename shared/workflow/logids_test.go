package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/auditstream"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
	"github.com/tre-egress/egress/shared/workflow"
)

// logSetups put in the fakes what a function's sample event needs for it
// to reach its per-request log line; the rest get a request in PROCESSING.
var logSetups = map[string]func(*testing.T) *env{
	"check-files": func(t *testing.T) *env { e, _, _ := checkEnv(t, 1); return e },
	"copy-to-datalake": func(t *testing.T) *env {
		e, _, _ := checkEnv(t, 1)
		r := e.reqs.byID[reqID]
		r.Status = egress.StatusRITApproved
		e.reqs.byID[reqID] = r
		return e
	},
	"handle-rejection": withStatus(egress.StatusRejected),
	"send-reminders": func(t *testing.T) *env {
		e, _, _ := reviewersEnv(t, egress.StatusProcessing)
		r := e.reqs.byID[reqID]
		r.Stages, r.AwaitingSince, r.TaskToken = remindedStages, now.Add(-25*time.Hour), token
		e.reqs.byID[reqID] = r
		return e
	},
	"publish-events": func(t *testing.T) *env {
		e := newEnv(t)
		e.h.Bus, e.h.Audit = &fakeBus{}, auditstream.AuditStream{}
		return e
	},
	// A request awaiting past its reminder window, none sent: the check
	// logs it.
	"check-stuck": func(t *testing.T) *env {
		e := newEnv(t)
		r := request()
		r.Stages, r.AwaitingSince, r.TaskToken = remindedStages, now.Add(-25*time.Hour), token
		e.put(t, r)
		return e
	},
	// A release whose zip cannot be read back: the run logs the request.
	"verify-releases": func(t *testing.T) *env {
		e := newEnv(t)
		r := request()
		r.Status, r.ZipKey, r.ReleasedAt, r.StagingObjectMetadataVersion = egress.StatusRITApproved, workflow.ZipKey(r), now.Add(-time.Hour), "manifests/m.json"
		e.put(t, r)
		return e
	},
	"purge-revoked": func(t *testing.T) *env {
		e := newEnv(t)
		e.revokedRequest(t, reqID, egress.ZipPending, 0)
		return e
	},
}

func withStatus(s egress.Status) func(*testing.T) *env {
	return func(t *testing.T) *env {
		e := newEnv(t)
		r := request()
		r.Status = s
		e.put(t, r)
		return e
	}
}

// Every workflow function, run as the Lambda runtime runs it on its sample
// event (events/<name>.json), logs lines carrying the invocation's Lambda
// request id and X-Ray trace id beside egress_request_id.
func TestEveryFunctionLogsTheThreeIDs(t *testing.T) {
	const awsID, root = "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1-5759e988-bd862e3fe1be46a994272793"
	for _, fn := range functions.All() {
		if fn.Handler == "" {
			continue // the API and the Cognito trigger: tested in their packages
		}
		t.Run(fn.Name, func(t *testing.T) {
			payload, err := os.ReadFile("../../events/" + fn.Name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var sample struct {
				ID string `json:"egress_request_id"`
			}
			if json.Unmarshal(payload, &sample) == nil && sample.ID != "" {
				payload = bytes.ReplaceAll(payload, []byte(sample.ID), []byte(reqID))
			}
			setup := withStatus(egress.StatusProcessing)
			if s, ok := logSetups[fn.Name]; ok {
				setup = s
			}
			e := setup(t)
			var logs bytes.Buffer
			e.h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			h, err := app.HandlerByName(e.h, fn)
			if err != nil {
				t.Fatal(err)
			}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: awsID})
			ctx = logctx.WithTrace(ctx, "Root="+root+";Parent=53995c3f42cd8ad8;Sampled=1")
			_, invokeErr := h.Invoke(ctx, payload)
			lines := bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n"))
			if len(logs.Bytes()) == 0 {
				t.Fatalf("no log line (invoke error: %v)", invokeErr)
			}
			withEgressID := 0
			for _, l := range lines {
				var line map[string]any
				if err := json.Unmarshal(l, &line); err != nil {
					t.Fatalf("%v: %s", err, l)
				}
				if line[logctx.AwsRequestID] != awsID || line[logctx.XrayTraceID] != root {
					t.Errorf("line without the invocation's ids: %s", l)
				}
				if id, _ := line["egress_request_id"].(string); id != "" {
					withEgressID++
				}
			}
			if withEgressID == 0 {
				t.Errorf("no line names egress_request_id (invoke error: %v): %s", invokeErr, logs.Bytes())
			}
		})
	}
}
