package lambdamain

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
)

func TestHandler(t *testing.T) {
	full := map[string]string{
		config.EnvRequestsTable: "requests", config.EnvEventsTable: "events", config.EnvStagingBucket: "staging", config.EnvSWBStoreTable: "swb",
		config.EnvReviewerGroups: "IG,RIT",
	}
	tests := []struct {
		name    string
		fn      string
		env     map[string]string
		wantErr string
	}{
		{"built from its row and configuration", "copy-to-staging", full, ""},
		{"no row", "no-such-function", full, "functions/no-such-function has no row"},
		{"required variables missing", "copy-to-staging", map[string]string{config.EnvEventsTable: "events"},
			"functions/copy-to-staging: missing required environment variable(s): REQUESTS_TABLE, SWB_EGRESS_STORE_TABLE, STAGING_BUCKET"},
		{"bad configuration", "pre-token-generation", map[string]string{config.EnvSingleApproval: "maybe"}, config.EnvSingleApproval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got functions.Function
			var gotCfg config.Config
			h, err := handler(context.Background(), tt.fn, func(k string) string { return tt.env[k] },
				func(_ context.Context, fn functions.Function, cfg config.Config, _ *slog.Logger) (any, error) {
					got, gotCfg = fn, cfg
					return "handler", nil
				}, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if got.Name != "" {
					t.Fatal("built despite the error")
				}
				return
			}
			if err != nil || h != "handler" {
				t.Fatalf("%v, %v", h, err)
			}
			if got.Name != tt.fn || gotCfg.StagingBucket != "staging" || strings.Join(gotCfg.ReviewerGroups, ",") != "IG,RIT" {
				t.Fatalf("built with %+v, %+v", got, gotCfg)
			}
		})
	}
}

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	release, _ := functions.Lookup("copy-to-datalake")
	notify, _ := functions.Lookup("notify")
	tests := []struct {
		name string
		fn   functions.Function
		env  map[string]string
		want int64
	}{
		{"from the function's memory", notify, map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, int64(256 << 20 * 85 / 100)},
		{"the function's own", release, map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}, 72 << 20},
		{"GOMEMLIMIT wins", release, map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048", "GOMEMLIMIT": "1GiB"}, 0},
		{"not in Lambda", notify, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			got := SetMemoryLimit(tt.fn, func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Fatalf("limit %d, want %d", got, tt.want)
			}
			if set := debug.SetMemoryLimit(-1); (tt.want == 0) != (set == math.MaxInt64) || tt.want != 0 && set != tt.want {
				t.Fatalf("runtime limit %d, want %d", set, tt.want)
			}
		})
	}
}
