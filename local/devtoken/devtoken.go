// Package devtoken mints the development tokens the local stack's GraphQL
// endpoint accepts: Cognito's claims, changed as the deployed
// pre-token-generation trigger changes them, signed (HS256) with a key kept
// in the stack's folder. It is apart from package local so that a client of
// a running stack (egressctl --local) can sign in without linking the
// whole embedded stack.
package devtoken

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

const (
	// SigningKeyFile is the key's file in the stack's folder.
	SigningKeyFile = "dev-signing-key"
	// Issuer is the iss of every local token.
	Issuer = "egress-local"
	// ClientID is the local stack's app client: the client_id of its
	// access tokens and the aud of its ID tokens.
	ClientID = "egress-local-web"
	// Token kinds (the token_use claim). The frontend sends the access token.
	UseID     = "id"
	UseAccess = "access"
)

// trigger is the deployed pre-token-generation trigger, granting the
// default reviewer groups to federated users. Local users are pool users:
// their groups are their Cognito groups.
var trigger = cognito.PreTokenGeneration{Groups: []string{egress.GroupIG, egress.GroupRIT}}

// KeyPath is where the signing key of the stack in dir is kept.
func KeyPath(dir string) string { return filepath.Join(dir, SigningKeyFile) }

// Key reads the key in dir, creating it on first use. The key is written
// to a temporary file and linked into place, so processes racing to create
// it all end up with the one that won.
func Key(dir string) ([]byte, error) {
	path := KeyPath(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir, path); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("signing key %s is not 32 hex-encoded bytes", path)
	}
	return key, nil
}

// createKey writes a new key to path unless one appears there first.
func createKey(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, ".dev-signing-key-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// Sign signs claims (HS256) with the key of the stack in dir, creating the
// key if there is none yet.
func Sign(dir string, claims map[string]any) (string, error) {
	key, err := Key(dir)
	if err != nil {
		return "", err
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString(key)
}

// PoolUser is who as a user of the deployed user pool: signed in with their
// verified e-mail, their groups Cognito groups, their SWB user id (if any)
// set by an administrator.
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
// ttl, signed with the key of the stack in dir.
func Token(dir string, who egress.Identity, use string, ttl time.Duration) (string, error) {
	return UserToken(dir, PoolUser(who), use, ttl)
}

// UserToken returns the token of kind use Cognito would issue u on a
// hosted-UI sign-in to the frontend's client: Cognito's claim set for that
// kind, with the trigger's changes, signed with the key of the stack in dir.
func UserToken(dir string, u cognito.User, use string, ttl time.Duration) (string, error) {
	if use != UseID && use != UseAccess {
		return "", fmt.Errorf("token use %q: want %s or %s", use, UseAccess, UseID)
	}
	tok, err := trigger.Mint(context.Background(), u, cognito.Issue{
		Issuer: Issuer, UserPoolID: "local", Region: "local", ClientID: ClientID,
		TriggerSource: cognito.TriggerHostedAuth, TTL: ttl,
	})
	if err != nil {
		return "", err
	}
	claims := tok.Access
	if use == UseID {
		claims = tok.ID
	}
	return Sign(dir, claims)
}
