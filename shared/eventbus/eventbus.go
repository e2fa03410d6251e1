// Package eventbus puts egress's events on the stack's EventBridge bus
// (workflow.Bus).
package eventbus

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tre-egress/egress/shared/egress"
)

// API is the part of the EventBridge client Bus uses.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus puts events on one event bus.
type Bus struct {
	api  API
	name string // the bus's name or ARN
}

// New returns the Bus of the event bus named (or ARN) name.
func New(api API, name string) *Bus { return &Bus{api: api, name: name} }

// Put sends entries in one PutEvents call; failed maps the index of each
// entry EventBridge did not accept to its error code.
func (b *Bus) Put(ctx context.Context, entries []egress.BusEntry) (map[int]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > egress.MaxBusEntries {
		return nil, fmt.Errorf("put %d events on %s: at most %d per call", len(entries), b.name, egress.MaxBusEntries)
	}
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(entries))}
	for i, e := range entries {
		in.Entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(b.name),
			Source:       aws.String(egress.BusSource),
			DetailType:   aws.String(e.DetailType),
			Detail:       aws.String(string(e.Detail)),
			Time:         aws.Time(e.Time),
		}
	}
	out, err := b.api.PutEvents(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("put %d events on %s: %w", len(entries), b.name, err)
	}
	if out.FailedEntryCount == 0 {
		return nil, nil
	}
	failed := map[int]string{}
	for i, r := range out.Entries {
		if r.ErrorCode != nil {
			failed[i] = aws.ToString(r.ErrorCode)
		}
	}
	if len(failed) == 0 || len(out.Entries) != len(entries) {
		// FailedEntryCount without the entries that failed: retry them all.
		for i := range entries {
			if _, ok := failed[i]; !ok {
				failed[i] = "Unknown"
			}
		}
	}
	return failed, nil
}
