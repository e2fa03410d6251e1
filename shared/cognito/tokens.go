package cognito

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// SignInScopes are the scopes of an access token from the frontend's
// hosted-UI sign-in (it asks for email openid profile
// aws.cognito.signin.user.admin), before the trigger runs.
var SignInScopes = []string{AdminScope, "openid", "email", "profile"}

// User is a user pool user as Cognito holds them when it issues tokens.
type User struct {
	Username string // cognito:username / username; default the sub
	// Attributes are the user's attributes as the trigger receives them:
	// sub, email, email_verified ("true"/"false"), name, custom:...,
	// cognito:user_status, identities (federated users).
	Attributes map[string]string
	Groups     []string // Cognito group memberships
}

// Issue says how and to whom Cognito issues the tokens.
type Issue struct {
	Issuer        string   // https://cognito-idp.<region>.amazonaws.com/<pool id>
	UserPoolID    string   // for the trigger's event
	Region        string   // for the trigger's event
	ClientID      string   // the app client
	Scopes        []string // before the trigger; default SignInScopes
	TriggerSource string   // default TriggerHostedAuth
	Now           time.Time
	TTL           time.Duration
}

// Tokens are the claims of the ID and access tokens of one sign-in.
type Tokens struct {
	ID     map[string]any
	Access map[string]any
}

// Mint returns the claims Cognito would put in the ID and access tokens of
// u: its own claim sets, changed by this trigger run over the V2 event
// Cognito would send, its response applied as Cognito applies it. The
// local stack signs these; tests use them to build what AppSync passes.
func (p PreTokenGeneration) Mint(ctx context.Context, u User, is Issue) (Tokens, error) {
	sub := u.Attributes["sub"]
	if sub == "" {
		return Tokens{}, errors.New("cognito: the user has no sub attribute")
	}
	if is.ClientID == "" || is.Issuer == "" {
		return Tokens{}, errors.New("cognito: an issuer and a client id are required")
	}
	username := u.Username
	if username == "" {
		username = sub
	}
	scopes := is.Scopes
	if scopes == nil {
		scopes = SignInScopes
	}
	source := is.TriggerSource
	if source == "" {
		source = TriggerHostedAuth
	}
	var ev Event
	ev.Version = "2"
	ev.TriggerSource = source
	ev.Region, ev.UserPoolID, ev.UserName = is.Region, is.UserPoolID, username
	ev.CallerContext = events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: is.ClientID}
	ev.Request.UserAttributes = maps.Clone(u.Attributes)
	ev.Request.GroupConfiguration.GroupsToOverride = append([]string{}, u.Groups...)
	ev.Request.GroupConfiguration.IAMRolesToOverride = []string{}
	ev.Request.Scopes = slices.Clone(scopes)

	// Through JSON both ways, as Lambda carries the event and the answer.
	var in Event
	if err := roundTrip(ev, &in); err != nil {
		return Tokens{}, fmt.Errorf("cognito: event: %w", err)
	}
	res, err := p.Handle(ctx, in)
	if err != nil {
		return Tokens{}, fmt.Errorf("cognito: trigger: %w", err)
	}
	var out Event
	if err := roundTrip(res, &out); err != nil {
		return Tokens{}, fmt.Errorf("cognito: trigger response: %w", err)
	}
	o := out.Response.ClaimsAndScopeOverrideDetails

	now := is.Now
	if now.IsZero() {
		now = time.Now()
	}
	iat, exp := now.Unix(), now.Add(is.TTL).Unix()
	originJTI, eventID := uuid(), uuid()
	id := map[string]any{}
	for k, v := range u.Attributes {
		switch {
		case k == "sub" || internalAttribute(k):
		case k == "email_verified" || k == "phone_number_verified":
			id[k] = strings.EqualFold(v, "true")
		case k == "identities":
			var list []any
			if json.Unmarshal([]byte(v), &list) == nil {
				id[k] = list
			}
		default:
			id[k] = v
		}
	}
	maps.Copy(id, map[string]any{
		"sub": sub, "iss": is.Issuer, "cognito:username": username, "origin_jti": originJTI, "aud": is.ClientID,
		"event_id": eventID, "token_use": "id", "auth_time": iat, "iat": iat, "exp": exp, "jti": uuid(),
	})
	access := map[string]any{
		"sub": sub, "iss": is.Issuer, "version": 2, "client_id": is.ClientID, "origin_jti": originJTI,
		"event_id": eventID, "token_use": "access", "auth_time": iat, "iat": iat, "exp": exp, "jti": uuid(),
		"username": username,
	}
	// Groups: the override, in both tokens; none means no claim.
	if g := o.GroupOverrideDetails.GroupsToOverride; len(g) > 0 {
		id["cognito:groups"], access["cognito:groups"] = stringsToAny(g), stringsToAny(g)
	}
	if err := apply(id, o.IDTokenGeneration.ClaimsToAddOrOverride, o.IDTokenGeneration.ClaimsToSuppress); err != nil {
		return Tokens{}, fmt.Errorf("cognito: ID token: %w", err)
	}
	at := o.AccessTokenGeneration
	if err := apply(access, at.ClaimsToAddOrOverride, at.ClaimsToSuppress); err != nil {
		return Tokens{}, fmt.Errorf("cognito: access token: %w", err)
	}
	final := []string{}
	for _, s := range append(slices.Clone(scopes), at.ScopesToAdd...) {
		if strings.ContainsAny(s, " \t") {
			return Tokens{}, fmt.Errorf("cognito: access token: scope %q has a space", s)
		}
		if !slices.Contains(at.ScopesToSuppress, s) && !slices.Contains(final, s) {
			final = append(final, s)
		}
	}
	access["scope"] = strings.Join(final, " ")
	return Tokens{ID: id, Access: access}, nil
}

// apply adds then suppresses claims (suppression wins), refusing the
// claims Cognito does not let a trigger touch, as Cognito refuses the
// trigger's response.
func apply(claims map[string]any, add map[string]any, suppress []string) error {
	for _, k := range slices.Sorted(maps.Keys(add)) {
		if reserved(k) {
			return fmt.Errorf("claim %s cannot be added or overridden", k)
		}
		claims[k] = add[k]
	}
	for _, k := range suppress {
		if reserved(k) {
			return fmt.Errorf("claim %s cannot be suppressed", k)
		}
		delete(claims, k)
	}
	return nil
}

// reserved reports whether Cognito keeps a claim out of a trigger's reach.
// Groups are changed through the group override, not as claims.
func reserved(claim string) bool {
	switch claim {
	case "acr", "amr", "aud", "at_hash", "auth_time", "azp", "client_id", "device_key", "event_id", "exp",
		"iat", "identities", "iss", "jti", "nbf", "nonce", "origin_jti", "scope", "sub", "token_use",
		"username", "version":
		return true
	}
	return strings.HasPrefix(claim, "cognito:")
}

// internalAttribute reports whether a user attribute the trigger sees is
// not put in the ID token.
func internalAttribute(k string) bool {
	switch k {
	case "cognito:user_status", "cognito:email_alias", "cognito:phone_number_alias", "cognito:mfa_enabled":
		return true
	}
	return false
}

func roundTrip(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func stringsToAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// uuid returns a random version 4 UUID, as Cognito's token ids are.
func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
