// Package cognito holds the Amazon Cognito user pool trigger of egress:
// pre token generation, which turns the groups a federated identity
// provider sends into the token's cognito:groups, matching names exactly.
package cognito

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultGroupsAttribute is the user attribute a custom identity provider
// (custom_idp) maps its group list to.
const DefaultGroupsAttribute = "custom:groups"

// PreTokenGeneration adds to a user's token the reviewer groups their
// identity provider lists for them. Only exact names count:
// "InformationGovernanceReadOnly" never grants "InformationGovernance".
type PreTokenGeneration struct {
	Groups    []string // the groups the attribute may grant (egress_reviewer_roles)
	Attribute string   // default DefaultGroupsAttribute
}

// Handle is the trigger. A user without the attribute keeps the token
// Cognito would issue; otherwise the token's groups are the user's Cognito
// groups plus each of Groups the attribute lists.
func (p PreTokenGeneration) Handle(ctx context.Context, ev events.CognitoEventUserPoolsPreTokenGen) (events.CognitoEventUserPoolsPreTokenGen, error) {
	attr := p.Attribute
	if attr == "" {
		attr = DefaultGroupsAttribute
	}
	raw, ok := ev.Request.UserAttributes[attr]
	if !ok || strings.TrimSpace(raw) == "" || !federated(ev.Request.UserAttributes) {
		return ev, nil
	}
	cfg := ev.Request.GroupConfiguration
	groups := slices.Clone(cfg.GroupsToOverride)
	if groups == nil {
		groups = []string{}
	}
	listed := ParseGroups(raw)
	for _, g := range p.Groups {
		if slices.Contains(listed, g) && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	ev.Response.ClaimsOverrideDetails.GroupOverrideDetails = events.GroupConfiguration{
		GroupsToOverride:   groups,
		IAMRolesToOverride: cfg.IAMRolesToOverride,
		PreferredRole:      cfg.PreferredRole,
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
