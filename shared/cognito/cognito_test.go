package cognito

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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

func TestPreTokenGeneration(t *testing.T) {
	p := PreTokenGeneration{Groups: []string{"InformationGovernance", "TREAdmin"}}
	tests := []struct {
		name     string
		attr     *string // nil: attribute absent
		existing []string
		want     []string // nil: no override
	}{
		{"no attribute keeps Cognito's groups", nil, []string{"TREAdmin"}, nil},
		{"exact names", ptr("[InformationGovernance, TREAdmin]"), nil, []string{"InformationGovernance", "TREAdmin"}},
		{"substrings grant nothing", ptr("[InformationGovernanceReadOnly, xTREAdmin, TREAdmins, informationgovernance]"), nil, []string{}},
		{"other IdP groups are not copied", ptr("Researchers,TREAdmin"), nil, []string{"TREAdmin"}},
		{"Cognito groups are kept, not duplicated", ptr(`["TREAdmin"]`), []string{"TREAdmin", "Admins"}, []string{"TREAdmin", "Admins"}},
		{"empty attribute", ptr("  "), []string{"TREAdmin"}, nil},
	}
	federatedUser := map[string]string{"cognito:user_status": "EXTERNAL_PROVIDER", "identities": `[{"providerName":"idp","providerType":"SAML"}]`}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev events.CognitoEventUserPoolsPreTokenGen
			ev.Request.UserAttributes = map[string]string{"email": "a@example.org"}
			for k, v := range federatedUser {
				ev.Request.UserAttributes[k] = v
			}
			if tt.attr != nil {
				ev.Request.UserAttributes[DefaultGroupsAttribute] = *tt.attr
			}
			ev.Request.GroupConfiguration.GroupsToOverride = tt.existing
			out, err := p.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			got := out.Response.ClaimsOverrideDetails.GroupOverrideDetails.GroupsToOverride
			if tt.want == nil {
				if got != nil {
					t.Fatalf("override %q, want none", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("groups %q, want %q", got, tt.want)
			}
		})
	}
}

// A pool user (not federated) may have written the attribute on their own
// profile: it must grant nothing.
func TestPoolUserCannotGrantThemselvesGroups(t *testing.T) {
	p := PreTokenGeneration{Groups: []string{"InformationGovernance", "TREAdmin"}}
	for _, status := range []string{"CONFIRMED", "EXTERNAL_PROVIDER"} {
		var ev events.CognitoEventUserPoolsPreTokenGen
		ev.Request.UserAttributes = map[string]string{"cognito:user_status": status, DefaultGroupsAttribute: "InformationGovernance,TREAdmin"}
		// EXTERNAL_PROVIDER without an identities attribute is not trusted either.
		out, err := p.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Response.ClaimsOverrideDetails.GroupOverrideDetails.GroupsToOverride; got != nil {
			t.Fatalf("%s user got groups %q", status, got)
		}
	}
}

// The sample event decodes and maps as documented.
func TestSampleEvent(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "pre-token-generation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CognitoEventUserPoolsPreTokenGen
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	out, err := PreTokenGeneration{Groups: []string{"InformationGovernance", "TREAdmin"}}.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Response.ClaimsOverrideDetails.GroupOverrideDetails.GroupsToOverride; !reflect.DeepEqual(got, []string{"InformationGovernance"}) {
		t.Fatalf("groups %q", got)
	}
}

func ptr(s string) *string { return &s }
