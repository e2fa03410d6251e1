// Package lambdamain is the start-up every function's main shares: find
// the function's row in the functions table, check the environment
// variables the row requires, read the configuration, build the handler
// and hand it to the Lambda runtime. It links no AWS SDK package, so a
// function that calls no AWS service links none.
package lambdamain

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
)

// Logger is the JSON logger every function writes to stdout (CloudWatch).
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Build builds a function's handler, anything lambda.Start accepts, from
// its row and configuration.
type Build func(ctx context.Context, fn functions.Function, cfg config.Config, log *slog.Logger) (any, error)

// Start is a function's main. A configuration error is logged and ends the
// process, so a misconfigured function fails at init rather than on its
// first event.
func Start(name string, build Build) {
	log := Logger()
	if fn, ok := functions.Lookup(name); ok {
		SetMemoryLimit(fn, os.Getenv)
	}
	h, err := handler(context.Background(), name, os.Getenv, build, log)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// memoryHeadroom is the share of a function's memory its Go runtime may
// use before the collector works harder to stay below: the rest is the
// binary's pages and what lives outside the Go heap.
const memoryHeadroom = 0.85

// SetMemoryLimit sets the Go runtime's soft memory limit of function fn:
// GOMEMLIMIT when set (the runtime has read it), else fn.GoMemoryLimitMB,
// else 85% of the Lambda function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// MB). A function then collects more often as it nears the limit instead
// of growing until the collector happens to run, or being killed. It
// returns the limit set, 0 if none.
func SetMemoryLimit(fn functions.Function, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	var limit int64
	if fn.GoMemoryLimitMB > 0 {
		limit = int64(fn.GoMemoryLimitMB) << 20
	} else if mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && mb > 0 {
		limit = int64(float64(int64(mb)<<20) * memoryHeadroom)
	} else {
		return 0
	}
	debug.SetMemoryLimit(limit)
	return limit
}

func handler(ctx context.Context, name string, getenv func(string) string, build Build, log *slog.Logger) (any, error) {
	fn, ok := functions.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("functions/%s has no row in the functions table", name)
	}
	cfg, err := Config(fn, getenv)
	if err != nil {
		return nil, err
	}
	return build(ctx, fn, cfg, log)
}

// Config reads fn's configuration through getenv, first checking that
// every variable fn requires is set. Errors name the variables at fault.
func Config(fn functions.Function, getenv func(string) string) (config.Config, error) {
	if err := config.Require(getenv, fn.Required...); err != nil {
		return config.Config{}, fmt.Errorf("functions/%s: %w", fn.Name, err)
	}
	return config.FromEnv(getenv)
}
