// Package web serves the reviewer console (the single-page app built from
// web/src into web/dist) and describes what it needs from a deployment:
// its configuration file and its Content-Security-Policy. The local stack
// and the CDK app both read them from here, so the console behaves the
// same on a laptop and in AWS.
package web

import "strings"

// ConfigFile is where the console looks for its configuration, beside
// index.html. It is written at deployment (make deploy, from the stack's
// outputs) or served by the local stack; never hand-edited.
const ConfigFile = "config.json"

// Auth kinds.
const (
	// AuthCognito signs in through the stack's Cognito user pool (hosted UI,
	// code grant with PKCE, MFA as the pool requires).
	AuthCognito = "cognito"
	// AuthLocal signs in as one of the local stack's development users,
	// with tokens minted by the same code as `egress-local token`.
	AuthLocal = "local"
)

// Config is the console's configuration (config.json).
type Config struct {
	// GraphQLURL is the API the console talks to, and the only one.
	GraphQLURL string `json:"graphqlUrl"`
	Region     string `json:"region,omitempty"`
	Auth       Auth   `json:"auth"`
	// ReviewerGroups are the approval stages' groups in chain order
	// (egress_reviewer_roles); AdminGroup may cancel, revoke and verify;
	// ResearcherGroup sees its own requests.
	ReviewerGroups  []string `json:"reviewerGroups"`
	AdminGroup      string   `json:"adminGroup"`
	ResearcherGroup string   `json:"researcherGroup"`
	// MaxDownloads is max_downloads_allowed.
	MaxDownloads int `json:"maxDownloads"`
}

// Auth says how the console signs in.
type Auth struct {
	Kind string `json:"kind"` // AuthCognito or AuthLocal
	// Cognito.
	UserPoolID       string   `json:"userPoolId,omitempty"`
	UserPoolClientID string   `json:"userPoolClientId,omitempty"`
	Domain           string   `json:"domain,omitempty"` // hosted UI domain, no scheme
	Scopes           []string `json:"scopes,omitempty"`
	RedirectURL      string   `json:"redirectUrl,omitempty"` // sign-in and sign-out redirect: the console's URL
	// Local: the development users to offer (GET, a JSON list of DevUser)
	// and where to get their tokens (POST {"id": ...}, JSON DevTokens).
	DevUsersURL string `json:"devUsersUrl,omitempty"`
	DevTokenURL string `json:"devTokenUrl,omitempty"`
}

// DevUser is a development user the local stack offers to sign in as.
type DevUser struct {
	ID        string   `json:"id"`
	Label     string   `json:"label"` // e.g. "IG reviewer"
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	SWBUserID string   `json:"swbUserId,omitempty"`
}

// DevTokens are a development user's tokens, as Cognito would issue them.
type DevTokens struct {
	AccessToken string `json:"accessToken"` // what the console sends to the API
	IDToken     string `json:"idToken"`     // name, e-mail and groups for display
	ExpiresIn   int    `json:"expiresIn"`   // seconds
}

// Policy lists the origins the console may reach beyond its own.
type Policy struct {
	// Connect: the GraphQL endpoint, Cognito's API and hosted UI, the
	// datalake bucket (download links are fetched by navigation, but
	// listed for clients that fetch them).
	Connect []string
	// Images: where previews of staged images are loaded from (the staging
	// bucket's presigned GETs).
	Images []string
}

// ContentSecurityPolicy is the console's (and the original frontend's)
// Content-Security-Policy: only its own scripts, no inline script, calls
// only to the origins p names.
func ContentSecurityPolicy(p Policy) string {
	join := func(base string, extra []string) string {
		if len(extra) == 0 {
			return base
		}
		return base + " " + strings.Join(extra, " ")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		join("img-src 'self' data:", p.Images),
		"font-src 'self' data:",
		join("connect-src 'self'", p.Connect),
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}
