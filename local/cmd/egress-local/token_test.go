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
		name string
		args []string
		want map[string]any
	}{
		{"--dir", []string{"--email", "ida@example.org", "--name", "Ida IG", "--groups", "InformationGovernance, TREAdmin", "--dir", dir},
			map[string]any{"email": "ida@example.org", "name": "Ida IG", "sub": "local-ida@example.org", "cognito:groups": []any{"InformationGovernance", "TREAdmin"}, "iss": local.TokenIssuer}},
		{"--endpoint", []string{"--email", "Rob@Example.org", "--groups", "TREAdmin", "--endpoint", srv.URL},
			map[string]any{"email": "Rob@Example.org", "name": "Rob", "sub": "local-rob@example.org", "cognito:groups": []any{"TREAdmin"}}},
		{"no groups", []string{"--email", "n@example.org", "--dir", dir},
			map[string]any{"cognito:groups": []any{}}},
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
		})
	}
	if err := writeToken(&bytes.Buffer{}, []string{"--dir", dir}); err == nil {
		t.Error("no --email: want an error")
	}
}
