// Package logctx binds the ids of the Lambda invocation a log line belongs
// to: the Lambda request id and the X-Ray trace id, so a line can be
// followed from CloudWatch to the trace and back. With egress_request_id,
// which the use cases add, every function's lines carry all three.
package logctx

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Attribute names, shared by every function's log lines.
const (
	AwsRequestID = "aws_request_id"
	XrayTraceID  = "xray_trace_id"
)

// traceKey is the context key aws-lambda-go (lambda/invoke_loop.go) stores
// the invocation's X-Amzn-Trace-Id header under: a plain string, so a
// plain string must be used to read it.
const traceKey = "x-amzn-trace-id"

// WithTrace returns ctx carrying the trace header as the Lambda runtime
// sets it; for tests and local runs.
func WithTrace(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, traceKey, header) //nolint:staticcheck // the runtime's own key
}

// TraceID returns the Root of the trace header in ctx
// ("Root=1-...;Parent=...;Sampled=1"), or "" when there is none.
func TraceID(ctx context.Context) string {
	header, _ := ctx.Value(traceKey).(string)
	for _, part := range strings.Split(header, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "Root" {
			return v
		}
	}
	return ""
}

// Attrs returns the invocation's ids found in ctx as slog attributes; an
// id ctx lacks (a test, a local run) is left out rather than logged empty.
func Attrs(ctx context.Context) []any {
	var attrs []any
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		attrs = append(attrs, slog.String(AwsRequestID, lc.AwsRequestID))
	}
	if id := TraceID(ctx); id != "" {
		attrs = append(attrs, slog.String(XrayTraceID, id))
	}
	return attrs
}

// With returns l (slog.Default() when nil) with the invocation's ids in ctx
// bound, for the logger a handler makes per request.
func With(ctx context.Context, l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if attrs := Attrs(ctx); len(attrs) > 0 {
		return l.With(attrs...)
	}
	return l
}
