package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tre-egress/egress/web"
)

// isolatedAWS points the SDK's default configuration at endpoint for
// Amplify, with test credentials and no shared files or instance metadata.
func isolatedAWS(t *testing.T, endpoint string) {
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_AMPLIFY": endpoint,
	} {
		t.Setenv(k, v)
	}
}

// The command end to end: the outputs file configures the console, its
// bundle with config.json is zipped and deployed to the console's branch.
func TestRun(t *testing.T) {
	f := &fakeAmplify{t: t, app: "d1a2b3c4d5e6f7", branch: "console", statuses: []string{"SUCCEED"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	isolatedAWS(t, srv.URL)
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{"index.html": "<!doctype html>", "app.js": "x"})

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--outputs", "testdata/cdk-outputs.json", "--dist", dist}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if want := "published the reviewer console to https://console.d1a2b3c4d5e6f7.amplifyapp.com (Amplify app d1a2b3c4d5e6f7 branch console, job 7)"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	var cfg web.Config
	b, _ := os.ReadFile(filepath.Join(dist, web.ConfigFile))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auth.RedirectURL != "https://console.d1a2b3c4d5e6f7.amplifyapp.com" {
		t.Errorf("config.json %s: %v", b, err)
	}
	entries := zipEntries(t, f.uploaded)
	if strings.Join(entries, " ") != "app.js config.json index.html" {
		t.Errorf("uploaded zip holds %v", entries)
	}
	if strings.Contains(stderr.String(), "s3cr3t") {
		t.Errorf("stderr shows the upload URL: %s", stderr.String())
	}
}

func TestRunRefuses(t *testing.T) {
	isolatedAWS(t, "http://127.0.0.1:1") // never reached
	dir := t.TempDir()
	off := filepath.Join(dir, "off.json")
	os.WriteFile(off, []byte(`{"egress-Prod":{"GraphQLEndpoint":"https://api","WebAppUrl":"https://main.x"}}`), 0o644)
	two := filepath.Join(dir, "two.json")
	os.WriteFile(two, []byte(`{"a":{"GraphQLEndpoint":"https://a"},"b":{"GraphQLEndpoint":"https://b"}}`), 0o644)
	for _, tt := range []struct {
		name   string
		args   []string
		want   string // in the error; "" for success
		stdout string
	}{
		{"no source", nil, "give --outputs FILE (cdk deploy --outputs-file) or --stack NAME", ""},
		{"web_console off", []string{"--outputs", off, "--dist", dir}, "", "web_console is off: no console to publish"},
		{"two stacks", []string{"--outputs", two}, "holds stacks a, b: pick one with --stack", ""},
		{"unknown stack", []string{"--outputs", two, "--stack", "c"}, `has no stack "c"`, ""},
		{"not built", []string{"--outputs", "testdata/cdk-outputs.json", "--dist", filepath.Join(dir, "dist")}, "build the console first: make web", ""},
		{"no index.html", []string{"--outputs", "testdata/cdk-outputs.json", "--dist", dir}, "has no index.html", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
		})
	}
}
