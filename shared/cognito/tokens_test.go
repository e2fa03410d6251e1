package cognito

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

var issue = Issue{Issuer: "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_EXAMPLE", UserPoolID: "eu-west-2_EXAMPLE",
	Region: "eu-west-2", ClientID: "web-client", Now: time.Unix(1_800_000_000, 0), TTL: time.Hour}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// The claim sets are Cognito's: the same names for a pool user signing in
// through the hosted UI, with the trigger's additions in the access token.
func TestMintClaimSets(t *testing.T) {
	u := User{Attributes: map[string]string{"sub": "s-ida", "email": "ida@example.org", "email_verified": "true",
		"name": "Ida IG", "cognito:user_status": "CONFIRMED"}, Groups: []string{"InformationGovernance"}}
	tok, err := trigger.Mint(context.Background(), u, issue)
	if err != nil {
		t.Fatal(err)
	}
	wantAccess := []string{"auth_time", "client_id", "cognito:groups", "email", "event_id", "exp", "iat", "iss", "jti",
		"name", "origin_jti", "scope", "sub", "token_use", "username", "version"}
	wantID := []string{"aud", "auth_time", "cognito:groups", "cognito:username", "email", "email_verified", "event_id",
		"exp", "iat", "iss", "jti", "name", "origin_jti", "sub", "token_use"}
	if got := keys(tok.Access); !slices.Equal(got, wantAccess) {
		t.Errorf("access token claims %q, want %q", got, wantAccess)
	}
	if got := keys(tok.ID); !slices.Equal(got, wantID) {
		t.Errorf("ID token claims %q, want %q", got, wantID)
	}
	for claim, want := range map[string]any{
		"token_use": "access", "client_id": "web-client", "username": "s-ida", "sub": "s-ida", "email": "ida@example.org",
		"scope": "aws.cognito.signin.user.admin openid email profile", "cognito:groups": []any{"InformationGovernance"},
		"exp": int64(1_800_003_600), "iss": issue.Issuer,
	} {
		if got := tok.Access[claim]; !reflect.DeepEqual(got, want) {
			t.Errorf("access %s = %#v, want %#v", claim, got, want)
		}
	}
	for claim, want := range map[string]any{
		"token_use": "id", "aud": "web-client", "cognito:username": "s-ida", "email_verified": true,
		"cognito:groups": []any{"InformationGovernance"}, "origin_jti": tok.Access["origin_jti"],
	} {
		if got := tok.ID[claim]; !reflect.DeepEqual(got, want) {
			t.Errorf("ID %s = %#v, want %#v", claim, got, want)
		}
	}
	if tok.ID["jti"] == tok.Access["jti"] {
		t.Error("the two tokens share a jti")
	}
}

func TestMintUsers(t *testing.T) {
	tests := []struct {
		name       string
		user       User
		source     string
		wantGroups any // in both tokens; nil: no claim
		wantEmail  any // in the access token; nil: no claim
		wantScope  string
	}{
		{"pool user, e-mail changed and unverified",
			User{Attributes: map[string]string{"sub": "s", "email": "me@home.example", "email_verified": "false", "cognito:user_status": "CONFIRMED"}, Groups: []string{"TREAdmin"}},
			TriggerHostedAuth, []any{"TREAdmin"}, nil, "aws.cognito.signin.user.admin openid email profile"},
		{"pool user with the groups attribute, refreshing",
			User{Attributes: map[string]string{"sub": "s", "email": "me@example.org", "email_verified": "true", "cognito:user_status": "CONFIRMED", DefaultGroupsAttribute: "InformationGovernance"}},
			TriggerRefreshTokens, nil, "me@example.org", "aws.cognito.signin.user.admin openid email profile"},
		{"federated user, refreshing",
			User{Attributes: map[string]string{"sub": "s", "email": "me@example.org", "email_verified": "true", "cognito:user_status": "EXTERNAL_PROVIDER",
				"identities": `[{"providerName":"idp","providerType":"SAML"}]`, DefaultGroupsAttribute: "[InformationGovernance]"}},
			TriggerRefreshTokens, []any{"InformationGovernance"}, "me@example.org", "openid email profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := issue
			is.TriggerSource = tt.source
			tok, err := trigger.Mint(context.Background(), tt.user, is)
			if err != nil {
				t.Fatal(err)
			}
			if g := tok.Access["cognito:groups"]; !reflect.DeepEqual(g, tt.wantGroups) || !reflect.DeepEqual(tok.ID["cognito:groups"], tt.wantGroups) {
				t.Errorf("groups access %v ID %v, want %v", g, tok.ID["cognito:groups"], tt.wantGroups)
			}
			if got := tok.Access["email"]; !reflect.DeepEqual(got, tt.wantEmail) {
				t.Errorf("access email %v, want %v", got, tt.wantEmail)
			}
			if got := tok.Access["scope"]; got != tt.wantScope {
				t.Errorf("scope %q, want %q", got, tt.wantScope)
			}
			// The ID token keeps the address and says whether it is verified.
			if tok.ID["email"] != tt.user.Attributes["email"] || tok.ID["email_verified"] != (tt.user.Attributes["email_verified"] == "true") {
				t.Errorf("ID token email %v verified %v", tok.ID["email"], tok.ID["email_verified"])
			}
		})
	}
}

// A trigger answer touching a claim Cognito reserves is refused, as
// Cognito refuses it.
func TestApplyReservedClaims(t *testing.T) {
	for _, claim := range []string{"sub", "token_use", "client_id", "username", "cognito:groups", "cognito:username", "scope", "iss"} {
		if err := apply(map[string]any{}, map[string]any{claim: "x"}, nil); err == nil {
			t.Errorf("adding %s: no error", claim)
		}
		if err := apply(map[string]any{}, nil, []string{claim}); err == nil {
			t.Errorf("suppressing %s: no error", claim)
		}
	}
	c := map[string]any{"email": "a"}
	if err := apply(c, map[string]any{"name": "n", "email": "b"}, []string{"email"}); err != nil || !reflect.DeepEqual(c, map[string]any{"name": "n"}) {
		t.Fatalf("claims %v %v: suppression must win", c, err)
	}
}

func TestMintNeedsSubAndClient(t *testing.T) {
	if _, err := trigger.Mint(context.Background(), User{Attributes: map[string]string{"email": "a@example.org"}}, issue); err == nil {
		t.Error("no sub: no error")
	}
	if _, err := trigger.Mint(context.Background(), User{Attributes: map[string]string{"sub": "s"}}, Issue{Issuer: "i"}); err == nil {
		t.Error("no client id: no error")
	}
}
