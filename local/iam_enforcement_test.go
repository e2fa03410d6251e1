package local

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
)

// withoutGrant returns the golden template with action removed from the
// statements of function's role whose Resource mentions resource, as if
// the CDK app no longer granted it.
func withoutGrant(t *testing.T, function, action, resource string) []byte {
	t.Helper()
	path, err := findGoldenTemplate()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		meta, _ := res["Metadata"].(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" || meta["aws:cdk:path"] != "egress-Sample/"+function+"Role/DefaultPolicy/Resource" {
			continue
		}
		doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		var kept []any
		for _, s := range doc["Statement"].([]any) {
			st := s.(map[string]any)
			where, _ := json.Marshal(st["Resource"])
			var actions []any
			switch a := st["Action"].(type) {
			case string:
				actions = []any{a}
			case []any:
				actions = a
			}
			if strings.Contains(string(where), resource) && slices.Contains(actions, any(action)) {
				actions = slices.DeleteFunc(actions, func(a any) bool { return a == action })
				removed++
				if len(actions) == 0 {
					continue
				}
				st["Action"] = actions
			}
			kept = append(kept, st)
		}
		doc["Statement"] = kept
	}
	if removed == 0 {
		t.Fatalf("%s's role grants no %s on a resource mentioning %q", function, action, resource)
	}
	out, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startWithout starts a stack of its own whose roles are the golden
// template's without one grant.
func startWithout(t *testing.T, function, action, resource string) *Stack {
	t.Helper()
	p, err := iam.Load(withoutGrant(t, function, action, resource), Resolver())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{
		Clock:      sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)),
		Authorizer: NewAuthorizer(p),
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A call the function's role does not allow fails the workflow as in AWS,
// and the failure names the function's role, the action and the resource:
// DynamoDB refused in process, S3 refused by MinIO itself.
func TestRefusedCallsFailTheWorkflow(t *testing.T) {
	const principal = "arn:aws:sts::000000000000:assumed-role/copy-to-staging-role/copy-to-staging"
	tests := []struct {
		name                     string
		action, templateResource string // the grant removed from CopyToStaging's role
		resource                 string // the resource named in the refusal
		byServer                 bool
	}{
		{"DynamoDB in process", "dynamodb:PutItem", "EventsTable",
			"arn:aws:dynamodb:us-east-1:000000000000:table/egress-request-events", false},
		{"S3 by MinIO", "s3:PutObject", "StagingBucket", "arn:aws:s3:::egress-staging/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startWithout(t, "CopyToStaging", tt.action, tt.templateResource)
			sub := submit(t, s)
			r := finished(t, s, sub, egress.StatusFailed)
			want := "User: " + principal + " is not authorized to perform: " + tt.action + " on resource: " + tt.resource
			if !strings.Contains(r.FailureCause, want) {
				t.Errorf("failure cause %q\ndoes not contain %q", r.FailureCause, want)
			}
			if server := strings.Contains(r.FailureCause, "(refused by the S3 server: "); server != tt.byServer {
				t.Errorf("refused by the S3 server: %v, want %v (cause %q)", server, tt.byServer, r.FailureCause)
			}
		})
	}
}
