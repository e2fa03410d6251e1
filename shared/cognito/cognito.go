// Package cognito holds the Amazon Cognito user pool trigger of egress:
// pre token generation (event version 2), which turns the groups a
// federated identity provider sends into the tokens' cognito:groups,
// matching names exactly, and puts the verified e-mail, the name and the
// SWB user id into the access token, which the frontend sends and which
// Cognito issues without them.
package cognito

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/logctx"
)

// DefaultGroupsAttribute is the user attribute a custom identity provider
// (custom_idp) maps its group list to.
const DefaultGroupsAttribute = "custom:groups"

// UserIDAttribute holds the user's SWB user id. Only an administrator sets
// it (AdminUpdateUserAttributes): no app client may write it and no
// identity provider maps to it, so it is a mapping the user cannot edit.
const UserIDAttribute = "custom:swb_user_id"

// AdminScope lets an access token call Cognito's self-service API,
// UpdateUserAttributes included.
const AdminScope = "aws.cognito.signin.user.admin"

// Trigger sources of the pre token generation trigger.
const (
	TriggerHostedAuth     = "TokenGeneration_HostedAuth"     // sign-in through the hosted UI (federated users too)
	TriggerAuthentication = "TokenGeneration_Authentication" // SRP and other API sign-in
	TriggerRefreshTokens  = "TokenGeneration_RefreshTokens"  // token refresh
)

// Event is the trigger's event (V2_0).
type Event = events.CognitoEventUserPoolsPreTokenGenV2_0

// PreTokenGeneration adds to a user's tokens the reviewer groups their
// identity provider lists for them, and to the access token the claims the
// API needs. Only exact group names count: "InformationGovernanceReadOnly"
// never grants "InformationGovernance".
type PreTokenGeneration struct {
	Groups    []string     // the groups the attribute may grant (egress_reviewer_roles)
	Attribute string       // default DefaultGroupsAttribute
	Log       *slog.Logger // one line per token issued; nil logs nothing (tests minting tokens)
}

// Handle is the trigger. It runs on sign-in and on every token refresh.
//
// Groups (both tokens): the user's Cognito groups, plus, for a federated
// user only, each of Groups the groups attribute lists.
//
// Access token: email when Cognito marks it verified (a changed address is
// unverified until confirmed), name, and UserIDAttribute when set.
//
// A federated user's access token loses AdminScope: Cognito requires the
// app client to be able to write every attribute an identity provider maps
// (the groups attribute included), so with that scope the user could write
// their own groups and have the next refresh grant them. Without it they
// cannot call UpdateUserAttributes at all; only the identity provider, at
// sign-in, writes their attributes.
func (p PreTokenGeneration) Handle(ctx context.Context, ev Event) (Event, error) {
	attrs := ev.Request.UserAttributes
	cfg := ev.Request.GroupConfiguration
	groups := slices.Clone(cfg.GroupsToOverride)
	if groups == nil {
		groups = []string{}
	}
	fed := federated(attrs)
	if fed {
		attr := p.Attribute
		if attr == "" {
			attr = DefaultGroupsAttribute
		}
		listed := ParseGroups(attrs[attr])
		for _, g := range p.Groups {
			if slices.Contains(listed, g) && !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	out := &ev.Response.ClaimsAndScopeOverrideDetails
	// Set explicitly, so both tokens carry the same groups whatever Cognito
	// does with an absent override.
	out.GroupOverrideDetails = events.GroupConfigurationV2_0{
		GroupsToOverride:   groups,
		IAMRolesToOverride: cfg.IAMRolesToOverride,
		PreferredRole:      cfg.PreferredRole,
	}
	add := map[string]any{}
	if email := strings.TrimSpace(attrs["email"]); email != "" && strings.EqualFold(strings.TrimSpace(attrs["email_verified"]), "true") {
		add["email"] = email
	}
	if name := strings.TrimSpace(attrs["name"]); name != "" {
		add["name"] = name
	}
	if id := strings.TrimSpace(attrs[UserIDAttribute]); id != "" {
		add[UserIDAttribute] = id
	}
	if len(add) > 0 {
		out.AccessTokenGeneration.ClaimsToAddOrOverride = add
	}
	if fed && slices.Contains(ev.Request.Scopes, AdminScope) {
		out.AccessTokenGeneration.ScopesToSuppress = []string{AdminScope}
	}
	if p.Log != nil {
		// Group names only: no token, claim value or user attribute.
		logctx.With(ctx, p.Log).Info("token groups set", "trigger_source", ev.TriggerSource, "federated", fed, "groups", groups)
	}
	return ev, nil
}

// federated reports whether the user signed in through an external identity
// provider. Only then does the groups attribute come from the provider; a
// pool user could write it on their own profile and grant themselves a
// reviewer group.
func federated(attrs map[string]string) bool {
	return attrs["cognito:user_status"] == "EXTERNAL_PROVIDER" && strings.TrimSpace(attrs["identities"]) != ""
}

// ParseGroups splits a group attribute as identity providers send it: a
// JSON array, Cognito's flattening of a multi-valued SAML attribute
// ("[a, b]"), or a comma-separated list. Names are trimmed, nothing else.
func ParseGroups(s string) []string {
	s = strings.TrimSpace(s)
	var list []string
	if json.Unmarshal([]byte(s), &list) == nil {
		return trimAll(list)
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return trimAll(strings.Split(s, ","))
}

func trimAll(list []string) []string {
	out := make([]string, 0, len(list))
	for _, g := range list {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// The CLI's app client (egressctl): a public client signing in through the
// hosted UI with the authorization code grant and PKCE, redirecting to a
// loopback port. Cognito matches callback URLs exactly, port included, so
// the stack registers http://localhost:<CLICallbackPort>/callback and
// egressctl listens there. CLIScopes are what the API needs: no AdminScope,
// so a CLI token cannot change the user's attributes.
const CLICallbackPort = 53682

// CLIScopes are the CLI client's OAuth scopes.
var CLIScopes = []string{"openid", "email", "profile"}
