package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/events/schema"
	"github.com/tre-egress/egress/shared/egress"
)

// forbiddenInEvents are what no published event may hold: tokens, links,
// file names or contents of the sample store.
var forbiddenInEvents = []*regexp.Regexp{
	regexp.MustCompile(`(?i)token`),
	regexp.MustCompile(`(?i)https?://`),
	regexp.MustCompile(`(?i)presign|X-Amz-`),
	regexp.MustCompile(`\.csv|\.txt|\.md|summary|résumé`), // file names of testdata/sample-store
}

// Acceptance 1: a full approval and a rejection each publish exactly the
// expected status changes, in order, on the stack's bus and in its event
// log; every event validates against the schema in the repository; none
// holds a token, a link, a file name or file contents.
func TestEventsOfScenarios(t *testing.T) {
	sch, err := schema.Compile()
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ detailType, from, to, stage string }
	tests := []struct {
		name      string
		decisions []string
		want      []change
	}{
		{"approved", []string{"approve", "approve"}, []change{
			{"Egress Request Created", "", "PROCESSING", ""},
			{"Egress Request IG Approved", "PROCESSING", "IGAPPROVED", "IG"},
			{"Egress Request RIT Approved", "IGAPPROVED", "RITAPPROVED", "RIT"},
			{"Egress Request Released", "RITAPPROVED", "RITAPPROVED", ""},
		}},
		{"rejected at RIT", []string{"approve", "reject"}, []change{
			{"Egress Request Created", "", "PROCESSING", ""},
			{"Egress Request IG Approved", "PROCESSING", "IGAPPROVED", "IG"},
			{"Egress Request Rejected", "IGAPPROVED", "REJECTED", "RIT"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stack(t, false)
			rep, err := s.Scenario(ctx(t), "testdata/sample-store", tt.decisions, s.GraphQLDecider())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.ExpectedResult {
				t.Fatalf("report: %+v", rep)
			}
			all, err := s.Events(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			var got []change
			var raw [][]byte
			ids := map[string]bool{}
			for _, ev := range all {
				var d egress.StatusChange
				if err := json.Unmarshal(ev.Detail, &d); err != nil {
					t.Fatalf("detail %s: %v", ev.Detail, err)
				}
				if d.RequestID != rep.RequestID {
					continue // another test's request on the shared stack
				}
				if ev.Source != egress.BusSource || d.WorkspaceID != rep.WorkspaceID || d.ProjectID == "" || d.Actor == "" || d.At == "" {
					t.Errorf("event %+v, detail %+v", ev, d)
				}
				if ids[d.EventID] {
					t.Errorf("event_id %s published twice", d.EventID)
				}
				ids[d.EventID] = true
				got = append(got, change{ev.DetailType, string(d.FromStatus), string(d.ToStatus), d.Stage})
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				raw = append(raw, b)
			}
			t.Logf("%s", bytes.Join(raw, []byte("\n")))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("events of %s\n %v\nwant\n %v", rep.RequestID, got, tt.want)
			}
			// The log holds the same events, one JSON line each.
			logged := map[string]bool{}
			f, err := os.Open(s.Bus.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				logged[sc.Text()] = true
			}
			for _, b := range raw {
				if !logged[string(b)] {
					t.Errorf("not in %s: %s", s.Bus.Path(), b)
				}
				if err := schema.Validate(sch, b); err != nil {
					t.Errorf("%s does not validate against %s: %v", b, schema.File, err)
				}
				for _, re := range forbiddenInEvents {
					if re.Match(b) {
						t.Errorf("event holds %s: %s", re, b)
					}
				}
				for _, content := range sampleStoreContents(t) {
					if strings.Contains(string(b), content) {
						t.Errorf("event holds file contents %q: %s", content, b)
					}
				}
			}
		})
	}
}

// sampleStoreContents are lines of the sample store's text files, long
// enough not to occur by chance.
func sampleStoreContents(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("testdata/sample-store", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); len(line) >= 12 {
				out = append(out, line)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no contents read from testdata/sample-store")
	}
	return out
}

// publish-events needs events:PutEvents on the bus: without it the
// stream is not consumed past the first change (the stream keeps it to
// retry), nothing is published, and the refusal is logged.
func TestPublishEventsNeedsItsGrant(t *testing.T) {
	s, logs := startWithoutLogged(t, []string{"PublishEvents"}, "events:PutEvents", "EventBus")
	rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"reject"}, s.GraphQLDecider())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ExpectedResult {
		t.Fatalf("the workflow does not depend on publishing, yet: %+v", rep)
	}
	evs, err := s.Events(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "read again from") {
		t.Fatalf("events %v, err %v; want publish-events asking for a retry", evs, err)
	}
	if len(evs) != 0 {
		t.Errorf("published without the grant: %v", evs)
	}
	if !strings.Contains(logs.String(), `"action":"events:PutEvents"`) {
		t.Errorf("the refusal is not logged: %s", logs.String())
	}
	// The failed record is read again: a second pump fails the same way.
	if _, err := s.Events(ctx(t)); err == nil {
		t.Error("the second pump succeeded without the grant")
	}
}

// TestEventsAfterAnEmptyStream: the stream is read while it is still empty
// (as `make run`'s poll does from the start), then a request runs. Its
// events must still be published: a shard iterator kept from the empty
// read goes stale (DynamoDB Local answered TrimmedDataAccessException on
// every later read, and no event was published again).
func TestEventsAfterAnEmptyStream(t *testing.T) {
	s, err := startLogged(t, ctx(t), Options{SingleApproval: true, Clock: clock, ClamdOwnSignaturesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if evs, err := s.Events(ctx(t)); err != nil || len(evs) != 0 {
			t.Fatalf("empty stream: %d events, %v", len(evs), err)
		}
	}
	rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve"}, s.GraphQLDecider())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx(t))
	if err != nil {
		t.Fatalf("events after the request: %v", err)
	}
	if len(evs) == 0 {
		t.Fatalf("no event published for request %s", rep.RequestID)
	}
	again, err := s.Events(ctx(t))
	if err != nil || len(again) != len(evs) {
		t.Fatalf("a second read: %d events (%v), want the same %d, none twice", len(again), err, len(evs))
	}
}
