// Command publish-console publishes the reviewer console (web/dist, built
// by make web) to a deployed stack's Amplify Hosting branch, configured
// from the stack's outputs: it writes web/dist/config.json (web.Config:
// sign-in through the stack's user pool, redirected to the console's URL;
// the GraphQL endpoint; the groups), zips web/dist and deploys the zip
// (CreateDeployment, upload, StartDeployment), waiting for the job.
//
//	publish-console --outputs cdk-outputs.json [--stack egress-Prod]   (after cdk deploy --outputs-file)
//	publish-console --stack egress-Prod                                (outputs from CloudFormation)
//
// make deploy runs it after cdk deploy; make publish-console alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/amplify"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/tre-egress/egress/infra/outputs"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "publish-console:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("publish-console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outputsFile := fs.String("outputs", "", "cdk deploy --outputs-file JSON; without it the outputs come from CloudFormation (DescribeStacks of --stack)")
	stack := fs.String("stack", "", "the stack (required without --outputs, or when the file holds several)")
	dist := fs.String("dist", "web/dist", "the built console (make web)")
	timeout := fs.Duration("timeout", 15*time.Minute, "how long to wait for the deployment")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *outputsFile == "" && *stack == "" {
		return errors.New("give --outputs FILE (cdk deploy --outputs-file) or --stack NAME")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	var out map[string]string
	if *outputsFile != "" {
		all, err := outputs.ReadFile(*outputsFile)
		if err != nil {
			return fmt.Errorf("--outputs: %w", err)
		}
		if out, err = all.Pick("--outputs "+*outputsFile, *stack); err != nil {
			return err
		}
	} else {
		if awsCfg.Region == "" {
			return fmt.Errorf("no AWS region to find stack %s in: set AWS_REGION (or give --outputs)", *stack)
		}
		if out, err = describeOutputs(ctx, cloudformation.NewFromConfig(awsCfg), *stack); err != nil {
			return err
		}
	}

	cfg, err := consoleConfig(out)
	if errors.Is(err, errConsoleOff) {
		fmt.Fprintln(stdout, "web_console is off: no console to publish")
		return nil
	}
	if err != nil {
		return err
	}
	app, branch := out[outputs.AmplifyAppID], out[outputs.ConsoleBranch]
	if app == "" || branch == "" {
		return fmt.Errorf("the stack's outputs lack %s or %s", outputs.AmplifyAppID, outputs.ConsoleBranch)
	}
	// The branch is in the stack's region, whatever the default is.
	awsCfg.Region = cfg.Region

	if _, err := os.Stat(*dist); err != nil {
		return fmt.Errorf("--dist: %w (build the console first: make web)", err)
	}
	if err := writeConfig(*dist, cfg); err != nil {
		return err
	}
	zip, err := zipDir(*dist)
	if err != nil {
		return err
	}
	p := &publisher{
		Amplify: amplify.NewFromConfig(awsCfg),
		HTTP:    &http.Client{Timeout: 5 * time.Minute},
		Poll:    5 * time.Second,
		Log:     func(format string, args ...any) { fmt.Fprintf(stderr, "publish-console: "+format+"\n", args...) },
	}
	job, err := p.publish(ctx, app, branch, zip)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published the reviewer console to %s (Amplify app %s branch %s, job %s)\n", cfg.Auth.RedirectURL, app, branch, job)
	return nil
}
