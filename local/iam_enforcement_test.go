package local

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
)

// withoutGrant returns the golden template with action removed from the
// statements of each function's role whose Resource mentions resource, as
// if the CDK app no longer granted it.
func withoutGrant(t *testing.T, functions []string, action, resource string) []byte {
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
	removed := map[string]int{}
	for _, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		meta, _ := res["Metadata"].(map[string]any)
		path, _ := meta["aws:cdk:path"].(string)
		function, ok := strings.CutSuffix(strings.TrimPrefix(path, "egress-Sample/"), "Role/DefaultPolicy/Resource")
		if res["Type"] != "AWS::IAM::Policy" || !ok || !slices.Contains(functions, function) {
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
			// CDK merges grants of the same actions into one statement
			// of several resources: take the action from the matching
			// resources only.
			if list, ok := st["Resource"].([]any); ok && len(list) > 1 && slices.Contains(actions, any(action)) {
				var hit, others []any
				for _, r := range list {
					b, _ := json.Marshal(r)
					if strings.Contains(string(b), resource) {
						hit = append(hit, r)
					} else {
						others = append(others, r)
					}
				}
				if len(hit) > 0 && len(others) > 0 {
					removed[function]++
					rest := slices.DeleteFunc(slices.Clone(actions), func(a any) bool { return a == action })
					st["Resource"] = others
					kept = append(kept, st)
					if len(rest) > 0 {
						kept = append(kept, map[string]any{"Effect": st["Effect"], "Action": rest, "Resource": hit})
					}
					continue
				}
			}
			if strings.Contains(string(where), resource) && slices.Contains(actions, any(action)) {
				actions = slices.DeleteFunc(actions, func(a any) bool { return a == action })
				removed[function]++
				if len(actions) == 0 {
					continue
				}
				st["Action"] = actions
			}
			kept = append(kept, st)
		}
		doc["Statement"] = kept
	}
	for _, function := range functions {
		if removed[function] == 0 {
			t.Fatalf("%s's role grants no %s on a resource mentioning %q", function, action, resource)
		}
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
	s, _ := startWithoutLogged(t, []string{function}, action, resource)
	return s
}

// startWithoutLogged is startWithout for the grant of several functions,
// also returning the stack's log (warnings and errors), which names what
// a function refused as bad input.
func startWithoutLogged(t *testing.T, functions []string, action, resource string) (*Stack, *logBuffer) {
	t.Helper()
	return startWithoutOpts(t, functions, action, resource, Options{})
}

// startWithoutOpts is startWithoutLogged with options of the test's (its
// roles, clock and logger are set here).
func startWithoutOpts(t *testing.T, functions []string, action, resource string, opts Options) (*Stack, *logBuffer) {
	t.Helper()
	p, err := iam.Load(withoutGrant(t, functions, action, resource), Resolver())
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	opts.Clock = sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	opts.Authorizer = NewAuthorizer(p)
	opts.Logger = capturedLogger(logs)
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		checkLeaks(t, s, logs)
		s.Close()
	})
	return s, logs
}

// capturedLogger logs every level into logs, for tests to read and for
// the leak scan, and warnings and errors to stderr too, for people.
func capturedLogger(logs *logBuffer) *slog.Logger {
	return slog.New(slog.NewMultiHandler(
		slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// logBuffer is a log written by the stack's goroutines and read by a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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

// Every service the functions call is checked against their roles: with
// one action removed from one role, the call is refused with AWS's text
// naming the role's session, the action and the resource, and the
// workflow does what it does with any such failure (intake marks the
// request FAILED; a reviewers' notice that cannot go out leaves the
// request awaiting its decision).
func TestRefusedCallsOfEachService(t *testing.T) {
	tests := []struct {
		service                  string
		function, functionName   string
		action, templateResource string // the grant removed
		resource                 string // the resource named in the refusal
		failed                   bool   // the request ends FAILED, else it awaits IG
	}{
		{"Step Functions", "StartWorkflow", "start-workflow", "states:StartExecution", "Workflow",
			"arn:aws:states:us-east-1:000000000000:stateMachine:egress", true},
		{"SNS", "StoreTaskToken", "store-task-token", "sns:Publish", "ReviewerTopic0",
			ReviewerTopicArn(egress.GroupIG), false},
		{"Cognito", "StoreTaskToken", "store-task-token", "cognito-idp:ListUsersInGroup", "UserPool",
			"arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + UserPoolID, false},
		{"SES", "StoreTaskToken", "store-task-token", "ses:SendEmail", "identity",
			"arn:aws:ses:us-east-1:000000000000:identity/" + FromEmail, false},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, logs := startWithoutLogged(t, []string{tt.function}, tt.action, tt.templateResource)
			want := "User: arn:aws:sts::000000000000:assumed-role/" + tt.functionName + "-role/" + tt.functionName +
				" is not authorized to perform: " + tt.action + " on resource: " + tt.resource
			refused := func() bool {
				for line := range strings.Lines(logs.String()) {
					var rec struct{ Msg, Function, Action, Error string }
					if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "IAM refused a call" &&
						rec.Function == tt.functionName && rec.Action == tt.action && strings.Contains(rec.Error, want) {
						return true
					}
				}
				return false
			}
			sub := submit(t, s)
			if _, err := s.WaitFor(ctx(t), sub.RequestID, func(egress.Request) bool { return refused() }); err != nil {
				t.Fatalf("%v; no refusal logged containing %q in:\n%s", err, want, logs.String())
			}
			if tt.failed {
				finishedWithoutExecution(t, s, sub)
				return
			}
			if a := awaiting(t, s, sub.RequestID, 0); a.Status != egress.StatusProcessing {
				t.Fatalf("status %s, want the request awaiting IG", a.Status)
			}
		})
	}
}

// finishedWithoutExecution waits for a request intake could not start to
// be FAILED, its SWB store untouched.
func finishedWithoutExecution(t *testing.T, s *Stack, sub Submission) {
	t.Helper()
	r, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.Status == egress.StatusFailed })
	if err != nil {
		t.Fatal(err)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, err := swb.StoreStatus(ctx(t), r.StoreID); err != nil || st != "PENDING" {
		t.Fatalf("SWB store %q, %v; want PENDING", st, err)
	}
}
