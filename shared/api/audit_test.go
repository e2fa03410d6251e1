package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const auditQuery = `query Audit($id: String!, $limit: Int, $next: String) {
  auditTrail(egress_request_id: $id, limit: $limit, nextToken: $next) {
    items { sequence at kind actor from_status to_status stage reason workspace_id project_id previous_hash hash }
    nextToken head length
  }
}`

// auditTrail reads request id's whole trail through GraphQL, limit
// events a page, as events with the last page's head and length.
func auditTrail(t *testing.T, e *env, who egress.Identity, id string, limit int) (events []egress.Event, head string, length int64, pages int) {
	t.Helper()
	vars := map[string]any{"id": id, "limit": limit}
	for {
		resp := e.gql(who, auditQuery, vars)
		if len(resp.Errors) > 0 {
			t.Fatalf("auditTrail: %+v", resp.Errors)
		}
		var out struct {
			P api.AuditPageView `json:"auditTrail"`
		}
		decode(t, resp, &out)
		pages++
		if len(out.P.Items) > limit {
			t.Fatalf("page of %d events, limit %d", len(out.P.Items), limit)
		}
		for _, v := range out.P.Items {
			at, err := time.Parse(egress.TimeLayout, v.At)
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, egress.Event{RequestID: id, Sequence: int64(v.Sequence), At: at, Kind: v.Kind, Actor: v.Actor,
				From: egress.Status(v.From), To: egress.Status(v.To), Stage: v.Stage, Reason: v.Reason,
				Workspace: v.Workspace, Project: v.Project, PreviousHash: v.PreviousHash, Hash: v.Hash})
		}
		if out.P.NextToken == "" {
			return events, out.P.Head, int64(out.P.Length), pages
		}
		vars["next"] = out.P.NextToken
	}
}

// A TRE admin pages through a request's trail over GraphQL and it
// verifies; an edited event is named; others are refused.
func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	// A preview, as Preview records it, between the store's writes.
	if err := e.table.AddEvent(context.Background(), egress.Event{RequestID: r.ID, Kind: egress.EventPreview, Actor: igReviewer.Email, Reason: "results/a.csv"}, r.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := e.call(igReviewer, "Mutation", "reviewRequest", map[string]any{"request": map[string]any{
		"egress_request_id": r.ID, "task_token": r.TaskToken, "decision": "APPROVED"}}, nil); err != nil {
		t.Fatal(err)
	}
	events, head, length, pages := auditTrail(t, e, admin, r.ID, 1)
	if len(events) < 3 || length != int64(len(events)) || pages < len(events) {
		t.Fatalf("%d events in %d pages, length %d", len(events), pages, length)
	}
	if err := egress.VerifyChain(head, length, events); err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	if events[0].Kind != egress.EventCreated || events[0].Workspace != r.WorkspaceID || events[0].Project != r.ProjectID {
		t.Errorf("first event %+v", events[0])
	}
	// Changed in transit or in the table, one event is named.
	events[1].Actor = "someone@example.org"
	var broken *egress.ChainError
	if err := egress.VerifyChain(head, length, events); !errors.As(err, &broken) || broken.Sequence != events[1].Sequence {
		t.Errorf("edited event %d: VerifyChain = %v", events[1].Sequence, err)
	}

	for _, c := range []struct {
		name string
		who  egress.Identity
		args map[string]any
		want string
	}{
		{"IG reviewer", igReviewer, map[string]any{"egress_request_id": r.ID}, egress.EFORBIDDEN},
		{"no group", noGroup, map[string]any{"egress_request_id": r.ID}, egress.EFORBIDDEN},
		{"missing request", admin, map[string]any{"egress_request_id": "req-none"}, egress.ENOTFOUND},
		{"no id", admin, map[string]any{}, egress.EINVALID},
		{"limit 0", admin, map[string]any{"egress_request_id": r.ID, "limit": 0}, egress.EINVALID},
		{"bad token", admin, map[string]any{"egress_request_id": r.ID, "nextToken": "!!"}, egress.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.call(c.who, "Query", "auditTrail", c.args, nil)
			if got := errorType(err); got != c.want {
				t.Fatalf("errorType %q, want %q (%v)", got, c.want, err)
			}
		})
	}
	// The schema lets only TRE admins through.
	if resp := e.gql(igReviewer, auditQuery, map[string]any{"id": r.ID}); len(resp.Errors) == 0 || resp.Errors[0].ErrorType != "Unauthorized" {
		t.Errorf("IG reviewer over GraphQL: %+v", resp.Errors)
	}
}
