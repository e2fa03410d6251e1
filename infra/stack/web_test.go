package stack

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/infra/outputs"
	"github.com/tre-egress/egress/shared/config"
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
		stagingID, _ := byPath(t, tmpl, stackName, "StagingBucket/Resource")

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
			"img-src":     {"'self'", "data:", "https://<" + stagingID + ">.s3." + region + ".amazonaws.com"},
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

// web_console: where the reviewer console is hosted, for each setting: its
// Amplify branch and custom sub-domain, the web client's redirects, the
// outputs make deploy reads, where e-mail links point and whether the
// CSP lets staged images in.
func TestWebConsoleHosting(t *testing.T) {
	s := synth(t)
	for _, tt := range []struct {
		stack    string
		setting  string
		branches []string // Amplify branch names
		console  string   // ConsoleUrl, rendered; "" for none
		web      string   // WebAppUrl, rendered
		domains  []string // the custom domain's sub-domain prefix → branch
	}{
		{sampleStack, ConsoleBeside, []string{"console", "main"}, "https://console.<APP.DefaultDomain>", "https://main.<APP.DefaultDomain>", nil},
		{secondStack, ConsoleInstead, []string{"main"}, "https://main.<APP.DefaultDomain>", "https://main.<APP.DefaultDomain>", nil},
		{thirdStack, ConsoleOff, []string{"main"}, "", "https://main.<APP.DefaultDomain>", nil},
		{fullStack, ConsoleBeside, []string{"console", "main"}, "https://console.egress.tre.example.org", "https://egress.tre.example.org",
			[]string{"console.egress→console", "egress→main"}},
	} {
		t.Run(tt.stack, func(t *testing.T) {
			tmpl, cfg := s.templates[tt.stack], s.configs[tt.stack]
			if cfg.WebConsole != tt.setting {
				t.Fatalf("web_console %q, want %q", cfg.WebConsole, tt.setting)
			}
			appID, _ := one(t, tmpl, "AWS::Amplify::App")
			app := func(v string) string { return strings.ReplaceAll(v, "APP", appID) }

			var branches []string
			for _, b := range resources(tmpl, "AWS::Amplify::Branch") {
				branches = append(branches, props(b)["BranchName"].(string))
				if !strings.Contains(jsonString(props(b)["AppId"]), appID) || props(b)["EnableAutoBuild"] != false {
					t.Errorf("branch %s", jsonString(props(b)))
				}
			}
			slices.Sort(branches)
			if !slices.Equal(branches, tt.branches) {
				t.Errorf("branches %v, want %v", branches, tt.branches)
			}

			var domains []string
			for _, d := range resources(tmpl, "AWS::Amplify::Domain") {
				for _, sd := range props(d)["SubDomainSettings"].([]any) {
					domains = append(domains, render(get(sd, "Prefix"))+"→"+render(get(sd, "BranchName")))
				}
			}
			slices.Sort(domains)
			if !slices.Equal(domains, tt.domains) {
				t.Errorf("custom sub-domains %v, want %v", domains, tt.domains)
			}

			outs := tmpl["Outputs"].(map[string]any)
			if got := render(get(outs, "WebAppUrl", "Value")); got != app(tt.web) {
				t.Errorf("WebAppUrl %s, want %s", got, app(tt.web))
			}
			consoleOut, branchOut := get(outs, outputs.ConsoleURL, "Value"), get(outs, outputs.ConsoleBranch, "Value")
			want := []string{app(tt.web)}
			if tt.console == "" {
				if consoleOut != nil || branchOut != nil {
					t.Errorf("web_console off: outputs ConsoleUrl %v, AmplifyConsoleBranch %v", consoleOut, branchOut)
				}
			} else {
				if got := render(consoleOut); got != app(tt.console) {
					t.Errorf("ConsoleUrl %s, want %s", got, app(tt.console))
				}
				// The branch output names the branch serving the console URL.
				wantBranch := strings.TrimPrefix(strings.SplitN(tt.console, ".", 2)[0], "https://")
				if tt.domains != nil {
					wantBranch = "console"
				}
				if got := render(branchOut); got != wantBranch {
					t.Errorf("AmplifyConsoleBranch %s, want %s", got, wantBranch)
				}
				for _, name := range outputs.Console {
					if get(outs, name, "Value") == nil {
						t.Errorf("no output %s, which publish-console needs", name)
					}
				}
				if tt.console != tt.web {
					want = append(want, app(tt.console))
				}
			}

			// The web client redirects to each app after sign-in and out.
			_, client := poolClient(t, tmpl, "WebClient")
			for _, k := range []string{"CallbackURLs", "LogoutURLs"} {
				var got []string
				for _, u := range props(client)[k].([]any) {
					got = append(got, render(u))
				}
				if !slices.Equal(got, want) {
					t.Errorf("web client %s %v, want %v", k, got, want)
				}
			}

			// E-mail links open the console when it is deployed.
			link := app(tt.console)
			if tt.console == "" {
				link = app(tt.web)
			}
			mailers := 0
			for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
				if v := get(props(fn), "Environment", "Variables", config.EnvWebAppURL); v != nil {
					mailers++
					if render(v) != link {
						t.Errorf("%s %s=%s, want %s", id, config.EnvWebAppURL, render(v), link)
					}
				}
			}
			if mailers == 0 {
				t.Errorf("no function reads %s", config.EnvWebAppURL)
			}

			// Previews of staged images load from the staging bucket.
			stagingID, _ := byPath(t, tmpl, tt.stack, "StagingBucket/Resource")
			csp := webHeaders(t, tmpl)["Content-Security-Policy"]
			if got := strings.Contains(csp, "<"+stagingID+">.s3."); got != (tt.console != "") {
				t.Errorf("CSP %q names the staging bucket: %v, want %v", csp, got, tt.console != "")
			}
		})
	}
}
