package requests

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

type observed struct{ changes []string }

func (o *observed) StatusChanged(_ context.Context, r egress.Request, ev egress.Event) {
	o.changes = append(o.changes, fmt.Sprintf("%s v%d %s %s->%s", r.ID, r.Version, ev.Kind, ev.From, r.Status))
}

// The observer hears of every stored Create and Update, with the stored
// version and its event, and of nothing that was not stored: a replayed
// Create, a stale Update.
func TestObserverHearsStoredChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	o := &observed{}
	s.Observer = o
	r := minimalRequest("obs-1", ms("2026-11-22T08:00:00.000Z"))
	stored := create(t, s, r)
	if created, err := s.Create(ctx, r); err != nil || created {
		t.Fatalf("replayed Create = %v, %v", created, err)
	}
	next, ev, err := egress.Transition(stored, egress.StatusFailed, "boom", ms("2026-11-22T09:00:00.000Z"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, next, ev); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, next, ev) // stale: version 1 again
	wantCode(t, err, egress.ECONFLICT)
	want := []string{"obs-1 v1 CREATED ->PROCESSING", "obs-1 v2 TRANSITION PROCESSING->FAILED"}
	if !reflect.DeepEqual(o.changes, want) {
		t.Errorf("observed %q, want %q", o.changes, want)
	}
}
