// Package cognitoapp wires functions/pre-token-generation, the Cognito
// trigger. It needs no AWS client, and links none.
package cognitoapp

import (
	"context"
	"log/slog"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/lambdamain"
)

// Run is the trigger's main: cognitoapp.Run("pre-token-generation").
func Run(name string) {
	lambdamain.Start(name, build)
}

func build(_ context.Context, _ functions.Function, cfg config.Config, log *slog.Logger) (any, error) {
	t := Trigger(cfg)
	t.Log = log
	return t.Handle, nil
}

// Trigger builds the trigger from the configuration: reviewer groups from
// the identity provider, matched exactly against egress_reviewer_roles.
func Trigger(cfg config.Config) cognito.PreTokenGeneration {
	return cognito.PreTokenGeneration{Groups: cfg.ReviewerGroups}
}
