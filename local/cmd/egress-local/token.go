package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// tokenCmd prints a development token for the local GraphQL endpoint:
//
//	egress-local token --email E --name N --groups G1,G2 [--use access|id] [--dir DIR | --endpoint URL]
//
// The token is the one Cognito would issue the user (a pool user with a
// verified e-mail) through the deployed pre-token-generation trigger: the
// ID token by default, the access token the frontend sends with --use
// access. It signs with the key of the stack whose data folder is --dir,
// or of the stack running at --endpoint (found through its endpoint list).
func tokenCmd(args []string) error {
	return writeToken(os.Stdout, args)
}

func writeToken(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	email := fs.String("email", "", "the reviewer's e-mail (required)")
	name := fs.String("name", "", "the reviewer's name (default: from the e-mail)")
	groups := fs.String("groups", "", "Cognito groups, comma-separated, e.g. InformationGovernance,TREAdmin")
	sub := fs.String("sub", "", "the subject (default: derived from the e-mail)")
	userID := fs.String("swb-user-id", "", "the SWB user id an administrator set on the user ("+cognito.UserIDAttribute+")")
	use := fs.String("use", local.UseID, "the token's kind: "+local.UseAccess+" (what the frontend sends) or "+local.UseID)
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	dir := fs.String("dir", "", "data folder of the stack (egress-local run --dir)")
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "front endpoint of a running stack, used when --dir is not given")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("token: --email is required")
	}
	if *use != local.UseAccess && *use != local.UseID {
		return fmt.Errorf("token: --use %q: want %s or %s", *use, local.UseAccess, local.UseID)
	}
	who := egress.Identity{Subject: *sub, Email: *email, Name: *name, UserID: *userID}
	if who.Subject == "" {
		who.Subject = "local-" + strings.ToLower(*email)
	}
	if who.Name == "" {
		who.Name = strings.SplitN(*email, "@", 2)[0]
	}
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			who.Groups = append(who.Groups, g)
		}
	}
	keyDir := *dir
	if keyDir == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if keyDir, err = stackDir(ctx, *endpoint); err != nil {
			return err
		}
	}
	token, err := local.Token(keyDir, who, *use, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, token)
	return err
}

// stackDir asks a running stack where its data folder is: the signing-key
// endpoint if it lists one, else the folder holding its outbox.
func stackDir(ctx context.Context, front string) (string, error) {
	conn, err := connect(ctx, front)
	if err != nil {
		return "", err
	}
	eps := map[string]string{}
	for _, e := range conn.Endpoints {
		eps[e.Name] = e.URL
	}
	if u, ok := eps["signing-key"]; ok {
		p, err := filePath(u)
		return filepath.Dir(p), err
	}
	if u, ok := eps["outbox"]; ok {
		p, err := filePath(u)
		return filepath.Dir(p), err
	}
	return "", fmt.Errorf("the stack at %s does not say where its data folder is; use --dir", front)
}

func filePath(u string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "file" {
		return "", fmt.Errorf("not a file URL: %q", u)
	}
	return parsed.Path, nil
}
