package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/statemachine"
)

func TestRows(t *testing.T) {
	names, ids := map[string]bool{}, map[string]bool{}
	for _, f := range functions.All() {
		if f.Name == "" || names[f.Name] {
			t.Errorf("name %q is empty or not unique", f.Name)
		}
		names[f.Name] = true
		if f.ID == "" || ids[f.ID] {
			t.Errorf("%s: id %q is empty or not unique", f.Name, f.ID)
		}
		ids[f.ID] = true
		if f.Description == "" {
			t.Errorf("%s: no description", f.Name)
		}
		// Lambda's limits.
		if f.MemoryMB < 128 || f.MemoryMB > 10240 || f.Timeout < time.Second || f.Timeout > 15*time.Minute {
			t.Errorf("%s: %d MB, %s", f.Name, f.MemoryMB, f.Timeout)
		}
		env := f.Env()
		for i, v := range env {
			if v == "" || slices.Contains(env[:i], v) {
				t.Errorf("%s: variable %q is empty or listed twice", f.Name, v)
			}
		}
		for i, s := range f.Services {
			if !slices.Contains([]functions.Service{functions.S3, functions.DynamoDB, functions.StepFunctions, functions.SES, functions.SNS, functions.Cognito, functions.EventBridge}, s) ||
				slices.Contains(f.Services[:i], s) {
				t.Errorf("%s: service %q is unknown or listed twice", f.Name, s)
			}
		}
		if f.Placeholder != "" && f.Handler == "" {
			t.Errorf("%s: a task state without a workflow handler", f.Name)
		}
		if got, ok := functions.Lookup(f.Name); !ok || got.ID != f.ID {
			t.Errorf("Lookup(%q) = %+v, %v", f.Name, got, ok)
		}
	}
	if !slices.Equal(functions.Names(), slices.Collect(func(yield func(string) bool) {
		for _, f := range functions.All() {
			if !yield(f.Name) {
				return
			}
		}
	})) {
		t.Error("Names is not the table's names in order")
	}
	if _, ok := functions.Lookup("no-such-function"); ok {
		t.Error("Lookup found a function that does not exist")
	}
}

// store-task-token tells each stage's reviewers, and send-reminders
// reminds them: on the stage's topic (SNS), by e-mail to the group's
// members (Cognito) and configured addresses (SES). The staged files'
// types come with the request, so they read no manifest: no S3 client to
// start. No other function publishes or reads the user pool.
func TestReviewerNoticeRow(t *testing.T) {
	// notify also tells a stage's reviewers of a cancellation or revocation.
	tellers := []string{"store-task-token", "send-reminders", "notify"}
	for _, name := range tellers {
		f, ok := functions.Lookup(name)
		if !ok {
			t.Fatalf("no %s row", name)
		}
		for _, v := range []string{config.EnvReviewerTopics, config.EnvUserPoolID, config.EnvReviewerEmails} {
			if !f.Reads(v) {
				t.Errorf("%s does not read %s", name, v)
			}
		}
		for _, s := range []functions.Service{functions.SNS, functions.Cognito, functions.SES} {
			if !f.Uses(s) {
				t.Errorf("%s does not call %s", name, s)
			}
		}
		if f.Uses(functions.S3) || f.Reads(config.EnvStagingBucket) {
			t.Errorf("%s reads S3: the notice's file types are on the request", name)
		}
	}
	for _, g := range functions.All() {
		// egress-api publishes on the notices topic only (NOTICES_TOPIC_ARN).
		sns := g.Uses(functions.SNS) && (g.Name != "egress-api" || !g.Reads(config.EnvNoticesTopic))
		if !slices.Contains(tellers, g.Name) && (sns || g.Uses(functions.Cognito) || g.Reads(config.EnvUserPoolID) || g.Reads(config.EnvReviewerTopics)) {
			t.Errorf("%s calls SNS or Cognito, or reads their settings", g.Name)
		}
	}
}

// The scheduled functions, each within its bounds: each run lists every
// awaiting (or recently released) request, so none runs every few seconds,
// and the checks run often enough for their alarms.
func TestSchedules(t *testing.T) {
	bounds := map[string][2]time.Duration{
		"send-reminders":  {time.Minute, time.Hour},
		"purge-revoked":   {time.Minute, time.Hour},
		"check-stuck":     {5 * time.Minute, time.Hour},
		"verify-releases": {time.Hour, 24 * time.Hour},
	}
	for _, f := range functions.All() {
		b, scheduled := bounds[f.Name]
		switch {
		case scheduled && (f.Schedule < b[0] || f.Schedule > b[1]):
			t.Errorf("%s runs every %s, want %s to %s", f.Name, f.Schedule, b[0], b[1])
		case !scheduled && f.Schedule != 0:
			t.Errorf("%s is scheduled every %s", f.Name, f.Schedule)
		case f.Schedule != 0 && (f.Handler == "" || f.Placeholder != ""):
			t.Errorf("%s: a schedule runs a workflow handler that is not a task state", f.Name)
		}
	}
}

// The table is read-only: changing a returned row changes nothing.
func TestRowsAreCopies(t *testing.T) {
	f := functions.All()[0]
	f.Required[0] = "CHANGED"
	f.Services[0] = "CHANGED"
	g, _ := functions.Lookup(f.Name)
	if slices.Contains(g.Env(), "CHANGED") || g.Uses("CHANGED") {
		t.Fatal("a caller changed the table")
	}
}

// Every functions/<name> folder has a row, and every row a folder.
func TestRowsAreFolders(t *testing.T) {
	mains, err := filepath.Glob("*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mains {
		dirs = append(dirs, filepath.Dir(m))
	}
	if want := slices.Sorted(slices.Values(functions.Names())); !slices.Equal(dirs, want) {
		t.Fatalf("functions/ has %v, the table %v", dirs, want)
	}
}

// Every placeholder of the definition is a function's, and every function's
// placeholder is in the definition.
func TestPlaceholdersAreInTheDefinition(t *testing.T) {
	var rows []string
	for _, f := range functions.All() {
		if f.Placeholder != "" {
			if slices.Contains(rows, f.Placeholder) {
				t.Errorf("placeholder %s of %s is another function's too", f.Placeholder, f.Name)
			}
			rows = append(rows, f.Placeholder)
		}
	}
	slices.Sort(rows)
	if got := statemachine.Placeholders(); !slices.Equal(got, rows) {
		t.Fatalf("egress.asl.json has placeholders %v, the table %v", got, rows)
	}
}

// Each function links only what it uses: Go runs the init of every linked
// package, at every cold start, and ships its code.
func TestLinkSets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(goTool, "list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`, ".", "./...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/tre-egress/egress/"
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		deps[strings.TrimPrefix(fields[0], module)] = fields[1:]
	}
	sdk := "github.com/aws/aws-sdk-go-v2"
	// The SDK client of each service, and the SDK service packages that
	// come with it.
	services := map[functions.Service][]string{
		functions.S3: {sdk + "/service/s3"},
		// feature/dynamodb/attributevalue links DynamoDB Streams' types.
		functions.DynamoDB:      {sdk + "/service/dynamodb", sdk + "/service/dynamodbstreams"},
		functions.StepFunctions: {sdk + "/service/sfn"},
		functions.SES:           {sdk + "/service/sesv2"},
		functions.SNS:           {sdk + "/service/sns"},
		functions.Cognito:       {sdk + "/service/cognitoidentityprovider"},
		functions.EventBridge:   {sdk + "/service/eventbridge"},
	}
	// What config.LoadDefaultConfig links for its credential chain and
	// shared config files; in Lambda the credentials are in the
	// environment (shared/awsclient).
	credentialChain := []string{
		sdk + "/config", sdk + "/feature/ec2/imds", sdk + "/internal/ini",
		sdk + "/credentials/stscreds", sdk + "/credentials/ssocreds", sdk + "/credentials/ec2rolecreds",
		sdk + "/credentials/endpointcreds", sdk + "/credentials/processcreds", sdk + "/credentials/logincreds",
	}
	graphQL := []string{"github.com/vektah/gqlparser", module + "shared/api"}
	check := func(pkg string, forbidden ...string) {
		t.Helper()
		for _, d := range deps[pkg] {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s links %s", pkg, d)
				}
			}
		}
	}
	check("functions", sdk)
	for _, f := range functions.All() {
		pkg := "functions/" + f.Name
		if deps[pkg] == nil {
			t.Errorf("go list did not list %s", pkg)
			continue
		}
		check(pkg, credentialChain...)
		if f.Handler != "" {
			check(pkg, graphQL...)
		} else {
			check(pkg, module+"shared/workflow")
		}
		if len(f.Services) == 0 {
			check(pkg, slices.Concat([]string{sdk}, graphQL)...)
		}
		// The SDK service packages linked are exactly those of the row's
		// services: main names a plug-in per service (shared/app), and
		// the row grants the permissions.
		allowed := map[string]bool{}
		for _, s := range f.Services {
			ps, ok := services[s]
			if !ok {
				t.Errorf("%s: no SDK package known for service %s; add it to this test", f.Name, s)
				continue
			}
			if !slices.Contains(deps[pkg], ps[0]) {
				t.Errorf("%s does not link %s, the client of %s, which its row lists", pkg, ps[0], s)
			}
			for _, p := range ps {
				allowed[p] = true
			}
		}
		for _, d := range deps[pkg] {
			// A client with schema-based serde builds thousands of schemas
			// at package init, about 1 ms of every cold start (go.mod pins
			// DynamoDB and SES v2 before it; README, Performance).
			if strings.HasPrefix(d, sdk+"/service/") && strings.HasSuffix(d, "/schemas") {
				t.Errorf("%s links %s: pin that client to a release before schema-based serde", pkg, d)
			}
			rest, ok := strings.CutPrefix(d, sdk+"/service/")
			if !ok || strings.HasPrefix(rest, "internal/") || strings.Contains(rest, "/") {
				continue
			}
			if !allowed[d] {
				t.Errorf("%s links %s, the client of a service its row does not list", pkg, d)
			}
		}
	}
}
