package local

import (
	"time"

	"github.com/tre-egress/egress/local/devtoken"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// ClientID is the local stack's app client: the client_id of its access
// tokens and the aud of its ID tokens, which the local endpoint checks as
// AppSync checks the user pool's client.
const ClientID = devtoken.ClientID

// Token kinds (the token_use claim). The frontend sends the access token.
const (
	UseID     = devtoken.UseID
	UseAccess = devtoken.UseAccess
)

// PoolUser is who as a user of the deployed user pool (devtoken.PoolUser).
func PoolUser(who egress.Identity) cognito.User { return devtoken.PoolUser(who) }

// Token returns a token of kind use (UseID or UseAccess) for who, valid for
// ttl, signed with the development key of the stack in dir.
func Token(dir string, who egress.Identity, use string, ttl time.Duration) (string, error) {
	return devtoken.Token(dir, who, use, ttl)
}

// UserToken returns the token of kind use Cognito would issue u on a
// hosted-UI sign-in to the frontend's client (devtoken.UserToken).
func UserToken(dir string, u cognito.User, use string, ttl time.Duration) (string, error) {
	return devtoken.UserToken(dir, u, use, ttl)
}
