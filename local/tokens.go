package local

import (
	"context"
	"fmt"
	"time"

	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// ClientID is the local stack's app client: the client_id of its access
// tokens and the aud of its ID tokens, which the local endpoint checks as
// AppSync checks the user pool's client.
const ClientID = "egress-local-web"

// Token kinds (the token_use claim). The frontend sends the access token.
const (
	UseID     = "id"
	UseAccess = "access"
)

// localTrigger is the deployed pre-token-generation trigger, granting the
// default reviewer groups to federated users. Local users are pool users:
// their groups are their Cognito groups.
var localTrigger = cognito.PreTokenGeneration{Groups: []string{egress.GroupIG, egress.GroupRIT}}

// PoolUser is who as a user of the deployed user pool: signed in with their
// verified e-mail, their groups Cognito groups, their SWB user id (if any)
// set by an administrator. Cognito names users of a pool signing in by
// e-mail by their sub.
func PoolUser(who egress.Identity) cognito.User {
	attrs := map[string]string{"sub": who.Subject, "email": who.Email, "email_verified": "true", "cognito:user_status": "CONFIRMED"}
	if who.Name != "" {
		attrs["name"] = who.Name
	}
	if who.UserID != "" {
		attrs[cognito.UserIDAttribute] = who.UserID
	}
	return cognito.User{Attributes: attrs, Groups: who.Groups}
}

// Token returns a token of kind use (UseID or UseAccess) for who, valid for
// ttl, signed with the development key of the stack in dir.
func Token(dir string, who egress.Identity, use string, ttl time.Duration) (string, error) {
	return UserToken(dir, PoolUser(who), use, ttl)
}

// UserToken returns the token of kind use Cognito would issue u on a
// hosted-UI sign-in to the frontend's client: Cognito's claim set for that
// kind, with the changes the pre-token-generation trigger makes to it,
// signed with the development key of the stack in dir.
func UserToken(dir string, u cognito.User, use string, ttl time.Duration) (string, error) {
	if use != UseID && use != UseAccess {
		return "", fmt.Errorf("token use %q: want %s or %s", use, UseAccess, UseID)
	}
	tok, err := localTrigger.Mint(context.Background(), u, cognito.Issue{
		Issuer: TokenIssuer, UserPoolID: "local", Region: "local", ClientID: ClientID,
		TriggerSource: cognito.TriggerHostedAuth, TTL: ttl,
	})
	if err != nil {
		return "", err
	}
	claims := tok.Access
	if use == UseID {
		claims = tok.ID
	}
	return SignToken(dir, claims)
}
