// Command pre-token-generation is the Cognito pre token generation trigger
// (event version 2): reviewer groups from the identity provider, matched
// exactly, and the verified e-mail and name in the access token. It only
// wires.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/config"
)

func main() {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		app.Logger().Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(cognito.PreTokenGeneration{Groups: cfg.ReviewerGroups}.Handle)
}
