package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/cognito"
)

// claimsOf verifies a token with the key in dir and returns its claims.
func claimsOf(t *testing.T, dir, token string) jwt.MapClaims {
	t.Helper()
	b, err := os.ReadFile(local.SigningKeyPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(strings.TrimSpace(string(b)))
	tok, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Claims.(jwt.MapClaims)
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	// A running stack, as far as token is concerned: its endpoint list.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(local.Connection{Endpoints: []local.Endpoint{{Name: "outbox", URL: "file://" + filepath.Join(dir, "outbox")}}})
	}))
	defer srv.Close()

	tests := []struct {
		name   string
		args   []string
		want   map[string]any
		absent []string
	}{
		{"--dir, an ID token by default", []string{"--email", "ida@example.org", "--name", "Ida IG", "--groups", "InformationGovernance, TREAdmin", "--dir", dir},
			map[string]any{"token_use": "id", "aud": local.ClientID, "email": "ida@example.org", "email_verified": true, "name": "Ida IG",
				"sub": "local-ida@example.org", "cognito:username": "local-ida@example.org",
				"cognito:groups": []any{"InformationGovernance", "TREAdmin"}, "iss": local.TokenIssuer}, []string{"client_id", "scope"}},
		{"--endpoint", []string{"--email", "Rob@Example.org", "--groups", "TREAdmin", "--endpoint", srv.URL},
			map[string]any{"email": "Rob@Example.org", "name": "Rob", "sub": "local-rob@example.org", "cognito:groups": []any{"TREAdmin"}}, nil},
		// What the frontend sends: the access token, with the e-mail and
		// name the pre-token-generation trigger adds.
		{"--use access", []string{"--email", "ida@example.org", "--name", "Ida IG", "--groups", "InformationGovernance", "--use", "access", "--dir", dir},
			map[string]any{"token_use": "access", "client_id": local.ClientID, "username": "local-ida@example.org", "sub": "local-ida@example.org",
				"email": "ida@example.org", "name": "Ida IG", "cognito:groups": []any{"InformationGovernance"},
				"scope": "aws.cognito.signin.user.admin openid email profile", "iss": local.TokenIssuer}, []string{"aud", "email_verified", "cognito:username"}},
		{"--swb-user-id", []string{"--email", "rita@example.org", "--swb-user-id", "u-rita", "--use", "access", "--dir", dir},
			map[string]any{cognito.UserIDAttribute: "u-rita"}, nil},
		// Cognito puts no cognito:groups claim in the tokens of a user in no group.
		{"no groups", []string{"--email", "n@example.org", "--dir", dir}, nil, []string{"cognito:groups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeToken(&out, tt.args); err != nil {
				t.Fatal(err)
			}
			claims := claimsOf(t, dir, strings.TrimSpace(out.String()))
			for k, v := range tt.want {
				if !reflect.DeepEqual(claims[k], v) {
					t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := claims[k]; ok {
					t.Errorf("claim %s = %#v, want none", k, v)
				}
			}
		})
	}
	if err := writeToken(&bytes.Buffer{}, []string{"--dir", dir}); err == nil {
		t.Error("no --email: want an error")
	}
	for _, use := range []string{"refresh", "ID", ""} {
		if err := writeToken(&bytes.Buffer{}, []string{"--email", "a@example.org", "--use", use, "--dir", dir}); err == nil || !strings.Contains(err.Error(), "want access or id") {
			t.Errorf("--use %q: error %v, want one naming the kinds", use, err)
		}
	}
}
