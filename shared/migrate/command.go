package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tre-egress/egress/shared/requests"
)

// Usage is the command's synopsis, for `egressctl help`.
const Usage = "migrate --from-table OLD --requests-table NEW --events-table EVENTS [--dry-run] [--skip-in-flight] [--region R] [--endpoint URL] [--json]"

// Command is `egressctl migrate`: it parses args, reads the old table and
// imports into the new ones (Run), and prints the report to stdout, as
// JSON with --json. It returns an error when the run failed or left
// requests behind (an *Incomplete: in flight, malformed), after printing
// the report; the caller exits non-zero.
//
// Credentials come from the default AWS chain (AWS_PROFILE and SSO, the
// environment); nothing is read from or written to a file of ours.
// --endpoint points every call at another DynamoDB (DynamoDB Local).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		from         = fs.String("from-table", "", "the Python add-on's requests table, read with a Scan (required)")
		reqTable     = fs.String("requests-table", "", "the new stack's requests table (required)")
		evTable      = fs.String("events-table", "", "the new stack's events table (required)")
		dryRun       = fs.Bool("dry-run", false, "report what would be imported; write nothing")
		skipInFlight = fs.Bool("skip-in-flight", false, "do not fail because of requests still in flight on the old stack (they are still not imported)")
		region       = fs.String("region", "", "AWS region (default: from the AWS environment or profile)")
		endpoint     = fs.String("endpoint", "", "DynamoDB endpoint URL, e.g. DynamoDB Local's http://localhost:8000")
		asJSON       = fs.Bool("json", false, "print the report as JSON")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: egressctl %s\n\nImports the Python add-on's finished requests, with their history, into the new tables.\n\n", Usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--from-table", *from}, {"--requests-table", *reqTable}, {"--events-table", *evTable}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("migrate: unexpected argument %q (usage: egressctl %s)", fs.Arg(0), Usage)
	case len(missing) > 0:
		return fmt.Errorf("migrate: %s required (usage: egressctl %s)", strings.Join(missing, ", "), Usage)
	case *from == *reqTable || *from == *evTable:
		return fmt.Errorf("migrate: --from-table %q is also a destination; the old table is only read", *from)
	}

	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("migrate: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return errors.New("migrate: no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = aws.String(*endpoint)
			// DynamoDB Local's x-amz-crc32 does not match some bodies,
			// and the SDK warns on stderr at every such response.
			o.DisableValidateResponseChecksum = true
		}
	})
	rep, runErr := Run(ctx, db, requests.NewTable(db, *reqTable, *evTable), Options{
		SourceTable: *from, DryRun: *dryRun, SkipInFlight: *skipInFlight,
	})
	var printErr error
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		printErr = enc.Encode(rep)
	} else {
		printErr = WriteText(stdout, rep)
	}
	if runErr != nil {
		return fmt.Errorf("migrate: %w", runErr)
	}
	if printErr != nil {
		return fmt.Errorf("migrate: print the report: %w", printErr)
	}
	return nil
}

// WriteText prints rep for a person: one line per item, then the counts.
func WriteText(w io.Writer, rep Report) error {
	mode := ""
	if rep.DryRun {
		mode = " (dry run: nothing was written)"
	}
	fmt.Fprintf(w, "Migration from %s%s: %d item(s) scanned\n", rep.SourceTable, mode, rep.Scanned)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, it := range rep.Items {
		detail := ""
		switch it.Outcome {
		case ReportImported, ReportWouldImport:
			detail = fmt.Sprintf("%d events", it.Events)
		case ReportInFlight:
			detail = it.Action
		case ReportMalformed:
			detail = strings.Join(it.Problems, "; ")
		}
		status := it.Status
		if status == "" {
			status = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", strings.ReplaceAll(it.Outcome, "_", " "), it.RequestID, status, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	c := rep.Counts
	_, err := fmt.Fprintf(w, "imported %d, would import %d, already present %d, in flight %d, malformed %d\n",
		c.Imported, c.WouldImport, c.AlreadyPresent, c.InFlight, c.Malformed)
	return err
}
