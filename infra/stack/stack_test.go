package stack

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/statemachine"
)

// get walks a decoded template value along keys (map keys or list
// indexes), returning nil when the path does not exist.
func get(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// one returns the only resource of type typ.
func one(t *testing.T, tmpl map[string]any, typ string) (string, map[string]any) {
	t.Helper()
	rs := resources(tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	for id, r := range rs {
		return id, r
	}
	return "", nil
}

// ref is CloudFormation's reference to a resource.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

func TestTables(t *testing.T) {
	tmpl := synth(t).templates[sampleStack]
	reqID, req := byPath(t, tmpl, sampleStack, "RequestsTable/Resource")
	_, ev := byPath(t, tmpl, sampleStack, "EventsTable/Resource")
	keyID, _ := byPath(t, tmpl, sampleStack, "StateKey/Resource")
	if n := len(resources(tmpl, "AWS::DynamoDB::Table")); n != 2 {
		t.Fatalf("%d tables", n)
	}
	for name, r := range map[string]map[string]any{"requests": req, "events": ev} {
		p := props(r)
		for path, want := range map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled": true,
			"SSESpecification.SSEEnabled":                                 true,
			"SSESpecification.SSEType":                                    "KMS",
			"SSESpecification.KMSMasterKeyId":                             getAtt(keyID, "Arn"),
			"DeletionProtectionEnabled":                                   true,
		} {
			if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
				t.Errorf("%s table %s = %s, want %s", name, path, jsonString(got), jsonString(want))
			}
		}
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s table is not retained: %v %v", name, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	// The keys and indexes are shared/requests'.
	var indexes []any
	for _, ix := range requests.Indexes {
		indexes = append(indexes, map[string]any{
			"IndexName": ix.Name,
			"KeySchema": []any{
				map[string]any{"AttributeName": ix.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": requests.AttrListKey, "KeyType": "RANGE"},
			},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		})
	}
	want := map[string]any{
		"KeySchema":              []any{map[string]any{"AttributeName": requests.AttrRequestID, "KeyType": "HASH"}},
		"GlobalSecondaryIndexes": indexes,
	}
	for k, w := range want {
		if got := props(req)[k]; !reflect.DeepEqual(got, w) {
			t.Errorf("requests %s = %s, want %s", k, jsonString(got), jsonString(w))
		}
	}
	evKeys := []any{
		map[string]any{"AttributeName": requests.AttrRequestID, "KeyType": "HASH"},
		map[string]any{"AttributeName": requests.AttrEventSeq, "KeyType": "RANGE"},
	}
	if got := props(ev)["KeySchema"]; !reflect.DeepEqual(got, evKeys) {
		t.Errorf("events KeySchema = %s", jsonString(got))
	}
	if props(ev)["GlobalSecondaryIndexes"] != nil {
		t.Error("events table has an index the store does not use")
	}
	_ = reqID
}

func TestKeysRotate(t *testing.T) {
	for name, tmpl := range synth(t).templates {
		keys := resources(tmpl, "AWS::KMS::Key")
		if len(keys) < 2 {
			t.Errorf("%s: %d keys", name, len(keys))
		}
		for id, k := range keys {
			if props(k)["EnableKeyRotation"] != true {
				t.Errorf("%s: key %s does not rotate", name, id)
			}
		}
	}
}

// denySSL reports whether a bucket or queue policy denies requests without
// TLS.
func denySSL(policy map[string]any) bool {
	for _, s := range get(policy, "Properties", "PolicyDocument", "Statement").([]any) {
		if get(s, "Effect") == "Deny" && get(s, "Condition", "Bool", "aws:SecureTransport") == "false" {
			return true
		}
	}
	return false
}

// policyFor returns the bucket policy of bucket id.
func policyFor(t *testing.T, tmpl map[string]any, typ, field, id string) map[string]any {
	t.Helper()
	for _, p := range resources(tmpl, typ) {
		v := props(p)[field]
		if reflect.DeepEqual(v, ref(id)) || reflect.DeepEqual(v, []any{ref(id)}) {
			return p
		}
	}
	t.Fatalf("no %s for %s", typ, id)
	return nil
}

func TestStagingBucket(t *testing.T) {
	tmpl := synth(t).templates[sampleStack]
	id, b := byPath(t, tmpl, sampleStack, "StagingBucket/Resource")
	logsID, logs := byPath(t, tmpl, sampleStack, "AccessLogsBucket/Resource")
	keyID, _ := byPath(t, tmpl, sampleStack, "DataKey/Resource")
	p := props(b)
	for path, want := range map[string]any{
		"VersioningConfiguration.Status": "Enabled",
		"BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm":   "aws:kms",
		"BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.KMSMasterKeyID": getAtt(keyID, "Arn"),
		"BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled":                             true,
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
		},
		"LoggingConfiguration.DestinationBucketName":                                        ref(logsID),
		"LifecycleConfiguration.Rules.0.AbortIncompleteMultipartUpload.DaysAfterInitiation": 1.0,
		"LifecycleConfiguration.Rules.0.NoncurrentVersionExpiration.NoncurrentDays":         30.0,
		"LifecycleConfiguration.Rules.0.Status":                                             "Enabled",
		"OwnershipControls.Rules.0.ObjectOwnership":                                         "BucketOwnerEnforced",
	} {
		if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
			t.Errorf("staging %s = %s, want %s", path, jsonString(got), jsonString(want))
		}
	}
	if !denySSL(policyFor(t, tmpl, "AWS::S3::BucketPolicy", "Bucket", id)) {
		t.Error("staging bucket allows requests without TLS")
	}
	if !denySSL(policyFor(t, tmpl, "AWS::S3::BucketPolicy", "Bucket", logsID)) {
		t.Error("access log bucket allows requests without TLS")
	}
	if got := get(props(logs), "PublicAccessBlockConfiguration", "RestrictPublicBuckets"); got != true {
		t.Error("access log bucket is not private")
	}
	// Only the Full stack shares staged data with the IG workspaces account.
	if strings.Contains(jsonString(policyFor(t, tmpl, "AWS::S3::BucketPolicy", "Bucket", id)), "333333333333") {
		t.Error("Sample shares the staging bucket")
	}
	full := synth(t).templates[fullStack]
	fid, _ := byPath(t, full, fullStack, "StagingBucket/Resource")
	shared := false
	for _, s := range get(policyFor(t, full, "AWS::S3::BucketPolicy", "Bucket", fid), "Properties", "PolicyDocument", "Statement").([]any) {
		if strings.Contains(jsonString(get(s, "Principal")), ":iam::333333333333:root") && get(s, "Effect") == "Allow" {
			for _, a := range actions(s) {
				if !slices.Contains([]string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"}, a) {
					t.Errorf("IG workspaces account may %s", a)
				}
			}
			shared = true
		}
	}
	if !shared {
		t.Error("ig_workspaces_account cannot read the staging bucket")
	}
}

func TestDeadLetterQueueAndSubscription(t *testing.T) {
	tmpl := synth(t).templates[sampleStack]
	if n := len(resources(tmpl, "AWS::SQS::Queue")); n != 2 {
		t.Errorf("%d queues, want the intake's and execution-ended's dead-letter queues", n)
	}
	for id, q := range resources(tmpl, "AWS::SQS::Queue") {
		if props(q)["SqsManagedSseEnabled"] != true && props(q)["KmsMasterKeyId"] == nil {
			t.Errorf("dead-letter queue %s is not encrypted", id)
		}
		if !denySSL(policyFor(t, tmpl, "AWS::SQS::QueuePolicy", "Queues", id)) {
			t.Errorf("dead-letter queue %s allows requests without TLS", id)
		}
	}
	qID, _ := byPath(t, tmpl, sampleStack, "IntakeDeadLetterQueue/Resource")
	fnID, fn := byPath(t, tmpl, sampleStack, "StartWorkflow/Resource")
	if got := get(props(fn), "DeadLetterConfig", "TargetArn"); !reflect.DeepEqual(got, getAtt(qID, "Arn")) {
		t.Errorf("start-workflow dead-letter target = %s", jsonString(got))
	}
	found := false
	for _, s := range resources(tmpl, "AWS::SNS::Subscription") {
		p := props(s)
		// The notices topic's subscription is TestNoticesTopic's.
		if p["Protocol"] != "lambda" || p["TopicArn"] == nil || get(p, "TopicArn", "Ref") != nil {
			continue
		}
		found = true
		cfg := synth(t).configs[sampleStack]
		if p["TopicArn"] != cfg.SWBNotificationTopicARN || !reflect.DeepEqual(p["Endpoint"], getAtt(fnID, "Arn")) {
			t.Errorf("subscription %s", jsonString(p))
		}
		if !reflect.DeepEqual(get(p, "RedrivePolicy", "deadLetterTargetArn"), getAtt(qID, "Arn")) {
			t.Errorf("subscription has no dead-letter queue: %s", jsonString(p))
		}
	}
	if !found {
		t.Error("start-workflow is not subscribed to the SWB topic")
	}
}

// Every row of the functions table is deployed as its row says.
func TestFunctions(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		roles := map[string]string{}
		if n := len(resources(tmpl, "AWS::Lambda::Function")); n != len(functions.All()) {
			t.Errorf("%s: %d functions, the table has %d", stackName, n, len(functions.All()))
		}
		for _, row := range functions.All() {
			name := row.Name
			_, fn := byPath(t, tmpl, stackName, row.ID+"/Resource")
			p := props(fn)
			for path, want := range map[string]any{
				"Runtime":                 "provided.al2023",
				"Architectures":           []any{"arm64"},
				"Handler":                 "bootstrap",
				"TracingConfig.Mode":      "Active",
				"LoggingConfig.LogFormat": "JSON",
				"MemorySize":              float64(row.MemoryMB),
				"Timeout":                 row.Timeout.Seconds(),
				"Description":             row.Description,
			} {
				if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: %s = %s, want %s", stackName, name, path, jsonString(got), jsonString(want))
				}
			}
			logsID, logs := byPath(t, tmpl, stackName, row.ID+"Logs/Resource")
			if !reflect.DeepEqual(get(p, "LoggingConfig", "LogGroup"), ref(logsID)) || props(logs)["RetentionInDays"] != 365.0 {
				t.Errorf("%s %s: log group %s, retention %v", stackName, name, jsonString(get(p, "LoggingConfig")), props(logs)["RetentionInDays"])
			}
			roleID, _ := byPath(t, tmpl, stackName, row.ID+"Role/Resource")
			if !reflect.DeepEqual(p["Role"], getAtt(roleID, "Arn")) {
				t.Errorf("%s %s: role %s", stackName, name, jsonString(p["Role"]))
			}
			if other, ok := roles[roleID]; ok {
				t.Errorf("%s: %s and %s share a role", stackName, name, other)
			}
			roles[roleID] = name
			env, _ := get(p, "Environment", "Variables").(map[string]any)
			for _, v := range row.Required {
				if env[v] == nil || env[v] == "" {
					t.Errorf("%s %s: required variable %s is not set", stackName, name, v)
				}
			}
			for v := range env {
				if !row.Reads(v) {
					t.Errorf("%s %s: variable %s is set but not read", stackName, name, v)
				}
			}
			inVPC := p["VpcConfig"] != nil
			if wantVPC := stackName == fullStack && name == "copy-to-datalake"; inVPC != wantVPC {
				t.Errorf("%s %s: in a VPC: %v", stackName, name, inVPC)
			}
		}
	}
}

// The deployed definition is the repository file: AWS substitutes the
// same values statemachine.Definition does.
func TestStateMachineDefinition(t *testing.T) {
	tmpl := synth(t).templates[sampleStack]
	_, sm := one(t, tmpl, "AWS::StepFunctions::StateMachine")
	p := props(sm)
	raw, ok := p["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString is not the file as text: %s", jsonString(p["DefinitionString"]))
	}
	if raw != string(statemachine.Raw()) {
		t.Fatal("DefinitionString is not statemachine/egress.asl.json")
	}
	// Resolve each Fn::GetAtt [<function>, Arn] to a stand-in ARN.
	subs := map[string]string{}
	for placeholder, v := range p["DefinitionSubstitutions"].(map[string]any) {
		att, ok := get(v, "Fn::GetAtt").([]any)
		if !ok || att[1] != "Arn" {
			t.Fatalf("substitution %s = %s, want a function's Arn", placeholder, jsonString(v))
		}
		subs[placeholder] = "arn:aws:lambda:eu-west-2:123456789012:function:" + att[0].(string)
	}
	for _, fn := range functions.All() {
		if fn.Placeholder == "" {
			continue
		}
		id, _ := byPath(t, tmpl, sampleStack, fn.ID+"/Resource")
		if want := "arn:aws:lambda:eu-west-2:123456789012:function:" + id; subs[fn.Placeholder] != want {
			t.Errorf("%s = %s, want %s's ARN", fn.Placeholder, subs[fn.Placeholder], fn.Name)
		}
	}
	want, err := statemachine.Definition(subs)
	if err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).ReplaceAllStringFunc(raw, func(m string) string {
		return subs[m[2:len(m)-1]]
	})
	if got != string(want) {
		t.Fatal("definition after substitution differs from statemachine.Definition")
	}
	for path, want := range map[string]any{
		"LoggingConfiguration.Level":                "ALL",
		"LoggingConfiguration.IncludeExecutionData": false,
		"TracingConfiguration.Enabled":              true,
		"StateMachineType":                          "STANDARD",
	} {
		if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
			t.Errorf("state machine %s = %s, want %s", path, jsonString(got), jsonString(want))
		}
	}
}

func TestAPI(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		cfg := s.configs[stackName]
		apiID, gql := one(t, tmpl, "AWS::AppSync::GraphQLApi")
		p := props(gql)
		for path, want := range map[string]any{
			"AuthenticationType":              "AMAZON_COGNITO_USER_POOLS",
			"LogConfig.FieldLogLevel":         "ERROR",
			"LogConfig.ExcludeVerboseContent": true,
			"XrayEnabled":                     true,
			"IntrospectionConfig":             "DISABLED",
			"QueryDepthLimit":                 float64(api.MaxQueryDepth),
			"ResolverCountLimit":              float64(api.MaxResolverCount),
		} {
			if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
				t.Errorf("%s API %s = %s, want %s", stackName, path, jsonString(got), jsonString(want))
			}
		}
		_, schema := one(t, tmpl, "AWS::AppSync::GraphQLSchema")
		if got := props(schema)["Definition"]; got != api.SchemaFor(cfg.ReviewerRoles, nil, cfg.ResearcherGroup) {
			t.Errorf("%s: schema is not api.SchemaFor(egress_reviewer_roles)", stackName)
		}
		_, ds := one(t, tmpl, "AWS::AppSync::DataSource")
		fnID, _ := byPath(t, tmpl, stackName, "EgressApi/Resource")
		if props(ds)["Type"] != "AWS_LAMBDA" || !reflect.DeepEqual(get(props(ds), "LambdaConfig", "LambdaFunctionArn"), getAtt(fnID, "Arn")) {
			t.Errorf("%s data source %s", stackName, jsonString(props(ds)))
		}
		var got []string
		for _, r := range resources(tmpl, "AWS::AppSync::Resolver") {
			rp := props(r)
			if rp["RequestMappingTemplate"] != nil || rp["Kind"] != "UNIT" || rp["DataSourceName"] != props(ds)["Name"] {
				t.Errorf("%s: resolver %s.%s is not a direct Lambda resolver", stackName, rp["TypeName"], rp["FieldName"])
			}
			got = append(got, rp["TypeName"].(string)+"."+rp["FieldName"].(string))
		}
		sort.Strings(got)
		// The frontend's three and the additions: exactly the resolver's
		// dispatch.
		want := slices.Sorted(slices.Values(api.FieldResolvers))
		for _, f := range []string{"Mutation.downloadData", "Mutation.updateRequest", "Query.listRequests"} {
			if !slices.Contains(want, f) {
				t.Errorf("the frontend's %s has no resolver", f)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s resolvers %v, want %v", stackName, got, want)
		}
		_ = apiID
	}
	full := s.templates[fullStack]
	var waf []string
	for _, a := range resources(full, "AWS::WAFv2::WebACLAssociation") {
		waf = append(waf, jsonString(props(a)["ResourceArn"])+" "+props(a)["WebACLArn"].(string))
	}
	if len(waf) != 3 || len(resources(s.templates[sampleStack], "AWS::WAFv2::WebACLAssociation")) != 0 {
		t.Errorf("web ACL associations: Full %v; Sample must have none", waf)
	}
}

func TestUserPool(t *testing.T) {
	s := synth(t)
	tmpl := s.templates[sampleStack]
	cfg := s.configs[sampleStack]
	poolID, pool := one(t, tmpl, "AWS::Cognito::UserPool")
	preID, _ := byPath(t, tmpl, sampleStack, "PreTokenGeneration/Resource")
	p := props(pool)
	for path, want := range map[string]any{
		"AdminCreateUserConfig.AllowAdminCreateUserOnly": true,
		"MfaConfiguration":                       "ON",
		"EnabledMfas":                            []any{"SOFTWARE_TOKEN_MFA"},
		"UserPoolAddOns.AdvancedSecurityMode":    "ENFORCED",
		"DeletionProtection":                     "ACTIVE",
		"Policies.PasswordPolicy.MinimumLength":  12.0,
		"Policies.PasswordPolicy.RequireSymbols": true,
		"LambdaConfig.PreTokenGenerationConfig":  map[string]any{"LambdaArn": getAtt(preID, "Arn"), "LambdaVersion": "V2_0"},
		"UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate": []any{"email"},
	} {
		if got := get(p, strings.Split(path, ".")...); !reflect.DeepEqual(got, want) {
			t.Errorf("user pool %s = %s, want %s", path, jsonString(got), jsonString(want))
		}
	}
	var groups []string
	for _, g := range resources(tmpl, "AWS::Cognito::UserPoolGroup") {
		if !reflect.DeepEqual(props(g)["UserPoolId"], ref(poolID)) {
			t.Errorf("group in another pool: %s", jsonString(props(g)))
		}
		groups = append(groups, props(g)["GroupName"].(string))
	}
	sort.Strings(groups)
	wantGroups := slices.Clone(cfg.ReviewerRoles)
	if cfg.ResearcherGroup != "" {
		wantGroups = append(wantGroups, cfg.ResearcherGroup)
	}
	if want := slices.Sorted(slices.Values(wantGroups)); !slices.Equal(groups, want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
	// researcher_group (set in Full) adds the researchers' group.
	var fullGroups []string
	for _, g := range resources(s.templates[fullStack], "AWS::Cognito::UserPoolGroup") {
		fullGroups = append(fullGroups, props(g)["GroupName"].(string))
	}
	if rg := s.configs[fullStack].ResearcherGroup; rg == "" || !slices.Contains(fullGroups, rg) {
		t.Errorf("Full groups %v lack researcher_group %q", fullGroups, rg)
	}
	_, domain := one(t, tmpl, "AWS::Cognito::UserPoolDomain")
	if got := props(domain)["Domain"]; got != cfg.CognitoDomainPrefix() {
		t.Errorf("domain %v", got)
	}
	_, client := poolClient(t, tmpl, "WebClient")
	cp := props(client)
	if cp["GenerateSecret"] != false || slices.Contains(cp["WriteAttributes"].([]any), "custom:groups") {
		t.Errorf("client: %s", jsonString(cp))
	}

	full := s.templates[fullStack]
	_, idp := one(t, full, "AWS::Cognito::UserPoolIdentityProvider")
	if props(idp)["ProviderType"] != "SAML" || get(props(idp), "AttributeMapping", "custom:groups") != DefaultGroupsAttribute {
		t.Errorf("SAML provider %s", jsonString(props(idp)))
	}
	_, fclient := poolClient(t, full, "WebClient")
	if !slices.Contains(props(fclient)["SupportedIdentityProviders"].([]any), "TREIdP") {
		t.Errorf("client does not offer the SAML provider: %s", jsonString(props(fclient)))
	}
	_, fdomain := one(t, full, "AWS::Cognito::UserPoolDomain")
	if props(fdomain)["Domain"] != "auth.egress.tre.example.org" || get(props(fdomain), "CustomDomainConfig", "CertificateArn") == nil {
		t.Errorf("custom domain %s", jsonString(props(fdomain)))
	}
	_, record := one(t, full, "AWS::Route53::RecordSet")
	if props(record)["Name"] != "auth.egress.tre.example.org." || props(record)["HostedZoneId"] != "Z0123456789ABCDEFGHIJ" {
		t.Errorf("auth record %s", jsonString(props(record)))
	}
}

func TestWebAppAndOutputs(t *testing.T) {
	s := synth(t)
	tmpl := s.templates[sampleStack]
	appID, app := one(t, tmpl, "AWS::Amplify::App")
	_, branch := byPath(t, tmpl, sampleStack, "WebBranch")
	if props(app)["Platform"] != "WEB" || !reflect.DeepEqual(props(branch)["AppId"], getAtt(appID, "AppId")) ||
		props(branch)["BranchName"] != WebBranch || props(branch)["EnableAutoBuild"] != false {
		t.Errorf("Amplify app %s branch %s", jsonString(props(app)), jsonString(props(branch)))
	}
	if len(resources(tmpl, "AWS::Amplify::Domain")) != 0 {
		t.Error("Sample has a custom domain")
	}
	_, domain := one(t, s.templates[fullStack], "AWS::Amplify::Domain")
	if got := get(props(domain), "SubDomainSettings", "0", "Prefix"); got != "egress" || props(domain)["DomainName"] != "tre.example.org" {
		t.Errorf("web domain %s", jsonString(props(domain)))
	}
	outputs := tmpl["Outputs"].(map[string]any)
	for _, k := range []string{"GraphQLEndpoint", "Region", "UserPoolId", "UserPoolClientId", "CognitoDomain",
		"ReviewerGroups", "MaxDownloads", "WebAppUrl", "AmplifyAppId", "AmplifyBranch", "RequestsTableName", "EventsTableName"} {
		if get(outputs, k, "Value") == nil {
			t.Errorf("no output %s", k)
		}
	}
	if got := get(outputs, "ReviewerGroups", "Value"); got != "InformationGovernance,TREAdmin" {
		t.Errorf("ReviewerGroups = %v", got)
	}
	if got := get(outputs, "MaxDownloads", "Value"); got != "3" {
		t.Errorf("MaxDownloads = %v", got)
	}
}

func TestMailAndAlarms(t *testing.T) {
	s := synth(t)
	tmpl := s.templates[sampleStack]
	_, set := one(t, tmpl, "AWS::SES::ConfigurationSet")
	if get(props(set), "DeliveryOptions", "TlsPolicy") != "REQUIRE" {
		t.Errorf("configuration set %s", jsonString(props(set)))
	}
	_, identity := one(t, tmpl, "AWS::SES::EmailIdentity")
	if props(identity)["EmailIdentity"] != "tre-admin@example.org" {
		t.Errorf("identity %s", jsonString(props(identity)))
	}
	if n := len(resources(s.templates[secondStack], "AWS::SES::EmailIdentity")); n != 0 {
		t.Errorf("create_ses_identity=false still creates %d identities", n)
	}

	topicID, topic := byPath(t, tmpl, sampleStack, "AlarmTopic/Resource")
	if props(topic)["KmsMasterKeyId"] == nil {
		t.Error("alarm topic is not encrypted")
	}
	metrics := map[string]bool{}
	for id, a := range resources(tmpl, "AWS::CloudWatch::Alarm") {
		p := props(a)
		if !reflect.DeepEqual(p["AlarmActions"], []any{ref(topicID)}) {
			t.Errorf("alarm %s does not notify the alarm topic", id)
		}
		if p["Namespace"] != nil {
			metrics[p["Namespace"].(string)+"/"+p["MetricName"].(string)] = true
		}
		// A metric math alarm: the metrics of its expression.
		queries, _ := p["Metrics"].([]any)
		for _, q := range queries {
			if m := get(q, "MetricStat", "Metric"); m != nil {
				namespace, _ := get(m, "Namespace").(string)
				name, _ := get(m, "MetricName").(string)
				metrics[namespace+"/"+name] = true
			}
		}
	}
	for _, m := range []string{"AWS/States/ExecutionsFailed", "AWS/States/ExecutionsTimedOut", "AWS/States/ExecutionsAborted",
		"AWS/SQS/ApproximateNumberOfMessagesVisible", "AWS/Events/FailedInvocations", "AWS/Lambda/Errors", "AWS/AppSync/5XXError"} {
		if !metrics[m] {
			t.Errorf("no alarm on %s (have %v)", m, metrics)
		}
	}
}

// Each approval stage has its notice topic, as the original had: encrypted,
// SSL only, no subscriptions (admins manage them), its ARN an output and
// in store-task-token's REVIEWER_TOPICS under the stage's group, which
// also reads the user pool's id.
func TestReviewerTopics(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl, cfg := s.templates[stackName], s.configs[stackName]
		chain, err := egress.NewChain(cfg.ReviewerRoles, cfg.SingleApproval)
		if err != nil {
			t.Fatal(err)
		}
		if n, want := len(resources(tmpl, "AWS::SNS::Topic")), len(chain.Stages)+2; n != want {
			t.Errorf("%s: %d topics, want the alarm topic, the notices topic and one per stage (%d)", stackName, n, want)
		}
		keyID, _ := byPath(t, tmpl, stackName, "StateKey/Resource")
		_, fn := byPath(t, tmpl, stackName, "StoreTaskToken/Resource")
		env := get(props(fn), "Environment", "Variables").(map[string]any)
		poolID, _ := one(t, tmpl, "AWS::Cognito::UserPool")
		if !reflect.DeepEqual(env[config.EnvUserPoolID], ref(poolID)) {
			t.Errorf("%s: %s = %s, want the pool", stackName, config.EnvUserPoolID, jsonString(env[config.EnvUserPoolID]))
		}
		topicsEnv := render(env[config.EnvReviewerTopics])
		outputs := tmpl["Outputs"].(map[string]any)
		for i, st := range chain.Stages {
			id, topic := byPath(t, tmpl, stackName, fmt.Sprintf("ReviewerTopic%d/Resource", i))
			if !reflect.DeepEqual(props(topic)["KmsMasterKeyId"], getAtt(keyID, "Arn")) {
				t.Errorf("%s: topic %s is not encrypted with the state key: %s", stackName, id, jsonString(props(topic)["KmsMasterKeyId"]))
			}
			if !denySSL(policyFor(t, tmpl, "AWS::SNS::TopicPolicy", "Topics", id)) {
				t.Errorf("%s: topic %s allows requests without TLS", stackName, id)
			}
			for sid, sub := range resources(tmpl, "AWS::SNS::Subscription") {
				if reflect.DeepEqual(props(sub)["TopicArn"], ref(id)) {
					t.Errorf("%s: the stack subscribes %s to %s; admins manage the subscriptions", stackName, sid, id)
				}
			}
			if want := fmt.Sprintf("%q:\"<%s>\"", st.Group, id); !strings.Contains(topicsEnv, want) {
				t.Errorf("%s: %s = %s, want %s", stackName, config.EnvReviewerTopics, topicsEnv, want)
			}
			if out := outputs[fmt.Sprintf("ReviewerTopic%dArn", i)]; !reflect.DeepEqual(get(out, "Value"), ref(id)) {
				t.Errorf("%s: output of topic %s: %s", stackName, id, jsonString(out))
			}
		}
	}
}

// efs_mount_path adds the VPC, EFS and mount; without it there is no VPC.
func TestEFSOption(t *testing.T) {
	s := synth(t)
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EFS::FileSystem", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"} {
		if n := len(resources(s.templates[sampleStack], typ)); n != 0 {
			t.Errorf("Sample has %d %s", n, typ)
		}
	}
	tmpl := s.templates[fullStack]
	one(t, tmpl, "AWS::EC2::VPC")
	one(t, tmpl, "AWS::EC2::FlowLog")
	for _, typ := range []string{"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway"} {
		if n := len(resources(tmpl, typ)); n != 0 {
			t.Errorf("the VPC has %d %s", n, typ)
		}
	}
	for _, sub := range resources(tmpl, "AWS::EC2::Subnet") {
		if props(sub)["MapPublicIpOnLaunch"] != false {
			t.Errorf("subnet is public: %s", jsonString(props(sub)))
		}
	}
	var endpoints []string
	for _, e := range resources(tmpl, "AWS::EC2::VPCEndpoint") {
		if props(e)["VpcEndpointType"] != "Gateway" {
			t.Errorf("endpoint %s", jsonString(props(e)))
		}
		endpoints = append(endpoints, jsonString(props(e)["ServiceName"]))
	}
	if len(endpoints) != 2 || !strings.Contains(strings.Join(endpoints, " "), ".s3") || !strings.Contains(strings.Join(endpoints, " "), ".dynamodb") {
		t.Errorf("gateway endpoints %v", endpoints)
	}
	fsID, fs := one(t, tmpl, "AWS::EFS::FileSystem")
	if props(fs)["Encrypted"] != true {
		t.Error("file system is not encrypted")
	}
	apID, ap := one(t, tmpl, "AWS::EFS::AccessPoint")
	if !reflect.DeepEqual(props(ap)["FileSystemId"], ref(fsID)) {
		t.Errorf("access point %s", jsonString(props(ap)))
	}
	_, fn := byPath(t, tmpl, fullStack, "CopyToDatalake/Resource")
	p := props(fn)
	mount := get(p, "FileSystemConfigs", "0")
	if get(mount, "LocalMountPath") != "/mnt/egress" || !strings.Contains(jsonString(get(mount, "Arn")), apID) {
		t.Errorf("mount %s", jsonString(mount))
	}
	if get(p, "Environment", "Variables", EnvEFSMountPath) != "/mnt/egress" {
		t.Errorf("release function is not told the mount path: %s", jsonString(get(p, "Environment")))
	}
	if got := get(props(mustByPath(t, s.templates[sampleStack], sampleStack, "CopyToDatalake/Resource")), "Environment", "Variables", EnvEFSMountPath); got != nil {
		t.Errorf("Sample release function has %s=%v", EnvEFSMountPath, got)
	}
}

func mustByPath(t *testing.T, tmpl map[string]any, stackName, path string) map[string]any {
	t.Helper()
	_, r := byPath(t, tmpl, stackName, path)
	return r
}

func TestRenderedSchemaParses(t *testing.T) {
	fields, err := resolverFields(api.SchemaFor([]string{"IG", "RIT"}, nil, "Researcher"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(fields, field{"Mutation", "updateRequest"}) || !slices.Contains(fields, field{"Request", "files"}) {
		t.Fatalf("fields %v", fields)
	}
	if _, err := resolverFields("type Query { a: String }"); err == nil {
		t.Fatal("a schema without Request.files was accepted")
	}
}
