package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/cognito"
)

// The frontend sends access tokens: the trigger runs as event version 2,
// which needs the Essentials or Plus plan, and the client allows the
// scopes its hosted-UI sign-in asks for.
func TestUserPoolIssuesAccessTokensTheAPIReads(t *testing.T) {
	s := synth(t)
	for _, name := range []string{sampleStack, fullStack} {
		tmpl := s.templates[name]
		preID, _ := byPath(t, tmpl, name, "PreTokenGeneration/Resource")
		_, pool := one(t, tmpl, "AWS::Cognito::UserPool")
		p := props(pool)
		if got := get(p, "LambdaConfig", "PreTokenGenerationConfig"); jsonString(got) != jsonString(map[string]any{"LambdaArn": getAtt(preID, "Arn"), "LambdaVersion": "V2_0"}) {
			t.Errorf("%s: trigger %s, want the pre-token-generation function at V2_0", name, jsonString(got))
		}
		if got := get(p, "LambdaConfig", "PreTokenGeneration"); got != nil {
			t.Errorf("%s: a version 1 trigger is configured too: %s", name, jsonString(got))
		}
		if tier := p["UserPoolTier"]; tier != "ESSENTIALS" && tier != "PLUS" {
			t.Errorf("%s: feature plan %v cannot run a version 2 trigger", name, tier)
		}
		_, client := poolClient(t, tmpl, "WebClient")
		scopes := list(props(client)["AllowedOAuthScopes"])
		for _, want := range []string{"email", "openid", "profile", cognito.AdminScope} {
			if !slices.Contains(scopes, want) {
				t.Errorf("%s: client scopes %q lack %s", name, scopes, want)
			}
		}
	}
}

// No user may write the attributes that decide what they may do: the SWB
// user id never; the groups attribute only where an identity provider maps
// it (Cognito writes mapped attributes through the client), and only
// federated users' groups attribute counts, whose tokens the trigger
// strips of the self-service scope.
func TestClientCannotWriteAuthorityAttributes(t *testing.T) {
	s := synth(t)
	tests := []struct {
		stack       string
		groupsWrite bool
	}{
		{sampleStack, false},
		{fullStack, true}, // SAML provider mapping custom:groups
	}
	for _, tt := range tests {
		tmpl := s.templates[tt.stack]
		_, pool := one(t, tmpl, "AWS::Cognito::UserPool")
		var schema []string
		for _, a := range props(pool)["Schema"].([]any) {
			schema = append(schema, "custom:"+a.(map[string]any)["Name"].(string))
		}
		if !slices.Contains(schema, cognito.UserIDAttribute) {
			t.Errorf("%s: no %s attribute in %q", tt.stack, cognito.UserIDAttribute, schema)
		}
		_, client := poolClient(t, tmpl, "WebClient")
		write := list(props(client)["WriteAttributes"])
		if len(write) == 0 {
			t.Fatalf("%s: no WriteAttributes: the client could write every attribute", tt.stack)
		}
		if slices.Contains(write, cognito.UserIDAttribute) {
			t.Errorf("%s: the client may write %s: %q", tt.stack, cognito.UserIDAttribute, write)
		}
		if got := slices.Contains(write, cognito.DefaultGroupsAttribute); got != tt.groupsWrite {
			t.Errorf("%s: client writes %s: %v, want %v (%q)", tt.stack, cognito.DefaultGroupsAttribute, got, tt.groupsWrite, write)
		}
		// Every writable custom attribute is one an identity provider maps.
		mapped := map[string]bool{}
		for _, idp := range resources(tmpl, "AWS::Cognito::UserPoolIdentityProvider") {
			for k := range get(props(idp), "AttributeMapping").(map[string]any) {
				mapped[k] = true
			}
		}
		for _, a := range write {
			if strings.HasPrefix(a, "custom:") && !mapped[a] {
				t.Errorf("%s: the client may write %s, which no identity provider maps", tt.stack, a)
			}
		}
	}
}

// poolClient is the user pool's app client name (WebClient, CliClient).
func poolClient(t *testing.T, tmpl map[string]any, name string) (string, map[string]any) {
	t.Helper()
	for id, r := range resources(tmpl, "AWS::Cognito::UserPoolClient") {
		md, _ := r["Metadata"].(map[string]any)
		if p, _ := md["aws:cdk:path"].(string); strings.HasSuffix(p, "/"+name+"/Resource") {
			return id, r
		}
	}
	t.Fatalf("no app client %s", name)
	return "", nil
}

// egressctl's client: public, the code grant only, the loopback redirect
// egressctl listens on, the API's scopes without the self-service one,
// the web client's identity providers and writable attributes; its id and
// redirect are stack outputs egressctl reads.
func TestCLIClient(t *testing.T) {
	s := synth(t)
	for _, name := range []string{sampleStack, fullStack} {
		tmpl := s.templates[name]
		id, cli := poolClient(t, tmpl, "CliClient")
		_, web := poolClient(t, tmpl, "WebClient")
		p, wp := props(cli), props(web)
		if p["GenerateSecret"] != false || jsonString(p["AllowedOAuthFlows"]) != `["code"]` || p["AllowedOAuthFlowsUserPoolClient"] != true {
			t.Errorf("%s: CLI client %s", name, jsonString(p))
		}
		if got := jsonString(p["CallbackURLs"]); got != `["http://localhost:53682/callback"]` {
			t.Errorf("%s: callback %s", name, got)
		}
		if got := list(p["AllowedOAuthScopes"]); !slices.Equal(sorted(got), sorted(cognito.CLIScopes)) || slices.Contains(got, cognito.AdminScope) {
			t.Errorf("%s: scopes %q", name, got)
		}
		if jsonString(p["SupportedIdentityProviders"]) != jsonString(wp["SupportedIdentityProviders"]) ||
			jsonString(p["WriteAttributes"]) != jsonString(wp["WriteAttributes"]) {
			t.Errorf("%s: CLI client providers/attributes %s, web client's %s", name, jsonString(p), jsonString(wp))
		}
		if len(list(p["ExplicitAuthFlows"])) > 1 { // only the refresh flow CDK always allows
			t.Errorf("%s: explicit auth flows %q", name, list(p["ExplicitAuthFlows"]))
		}
		outputs := tmpl["Outputs"].(map[string]any)
		if got := get(outputs, "CliClientId", "Value"); jsonString(got) != jsonString(ref(id)) {
			t.Errorf("%s: CliClientId %s", name, jsonString(got))
		}
		if got := get(outputs, "CliCallbackUrl", "Value"); got != "http://localhost:53682/callback" {
			t.Errorf("%s: CliCallbackUrl %v", name, got)
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
