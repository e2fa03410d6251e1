package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/migrate"
)

// TestMigrateIntoTheEmbeddedStack: `egressctl migrate` imports the
// original table's sample (shared/migrate/testdata) into the embedded
// stack's tables; the imported requests read through the API with an
// intact audit chain, and a second run changes nothing.
func TestMigrateIntoTheEmbeddedStack(t *testing.T) {
	s := embedded(t)
	old := "python-addon-requests"
	if _, err := s.Clients.DynamoDB.CreateTable(testCtx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String(old),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("egress_request_id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("egress_request_id"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, item := range fixtureItems(t, "../../shared/migrate/testdata/original-requests-scan.json") {
		if _, err := s.Clients.DynamoDB.PutItem(testCtx(t), &dynamodb.PutItemInput{TableName: aws.String(old), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	// The default AWS chain, from the environment only.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "localsecret")
	args := []string{"migrate", "--from-table", old, "--requests-table", local.RequestsTable, "--events-table", local.EventsTable,
		"--endpoint", s.DynamoDB.Endpoint, "--region", local.Region, "--skip-in-flight", "--json"}

	run := func() migrate.Report {
		t.Helper()
		r := ctl(t, args...)
		// The sample holds one malformed item: a failed check, exit 1.
		if r.code != exitCheck {
			t.Fatalf("migrate: exit %d, want %d\nstdout %s\nstderr %s", r.code, exitCheck, r.stdout, r.stderr)
		}
		var rep migrate.Report
		decodeJSON(t, r, &rep)
		return rep
	}
	first := run()
	if first.Counts.Imported != 6 || first.Counts.Malformed != 1 || first.Counts.InFlight != 2 {
		t.Fatalf("first run: %+v", first.Counts)
	}
	const released = "0b6a1c52-9e51-4c1b-8f0e-5d1f6a7b8c01"
	var shown struct {
		Request struct {
			Status        string `json:"egress_status"`
			DownloadCount string `json:"download_count"`
		} `json:"request"`
	}
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "show", released, "--json")), &shown)
	if shown.Request.Status != string(egress.StatusRITApproved) || shown.Request.DownloadCount != "2" {
		t.Errorf("imported request reads as %+v, want RITAPPROVED with 2 downloads", shown.Request)
	}
	var chain struct {
		OK     bool `json:"ok"`
		Events int  `json:"events"`
	}
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "audit", "verify", released, "--json")), &chain)
	if !chain.OK || chain.Events < 4 {
		t.Errorf("imported trail: %+v", chain)
	}
	if second := run(); second.Counts.Imported != 0 || second.Counts.AlreadyPresent != 6 {
		t.Errorf("second run: %+v, want nothing imported and 6 already present", second.Counts)
	}
}

// fixtureItems reads an `aws dynamodb scan` output of string and number
// attributes.
func fixtureItems(t *testing.T, path string) []map[string]types.AttributeValue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var scan struct {
		Items []map[string]struct{ S, N *string }
	}
	if err := json.Unmarshal(b, &scan); err != nil {
		t.Fatal(err)
	}
	var items []map[string]types.AttributeValue
	for i, raw := range scan.Items {
		item := map[string]types.AttributeValue{}
		for name, v := range raw {
			switch {
			case v.S != nil:
				item[name] = &types.AttributeValueMemberS{Value: *v.S}
			case v.N != nil:
				item[name] = &types.AttributeValueMemberN{Value: *v.N}
			default:
				t.Fatalf("%s: item %d: %s is neither S nor N", path, i, name)
			}
		}
		items = append(items, item)
	}
	return items
}
