// Command egressctl operates an egress stack through its GraphQL API: list
// and show requests, decide, cancel, revoke, verify a release, verify and
// export a request's audit trail, download a release and retry a request
// stuck after an outage. It talks to the API the stack already serves and
// to nothing else; see README "Operating with egressctl".
//
//	egressctl [--outputs cdk-outputs.json | --local[=URL] --as ig|rit|admin|researcher] COMMAND [ARGS] [--json]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/tre-egress/egress/shared/migrate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.run(ctx, os.Args[1:]))
}

// app is one run of egressctl; tests build their own.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	http           *http.Client // default http.DefaultClient
	// open shows the sign-in page; default the desktop's browser.
	open func(string) error

	opts    options
	target  *target
	connect func(context.Context) (*target, error) // tests may replace
}

func (a *app) httpClient() *http.Client {
	if a.http != nil {
		return a.http
	}
	return http.DefaultClient
}

// options are the flags every command takes.
type options struct {
	json                                         bool
	local                                        localFlag
	as                                           string
	outputs, stack, apiURL, authDomain, clientID string
	noCache, noBrowser                           bool
}

// localFlag is --local or --local=URL: a bool flag with an optional value,
// so `--local` alone means the URL in EGRESS_LOCAL_URL or the default.
type localFlag struct {
	set bool
	url string
	def string
}

func (f *localFlag) IsBoolFlag() bool { return true }
func (f *localFlag) String() string   { return f.url }
func (f *localFlag) Set(v string) error {
	switch v {
	case "false":
		f.set = false
		return nil
	case "true", "":
		f.set, f.url = true, f.def
		return nil
	}
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return fmt.Errorf("want the URL of egress-local run, like %s", defaultLocalURL)
	}
	f.set, f.url = true, v
	return nil
}

// command is one entry of the command table.
type command struct {
	usage string // after "egressctl NAME "
	help  string
	run   func(ctx context.Context, a *app, args []string) error
}

// commands is the command table.
var commands map[string]command

func init() {
	commands = map[string]command{
		"list":     {"[--status S] [--workspace W] [--project P] [--limit N] [--next-token T | --all]", "list requests, newest first within each status", listCmd},
		"show":     {"ID", "a request: its details, files with findings, history", showCmd},
		"approve":  {"ID [--reason TEXT]", "approve the stage the request awaits", decideCmd("APPROVED")},
		"reject":   {"ID --reason TEXT", "reject the request at the stage it awaits", decideCmd("REJECTED")},
		"return":   {"ID --reason TEXT", "return the request to its requester for changes", decideCmd("RETURNED")},
		"cancel":   {"ID --reason TEXT", "withdraw a request awaiting a decision", cancelCmd},
		"revoke":   {"ID --reason TEXT", "withdraw a released request's release", revokeCmd},
		"verify":   {"ID", "re-read a release and check it against its manifest (exit 1 on drift)", verifyCmd},
		"audit":    {"verify ID | export ID [-o FILE]", "check a request's audit chain (exit 1 if broken) or export it as JSON Lines", auditCmd},
		"download": {"ID -o FILE [--quiet]", "download a released zip (InformationGovernance)", downloadCmd},
		"retry":    {"ID", "retry a request stuck after an outage", retryCmd},
		"logout":   {"", "delete cached access tokens", logoutCmd},
		"migrate":  {migrate.Usage[len("migrate "):], "import the Python add-on's finished requests and their history (AWS credentials, not sign-in)", migrateCmd},
	}
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: egressctl COMMAND [ARGS] [--json] [sign-in flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %s %s\n      %s\n", n, c.usage, c.help)
	}
	fmt.Fprintf(w, `
sign-in (one of):
  --outputs FILE     cdk deploy --outputs-file JSON (or %s); signs in through
                     the Cognito hosted UI (PKCE, loopback redirect); --stack NAME picks a stack
  --api-url, --auth-domain, --client-id   the same values one by one (or %s, %s, %s)
  %s        a token for scripts, with --outputs or --api-url
  --local[=URL] --as %s   the stack of egress-local run (URL default %s or %s)
other flags: --json (stable output, see README), --no-cache (keep the token in memory only), --no-browser
exit codes: 0 ok, 1 check failed, 2 usage, 3 API error, 4 sign-in failed, 5 connection or I/O failed
`, envOutputs, envAPIURL, envAuthDomain, envClientID, envAccessToken, localUserNames(), envLocal, defaultLocalURL)
}

// run runs one command line and returns the exit code.
func (a *app) run(ctx context.Context, args []string) int {
	err := a.dispatch(ctx, args)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code := exitCode(err)
	var ae *APIError
	var cf *checkFailed
	switch {
	case errors.As(err, &cf):
		// the command printed what failed
	case errors.As(err, &ae):
		fmt.Fprintf(a.stderr, "egressctl: %s: %s\n", first(ae.Type, "Error"), ae.Message)
	default:
		fmt.Fprintf(a.stderr, "egressctl: %v\n", err)
	}
	if code == exitUsage {
		fmt.Fprintln(a.stderr, "run 'egressctl help' for usage")
	}
	return code
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		a.usage(a.stderr)
		return usagef("no command given")
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		a.usage(a.stdout)
		return nil
	}
	c, ok := commands[name]
	if !ok {
		if strings.HasPrefix(name, "-") {
			return usagef("give the command first, then its flags (got %q)", name)
		}
		return usagef("unknown command %q (commands: %s)", name, commandNames())
	}
	return c.run(ctx, a, args[1:])
}

func commandNames() string {
	var n []string
	for k := range commands {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// flags is a command's flag set, holding the flags every command takes.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by run
	o := &a.opts
	o.local.def = first(a.getenv(envLocal), defaultLocalURL)
	fs.BoolVar(&o.json, "json", false, "stable JSON output")
	fs.Var(&o.local, "local", "use the stack of egress-local run (--local=URL)")
	fs.StringVar(&o.as, "as", "", "with --local: sign in as "+localUserNames()+" (default admin)")
	fs.StringVar(&o.outputs, "outputs", "", "cdk deploy --outputs-file JSON")
	fs.StringVar(&o.stack, "stack", "", "the stack in --outputs holding several")
	fs.StringVar(&o.apiURL, "api-url", "", "the GraphQL endpoint")
	fs.StringVar(&o.authDomain, "auth-domain", "", "the Cognito hosted UI domain")
	fs.StringVar(&o.clientID, "client-id", "", "the CLI's Cognito app client id")
	fs.BoolVar(&o.noCache, "no-cache", false, "keep the access token in memory only")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL without opening a browser")
	return fs
}

// parse parses flags and positional arguments in any order and checks
// the number of positional arguments.
func (a *app) parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(a.stdout)
				fmt.Fprintf(a.stdout, "usage: egressctl %s %s\n", fs.Name(), commands[strings.Fields(fs.Name())[0]].usage)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < len(positional) {
		return nil, usagef("%s: missing %s", fs.Name(), positional[len(pos)])
	}
	if len(pos) > len(positional) {
		return nil, usagef("%s: unexpected argument %q", fs.Name(), pos[len(positional)])
	}
	for i, p := range pos {
		if strings.TrimSpace(p) == "" {
			return nil, usagef("%s: %s is empty", fs.Name(), positional[i])
		}
	}
	if a.opts.as != "" && !a.opts.local.set {
		return nil, usagef("--as works with --local only")
	}
	if a.opts.local.set && a.opts.as == "" {
		a.opts.as = "admin"
	}
	return pos, nil
}

// client connects on first use.
func (a *app) client(ctx context.Context) (*Client, error) {
	if a.target == nil {
		conn := a.connect
		if conn == nil {
			conn = a.connectDefault
		}
		t, err := conn(ctx)
		if err != nil {
			return nil, err
		}
		a.target = t
	}
	return &Client{Endpoint: a.target.Endpoint, Token: a.target.Token, HTTP: a.httpClient()}, nil
}
