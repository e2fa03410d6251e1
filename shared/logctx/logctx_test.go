package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tre-egress/egress/shared/logctx"
)

func TestWith(t *testing.T) {
	const root = "1-5759e988-bd862e3fe1be46a994272793"
	lambda := func(id string) context.Context {
		return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
	}
	tests := []struct {
		name      string
		ctx       context.Context
		wantAWS   string // "" means the attribute is absent
		wantTrace string
	}{
		{"no invocation", context.Background(), "", ""},
		{"request id only", lambda("req-1"), "req-1", ""},
		{"full header", logctx.WithTrace(lambda("req-2"), "Root="+root+";Parent=53995c3f42cd8ad8;Sampled=1"), "req-2", root},
		{"root not first", logctx.WithTrace(lambda("req-3"), "Parent=53995c3f42cd8ad8; Root="+root), "req-3", root},
		{"header without root", logctx.WithTrace(lambda("req-4"), "Parent=53995c3f42cd8ad8;Sampled=0"), "req-4", ""},
		{"empty header", logctx.WithTrace(context.Background(), ""), "", ""},
		{"empty request id", lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{}), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logctx.With(tt.ctx, slog.New(slog.NewJSONHandler(&buf, nil))).Info("hello")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			for key, want := range map[string]string{logctx.AwsRequestID: tt.wantAWS, logctx.XrayTraceID: tt.wantTrace} {
				got, present := line[key]
				if want == "" && present {
					t.Errorf("%s = %v, want it absent", key, got)
				}
				if want != "" && got != want {
					t.Errorf("%s = %v, want %q", key, got, want)
				}
			}
		})
	}
}

// A nil logger falls back to slog.Default, as the handlers' Log fields do.
func TestWithNilLogger(t *testing.T) {
	if logctx.With(context.Background(), nil) != slog.Default() {
		t.Fatal("With(ctx, nil) is not slog.Default()")
	}
}
