// Command infra is the egress CDK app. The CDK CLI runs it from infra/
// (cdk.json): it reads the deployment parameters of the environment named
// by -c env=<name>, builds every function for provided.al2023 arm64 and
// synthesizes the stack, checked by cdk-nag.
//
//	npx aws-cdk@2 synth -c env=Sample
//	npx aws-cdk@2 deploy -c env=Prod [-c stack_name_prefix=egress2]
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/infra/lambdabuild"
	"github.com/tre-egress/egress/infra/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "egress infra:", err)
		os.Exit(1)
	}
}

func run() error {
	// No jsii.Close: it races with the runtime's own wait for its node
	// process and prints a spurious error; node exits with this process.
	app := awscdk.NewApp(nil)

	env, _ := app.Node().TryGetContext(jsii.String("env")).(string)
	if env == "" {
		return fmt.Errorf("no environment: pass -c env=<name of an entry in cdk.json's context>, e.g. -c env=Sample")
	}
	values, ok := app.Node().TryGetContext(jsii.String(env)).(map[string]any)
	if !ok {
		return fmt.Errorf("cdk.json has no context object %q for -c env=%s", env, env)
	}
	// -c stack_name_prefix=... on the command line deploys a second copy
	// of an environment beside the first.
	if prefix, ok := app.Node().TryGetContext(jsii.String("stack_name_prefix")).(string); ok {
		values["stack_name_prefix"] = prefix
	}
	cfg, err := stack.ParseConfig(env, values)
	if err != nil {
		return err
	}

	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "egress-functions-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if err := lambdabuild.Functions(root, bin, functions.Names()); err != nil {
		return err
	}

	_, err = stack.New(app, stack.Props{
		Config: cfg,
		Code: func(name string) awslambda.Code {
			return awslambda.Code_FromAsset(jsii.String(filepath.Join(bin, name)), nil)
		},
	})
	if err != nil {
		return err
	}
	stack.Check(app)
	app.Synth(nil)
	return nil
}
