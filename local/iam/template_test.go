package iam

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

const (
	sampleTemplate = "../../infra/stack/testdata/egress-Sample.template.json"
	fullTemplate   = "../../infra/stack/testdata/full-Full.template.json"

	localRegion  = "us-east-1"
	localAccount = "000000000000"

	requestsTableARN = "arn:aws:dynamodb:us-east-1:000000000000:table/egress-requests"
	eventsTableARN   = "arn:aws:dynamodb:us-east-1:000000000000:table/egress-request-events"
	swbTableARN      = "arn:aws:dynamodb:us-east-1:000000000000:table/swb-egress-store"
	stateMachineARN  = "arn:aws:states:us-east-1:000000000000:stateMachine:egress"
	senderIdentity   = "arn:aws:ses:us-east-1:000000000000:identity/tre-admin@example.org"
	configSetARN     = "arn:aws:ses:us-east-1:000000000000:configuration-set/egress-mail"
)

// localResolver maps the golden templates onto local names, the way the
// local stack does.
func localResolver() Resolver {
	return Resolver{
		Region:  localRegion,
		Account: localAccount,
		Names: map[string]string{
			"RequestsTable":        "egress-requests",
			"EventsTable":          "egress-request-events",
			"StagingBucket":        "egress-staging",
			"Workflow":             "egress",
			"MailConfigurationSet": "egress-mail",
			"CopyToStaging":        "copy-to-staging",
			"CopyToStagingRole":    "copy-to-staging-role",
			// The reviewer topics and pool, as local.ReviewerTopicArn and
			// local.UserPoolID name them.
			"ReviewerTopic0": "egress-reviewers-InformationGovernance",
			"ReviewerTopic1": "egress-reviewers-TREAdmin",
			"UserPool":       "us-east-1_egresslocal",
			"NoticesTopic":   "egress-notices",
			"EventBus":       "egress-events",
		},
		Rewrite: map[string]string{
			"arn:aws:dynamodb:eu-west-2:111111111111:table/swb-sample-EgressStore": swbTableARN,
			"arn:aws:s3:::swb-sample-egress-notification":                          "arn:aws:s3:::swb-egress-notification",
			"arn:aws:s3:::swb-sample-egress-store":                                 "arn:aws:s3:::swb-egress-store",
			"arn:aws:s3:::tre-sample-datalake":                                     "arn:aws:s3:::egress-datalake",
			"arn:aws:ses:eu-west-2:555555555555":                                   "arn:aws:ses:us-east-1:000000000000",
		},
	}
}

func loadSample(t testing.TB) *Policies {
	t.Helper()
	p, err := LoadFile(sampleTemplate, localResolver())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFindsEveryFunction(t *testing.T) {
	for _, path := range []string{sampleTemplate, fullTemplate} {
		p, err := LoadFile(path, localResolver())
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"CheckFiles", "CheckStuck", "CopyToDatalake", "CopyToStaging", "EgressApi", "ExecutionEnded", "HandleFailure", "HandleRejection",
			"Notify", "PreTokenGeneration", "PublishEvents", "PurgeRevoked", "SendReminders", "StartWorkflow", "StoreTaskToken", "VerifyReleases"}
		if got := sortedKeys(p.Functions); !slices.Equal(got, want) {
			t.Errorf("%s: functions %v, want %v", path, got, want)
		}
		for name, role := range p.Functions {
			// Every role grants log writing, which is the Lambda service's.
			if !slices.ContainsFunc(role.Skipped, func(s Skipped) bool { return slices.Contains(s.Actions, "logs:PutLogEvents") }) {
				t.Errorf("%s %s: logs:PutLogEvents not reported as skipped: %+v", path, name, role.Skipped)
			}
			if name != "PreTokenGeneration" && len(role.Statements) == 0 {
				t.Errorf("%s %s: no checked statements", path, name)
			}
		}
	}
}

func TestPrincipal(t *testing.T) {
	p := loadSample(t)
	if got, want := p.Functions["CopyToStaging"].Principal, "arn:aws:sts::000000000000:assumed-role/copy-to-staging-role/copy-to-staging"; got != want {
		t.Errorf("principal %s, want %s", got, want)
	}
	// Without local names, the construct ids stand in.
	if got, want := p.Functions["Notify"].Principal, "arn:aws:sts::000000000000:assumed-role/NotifyRole/Notify"; got != want {
		t.Errorf("principal %s, want %s", got, want)
	}
}

func TestAuthorizeSample(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	from := Keys{"ses:FromAddress": "tre-admin@example.org", "ses:ApiVersion": "2"}
	tests := []struct {
		function, action, resource string
		keys                       Keys
		allowed                    bool
	}{
		{"StartWorkflow", "dynamodb:PutItem", requestsTableARN, nil, true},  // only intake creates requests
		{"StartWorkflow", "DynamoDB:putitem", requestsTableARN, nil, true},  // actions are case-insensitive
		{"CopyToStaging", "dynamodb:PutItem", requestsTableARN, nil, false}, // the others update them
		{"CopyToStaging", "dynamodb:UpdateItem", requestsTableARN, nil, true},
		{"CopyToStaging", "dynamodb:PutItem", eventsTableARN, nil, true},
		{"CopyToStaging", "dynamodb:PutItem", swbTableARN, nil, false},
		{"CopyToStaging", "dynamodb:UpdateItem", swbTableARN, nil, true}, // the first task locks SWB's store
		{"CopyToStaging", "dynamodb:DeleteItem", swbTableARN, nil, false},
		{"CopyToStaging", "dynamodb:DeleteItem", requestsTableARN, nil, false},
		{"CopyToStaging", "dynamodb:UpdateItem", eventsTableARN, nil, false}, // events are append-only
		{"StartWorkflow", "dynamodb:GetItem", swbTableARN, nil, true},        // intake only checks the store
		{"StartWorkflow", "dynamodb:UpdateItem", swbTableARN, nil, false},
		{"ExecutionEnded", "dynamodb:UpdateItem", swbTableARN, nil, true},
		{"ExecutionEnded", "s3:DeleteObjectVersion", "arn:aws:s3:::egress-datalake/approved_egress/ws/r1/egress_data.zip", nil, true},
		{"HandleRejection", "dynamodb:PutItem", requestsTableARN, nil, false},
		{"EgressApi", "dynamodb:Query", requestsTableARN + "/index/by-status", nil, true},
		{"EgressApi", "dynamodb:Query", requestsTableARN + "/index/other", nil, false},
		{"EgressApi", "dynamodb:Query", requestsTableARN, nil, false}, // listing queries the index only
		{"EgressApi", "dynamodb:Query", eventsTableARN, nil, true},
		{"EgressApi", "dynamodb:Scan", requestsTableARN, nil, false},
		{"EgressApi", "states:SendTaskSuccess", stateMachineARN, nil, true},
		{"EgressApi", "states:SendTaskHeartbeat", stateMachineARN, nil, false},
		{"EgressApi", "states:StartExecution", stateMachineARN, nil, false},
		{"StartWorkflow", "states:StartExecution", stateMachineARN, nil, true},
		{"StartWorkflow", "states:StartExecution", stateMachineARN + "-other", nil, false},
		{"Notify", "ses:SendEmail", senderIdentity, from, true},
		{"Notify", "ses:SendEmail", configSetARN, from, true},
		{"Notify", "ses:SendEmail", senderIdentity, Keys{"ses:FromAddress": "other@example.org"}, false},
		{"Notify", "ses:SendEmail", senderIdentity, nil, false}, // StringEquals on a missing key
		{"Notify", "ses:SendEmail", "arn:aws:ses:us-east-1:000000000000:identity/other.org", from, false},
		{"EgressApi", "ses:SendEmail", senderIdentity, from, false},
		{"Notify", "sns:Publish", "arn:aws:sns:us-east-1:000000000000:topic", nil, false},
		{"CopyToStaging", "s3:GetObject", "arn:aws:s3:::swb-egress-store/ws/a.txt", nil, false}, // the copy reads listed versions only
		{"CopyToStaging", "s3:GetObjectTagging", "arn:aws:s3:::swb-egress-store/ws/a.txt", nil, false},
		{"CopyToStaging", "s3:GetObjectVersion", "arn:aws:s3:::swb-egress-store/ws/a.txt", nil, true},
		{"CopyToStaging", "s3:GetObjectVersionTagging", "arn:aws:s3:::swb-egress-store/ws/a.txt", nil, false}, // copies carry no tags
		{"CopyToStaging", "s3:GetObject", "arn:aws:s3:::swb-egress-notification/s1/list.json", nil, true},
		{"CopyToStaging", "s3:PutObject", "arn:aws:s3:::swb-egress-store/ws/a.txt", nil, false},
		{"CopyToStaging", "s3:PutObject", "arn:aws:s3:::egress-staging/r1/a.txt", nil, true},
		{"CopyToDatalake", "s3:PutObject", "arn:aws:s3:::egress-datalake/approved_egress/r1.zip", nil, true},
		{"CopyToDatalake", "s3:PutObject", "arn:aws:s3:::egress-datalake/other/r1.zip", nil, false},
		{"HandleFailure", "s3:ListBucketVersions", "arn:aws:s3:::egress-datalake", Keys{"s3:prefix": "approved_egress/r1"}, true},
		{"HandleFailure", "s3:ListBucketVersions", "arn:aws:s3:::egress-datalake", Keys{"s3:prefix": "other/"}, false},
		{"HandleFailure", "s3:ListBucketVersions", "arn:aws:s3:::egress-datalake", nil, false},
		{"PreTokenGeneration", "dynamodb:GetItem", requestsTableARN, nil, false},
	}
	for _, tt := range tests {
		err := a.Authorize(tt.function, tt.action, tt.resource, tt.keys)
		if tt.allowed {
			if err != nil {
				t.Errorf("%s %s on %s: %v", tt.function, tt.action, tt.resource, err)
			}
			continue
		}
		var denied *AccessDeniedError
		if !errors.As(err, &denied) {
			t.Errorf("%s %s on %s: got %v, want an AccessDeniedError", tt.function, tt.action, tt.resource, err)
			continue
		}
		if denied.Function != tt.function || denied.Action != tt.action || denied.Resource != tt.resource {
			t.Errorf("%s %s on %s: denial names %s %s %s", tt.function, tt.action, tt.resource, denied.Function, denied.Action, denied.Resource)
		}
	}
}

func TestAccessDeniedText(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	err := a.Authorize("CopyToStaging", "dynamodb:DeleteItem", swbTableARN, nil)
	want := "User: arn:aws:sts::000000000000:assumed-role/copy-to-staging-role/copy-to-staging is not authorized to perform: " +
		"dynamodb:DeleteItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/swb-egress-store " +
		"because no identity-based policy allows the dynamodb:DeleteItem action"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	var denied *AccessDeniedError
	if !errors.As(err, &denied) || denied.ErrorCode() != "AccessDeniedException" {
		t.Errorf("error code: %v", err)
	}
}

func TestAuthorizeUnknownFunction(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	err := a.Authorize("copy-to-staging", "dynamodb:GetItem", requestsTableARN, nil)
	var denied *AccessDeniedError
	if err == nil || errors.As(err, &denied) || !strings.Contains(err.Error(), `no function "copy-to-staging"`) {
		t.Errorf("got %v, want an unknown-function error", err)
	}
}

func TestExplicitDenyWins(t *testing.T) {
	tmpl := templateWith(t, []any{
		map[string]any{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
		map[string]any{"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}},
	})
	p, err := Load(tmpl, Resolver{Region: localRegion, Account: localAccount, Names: map[string]string{"Table": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthorizer(p)
	table := "arn:aws:dynamodb:us-east-1:000000000000:table/t"
	if err := a.Authorize("Fn", "dynamodb:PutItem", table, nil); err != nil {
		t.Errorf("PutItem: %v", err)
	}
	err = a.Authorize("Fn", "dynamodb:DeleteItem", table, nil)
	var denied *AccessDeniedError
	if !errors.As(err, &denied) || denied.Deny == nil || !strings.Contains(err.Error(), "with an explicit deny in an identity-based policy") {
		t.Errorf("DeleteItem: got %v, want an explicit deny", err)
	}
}

// Acceptance: removing any checked action from a function's role in the
// golden template makes the request it granted fail, naming the function,
// the action and the resource.
func TestRemovingAGrantRefusesIt(t *testing.T) {
	raw, err := os.ReadFile(sampleTemplate)
	if err != nil {
		t.Fatal(err)
	}
	orig := NewAuthorizer(loadSample(t))
	checked := 0
	for _, g := range orig.Grants("") {
		role := orig.policies.Functions[g.Function]
		st := statementOf(role, g)
		resource := concrete(g.Resource)
		keys := satisfying(st.Conditions)
		if err := orig.Authorize(g.Function, g.Action, resource, keys); err != nil {
			t.Errorf("%s: the template should allow %s on %s: %v", g, g.Action, resource, err)
			continue
		}

		mutated := removeAction(t, raw, g.Policy, g.Statement, g.Action)
		p, err := Load(mutated, localResolver())
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		err = NewAuthorizer(p).Authorize(g.Function, g.Action, resource, keys)
		var denied *AccessDeniedError
		if !errors.As(err, &denied) {
			t.Errorf("without %s the call is still allowed (granted twice?): %v", g, err)
			continue
		}
		for _, want := range []string{p.Functions[g.Function].Principal, g.Action, resource} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("without %s: %q does not name %s", g, err, want)
			}
		}
		checked++
	}
	if checked < 40 {
		t.Errorf("only %d grants checked; is the template read?", checked)
	}
}

func statementOf(r *Role, g Grant) Statement {
	for _, st := range r.Statements {
		if st.Policy == g.Policy && st.Index == g.Statement {
			return st
		}
	}
	panic("no statement for " + g.String())
}

// concrete turns a resource pattern into a resource it matches.
func concrete(pattern string) string {
	return strings.NewReplacer("*", "x", "?", "x").Replace(pattern)
}

// satisfying returns condition keys that satisfy conds.
func satisfying(conds []Condition) Keys {
	keys := Keys{}
	for _, c := range conds {
		keys[c.Key] = concrete(c.Values[0])
	}
	return keys
}

// removeAction returns the template without one action of one statement.
func removeAction(t *testing.T, raw []byte, policy string, index int, action string) []byte {
	t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	res := tmpl["Resources"].(map[string]any)[policy].(map[string]any)
	st := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)[index].(map[string]any)
	actions, err := stringList(st["Action"])
	if err != nil {
		t.Fatal(err)
	}
	actions = slices.DeleteFunc(actions, func(a string) bool { return a == action })
	if len(actions) == 0 {
		// The statement granted only this action: drop the statement.
		doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		doc["Statement"] = slices.Delete(doc["Statement"].([]any), index, index+1)
	} else {
		st["Action"] = actions
	}
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// templateWith returns a template of one function "Fn" whose role has the
// given statements, and a table.
func templateWith(t *testing.T, statements []any) []byte {
	t.Helper()
	tmpl := map[string]any{"Resources": map[string]any{
		"Fn": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"Role": map[string]any{"Fn::GetAtt": []any{"FnRole", "Arn"}}}},
		"FnRole": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{}},
		"FnPolicy": map[string]any{"Type": "AWS::IAM::Policy", "Properties": map[string]any{
			"Roles":          []any{map[string]any{"Ref": "FnRole"}},
			"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": statements}}},
		"Table": map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": map[string]any{}},
		"Logs":  map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{}},
	}}
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadRefusesWhatItCannotEvaluate(t *testing.T) {
	table := map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}
	tests := []struct {
		name      string
		statement map[string]any
		want      string
	}{
		{"NotAction", map[string]any{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": "*"}, "NotAction is not supported"},
		{"NotResource", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "NotResource": "*"}, "NotResource is not supported"},
		{"unknown key", map[string]any{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"ses:FromDisplayName": "x"}}}, "ses:FromDisplayName: the key is not supported"},
		{"key of another service", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table,
			"Condition": map[string]any{"StringEquals": map[string]any{"ses:FromAddress": "x"}}}, "ses:FromAddress: the key is not supported"},
		{"operator", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table,
			"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": "x"}}}, "operator ForAllValues:StringEquals is not supported"},
		{"unresolvable", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": map[string]any{"Fn::GetAtt": []any{"Missing", "Arn"}}},
			"Missing"},
		{"no local name", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table},
			"no local name for Table (AWS::DynamoDB::Table Table)"},
		{"intrinsic", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": map[string]any{"Fn::ImportValue": "x"}},
			"Fn::ImportValue is not supported"},
		{"effect", map[string]any{"Effect": "allow", "Action": "dynamodb:GetItem", "Resource": "*"}, `Effect "allow"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := map[string]string{"Table": "t"}
			if tt.name == "no local name" {
				names = nil
			}
			_, err := Load(templateWith(t, []any{tt.statement}), Resolver{Region: localRegion, Account: localAccount, Names: names})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Statements of services the local stack does not check are skipped, even
// when they refer to resources without a local name.
func TestLoadSkipsUncheckedServices(t *testing.T) {
	p, err := Load(templateWith(t, []any{
		map[string]any{"Effect": "Allow", "Action": []any{"logs:PutLogEvents", "xray:PutTraceSegments"}, "Resource": map[string]any{"Fn::GetAtt": []any{"Logs", "Arn"}}},
		map[string]any{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3.eu-west-2.amazonaws.com"}}},
	}), Resolver{Region: localRegion, Account: localAccount})
	if err != nil {
		t.Fatal(err)
	}
	role := p.Functions["Fn"]
	if len(role.Statements) != 0 || len(role.Skipped) != 2 {
		t.Errorf("statements %+v, skipped %+v; want none and two", role.Statements, role.Skipped)
	}
}

func TestIntrinsics(t *testing.T) {
	tmpl := &template{Resources: map[string]*resource{
		"Table": {Type: "AWS::DynamoDB::Table"},
		"Topic": {Type: "AWS::SNS::Topic"},
		"Pool":  {Type: "AWS::Cognito::UserPool", Properties: map[string]any{"UserPoolName": "not-the-id"}},
		"Id":    {Type: "AWS::SES::EmailIdentity", Properties: map[string]any{"EmailIdentity": "a@example.org"}},
		"SM":    {Type: "AWS::StepFunctions::StateMachine", Metadata: map[string]any{"aws:cdk:path": "stack/Workflow/Resource"}},
	}}
	rv := &resolver{t: tmpl, r: Resolver{Region: "r", Account: "1", Names: map[string]string{"Table": "t", "Topic": "top", "Pool": "pool-id", "Workflow": "wf"}}}
	tests := []struct {
		in   string
		want string
	}{
		{`{"Ref":"AWS::Region"}`, "r"},
		{`{"Ref":"AWS::AccountId"}`, "1"},
		{`{"Ref":"AWS::Partition"}`, "aws"},
		{`{"Ref":"AWS::URLSuffix"}`, "amazonaws.com"},
		{`{"Ref":"Table"}`, "t"},
		{`{"Ref":"Topic"}`, "arn:aws:sns:r:1:top"},
		{`{"Ref":"SM"}`, "arn:aws:states:r:1:stateMachine:wf"},
		{`{"Ref":"Id"}`, "a@example.org"},
		{`{"Fn::GetAtt":["Table","Arn"]}`, "arn:aws:dynamodb:r:1:table/t"},
		{`{"Fn::GetAtt":"Pool.Arn"}`, "arn:aws:cognito-idp:r:1:userpool/pool-id"},
		{`{"Fn::Join":["/",[{"Fn::GetAtt":["Table","Arn"]},"index","i"]]}`, "arn:aws:dynamodb:r:1:table/t/index/i"},
		{`{"Fn::Sub":"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Id}"}`, "arn:aws:ses:r:1:identity/a@example.org"},
		{`{"Fn::Sub":["${Table.Arn}/${Suffix}${!Literal}",{"Suffix":{"Ref":"AWS::Region"}}]}`, "arn:aws:dynamodb:r:1:table/t/r${Literal}"},
		{`{"Fn::Select":[1,{"Fn::Split":[":",{"Fn::GetAtt":["Table","Arn"]}]}]}`, "aws"},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
			t.Fatal(err)
		}
		got, err := rv.str(v)
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// A user pool's name is not its id.
	rv.r.Names = nil
	if _, err := rv.str(map[string]any{"Ref": "Pool"}); err == nil {
		t.Error("Ref of a user pool without a local id resolved")
	}
}

func TestRewrite(t *testing.T) {
	r := Resolver{Rewrite: map[string]string{
		"arn:aws:s3:::bucket":     "arn:aws:s3:::local",
		"arn:aws:s3:::bucket-two": "arn:aws:s3:::two",
		"a@example.org":           "b@example.org",
	}}
	for in, want := range map[string]string{
		"arn:aws:s3:::bucket":       "arn:aws:s3:::local",
		"arn:aws:s3:::bucket/*":     "arn:aws:s3:::local/*",
		"arn:aws:s3:::bucket-two/k": "arn:aws:s3:::two/k",
		"arn:aws:s3:::bucketx/k":    "arn:aws:s3:::bucketx/k",
		"a@example.org":             "b@example.org",
		"xa@example.org":            "xa@example.org",
	} {
		if got := r.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true},
		{"*", "", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::bb/x", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"*/index/*", "t/index/i", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"exact", "exact", true},
		{"exact", "exac", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
	if !matchAction("s3:Get*", "S3:GETOBJECT") || matchAction("s3:Get*", "s3:PutObject") {
		t.Error("action wildcards are case-insensitive and scoped")
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		c    Condition
		keys Keys
		want bool
	}{
		{Condition{"StringEquals", "ses:FromAddress", []string{"a@x", "b@x"}}, Keys{"ses:fromaddress": "b@x"}, true},
		{Condition{"StringEquals", "ses:FromAddress", []string{"a@x"}}, Keys{"ses:FromAddress": "A@x"}, false},
		{Condition{"StringEqualsIgnoreCase", "ses:FromAddress", []string{"a@x"}}, Keys{"ses:FromAddress": "A@x"}, true},
		{Condition{"StringEquals", "ses:FromAddress", []string{"a@x"}}, nil, false},
		{Condition{"StringNotEquals", "ses:FromAddress", []string{"a@x"}}, nil, true},
		{Condition{"StringNotEquals", "ses:FromAddress", []string{"a@x"}}, Keys{"ses:FromAddress": "a@x"}, false},
		{Condition{"StringLike", "s3:prefix", []string{"approved_egress/*"}}, Keys{"s3:prefix": "approved_egress/r"}, true},
		{Condition{"StringNotLike", "s3:prefix", []string{"approved_egress/*"}}, Keys{"s3:prefix": "approved_egress/r"}, false},
	}
	for _, tt := range tests {
		if got := conditionHolds(tt.c, tt.keys); got != tt.want {
			t.Errorf("%+v with %v = %v", tt.c, tt.keys, got)
		}
	}
}

func TestCoverage(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	unusedBefore := len(a.Unused())
	if unusedBefore != len(a.Grants("")) || len(a.Used()) != 0 {
		t.Fatalf("a fresh authorizer has used grants")
	}
	if err := a.Authorize("EgressApi", "dynamodb:Query", requestsTableARN+"/index/by-status", nil); err != nil {
		t.Fatal(err)
	}
	_ = a.Authorize("EgressApi", "dynamodb:Scan", requestsTableARN, nil) // refused: records nothing
	used := a.Used()
	want := Grant{Function: "EgressApi", Policy: "EgressApiRoleDefaultPolicy2D6C05CB", Statement: 3,
		Action: "dynamodb:Query", Resource: requestsTableARN + "/index/by-status"}
	if len(used) != 1 || used[0] != want {
		t.Errorf("used %v, want [%v]", used, want)
	}
	if got := len(a.Unused()); got != unusedBefore-1 {
		t.Errorf("%d unused grants, want %d", got, unusedBefore-1)
	}
	if slices.Contains(a.Unused(), want) {
		t.Errorf("%v reported unused", want)
	}
}

func TestLoadInlineAndManagedPolicies(t *testing.T) {
	table := map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}
	build := func(managed ...any) []byte {
		var raw map[string]any
		json.Unmarshal(templateWith(t, []any{map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}}), &raw)
		res := raw["Resources"].(map[string]any)
		res["FnRole"].(map[string]any)["Properties"] = map[string]any{
			"Policies": []any{map[string]any{"PolicyName": "inline", "PolicyDocument": map[string]any{
				"Statement": map[string]any{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table}}}},
			"ManagedPolicyArns": managed,
		}
		res["Managed"] = map[string]any{"Type": "AWS::IAM::ManagedPolicy", "Properties": map[string]any{"PolicyDocument": map[string]any{
			"Statement": []any{map[string]any{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table}}}}}
		b, _ := json.Marshal(raw)
		return b
	}
	r := Resolver{Region: localRegion, Account: localAccount, Names: map[string]string{"Table": "t"}}
	basic := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}}}
	p, err := Load(build(basic, map[string]any{"Ref": "Managed"}), r)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthorizer(p)
	for _, action := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} {
		if err := a.Authorize("Fn", action, "arn:aws:dynamodb:us-east-1:000000000000:table/t", nil); err != nil {
			t.Errorf("%s: %v", action, err)
		}
	}
	if skipped := p.Functions["Fn"].Skipped; len(skipped) != 1 || !strings.Contains(skipped[0].Policy, "AWSLambdaBasicExecutionRole") {
		t.Errorf("skipped %+v, want the basic execution role", skipped)
	}
	// A managed policy whose statements are not in the template is an error.
	_, err = Load(build("arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"), r)
	if err == nil || !strings.Contains(err.Error(), "AmazonDynamoDBFullAccess") {
		t.Errorf("got %v, want an error naming the managed policy", err)
	}
}
