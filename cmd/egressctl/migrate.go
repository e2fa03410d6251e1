package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/tre-egress/egress/shared/migrate"
)

// migrateCmd runs shared/migrate with the operator's AWS credentials (it
// talks to DynamoDB, not to the API, so the sign-in flags do not apply).
// Requests left behind (in flight, malformed) are a failed check: the
// report already names them.
func migrateCmd(ctx context.Context, a *app, args []string) error {
	err := migrate.Command(ctx, args, a.stdout, a.stderr)
	var incomplete *migrate.Incomplete
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return err
	case errors.As(err, &incomplete):
		fmt.Fprintf(a.stderr, "egressctl: %v\n", err)
		return &checkFailed{err}
	case strings.Contains(err.Error(), "usage: egressctl") || strings.Contains(err.Error(), "flag provided but not defined"):
		return &usageError{err}
	}
	return err
}
