package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/requests/requeststest"
	"github.com/tre-egress/egress/shared/testenv"
)

var tableSeq atomic.Int64

// migrationTables is DynamoDB Local with the original's requests table
// loaded from the fixture and the new stack's two tables, empty.
type migrationTables struct {
	db                    *dynamodb.Client
	endpoint              string
	old, requests, events string
	table                 *requests.Table
}

func newMigrationTables(t *testing.T) migrationTables {
	t.Helper()
	ctx := context.Background()
	db := testenv.DynamoDB(t)
	n := tableSeq.Add(1)
	m := migrationTables{
		db: db, endpoint: aws.ToString(db.Options().BaseEndpoint),
		old: fmt.Sprintf("old-requests-%d", n), requests: fmt.Sprintf("requests-%d", n), events: fmt.Sprintf("events-%d", n),
	}
	// The original's table: a string partition key, nothing else declared.
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(m.old),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("egress_request_id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("egress_request_id"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := requeststest.BatchWrite(ctx, db, m.old, loadScan(t, fixturePath)); err != nil {
		t.Fatal(err)
	}
	if err := requests.CreateTables(ctx, db, m.requests, m.events); err != nil {
		t.Fatal(err)
	}
	m.table = requests.NewTable(db, m.requests, m.events)
	// The default AWS chain reads these; no file of the user's is read.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	return m
}

func (m migrationTables) args(extra ...string) []string {
	return append([]string{"--from-table", m.old, "--requests-table", m.requests, "--events-table", m.events,
		"--region", "eu-west-2", "--endpoint", m.endpoint}, extra...)
}

// dump is every item of table, each as canonical JSON, sorted.
func (m migrationTables) dump(t *testing.T, table string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(m.db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var v map[string]any
			if err := attributevalue.UnmarshalMap(item, &v); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	slices.Sort(out)
	return out
}

type snapshot struct{ old, requests, events []string }

func (m migrationTables) snapshot(t *testing.T) snapshot {
	return snapshot{m.dump(t, m.old), m.dump(t, m.requests), m.dump(t, m.events)}
}

func (s snapshot) equal(o snapshot) bool {
	return slices.Equal(s.old, o.old) && slices.Equal(s.requests, o.requests) && slices.Equal(s.events, o.events)
}

// run runs the command with --json and decodes its report.
func (m migrationTables) run(t *testing.T, extra ...string) (Report, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Command(context.Background(), m.args(append(extra, "--json")...), &stdout, &stderr)
	var rep Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("report is not JSON (%v): %s\nstderr: %s\nerr: %v", jerr, stdout.String(), stderr.String(), err)
	}
	return rep, err
}

// TestMigrateFromDynamoDB runs `egressctl migrate` against DynamoDB Local:
// a dry run writes nothing, a run imports the finished requests with their
// history and reports the rest, a second run changes nothing.
func TestMigrateFromDynamoDB(t *testing.T) {
	ctx := context.Background()
	m := newMigrationTables(t)
	empty := m.snapshot(t)
	if len(empty.old) != 9 || len(empty.requests) != 0 || len(empty.events) != 0 {
		t.Fatalf("start: %d old items, %d requests, %d events", len(empty.old), len(empty.requests), len(empty.events))
	}

	// Dry run: the plan, nothing written.
	rep, err := m.run(t, "--dry-run")
	if !IsIncomplete(err) || !strings.Contains(err.Error(), "drain them on the old stack first") {
		t.Fatalf("dry run: err %v, want the in-flight and malformed items to fail it", err)
	}
	if !rep.DryRun || rep.Scanned != 9 || rep.Counts != (Counts{WouldImport: 6, InFlight: 2, Malformed: 1}) {
		t.Fatalf("dry run report %+v", rep)
	}
	if after := m.snapshot(t); !after.equal(empty) {
		t.Fatalf("the dry run wrote: %d requests, %d events", len(after.requests), len(after.events))
	}

	// Run: the finished requests imported, the rest reported.
	rep, err = m.run(t)
	if !IsIncomplete(err) {
		t.Fatalf("run: err %v, want incomplete", err)
	}
	if rep.Counts != (Counts{Imported: 6, InFlight: 2, Malformed: 1}) {
		t.Fatalf("run counts %+v", rep.Counts)
	}
	want := fixtureByID(t)
	for _, it := range rep.Items {
		mp := want[it.RequestID]
		switch mp.Outcome {
		case InFlight:
			if it.Outcome != ReportInFlight || it.Action != DrainAdvice {
				t.Errorf("%s: %+v, want in flight with %q", it.RequestID, it, DrainAdvice)
			}
			if _, err := m.table.Get(ctx, it.RequestID); egress.ErrorCode(err) != egress.ENOTFOUND {
				t.Errorf("in-flight %s was imported: %v", it.RequestID, err)
			}
			continue
		case Malformed:
			if it.Outcome != ReportMalformed || len(it.Problems) != 2 {
				t.Errorf("%s: %+v, want malformed with its two problems", it.RequestID, it)
			}
			continue
		}
		if it.Outcome != ReportImported || it.Events != len(mp.Events) {
			t.Errorf("%s: %+v, want imported with %d events", it.RequestID, it, len(mp.Events))
		}
		got, err := m.table.Get(ctx, it.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		wr := mp.Request
		if got.Status != wr.Status || got.DownloadCount != wr.DownloadCount || got.ZipKey != wr.ZipKey ||
			!got.RequestedAt.Equal(wr.RequestedAt) || !got.ReleasedAt.Equal(wr.ReleasedAt) || got.SingleApproval != wr.SingleApproval ||
			got.WorkspaceID != wr.WorkspaceID || got.RequestedByEmail != wr.RequestedByEmail {
			t.Errorf("%s stored as %s downloads %d zip %q requested %v released %v single %v ws %q by %q; want %s %d %q %v %v %v %q %q",
				it.RequestID, got.Status, got.DownloadCount, got.ZipKey, got.RequestedAt, got.ReleasedAt, got.SingleApproval, got.WorkspaceID, got.RequestedByEmail,
				wr.Status, wr.DownloadCount, wr.ZipKey, wr.RequestedAt, wr.ReleasedAt, wr.SingleApproval, wr.WorkspaceID, wr.RequestedByEmail)
		}
		if len(got.Reviews) != len(wr.Reviews) {
			t.Fatalf("%s: %d reviews stored, want %d", it.RequestID, len(got.Reviews), len(wr.Reviews))
		}
		for i, v := range got.Reviews {
			w := wr.Reviews[i]
			if v.Stage != w.Stage || v.StageIndex != w.StageIndex || v.Name != w.Name || v.Email != w.Email || !v.At.Equal(w.At) || v.Decision != w.Decision || v.Reason != w.Reason {
				t.Errorf("%s review %d stored as %+v, want %+v", it.RequestID, i, v, w)
			}
		}
		page, err := m.table.AuditTrail(ctx, it.RequestID, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if kinds, wantKinds := eventKinds(page.Events), eventKinds(mp.Events); !slices.Equal(kinds, wantKinds) {
			t.Errorf("%s: trail %v, want %v", it.RequestID, kinds, wantKinds)
		}
		if err := egress.VerifyChain(page.Head, page.Length, page.Events); err != nil || page.Length != int64(len(mp.Events)) {
			t.Errorf("%s: imported trail of %d events does not verify: %v", it.RequestID, page.Length, err)
		}
	}
	imported := m.snapshot(t)
	if len(imported.requests) != 6 || !slices.Equal(imported.old, empty.old) {
		t.Fatalf("after the run: %d requests; old table changed: %v", len(imported.requests), !slices.Equal(imported.old, empty.old))
	}

	// A second run changes nothing and says so; --skip-in-flight leaves
	// only the malformed item failing it.
	rep, err = m.run(t, "--skip-in-flight")
	if !IsIncomplete(err) || strings.Contains(err.Error(), "in flight") {
		t.Fatalf("second run: err %v, want only the malformed item named", err)
	}
	if rep.Counts != (Counts{AlreadyPresent: 6, InFlight: 2, Malformed: 1}) {
		t.Fatalf("second run counts %+v", rep.Counts)
	}
	if again := m.snapshot(t); !again.equal(imported) {
		t.Fatalf("the second run changed the tables")
	}
}

func eventKinds(evs []egress.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// TestMigrateTextReport: without --json the report names every item and
// what to do with it.
func TestMigrateTextReport(t *testing.T) {
	m := newMigrationTables(t)
	var stdout, stderr bytes.Buffer
	err := Command(context.Background(), m.args("--dry-run"), &stdout, &stderr)
	if !IsIncomplete(err) {
		t.Fatalf("err %v", err)
	}
	out := stdout.String()
	for _, want := range []string{
		"Migration from " + m.old + " (dry run: nothing was written): 9 item(s) scanned",
		"would import", "0b6a1c52-9e51-4c1b-8f0e-5d1f6a7b8c01  RITAPPROVED  6 events",
		"in flight", "4a5b6c73-8d9e-4fa0-b1c2-d3e4f5a6b705  PROCESSING   drain on the old stack first",
		"malformed", `requested_dt: "last Tuesday"`,
		"imported 0, would import 6, already present 0, in flight 2, malformed 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "token") {
		t.Errorf("the report mentions a token:\n%s", out)
	}
}

// TestMigrateArguments: bad arguments fail before any AWS call, naming
// what is wrong.
func TestMigrateArguments(t *testing.T) {
	full := []string{"--from-table", "old", "--requests-table", "new", "--events-table", "ev"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "--from-table, --requests-table, --events-table required"},
		{"no events table", full[:4], "--events-table required"},
		{"the old table as destination", []string{"--from-table", "t", "--requests-table", "t", "--events-table", "ev"}, "is also a destination"},
		{"a stray argument", append(full, "now"), `unexpected argument "now"`},
		{"an unknown flag", append(full, "--force"), "flag provided but not defined: -force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Command(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.want) {
				t.Fatalf("err %v, stderr %q; want %q", err, stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("printed a report: %s", stdout.String())
			}
		})
	}
}
