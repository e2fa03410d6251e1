package stack

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// headerLine is one "- key:" or "value:" line of Amplify's customHeaders.
var headerLine = regexp.MustCompile(`^\s*(?:- )?(key|value): (.*)$`)

// webHeaders reads the web app's custom headers (the YAML the stack
// writes: one value line after each key line), with tokens rendered.
func webHeaders(t *testing.T, tmpl map[string]any) map[string]string {
	t.Helper()
	_, app := one(t, tmpl, "AWS::Amplify::App")
	headers := map[string]string{}
	var key string
	for _, l := range strings.Split(render(props(app)["CustomHeaders"]), "\n") {
		m := headerLine.FindStringSubmatch(l)
		switch {
		case m == nil:
		case m[1] == "key":
			key = m[2]
		default:
			headers[key] = strings.Trim(m[2], `"`)
		}
	}
	return headers
}

// The web app's Content-Security-Policy runs only its own scripts and lets
// it call only this deployment's API, Cognito and the datalake bucket.
func TestWebAppSecurityHeaders(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl, cfg := s.templates[stackName], s.configs[stackName]
		region := "<AWS::Region>"
		if cfg.Region != "" {
			region = cfg.Region
		}
		hostedUI := cfg.CognitoDomainPrefix() + ".auth." + region + ".amazoncognito.com"
		if cfg.CustomDomain.Enabled {
			hostedUI = "auth." + cfg.CustomDomain.DomainName
		}
		apiID, _ := one(t, tmpl, "AWS::AppSync::GraphQLApi")

		headers := webHeaders(t, tmpl)
		for name, want := range map[string]string{
			"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Referrer-Policy":           "same-origin",
		} {
			if headers[name] != want {
				t.Errorf("%s %s: %q, want %q", stackName, name, headers[name], want)
			}
		}
		csp := map[string][]string{}
		for _, d := range strings.Split(headers["Content-Security-Policy"], ";") {
			f := strings.Fields(d)
			if len(f) > 0 {
				csp[f[0]] = f[1:]
			}
		}
		want := map[string][]string{
			"default-src": {"'self'"},
			"script-src":  {"'self'"},
			"style-src":   {"'self'", "'unsafe-inline'"},
			"img-src":     {"'self'", "data:"},
			"font-src":    {"'self'", "data:"},
			"connect-src": {"'self'", "<" + apiID + ".GraphQLUrl>", "https://cognito-idp." + region + ".amazonaws.com",
				"https://" + hostedUI, "https://tre-sample-datalake.s3.eu-west-2.amazonaws.com"},
			"object-src":      {"'none'"},
			"base-uri":        {"'self'"},
			"form-action":     {"'self'"},
			"frame-ancestors": {"'none'"},
		}
		for d, w := range want {
			if !slices.Equal(csp[d], w) {
				t.Errorf("%s CSP %s %v, want %v", stackName, d, csp[d], w)
			}
		}
		for d, sources := range csp {
			if _, ok := want[d]; !ok {
				t.Errorf("%s CSP has an unexpected directive %s %v", stackName, d, sources)
			}
			for _, src := range sources {
				if strings.Contains(src, "*") || strings.HasPrefix(src, "http:") || src == "https:" || src == "'unsafe-eval'" {
					t.Errorf("%s CSP %s allows %s", stackName, d, src)
				}
			}
		}
	}
}
