package local

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

const auditTrailQuery = `query($id: String!, $limit: Int, $next: String) {
  auditTrail(egress_request_id: $id, limit: $limit, nextToken: $next) {
    items { sequence at kind actor from_status to_status stage reason workspace_id project_id previous_hash hash }
    nextToken head length
  }
}`

// fetchAuditTrail reads request id's whole trail through /graphql as who,
// two events a page.
func fetchAuditTrail(t *testing.T, d GraphQLDecider, who egress.Identity, id string) (events []egress.Event, head string, length int64) {
	t.Helper()
	vars := map[string]any{"id": id, "limit": 2}
	for {
		var out struct {
			P api.AuditPageView `json:"auditTrail"`
		}
		if err := d.Do(ctx(t), who, auditTrailQuery, vars, &out); err != nil {
			t.Fatal(err)
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
			return events, out.P.Head, int64(out.P.Length)
		}
		vars["next"] = out.P.NextToken
	}
}

// Issue 16's acceptance 2, under the functions' roles: a request run
// through the workflow, reviewed and downloaded has a chain that
// verifies; after one stored event is edited in the events table, the
// trail fetched through /graphql by a TRE admin is broken exactly there.
// Only TRE admins may read it.
func TestAuditTrailTamperEndToEnd(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	r := released(t, s, d)
	ig, admin := Reviewer(chain, 0), Reviewer(chain, 1) // the RIT stage's group is TREAdmin
	if _, err := d.Download(ctx(t), ig, r.ID); err != nil {
		t.Fatal(err)
	}
	events, head, length := fetchAuditTrail(t, d, admin, r.ID)
	if err := egress.VerifyChain(head, length, events); err != nil {
		t.Fatalf("untouched trail: %v", err)
	}
	var kinds []string
	var decision egress.Event
	for _, e := range events {
		kinds = append(kinds, e.Kind)
		if e.Kind == egress.EventDecision && decision.Kind == "" {
			decision = e
		}
	}
	if decision.Kind == "" || kinds[0] != egress.EventCreated || kinds[len(kinds)-1] != egress.EventDownload || int64(len(events)) != length {
		t.Fatalf("trail %v, length %d", kinds, length)
	}

	// Someone with write access to the table rewrites the first decision's reason.
	out, err := s.Clients.DynamoDB.Query(ctx(t), &dynamodb.QueryInput{
		TableName:                 aws.String(EventsTable),
		KeyConditionExpression:    aws.String("egress_request_id = :id"),
		FilterExpression:          aws.String("#seq = :seq"),
		ExpressionAttributeNames:  map[string]string{"#seq": "sequence"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: r.ID}, ":seq": &types.AttributeValueMemberN{Value: fmt.Sprint(decision.Sequence)}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("decision event: %d items, %v", len(out.Items), err)
	}
	if _, err := s.Clients.DynamoDB.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(EventsTable),
		Key:                       map[string]types.AttributeValue{"egress_request_id": out.Items[0]["egress_request_id"], "seq": out.Items[0]["seq"]},
		UpdateExpression:          aws.String("SET reason = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "approved after a careful look"}},
	}); err != nil {
		t.Fatal(err)
	}

	events, head, length = fetchAuditTrail(t, d, admin, r.ID)
	var broken *egress.ChainError
	if err := egress.VerifyChain(head, length, events); !errors.As(err, &broken) || broken.Sequence != decision.Sequence || broken.Kind != egress.EventDecision {
		t.Fatalf("tampered trail: VerifyChain = %v, want broken at event %d (DECISION)", err, decision.Sequence)
	}

	if err := d.Do(ctx(t), ig, auditTrailQuery, map[string]any{"id": r.ID}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("an IG reviewer through the schema: %v", err)
	}
	if _, err := s.API.AuditTrail(ctx(t), ig, r.ID, 0, ""); egress.ErrorCode(err) != egress.EFORBIDDEN {
		t.Errorf("an IG reviewer past the schema: %v", err)
	}
	if err := d.Do(ctx(t), admin, auditTrailQuery, map[string]any{"id": "req-none"}, nil); err == nil || !strings.Contains(err.Error(), egress.ENOTFOUND) {
		t.Errorf("a missing request: %v", err)
	}
}
