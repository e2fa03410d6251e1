// Command egress-local runs egress on one machine: the embedded stack, SWB
// submissions against it, and end-to-end scenarios.
//
//	egress-local run [--addr 127.0.0.1:PORT] [--dir DIR] [--seed]
//	egress-local submit --endpoint URL --store DIR [--json]
//	egress-local scenario --store DIR [--decisions approve,approve] [--single | --stages N [--blinded]] [--json]
//	egress-local demo
//	egress-local token --email E [--name N] [--groups G1,G2] [--use access|id] [--endpoint URL]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/egress"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = run(ctx, args)
	case "submit":
		err = submit(ctx, args)
	case "scenario":
		err = scenario(ctx, args)
	case "demo":
		err = demo(ctx)
	case "token":
		err = tokenCmd(args)
	case "help", "-h", "--help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "egress-local: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "egress-local:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  egress-local run [--addr 127.0.0.1:PORT] [--dir DIR] [--seed] [--single | --stages N|JSON]
  egress-local submit --endpoint URL --store DIR [--json]
  egress-local scenario --store DIR [--decisions approve,approve] [--single | --stages N [--blinded]] [--json]
  egress-local demo
  egress-local token --email E [--name N] [--groups G1,G2] [--use access|id] [--swb-user-id ID] [--dir DIR | --endpoint URL] [--ttl 12h]

scenario --decisions: `+local.DecisionSyntax+`
  e.g. --decisions approve,return  --decisions cancel  --decisions approve:reject=results/a.csv+b.csv,approve
`)
}

// sampleStore is the tree make run seeds and demo submits.
func sampleStore() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sample-store")
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:4566", "address of the front endpoint (Step Functions, SNS, SES, GraphQL)")
	dir := fs.String("dir", "", "data folder (S3 data, e-mail outbox); default a temporary folder")
	seed := fs.Bool("seed", false, "submit the sample store so one request awaits a decision")
	single := fs.Bool("single", false, "single approval (IG only)")
	stagesArg := fs.String("stages", "", `N (1..5: IG, RIT, Stage3...) or approval_stages as in cdk.json, e.g. [{"name":"IG","group":"InformationGovernance","reminder_after_hours":24,"max_reminders":2},{"name":"RIT","group":"TREAdmin"}]`)
	blinded := fs.Bool("blinded", false, "with --stages N: the first stage has two blinded reviewers")
	fs.Parse(args)
	stages, err := parseStages(*stagesArg, *blinded, *single)
	if err != nil {
		return err
	}
	if *dir != "" {
		var abs string
		abs, err = filepath.Abs(*dir)
		if err != nil {
			return err
		}
		*dir = abs
	}
	st, err := local.Start(ctx, local.Options{Addr: *addr, Dir: *dir, SingleApproval: *single, Stages: stages, Schedules: true, PollEvents: true})
	if err != nil {
		return err
	}
	defer st.Close()
	for _, e := range st.Endpoints() {
		fmt.Printf("%s: %s\n", e.Name, e.URL)
	}
	fmt.Printf("malware scanner: %s\n", st.Scanner())
	fmt.Printf("console: %s/\n", st.URL)
	for _, u := range st.DevUsers() {
		fmt.Printf("  sign in as %s: %s <%s>, groups %s\n", u.Label, u.Name, u.Email, strings.Join(u.Groups, ","))
	}
	if !st.ConsoleBuilt() {
		fmt.Println("  (the console is not built: run make web)")
	}
	if *seed {
		swb := local.SWB{S3: st.Clients.S3, DynamoDB: st.Clients.DynamoDB, Now: time.Now}
		sub, err := swb.Submit(ctx, sampleStore(), "researcher@example.org")
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if err := st.Publish(ctx, sub.Message); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		fmt.Printf("seeded request: %s\n", sub.RequestID)
	}
	fmt.Println("ready; Ctrl-C to stop")
	<-ctx.Done()
	return nil
}

// submit acts as SWB against a running stack: it asks the stack for its
// endpoints, uploads the tree and publishes the message.
func submit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("submit", flag.ExitOnError)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "front endpoint printed by egress-local run")
	dir := fs.String("store", "", "folder to submit as a workspace egress store")
	asJSON := fs.Bool("json", false, "print JSON")
	requester := fs.String("requester", "researcher@example.org", "requester e-mail")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("submit: --store DIR is required")
	}
	conn, err := connect(ctx, *endpoint)
	if err != nil {
		return err
	}
	eps, err := endpoints(ctx, *endpoint)
	if err != nil {
		return err
	}
	cfg := func(url string) aws.Config {
		return aws.Config{Region: local.Region, Credentials: credentials.NewStaticCredentialsProvider("local", "localsecret", ""), BaseEndpoint: aws.String(url)}
	}
	s3cfg := cfg(eps["s3"])
	s3cfg.Credentials = credentials.NewStaticCredentialsProvider(conn.S3AccessKey, conn.S3SecretKey, "")
	s3c := s3.NewFromConfig(s3cfg, func(o *s3.Options) { o.UsePathStyle = true })
	swb := local.SWB{S3: s3c, DynamoDB: dynamodb.NewFromConfig(cfg(eps["dynamodb"])), Now: time.Now}
	sub, err := swb.Submit(ctx, *dir, *requester)
	if err != nil {
		return err
	}
	if _, err := sns.NewFromConfig(cfg(eps["sns"])).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(local.TopicArn), Message: aws.String(sub.Message)}); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(sub)
	}
	fmt.Println(sub.RequestID)
	return nil
}

func connect(ctx context.Context, front string) (local.Connection, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(front, "/")+"/local/endpoints", nil)
	if err != nil {
		return local.Connection{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return local.Connection{}, fmt.Errorf("is egress-local run up at %s? %w", front, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var conn local.Connection
	if err := json.Unmarshal(body, &conn); err != nil || len(conn.Endpoints) == 0 {
		return conn, fmt.Errorf("endpoints from %s: not an egress-local stack (%v)", front, err)
	}
	return conn, nil
}

// parseStages reads --stages: empty (the default chain), a number of
// numbered stages, or approval_stages JSON.
func parseStages(arg string, blinded, single bool) ([]egress.StageSpec, error) {
	if arg == "" {
		if blinded {
			return nil, errors.New("--blinded needs --stages N")
		}
		return nil, nil
	}
	if single {
		return nil, errors.New("--single and --stages: give one")
	}
	if n, err := strconv.Atoi(arg); err == nil {
		st, err := local.NumberedStages(n, blinded)
		if err != nil {
			return nil, fmt.Errorf("--stages: %w", err)
		}
		return st, nil
	}
	if blinded {
		return nil, errors.New("--blinded needs --stages N, not JSON (set reviewers in the JSON)")
	}
	var stages []egress.StageSpec
	if err := json.Unmarshal([]byte(arg), &stages); err != nil {
		return nil, fmt.Errorf("--stages: want a number 1..5 or approval_stages JSON: %w", err)
	}
	return stages, nil
}

func scenario(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scenario", flag.ExitOnError)
	dir := fs.String("store", sampleStore(), "folder to submit as a workspace egress store")
	decisions := fs.String("decisions", "approve,approve", local.DecisionSyntax)
	single := fs.Bool("single", false, "single approval (IG only)")
	stagesArg := fs.String("stages", "", "N stages (1..5): IG, RIT, Stage3, Stage4, Stage5")
	blinded := fs.Bool("blinded", false, "with --stages: the first stage has two blinded reviewers")
	fs.Bool("json", true, "print JSON (always)")
	fs.Parse(args)
	stages, err := parseStages(*stagesArg, *blinded, *single)
	if err != nil {
		return err
	}
	st, err := local.Start(ctx, local.Options{SingleApproval: *single, Stages: stages})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rep, err := st.Scenario(ctx, *dir, strings.Split(*decisions, ","), st.GraphQLDecider())
	if err != nil {
		return err
	}
	return printReport(rep)
}

func printReport(rep local.Report) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if !rep.ExpectedResult {
		return fmt.Errorf("outcome not as the decisions imply: %s", strings.Join(rep.Problems, "; "))
	}
	return nil
}

// demo runs, on one stack, the sample store approved at every stage,
// rejected, returned then resubmitted with a changed file and approved,
// and approved, downloaded and revoked. It fails if any outcome is not as
// expected.
func demo(ctx context.Context) error {
	st, err := local.Start(ctx, local.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	changed, err := os.MkdirTemp("", "egress-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(changed)
	var summary []string
	errs := demoScenarios(ctx, st, sampleStore(), changed, func(name string, rep local.Report, err error) error {
		if err == nil {
			fmt.Printf("== scenario: %s\n", name)
			err = printReport(rep)
		}
		result := "as expected"
		if err != nil {
			result = "NOT as expected: " + err.Error()
		}
		summary = append(summary, fmt.Sprintf("%-44s %-12s %s", name, rep.Status, result))
		return err
	})
	fmt.Println("== summary")
	for _, l := range summary {
		fmt.Println(l)
	}
	return errs
}

// demoScenarios runs the demo's scenarios on st, handing each report to
// done; changed is an empty folder for the resubmitted store.
func demoScenarios(ctx context.Context, st *local.Stack, store, changed string, done func(string, local.Report, error) error) error {
	d := st.GraphQLDecider()
	var errs []error
	for _, dec := range [][]string{{"approve", "approve"}, {"reject"}} {
		rep, err := st.Scenario(ctx, store, dec, d)
		errs = append(errs, done(strings.Join(dec, ","), rep, err))
	}
	returned, err := st.Scenario(ctx, store, []string{"return"}, d)
	errs = append(errs, done("return", returned, err))
	if err == nil && returned.ExpectedResult {
		err := changedCopy(store, changed)
		var rep local.Report
		if err == nil {
			rep, err = st.ResubmitScenario(ctx, returned, changed, []string{"approve", "approve"}, d)
		}
		errs = append(errs, done("resubmitted (a file changed),approve,approve", rep, err))
	}
	rep, err := st.RevokeScenario(ctx, store, d)
	errs = append(errs, done("approve,approve,download,revoke", rep, err))

	// The automated checks: a file with the EICAR test string is blocked
	// before any review; a table with a small count is a warning the
	// reviewers see, and they approve it.
	blocked, sdcStore := filepath.Join(changed, "..", filepath.Base(changed)+"-blocked"), filepath.Join(changed, "..", filepath.Base(changed)+"-sdc")
	defer os.RemoveAll(blocked)
	defer os.RemoveAll(sdcStore)
	if err := writeStore(store, blocked, map[string][]byte{"results/scan-me.txt": append([]byte("results\n"), clamav.EICAR()...)}); err != nil {
		errs = append(errs, err)
	} else {
		rep, err := st.Scenario(ctx, blocked, []string{"blocked"}, d)
		if err == nil {
			expectFinding(&rep, "results/scan-me.txt: BLOCKING malware")
		}
		errs = append(errs, done("blocked by the malware scan", rep, err))
	}
	if err := writeStore(store, sdcStore, map[string][]byte{"tables/by-region.csv": []byte("region,n\nNorth,3\nSouth,25\nEast,40\n")}); err != nil {
		errs = append(errs, err)
	} else {
		rep, err := st.Scenario(ctx, sdcStore, []string{"approve", "approve"}, d)
		if err == nil {
			expectFinding(&rep, "tables/by-region.csv: WARNING sdc")
		}
		errs = append(errs, done("SDC warnings,approve,approve", rep, err))
	}
	return errors.Join(errs...)
}

// writeStore copies the tree at src to dst and adds files.
func writeStore(src, dst string, files map[string][]byte) error {
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("copy the store: %w", err)
	}
	return local.WriteFiles(dst, files)
}

// expectFinding records a problem unless a finding starts with prefix.
func expectFinding(rep *local.Report, prefix string) {
	if !slices.ContainsFunc(rep.Findings, func(f string) bool { return strings.HasPrefix(f, prefix) }) {
		rep.Problems = append(rep.Problems, fmt.Sprintf("no finding %q among %q", prefix, rep.Findings))
		rep.ExpectedResult = false
	}
}

// changedCopy copies the tree at src to dst with one file changed, as a
// researcher would after a return.
func changedCopy(src, dst string) error {
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("copy the store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dst, "tables", "summary.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("change a file: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString("small counts suppressed,<10\n")
	return err
}

// endpoints maps each endpoint name of a running stack to its URL.
func endpoints(ctx context.Context, front string) (map[string]string, error) {
	conn, err := connect(ctx, front)
	if err != nil {
		return nil, err
	}
	eps := map[string]string{}
	for _, e := range conn.Endpoints {
		eps[e.Name] = e.URL
	}
	return eps, nil
}
