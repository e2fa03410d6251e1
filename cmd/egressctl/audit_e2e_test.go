package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
)

// TestAuditVerifyExport: `audit verify` passes an untouched trail and names
// the event someone edited in the table; `audit export` writes the whole
// trail as JSON Lines in chain order. `retry` of a request that is not
// stuck is the API's ConflictError, exit 3.
func TestAuditVerifyExport(t *testing.T) {
	s := embedded(t)
	r := submit(t, s)
	mustOK(t, ctlAs(t, s, "ig", "reject", r.ID, "--reason", "row counts below 10 in table 2"))
	ended(t, s, r.ID)

	var ok struct {
		OK     bool  `json:"ok"`
		Events int64 `json:"events"`
	}
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "audit", "verify", r.ID, "--json")), &ok)
	if !ok.OK || ok.Events < 3 {
		t.Fatalf("untouched trail: %+v", ok)
	}

	out := filepath.Join(t.TempDir(), "trail.jsonl")
	mustOK(t, ctlAs(t, s, "admin", "audit", "export", r.ID, "-o", out))
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var decision struct {
		Sequence int64  `json:"sequence"`
		Kind     string `json:"kind"`
	}
	n := int64(0)
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var e struct {
			Sequence int64  `json:"sequence"`
			Kind     string `json:"kind"`
			Hash     string `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		n++
		if e.Sequence != n || len(e.Hash) != 64 {
			t.Fatalf("line %d: sequence %d, hash %q", n, e.Sequence, e.Hash)
		}
		if e.Kind == egress.EventDecision && decision.Kind == "" {
			decision.Sequence, decision.Kind = e.Sequence, e.Kind
		}
	}
	if n != ok.Events || decision.Kind == "" {
		t.Fatalf("exported %d events (verify saw %d), decision %+v", n, ok.Events, decision)
	}

	tamper(t, s, r.ID, decision.Sequence)
	bad := ctlAs(t, s, "admin", "audit", "verify", r.ID)
	if want := fmt.Sprintf("BROKEN at event %d (%s)", decision.Sequence, egress.EventDecision); bad.code != exitCheck || !strings.Contains(bad.stdout, want) {
		t.Errorf("tampered trail: exit %d, stdout %q; want exit %d and %q", bad.code, bad.stdout, exitCheck, want)
	}

	if rt := ctlAs(t, s, "admin", "retry", r.ID); rt.code != exitAPI || !strings.Contains(rt.stderr, "Conflict") {
		t.Errorf("retry of a finished request: exit %d, stderr %q; want exit %d and a ConflictError", rt.code, rt.stderr, exitAPI)
	}
	if rt := ctlAs(t, s, "ig", "audit", "verify", r.ID); rt.code != exitAPI || !strings.Contains(rt.stderr, "Unauthorized") {
		t.Errorf("audit verify by an IG reviewer: exit %d, stderr %q; want exit %d, Unauthorized", rt.code, rt.stderr, exitAPI)
	}
}

// tamper rewrites the reason of event number seq of request id, as someone
// with write access to the events table could.
func tamper(t *testing.T, s *local.Stack, id string, seq int64) {
	t.Helper()
	out, err := s.Clients.DynamoDB.Query(testCtx(t), &dynamodb.QueryInput{
		TableName:                 aws.String(local.EventsTable),
		KeyConditionExpression:    aws.String("egress_request_id = :id"),
		FilterExpression:          aws.String("#seq = :seq"),
		ExpressionAttributeNames:  map[string]string{"#seq": "sequence"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}, ":seq": &types.AttributeValueMemberN{Value: fmt.Sprint(seq)}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("event %d: %d items, %v", seq, len(out.Items), err)
	}
	if _, err := s.Clients.DynamoDB.UpdateItem(testCtx(t), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(local.EventsTable),
		Key:                       map[string]types.AttributeValue{"egress_request_id": out.Items[0]["egress_request_id"], "seq": out.Items[0]["seq"]},
		UpdateExpression:          aws.String("SET reason = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "approved after a careful look"}},
	}); err != nil {
		t.Fatal(err)
	}
}
