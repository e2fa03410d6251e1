package cognito

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`["InformationGovernance","TREAdmin"]`, []string{"InformationGovernance", "TREAdmin"}},
		{`[InformationGovernance, TREAdmin]`, []string{"InformationGovernance", "TREAdmin"}},
		{`InformationGovernance,TREAdmin`, []string{"InformationGovernance", "TREAdmin"}},
		{` TREAdmin `, []string{"TREAdmin"}},
		{`[]`, []string{}},
		{`,,`, []string{}},
	}
	for _, tt := range tests {
		if got := ParseGroups(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseGroups(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var (
	trigger       = PreTokenGeneration{Groups: []string{"InformationGovernance", "TREAdmin"}}
	triggerSource = []string{TriggerHostedAuth, TriggerAuthentication, TriggerRefreshTokens}
)

func federatedAttrs() map[string]string {
	return map[string]string{"sub": "s-1", "email": "a@example.org", "email_verified": "true",
		"cognito:user_status": "EXTERNAL_PROVIDER", "identities": `[{"providerName":"idp","providerType":"SAML"}]`}
}

func run(t *testing.T, source string, attrs map[string]string, groups, scopes []string) Event {
	t.Helper()
	var ev Event
	ev.Version, ev.TriggerSource = "2", source
	ev.Request.UserAttributes = attrs
	ev.Request.GroupConfiguration.GroupsToOverride = groups
	ev.Request.Scopes = scopes
	out, err := trigger.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Federated users: the attribute's exact names are added to Cognito's
// groups, on sign-in and on refresh alike.
func TestFederatedGroups(t *testing.T) {
	tests := []struct {
		name     string
		attr     *string // nil: attribute absent
		existing []string
		want     []string
	}{
		{"no attribute keeps Cognito's groups", nil, []string{"TREAdmin"}, []string{"TREAdmin"}},
		{"exact names", ptr("[InformationGovernance, TREAdmin]"), nil, []string{"InformationGovernance", "TREAdmin"}},
		{"substrings grant nothing", ptr("[InformationGovernanceReadOnly, xTREAdmin, TREAdmins, informationgovernance]"), nil, []string{}},
		{"other IdP groups are not copied", ptr("Researchers,TREAdmin"), nil, []string{"TREAdmin"}},
		{"Cognito groups are kept, not duplicated", ptr(`["TREAdmin"]`), []string{"TREAdmin", "Admins"}, []string{"TREAdmin", "Admins"}},
		{"empty attribute", ptr("  "), []string{"TREAdmin"}, []string{"TREAdmin"}},
	}
	for _, source := range triggerSource {
		for _, tt := range tests {
			t.Run(source+"/"+tt.name, func(t *testing.T) {
				attrs := federatedAttrs()
				if tt.attr != nil {
					attrs[DefaultGroupsAttribute] = *tt.attr
				}
				out := run(t, source, attrs, tt.existing, nil)
				// V2's group override applies to both tokens.
				if got := out.Response.ClaimsAndScopeOverrideDetails.GroupOverrideDetails.GroupsToOverride; !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("groups %q, want %q", got, tt.want)
				}
			})
		}
	}
}

// A pool user (not federated) may have written the attribute on their own
// profile: it grants nothing, on sign-in or refresh.
func TestPoolUserCannotGrantThemselvesGroups(t *testing.T) {
	for _, source := range triggerSource {
		for _, attrs := range []map[string]string{
			{"cognito:user_status": "CONFIRMED"},
			// EXTERNAL_PROVIDER without an identities attribute is not trusted either.
			{"cognito:user_status": "EXTERNAL_PROVIDER"},
		} {
			attrs[DefaultGroupsAttribute] = "InformationGovernance,TREAdmin"
			out := run(t, source, attrs, []string{"Researchers"}, []string{AdminScope})
			d := out.Response.ClaimsAndScopeOverrideDetails
			if got := d.GroupOverrideDetails.GroupsToOverride; !reflect.DeepEqual(got, []string{"Researchers"}) {
				t.Fatalf("%s %s user got groups %q", source, attrs["cognito:user_status"], got)
			}
			if d.AccessTokenGeneration.ScopesToSuppress != nil {
				t.Fatalf("pool user's scopes suppressed: %q", d.AccessTokenGeneration.ScopesToSuppress)
			}
		}
	}
}

// A federated user's access token never carries the self-service scope:
// with it they could write the groups attribute, which the app client must
// be able to write for the identity provider's mapping, and refresh.
func TestFederatedUserLosesSelfServiceScope(t *testing.T) {
	for _, source := range triggerSource {
		out := run(t, source, federatedAttrs(), nil, []string{AdminScope, "openid", "email", "profile"})
		if got := out.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ScopesToSuppress; !reflect.DeepEqual(got, []string{AdminScope}) {
			t.Fatalf("%s: scopes suppressed %q", source, got)
		}
	}
}

// The access token gets the verified e-mail, the name and the SWB user id;
// an e-mail changed and not yet verified is left out.
func TestAccessTokenClaims(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		want  map[string]any
	}{
		{"verified", map[string]string{"email": "ida@example.org", "email_verified": "true", "name": "Ida IG"},
			map[string]any{"email": "ida@example.org", "name": "Ida IG"}},
		{"changed e-mail, unverified", map[string]string{"email": "ida@home.example", "email_verified": "false", "name": "Ida IG"},
			map[string]any{"name": "Ida IG"}},
		{"no email_verified", map[string]string{"email": "ida@example.org"}, nil},
		{"SWB user id", map[string]string{"email": "ida@example.org", "email_verified": "True", UserIDAttribute: "u-ida"},
			map[string]any{"email": "ida@example.org", UserIDAttribute: "u-ida"}},
	}
	for _, source := range triggerSource {
		for _, tt := range tests {
			t.Run(source+"/"+tt.name, func(t *testing.T) {
				tt.attrs["cognito:user_status"] = "CONFIRMED"
				d := run(t, source, tt.attrs, nil, nil).Response.ClaimsAndScopeOverrideDetails
				if got := d.AccessTokenGeneration.ClaimsToAddOrOverride; !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("access token claims %v, want %v", got, tt.want)
				}
				if d.IDTokenGeneration.ClaimsToAddOrOverride != nil || d.IDTokenGeneration.ClaimsToSuppress != nil {
					t.Fatalf("ID token changed: %+v", d.IDTokenGeneration)
				}
			})
		}
	}
}

// The sample event decodes and maps as documented.
func TestSampleEvent(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "pre-token-generation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	out, err := trigger.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	d := out.Response.ClaimsAndScopeOverrideDetails
	if got := d.GroupOverrideDetails.GroupsToOverride; !reflect.DeepEqual(got, []string{"InformationGovernance"}) {
		t.Fatalf("groups %q", got)
	}
	if got := d.AccessTokenGeneration.ClaimsToAddOrOverride; got["email"] != "ida.reviewer@example.org" || got["name"] != "Ida Reviewer" {
		t.Fatalf("access token claims %v", got)
	}
}

func ptr(s string) *string { return &s }
