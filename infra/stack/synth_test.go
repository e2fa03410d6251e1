package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// The stacks every test reads, synthesized once per test binary in one
// app: jsii starts one node process and a synthesis takes seconds.
const (
	sampleStack = "egress-Sample" // cdk.json's Sample environment: the golden snapshot
	secondStack = "second-Sample" // the same environment deployed again beside it, web_console instead
	thirdStack  = "third-Sample"  // and a third, web_console off
	fullStack   = "full-Full"     // every option on: EFS, custom domain, SAML, WAF, ...
)

// fullOptions turn every optional feature of the Sample environment on.
var fullOptions = map[string]any{
	"efs_mount_path":         "/mnt/egress",
	"enable_single_approval": "True",
	"ig_workspaces_account":  "333333333333",
	"use_s3_access_points":   true,
	"max_request_age_days":   "30",
	"global_web_acl_arn":     "arn:aws:wafv2:us-east-1:444444444444:global/webacl/egress/0a1b2c3d-1111-2222-3333-444444444444",
	"regional_web_acl_arn":   "arn:aws:wafv2:eu-west-2:444444444444:regional/webacl/egress/0a1b2c3d-5555-6666-7777-888888888888",
	"custom_domain": map[string]any{
		"is_enabled": "true", "domain_name": "egress.tre.example.org", "hosted_zone_name": "tre.example.org",
		"hosted_zone_id": "Z0123456789ABCDEFGHIJ", "cert_arn": "arn:aws:acm:us-east-1:444444444444:certificate/0a1b2c3d-9999-aaaa-bbbb-cccccccccccc",
	},
	"custom_idp": map[string]any{
		"is_enabled": true, "name": "TREIdP", "metadata_url": "https://idp.example.org/saml/metadata.xml",
	},
	"stack_name_prefix": "full",
	"researcher_group":  "Researcher",
	"event_bus_targets": []any{"arn:aws:events:eu-west-2:666666666666:event-bus/tre-operations"},
	"checks": map[string]any{
		"malware":  map[string]any{"engine": "clamav", "clamd_address": "clamd.internal:3310"},
		"archives": "refuse",
	},
	// Pinned, so the test sees that such a stack still needs no lookups.
	"account": "555555555555",
	"region":  "eu-west-2",
}

type synthesis struct {
	dir       string
	context   map[string]any            // cdk.json's context
	configs   map[string]Config         // by stack name
	templates map[string]map[string]any // by stack name
	findings  map[string][]string       // by stack name: cdk-nag errors and warnings
	err       error
}

var (
	synthOnce sync.Once
	synthed   synthesis
)

func TestMain(m *testing.M) {
	code := m.Run()
	if synthed.dir != "" {
		os.RemoveAll(synthed.dir)
	}
	// No jsii.Close: it races with the runtime's own wait for the node
	// process (jsii-runtime-go), which exits with this process anyway.
	os.Exit(code)
}

// synth returns the synthesized stacks.
func synth(t *testing.T) *synthesis {
	t.Helper()
	synthOnce.Do(func() { synthed.err = synthed.run() })
	if synthed.err != nil {
		t.Fatal(synthed.err)
	}
	return &synthed
}

// cdkContext reads infra/cdk.json's context.
func cdkContext() (map[string]any, error) {
	data, err := os.ReadFile("../cdk.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return doc.Context, nil
}

// environment returns a copy of cdk.json's environment env with overrides.
func environment(ctx map[string]any, env string, overrides map[string]any) map[string]any {
	src, _ := ctx[env].(map[string]any)
	out := maps.Clone(src)
	maps.Copy(out, overrides)
	return out
}

func (s *synthesis) run() error {
	var err error
	if s.dir, err = os.MkdirTemp("", "egress-infra-test-"); err != nil {
		return err
	}
	if s.context, err = cdkContext(); err != nil {
		return err
	}
	// One placeholder package for every function: the tests check the
	// template, not the binaries, and building them takes a minute.
	code := filepath.Join(s.dir, "code")
	if err := os.MkdirAll(code, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		return err
	}
	appContext := maps.Clone(s.context)
	// What the CDK CLI sets: the metadata sam and reviewers rely on.
	appContext["aws:cdk:enable-path-metadata"] = true
	appContext["aws:cdk:enable-asset-metadata"] = true
	out := filepath.Join(s.dir, "cdk.out")
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out), Context: &appContext, AnalyticsReporting: jsii.Bool(false)})

	s.configs = map[string]Config{}
	for _, c := range []struct {
		env       string
		overrides map[string]any
	}{
		{"Sample", nil},
		{"Sample", map[string]any{"stack_name_prefix": "second", "create_ses_identity": false, "checks": map[string]any{"malware": map[string]any{"engine": "none"}},
			"web_console": ConsoleInstead}},
		{"Sample", map[string]any{"stack_name_prefix": "third", "create_ses_identity": false, "web_console": ConsoleOff}},
		{"Full", fullOptions},
	} {
		base := c.env
		if base == "Full" {
			base = "Sample"
		}
		cfg, err := ParseConfig(c.env, environment(s.context, base, c.overrides))
		if err != nil {
			return err
		}
		if _, err := New(app, Props{Config: cfg, Code: func(string) awslambda.Code {
			return awslambda.Code_FromAsset(jsii.String(code), nil)
		}}); err != nil {
			return err
		}
		s.configs[cfg.StackName()] = cfg
	}
	Check(app)
	app.Synth(nil)

	s.templates = map[string]map[string]any{}
	for name := range s.configs {
		data, err := os.ReadFile(filepath.Join(out, name+".template.json"))
		if err != nil {
			return err
		}
		var tmpl map[string]any
		if err := json.Unmarshal(data, &tmpl); err != nil {
			return err
		}
		s.templates[name] = tmpl
	}
	return s.readFindings(out)
}

// readFindings collects the error and warning annotations of the cloud
// assembly, where cdk-nag reports, and any context lookup synthesis
// wanted (which would need AWS credentials).
func (s *synthesis) readFindings(out string) error {
	data, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		return err
	}
	var m struct {
		Missing   []any `json:"missing"` // context lookups synthesis could not do offline
		Artifacts map[string]struct {
			Metadata map[string][]struct {
				Type string `json:"type"`
				Data any    `json:"data"`
			} `json:"metadata"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	s.findings = map[string][]string{}
	for _, lookup := range m.Missing {
		s.findings["app"] = append(s.findings["app"], fmt.Sprintf("missing context (a lookup): %v", lookup))
	}
	for name, a := range m.Artifacts {
		for path, entries := range a.Metadata {
			for _, e := range entries {
				if e.Type == "aws:cdk:error" || e.Type == "aws:cdk:warning" {
					s.findings[name] = append(s.findings[name], fmt.Sprintf("%s %s: %v", strings.TrimPrefix(e.Type, "aws:cdk:"), path, e.Data))
				}
			}
		}
	}
	return nil
}

// resources returns the template's resources of type typ, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// byPath finds the resource whose aws:cdk:path is "<stack>/<path>".
func byPath(t *testing.T, tmpl map[string]any, stackName, path string) (string, map[string]any) {
	t.Helper()
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		md, _ := r["Metadata"].(map[string]any)
		if md["aws:cdk:path"] == stackName+"/"+path {
			return id, r
		}
	}
	t.Fatalf("%s: no resource at %s", stackName, path)
	return "", nil
}
