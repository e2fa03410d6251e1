package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tre-egress/egress/infra/outputs"
	"github.com/tre-egress/egress/web"
)

var update = flag.Bool("update", false, "rewrite testdata/config.golden.json")

// sampleOutputs are testdata/cdk-outputs.json's egress stack, as cdk
// deploy --outputs-file writes them.
func sampleOutputs(t *testing.T) map[string]string {
	t.Helper()
	all, err := outputs.ReadFile("testdata/cdk-outputs.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := all.Pick("testdata/cdk-outputs.json", "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The config.json written from a stack's outputs is the checked-in one:
// Cognito sign-in with the web client's scopes, redirected to the
// console's URL.
func TestConfigGolden(t *testing.T) {
	cfg, err := consoleConfig(sampleOutputs(t))
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	if err := writeConfig(dist, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dist, web.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/config.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./infra/cmd/publish-console -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config.json differs from %s (review, then -update):\n%s", golden, got)
	}
	// The console reads it back as web.Config.
	var back web.Config
	if err := json.Unmarshal(got, &back); err != nil || back.Auth.Kind != web.AuthCognito || back.Auth.RedirectURL != "https://console.d1a2b3c4d5e6f7.amplifyapp.com" ||
		back.MaxDownloads != 3 || len(back.ReviewerGroups) != 2 || len(back.Auth.Scopes) != 4 {
		t.Errorf("read back: %+v %v", back, err)
	}
}

// Outputs that cannot configure the console fail, naming the output.
func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		change  map[string]string // "" deletes
		want    string
		offline bool // errConsoleOff
	}{
		{"web_console off", map[string]string{outputs.ConsoleURL: ""}, "web_console off", true},
		{"an older stack", map[string]string{outputs.WebClientScopes: "", outputs.AdminGroup: ""}, "lack WebClientScopes, AdminGroupName", false},
		{"no endpoint", map[string]string{outputs.GraphQLEndpoint: " "}, "lack GraphQLEndpoint", false},
		{"bad max downloads", map[string]string{outputs.MaxDownloads: "three"}, `output MaxDownloads: want a whole number from 1, got "three"`, false},
		{"zero downloads", map[string]string{outputs.MaxDownloads: "0"}, "output MaxDownloads", false},
		{"plain http console", map[string]string{outputs.ConsoleURL: "http://console.example.org"}, "output ConsoleUrl: want an https URL", false},
		{"domain with scheme", map[string]string{outputs.CognitoDomain: "https://auth.example.org"}, "output CognitoDomain: want a host name", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := maps.Clone(sampleOutputs(t))
			for k, v := range tt.change {
				if v == "" {
					delete(out, k)
				} else {
					out[k] = v
				}
			}
			_, err := consoleConfig(out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if (err == errConsoleOff) != tt.offline {
				t.Errorf("errConsoleOff %v, want %v", err == errConsoleOff, tt.offline)
			}
		})
	}
}

// Every output the stack promises the console (outputs.Console) is
// needed: without it, publishing fails naming it.
func TestEveryConsoleOutputNeeded(t *testing.T) {
	for _, name := range outputs.Console {
		out := maps.Clone(sampleOutputs(t))
		delete(out, name)
		_, err := consoleConfig(out)
		if name == outputs.AmplifyAppID || name == outputs.ConsoleBranch {
			// main checks these two, before deploying.
			continue
		}
		if err == nil || !strings.Contains(err.Error(), name) && err != errConsoleOff {
			t.Errorf("without %s: %v", name, err)
		}
	}
}

// Without researcher_group the stack has no ResearcherGroupName output:
// the console gets "".
func TestConfigWithoutResearchers(t *testing.T) {
	out := maps.Clone(sampleOutputs(t))
	delete(out, outputs.ResearcherGroup)
	cfg, err := consoleConfig(out)
	if err != nil || cfg.ResearcherGroup != "" || cfg.AdminGroup != "TREAdmin" {
		t.Fatalf("%+v %v", cfg, err)
	}
}
