package swb_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tre-egress/egress/shared/swb"
)

// repoRoot is the folder holding go.mod, above the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal("no go.mod above " + dir)
		}
	}
}

// The checked-in copies must stay identical to the reference contracts,
// which sit in shared/ beside the repository when it is available.
func TestTestdataMatchesContracts(t *testing.T) {
	contracts := filepath.Join(repoRoot(t), "..", "shared", "contracts")
	if _, err := os.Stat(contracts); errors.Is(err, os.ErrNotExist) {
		t.Skipf("reference contracts not found at %s", contracts)
	}
	for _, name := range []string{"swb-egress-message.json", "swb-object-list.json"} {
		want := readFile(t, filepath.Join(contracts, name))
		if got := readFile(t, filepath.Join("testdata", name)); !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from %s; copy it again", name, filepath.Join(contracts, name))
		}
		if got := readFile(t, filepath.Join(repoRoot(t), "events", "swb", trimSWB(name))); !bytes.Equal(got, want) {
			t.Errorf("events/swb/%s differs from %s; copy it again", trimSWB(name), name)
		}
	}
}

func trimSWB(name string) string {
	return map[string]string{"swb-egress-message.json": "message.json", "swb-object-list.json": "object-list.json"}[name]
}

// The sample events other packages and the local stack use must parse as
// documented.
func TestEventSamples(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "events", "swb")
	want, err := swb.ParseMessage(readFile(t, "testdata/swb-egress-message.json"))
	if err != nil {
		t.Fatal(err)
	}

	var ev events.SNSEvent
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "sns-event.json")), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	got, err := swb.ParseMessage([]byte(ev.Records[0].SNS.Message))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("sns-event.json message: %+v, %v", got, err)
	}

	got, err = swb.ParseMessage(readFile(t, filepath.Join(dir, "message-ver-string.json")))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf(`message-ver-string.json ("ver": "3"): %+v, %v`, got, err)
	}

	l, err := swb.ParseObjectList(readFile(t, filepath.Join(dir, "object-list-empty.json")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := swb.ReleasePaths(want.S3BucketPath, l.Objects); !errors.Is(err, swb.ErrNoFiles) {
		t.Fatalf("object-list-empty.json: %v, want ErrNoFiles", err)
	}

	l, err = swb.ParseObjectList(readFile(t, filepath.Join(dir, "object-list-wild.json")))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := swb.ReleasePaths(want.S3BucketPath, l.Objects)
	if err != nil {
		t.Fatal(err)
	}
	wantPaths := []string{
		"results/results.csv",
		"results/final/results.csv",
		"reports/Q3 report (draft 2).pdf",
		"reports/a+b=c 100%.txt",
		"données/résumé – été.csv",
		"数据/表格.xlsx",
		"empty.txt",
	}
	if got := relPaths(entries); !reflect.DeepEqual(got, wantPaths) {
		t.Fatalf("object-list-wild.json paths %q, want %q", got, wantPaths)
	}
}
