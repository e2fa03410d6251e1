package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// verifyChain recomputes the chain with egress.VerifyChain over the
// trail's events as stored, returning a *brokenLink naming the first
// broken link.
var verifyChain = func(id string, t auditTrail) error {
	events := make([]egress.Event, 0, len(t.Events))
	for _, e := range t.Events {
		var at time.Time
		if e.At != "" {
			var err error
			if at, err = time.Parse(time.RFC3339Nano, e.At); err != nil {
				return &brokenLink{Sequence: e.Sequence, Kind: e.Kind, Reason: fmt.Sprintf("at %q is not a time: %v", e.At, err)}
			}
		}
		events = append(events, egress.Event{
			RequestID: id, Sequence: e.Sequence, At: at, Kind: e.Kind, Actor: deref(e.Actor),
			From: egress.Status(deref(e.FromStatus)), To: egress.Status(deref(e.ToStatus)), Stage: deref(e.Stage),
			Reason: deref(e.Reason), Workspace: deref(e.WorkspaceID), Project: deref(e.ProjectID),
			PreviousHash: e.PreviousHash, Hash: e.Hash,
		})
	}
	err := egress.VerifyChain(t.Head, t.Length, events)
	var ce *egress.ChainError
	if errors.As(err, &ce) {
		return &brokenLink{Sequence: ce.Sequence, Kind: ce.Kind, Reason: ce.Reason}
	}
	return err
}
