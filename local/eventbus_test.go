package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// The local bus keeps EventBridge's PutEvents limits and per-entry errors,
// and logs exactly the events it accepted, one JSON line each.
func TestEventBusPutEvents(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	bus, err := NewEventBus(EventBusName, filepath.Join(t.TempDir(), "events.jsonl"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bus)
	defer srv.Close()
	c := eventbridge.NewFromConfig(aws.Config{Region: Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "localsecret", "")})
	entry := func(detail string) types.PutEventsRequestEntry {
		return types.PutEventsRequestEntry{EventBusName: aws.String(EventBusName), Source: aws.String("egress"),
			DetailType: aws.String("Egress Request Created"), Detail: aws.String(detail)}
	}
	ctx := context.Background()

	for _, tc := range []struct {
		name    string
		entries []types.PutEventsRequestEntry
		code    string
	}{
		{"eleven entries", func() []types.PutEventsRequestEntry {
			var es []types.PutEventsRequestEntry
			for range 11 {
				es = append(es, entry(`{}`))
			}
			return es
		}(), "ValidationException"},
		{"over 256 KB", []types.PutEventsRequestEntry{entry(`{"a":"` + strings.Repeat("x", 130*1024) + `"}`), entry(`{"a":"` + strings.Repeat("x", 130*1024) + `"}`)}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: tc.entries})
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}

	noSource := entry(`{"a":1}`)
	noSource.Source = nil
	otherBus := entry(`{"a":1}`)
	otherBus.EventBusName = aws.String("default")
	out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		entry(`{"event_id":"r/1"}`), noSource, entry(`[1,2]`), entry(`not json`), otherBus, entry(`{"event_id":"r/2"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range out.Entries {
		codes = append(codes, aws.ToString(r.ErrorCode))
	}
	want := []string{"", "InvalidArgument", "MalformedDetail", "MalformedDetail", "ResourceNotFoundException", ""}
	if out.FailedEntryCount != 4 || strings.Join(codes, ",") != strings.Join(want, ",") {
		t.Fatalf("failed %d, codes %q; want 4, %q", out.FailedEntryCount, codes, want)
	}
	raw, err := os.ReadFile(bus.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || len(bus.Events()) != 2 {
		t.Fatalf("log %q, events %v", raw, bus.Events())
	}
	for i, l := range lines {
		var ev BusEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Source != "egress" || ev.DetailType != "Egress Request Created" || ev.Time != "2026-12-01T10:00:00Z" ||
			ev.ID != aws.ToString(out.Entries[[]int{0, 5}[i]].EventId) {
			t.Errorf("line %d: %s", i, l)
		}
	}
}
