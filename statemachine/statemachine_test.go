package statemachine

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/workflow"
)

func subs() map[string]string {
	return FunctionSubstitutions(func(fn string) string { return "arn:aws:lambda:eu-west-2:123456789012:function:" + fn })
}

func TestPlaceholdersAreFunctions(t *testing.T) {
	got := Placeholders()
	s := subs()
	if len(got) != len(s) {
		t.Fatalf("placeholders %v, functions %v", got, s)
	}
	for _, p := range got {
		if _, ok := s[p]; !ok {
			t.Errorf("placeholder %s has no function", p)
		}
	}
}

func TestDefinition(t *testing.T) {
	out, err := Definition(subs())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("${")) {
		t.Fatal("placeholder left after substitution")
	}
	var d struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal(out, &d); err != nil || d.StartAt != "CopyToStaging" {
		t.Fatalf("definition: %v %q", err, d.StartAt)
	}
	if !strings.Contains(string(out), "function:copy-to-staging") {
		t.Fatal("copy-to-staging ARN not substituted")
	}
}

func TestDefinitionErrors(t *testing.T) {
	s := subs()
	delete(s, "NotifyFunctionArn")
	if _, err := Definition(s); err == nil || !strings.Contains(err.Error(), "no value for NotifyFunctionArn") {
		t.Fatalf("missing: %v", err)
	}
	s = subs()
	s["Bogus"] = "x"
	if _, err := Definition(s); err == nil || !strings.Contains(err.Error(), "unknown placeholder Bogus") {
		t.Fatalf("unknown: %v", err)
	}
	s = subs()
	s["NotifyFunctionArn"] = `a"b`
	out, err := Definition(s)
	if err != nil || !json.Valid(out) {
		t.Fatalf("quote must be escaped: %v", err)
	}
}

// The definition's execution limit is the one config checks stage timeouts
// against.
func TestExecutionTimeoutMatchesConfig(t *testing.T) {
	var d struct{ TimeoutSeconds int }
	if err := json.Unmarshal(Raw(), &d); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(d.TimeoutSeconds) * time.Second; got != config.ExecutionTimeout {
		t.Fatalf("TimeoutSeconds = %s, config.ExecutionTimeout = %s", got, config.ExecutionTimeout)
	}
}

// The Fail states' errors are the ones the execution-ended function tells
// apart (workflow.ErrRequestFailed, workflow.ErrCleanupFailed), and the
// failure path's catch ends in the second.
func TestFailStates(t *testing.T) {
	var d struct {
		States map[string]struct {
			Type, Error string
			Catch       []struct{ Next string }
		}
	}
	if err := json.Unmarshal(Raw(), &d); err != nil {
		t.Fatal(err)
	}
	fails := map[string]string{}
	for name, st := range d.States {
		if st.Type == "Fail" {
			fails[st.Error] = name
		}
	}
	if len(fails) != 2 || fails[workflow.ErrRequestFailed] == "" || fails[workflow.ErrCleanupFailed] == "" {
		t.Fatalf("Fail states by error: %v", fails)
	}
	if c := d.States["HandleFailure"].Catch; len(c) != 1 || c[0].Next != fails[workflow.ErrCleanupFailed] {
		t.Fatalf("HandleFailure's Catch: %+v", c)
	}
}
