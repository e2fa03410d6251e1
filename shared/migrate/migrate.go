// Package migrate imports the Python add-on's requests table into the new
// requests and events tables: every finished request at its final status,
// with a history rebuilt from the item (Map). Requests still in flight on
// the old stack are reported, not imported: drain them there first. A
// second run imports nothing again (requests.Table.Import is idempotent).
//
// It is a one-off operator task run from the operator's machine with the
// operator's credentials (the default AWS chain: SSO, environment), not
// part of the deployed stack: the stack's functions have no access to the
// old table.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
)

// Scanner is the part of the DynamoDB client that reads the old table.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Store is where requests are imported (requests.Table).
type Store interface {
	// Import writes r and its history unless a request with r's id
	// exists, in which case it writes nothing and returns false.
	Import(ctx context.Context, r egress.Request, events []egress.Event) (imported bool, err error)
	// Get returns a stored request, or an egress.ENOTFOUND error.
	Get(ctx context.Context, id string) (egress.Request, error)
}

// Options are a run's settings.
type Options struct {
	SourceTable  string
	DryRun       bool // map and report; write nothing
	SkipInFlight bool // in-flight requests do not fail the run
	Now          func() time.Time
}

// Report outcomes of one request; the JSON report's "outcome" values.
const (
	ReportImported       = "imported"
	ReportWouldImport    = "would_import" // dry run
	ReportAlreadyPresent = "already_present"
	ReportInFlight       = "in_flight"
	ReportMalformed      = "malformed"
)

// Report is what a run did, item by item, sorted by request id. Its JSON
// form is what `egressctl migrate --json` prints: fields are only added.
type Report struct {
	SourceTable string       `json:"source_table"`
	DryRun      bool         `json:"dry_run"`
	Scanned     int          `json:"scanned"`
	Items       []ReportItem `json:"items"`
	Counts      Counts       `json:"counts"`
}

// ReportItem is one old item's fate.
type ReportItem struct {
	RequestID string `json:"egress_request_id"`
	// Status is the old table's egress_status.
	Status  string `json:"egress_status"`
	Outcome string `json:"outcome"`
	// Events is how many audit events the import writes (would write).
	Events   int      `json:"events,omitempty"`
	Problems []string `json:"problems,omitempty"` // malformed: what is wrong
	Action   string   `json:"action,omitempty"`   // in flight: what to do
}

// Counts sums the report's outcomes.
type Counts struct {
	Imported       int `json:"imported"`
	WouldImport    int `json:"would_import"`
	AlreadyPresent int `json:"already_present"`
	InFlight       int `json:"in_flight"`
	Malformed      int `json:"malformed"`
}

// Run scans the old table, maps every item and, unless it is a dry run,
// imports the finished requests. The report covers every item even when
// the run fails part-way (err is then the failure). Items that are in
// flight (unless opts.SkipInFlight) or malformed make err an *Incomplete
// after everything else was imported.
func Run(ctx context.Context, old Scanner, store Store, opts Options) (Report, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	at := now().UTC().Truncate(time.Millisecond)
	rep := Report{SourceTable: opts.SourceTable, DryRun: opts.DryRun, Items: []ReportItem{}}
	items, err := scanAll(ctx, old, opts.SourceTable)
	if err != nil {
		return rep, err
	}
	rep.Scanned = len(items)
	var mapped []Mapped
	for i, item := range items {
		mapped = append(mapped, Map(item, i, opts.SourceTable, at))
	}
	slices.SortStableFunc(mapped, func(a, b Mapped) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range mapped {
		ri := ReportItem{RequestID: m.ID, Status: m.Status}
		switch m.Outcome {
		case InFlight:
			ri.Outcome, ri.Action = ReportInFlight, DrainAdvice
			if m.Note != "" {
				ri.Action += " (" + m.Note + ")"
			}
			rep.Counts.InFlight++
		case Malformed:
			ri.Outcome, ri.Problems = ReportMalformed, m.Problems
			rep.Counts.Malformed++
		case Import:
			ri.Events = len(m.Events)
			present, err := importOne(ctx, store, m, opts.DryRun)
			if err != nil {
				return rep, err
			}
			switch {
			case present:
				ri.Outcome, ri.Events = ReportAlreadyPresent, 0
				rep.Counts.AlreadyPresent++
			case opts.DryRun:
				ri.Outcome = ReportWouldImport
				rep.Counts.WouldImport++
			default:
				ri.Outcome = ReportImported
				rep.Counts.Imported++
			}
		}
		rep.Items = append(rep.Items, ri)
	}
	inc := &Incomplete{Malformed: rep.Counts.Malformed}
	if !opts.SkipInFlight {
		inc.InFlight = rep.Counts.InFlight
	}
	if inc.InFlight > 0 || inc.Malformed > 0 {
		return rep, inc
	}
	return rep, nil
}

// importOne imports m, or on a dry run only looks whether it is already
// there; present reports a request that already exists.
func importOne(ctx context.Context, store Store, m Mapped, dryRun bool) (present bool, err error) {
	if dryRun {
		_, err := store.Get(ctx, m.ID)
		if egress.ErrorCode(err) == egress.ENOTFOUND {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("look for request %s in the new table: %w", m.ID, err)
		}
		return true, nil
	}
	imported, err := store.Import(ctx, m.Request, m.Events)
	if err != nil {
		return false, fmt.Errorf("import request %s: %w", m.ID, err)
	}
	return !imported, nil
}

// scanAll reads every item of the old table. A Scan is right here: the
// migration reads the whole old table once, on an operator's command; the
// service itself never scans. Reads are consistent so an item the old
// stack just finished is seen finished.
func scanAll(ctx context.Context, db Scanner, table string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan the old requests table %s: %w", table, err)
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

// Incomplete is a run that left items behind: requests in flight on the
// old stack, or items it could not read. Everything else was imported.
type Incomplete struct {
	InFlight  int // counted only without SkipInFlight
	Malformed int
}

func (e *Incomplete) Error() string {
	var parts []string
	if e.InFlight > 0 {
		parts = append(parts, fmt.Sprintf("%d request(s) in flight were not imported: drain them on the old stack first and run again, or pass --skip-in-flight to leave them", e.InFlight))
	}
	if e.Malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed item(s) were not imported (see their problems above)", e.Malformed))
	}
	return "migration incomplete: " + strings.Join(parts, "; ")
}

// IsIncomplete reports whether err is an *Incomplete.
func IsIncomplete(err error) bool {
	var inc *Incomplete
	return errors.As(err, &inc)
}
