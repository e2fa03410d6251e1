package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tre-egress/egress/infra/outputs"
	"github.com/tre-egress/egress/web"
)

// errConsoleOff is consoleConfig's answer for a stack deployed with
// web_console off: it has no console to publish.
var errConsoleOff = fmt.Errorf("the stack has no %s output: it was deployed with web_console off, so there is no console to publish", outputs.ConsoleURL)

// consoleConfig is the console's configuration (config.json) for the
// stack whose outputs are out: signing in through its user pool's hosted
// UI with the web client, redirected back to the console's URL.
func consoleConfig(out map[string]string) (web.Config, error) {
	if out[outputs.ConsoleURL] == "" {
		return web.Config{}, errConsoleOff
	}
	var missing []string
	need := func(name string) string {
		v := strings.TrimSpace(out[name])
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	cfg := web.Config{
		GraphQLURL: need(outputs.GraphQLEndpoint),
		Region:     need(outputs.Region),
		Auth: web.Auth{
			Kind:             web.AuthCognito,
			UserPoolID:       need(outputs.UserPoolID),
			UserPoolClientID: need(outputs.UserPoolClientID),
			Domain:           need(outputs.CognitoDomain),
			Scopes:           strings.Fields(need(outputs.WebClientScopes)),
			RedirectURL:      need(outputs.ConsoleURL),
		},
		ReviewerGroups:  splitList(need(outputs.ReviewerGroups)),
		AdminGroup:      need(outputs.AdminGroup),
		ResearcherGroup: strings.TrimSpace(out[outputs.ResearcherGroup]), // absent without researcher_group
	}
	max := need(outputs.MaxDownloads)
	if len(missing) > 0 {
		return web.Config{}, fmt.Errorf("the stack's outputs lack %s (deployed before the console? run cdk deploy first)", strings.Join(missing, ", "))
	}
	n, err := strconv.Atoi(max)
	if err != nil || n < 1 {
		return web.Config{}, fmt.Errorf("output %s: want a whole number from 1, got %q", outputs.MaxDownloads, max)
	}
	cfg.MaxDownloads = n
	for name, u := range map[string]string{outputs.GraphQLEndpoint: cfg.GraphQLURL, outputs.ConsoleURL: cfg.Auth.RedirectURL} {
		if !strings.HasPrefix(u, "https://") {
			return web.Config{}, fmt.Errorf("output %s: want an https URL, got %q", name, u)
		}
	}
	if strings.Contains(cfg.Auth.Domain, "/") {
		return web.Config{}, fmt.Errorf("output %s: want a host name without scheme or path, got %q", outputs.CognitoDomain, cfg.Auth.Domain)
	}
	return cfg, nil
}

// splitList splits a comma-separated output, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// writeConfig writes cfg as dist's config.json, replacing any earlier one.
func writeConfig(dist string, cfg web.Config) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	file := filepath.Join(dist, web.ConfigFile)
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
