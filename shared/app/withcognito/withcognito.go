// Package withcognito is the Cognito plug-in of app.Run: the reviewer
// groups' members in the user pool. Importing it links the Cognito
// identity provider client; see package app.
package withcognito

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/userpool"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the Cognito adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.Cognito,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, cognitoidentityprovider.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h. Without a pool id there is no
// directory: the configured addresses and the topics' subscribers are
// told.
func Adapters(h *workflow.Handlers, cfg config.Config, c *cognitoidentityprovider.Client) {
	if cfg.UserPoolID != "" {
		h.Directory = userpool.New(c, cfg.UserPoolID)
	}
}
