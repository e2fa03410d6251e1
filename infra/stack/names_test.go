package stack

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// nameProperties are the properties that set a resource's physical name
// where it must be unique in an account and region. Names scoped to a
// parent (a pool's groups, an API's data sources, an app's branches) are
// not listed.
var nameProperties = []string{
	"TableName", "BucketName", "FunctionName", "RoleName", "ManagedPolicyName", "LogGroupName",
	"QueueName", "TopicName", "StateMachineName", "UserPoolName", "AliasName", "FileSystemName",
	"ConfigurationSetName", "EmailIdentity", "Domain", "DomainName", "AlarmName", "SecurityGroupName",
}

// perStack reports whether a template value differs between stacks by
// construction: it refers to a resource of its own stack or to the stack
// name. References to the account, region and partition do not count.
func perStack(v any) bool {
	s := jsonString(v)
	if strings.Contains(s, `"Fn::GetAtt"`) {
		return true
	}
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		if !slices.Contains([]string{"AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}, m[1]) {
			return true
		}
	}
	return false
}

var refPattern = regexp.MustCompile(`"Ref":"([^"]+)"`)

// physicalNames returns the fixed physical names a template asks for, as
// "<type> <property>=<value>".
func physicalNames(tmpl map[string]any) []string {
	var out []string
	for _, r := range tmpl["Resources"].(map[string]any) {
		typ := get(r, "Type").(string)
		if typ == "AWS::Cognito::UserPoolGroup" || typ == "AWS::AppSync::DataSource" || typ == "AWS::Amplify::Branch" {
			continue
		}
		p, _ := get(r, "Properties").(map[string]any)
		for _, k := range nameProperties {
			if v, ok := p[k]; ok && !perStack(v) {
				out = append(out, typ+" "+k+"="+jsonString(v))
			}
		}
		if typ == "AWS::AppSync::GraphQLApi" || typ == "AWS::Amplify::App" {
			if v, ok := p["Name"]; ok && !perStack(v) {
				out = append(out, typ+" Name="+jsonString(v))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Two deployments with different prefixes fit in one account: their
// stacks share no physical name.
func TestTwoStacksShareNoPhysicalName(t *testing.T) {
	s := synth(t)
	a, b := physicalNames(s.templates[sampleStack]), physicalNames(s.templates[secondStack])
	if len(a) == 0 {
		t.Fatal("no fixed names found at all: is the check looking at the right properties?")
	}
	for _, n := range a {
		if slices.Contains(b, n) {
			t.Errorf("both stacks use %s", n)
		}
	}
	// The sender identity is the one account-wide name a deployment may
	// create; a second deployment sets create_ses_identity=false.
	for _, n := range a {
		if strings.HasPrefix(n, "AWS::SES::EmailIdentity") {
			continue
		}
		if !strings.Contains(n, "egress") {
			t.Errorf("%s does not carry the stack name prefix", n)
		}
	}
}
