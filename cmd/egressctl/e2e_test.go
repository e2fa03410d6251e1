package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
)

// The end-to-end tests run egressctl against the embedded stack, as
// `egressctl --local=URL --as WHO` against egress-local run.

var (
	stackOnce sync.Once
	theStack  *local.Stack
	stackErr  error
)

func embedded(t *testing.T) *local.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded stack")
	}
	stackOnce.Do(func() {
		theStack, stackErr = local.Start(context.Background(), local.Options{ClamdOwnSignaturesOnly: true})
	})
	if stackErr != nil {
		t.Fatalf("start the embedded stack: %v", stackErr)
	}
	return theStack
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theStack != nil {
		theStack.Close()
	}
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

type result struct {
	stdout, stderr string
	code           int
}

// ctl runs one egressctl command line with an empty environment.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := a.run(testCtx(t), args)
	return result{out.String(), errb.String(), code}
}

// ctlAs runs a command against the embedded stack as a local user.
func ctlAs(t *testing.T, s *local.Stack, who string, args ...string) result {
	t.Helper()
	return ctl(t, append(args, "--local="+s.URL, "--as", who)...)
}

func mustOK(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// submit submits the sample store as SWB does and waits for the first
// stage to await a decision.
func submit(t *testing.T, s *local.Stack) egress.Request {
	t.Helper()
	swb := local.SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: time.Now}
	sub, err := swb.Submit(testCtx(t), "../../local/testdata/sample-store", local.SampleResearcher.Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(testCtx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return awaitStage(t, s, sub.RequestID, 0)
}

func awaitStage(t *testing.T, s *local.Stack, id string, i int) egress.Request {
	t.Helper()
	chain, _ := s.Config.Chain()
	r, err := s.WaitFor(testCtx(t), id, func(r egress.Request) bool {
		return (r.TaskToken != "" && chain.StageAwaiting(r.Status) == i) || chain.Final(r.Status)
	})
	if err != nil {
		t.Fatal(err)
	}
	if chain.StageAwaiting(r.Status) != i {
		t.Fatalf("request %s is %s (%s), want stage %d awaiting", id, r.Status, r.FailureCause, i)
	}
	return r
}

func ended(t *testing.T, s *local.Stack, id string) egress.Request {
	t.Helper()
	if _, err := s.Engine.Wait(testCtx(t), s.ExecutionArn(id)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decodeJSON(t *testing.T, r result, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
}

// An approved request end to end: approve at both stages, list, show,
// verify, download (its zip's entries checked), verify again after one
// entry is corrupted (exit 1, the entry named), revoke; every --json
// output conforming to its golden shape.
func TestApproveVerifyDownloadRevoke(t *testing.T) {
	s := embedded(t)
	r := submit(t, s)
	id := r.ID

	var act actionOutput
	decodeJSON(t, mustOK(t, ctlAs(t, s, "ig", "approve", id, "--json")), &act)
	if act.ID != id || act.Action != "approve" {
		t.Errorf("approve: %+v", act)
	}
	conforms(t, "action", mustOK(t, ctlAs(t, s, "rit", "approve", awaitStage(t, s, id, 1).ID, "--reason", "fine", "--json")).stdout)
	if r = ended(t, s, id); !r.Released() || r.Status != egress.StatusRITApproved {
		t.Fatalf("after two approvals: %s %s", r.Status, r.FailureCause)
	}

	// list: the filter finds it; the table has it too.
	lj := mustOK(t, ctlAs(t, s, "admin", "list", "--status", string(egress.StatusRITApproved), "--workspace", r.WorkspaceID, "--json"))
	conforms(t, "list", lj.stdout)
	var list listOutput
	decodeJSON(t, lj, &list)
	if len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Status != string(egress.StatusRITApproved) {
		t.Errorf("list --workspace: %+v", list.Items)
	}
	if tbl := mustOK(t, ctlAs(t, s, "ig", "list", "--all")).stdout; !strings.Contains(tbl, id) || !strings.HasPrefix(tbl, "ID ") {
		t.Errorf("list table:\n%s", tbl)
	}

	// show: files with their findings, the history in order.
	sj := mustOK(t, ctlAs(t, s, "admin", "show", id, "--json"))
	conforms(t, "show", sj.stdout)
	var show showOutput
	decodeJSON(t, sj, &show)
	if show.Request.ID != id || len(show.Files) != 4 || len(show.Request.Reviews) != 2 {
		t.Errorf("show: %d files, %d reviews: %+v", len(show.Files), len(show.Request.Reviews), show.Request)
	}
	var kinds []string
	for _, e := range show.History {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Contains(kinds, egress.EventCreated) || !slices.Contains(kinds, egress.EventDecision) {
		t.Errorf("history kinds %v", kinds)
	}
	if st := mustOK(t, ctlAs(t, s, "admin", "show", id)).stdout; !strings.Contains(st, "files (4):") || !strings.Contains(st, "history:") {
		t.Errorf("show:\n%s", st)
	}

	// verify: intact.
	vj := mustOK(t, ctlAs(t, s, "admin", "verify", id, "--json"))
	conforms(t, "verify", vj.stdout)

	// download: the zip holds the four files, SHA256SUMS and manifest.json.
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "release.zip")
	dl := mustOK(t, ctlAs(t, s, "ig", "download", id, "-o", zipPath, "--json"))
	conforms(t, "download", dl.stdout)
	if !strings.Contains(dl.stderr, "100%") || strings.Contains(dl.stdout+dl.stderr, "X-Amz-") {
		t.Errorf("download stderr %q (want a progress bar, never the link)", dl.stderr)
	}
	var names []string
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	slices.Sort(names)
	if len(names) != 6 || !slices.Contains(names, egress.ZipManifestName) || !slices.Contains(names, egress.ZipSumsName) {
		t.Errorf("zip entries %v", names)
	}
	if q := mustOK(t, ctlAs(t, s, "ig", "download", id, "-o", filepath.Join(dir, "again.zip"), "--quiet")); q.stderr != "" || !strings.Contains(q.stdout, "bytes to") {
		t.Errorf("download --quiet: %+v", q)
	}

	// verify after drift: exit 1 naming the entry.
	corrupted, err := s.CorruptReleaseEntry(testCtx(t), r.ZipKey)
	if err != nil {
		t.Fatal(err)
	}
	bad := ctlAs(t, s, "admin", "verify", id)
	if bad.code != exitCheck || !strings.Contains(bad.stdout, "DRIFT") || !strings.Contains(bad.stdout, corrupted) {
		t.Errorf("verify after corrupting %s: %+v", corrupted, bad)
	}

	// revoke.
	if rv := mustOK(t, ctlAs(t, s, "admin", "revoke", id, "--reason", "withdrawn by the data owner")); rv.stdout != id+" revoke: "+string(egress.StatusRevoked)+"\n" {
		t.Errorf("revoke: %q", rv.stdout)
	}
}

// Reject, return and cancel, each through the API, each ending the request.
func TestRejectReturnCancel(t *testing.T) {
	s := embedded(t)
	tests := []struct {
		args []string
		who  string
		want egress.Status
	}{
		{[]string{"reject", "--reason", "identifiable data"}, "ig", egress.StatusRejected},
		{[]string{"return", "--reason", "round the counts"}, "ig", egress.StatusReturned},
		{[]string{"cancel", "--reason", "submitted by mistake"}, "admin", egress.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			id := submit(t, s).ID
			out := mustOK(t, ctlAs(t, s, tt.who, append([]string{tt.args[0], id}, tt.args[1:]...)...))
			if r := ended(t, s, id); r.Status != tt.want {
				t.Errorf("status %s, want %s (%s)", r.Status, tt.want, out.stdout)
			}
			// Once ended, a second decision is refused by the API.
			again := ctlAs(t, s, tt.who, append([]string{tt.args[0], id}, tt.args[1:]...)...)
			if again.code != exitAPI || !strings.Contains(again.stderr, "Error") {
				t.Errorf("deciding an ended request: %+v", again)
			}
		})
	}
}

// Paging: --limit 1 pages with --next-token; --all fetches every page.
func TestListPaging(t *testing.T) {
	s := embedded(t)
	submit(t, s)
	submit(t, s)
	var all, page1, page2 listOutput
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "list", "--all", "--json")), &all)
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "list", "--limit", "1", "--json")), &page1)
	if len(all.Items) < 2 || all.NextToken != nil || len(page1.Items) != 1 || page1.NextToken == nil {
		t.Fatalf("all %d items (next %v), page 1 %d items (next %v)", len(all.Items), all.NextToken, len(page1.Items), page1.NextToken)
	}
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "list", "--limit", "1", "--next-token", *page1.NextToken, "--json")), &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID == page1.Items[0].ID {
		t.Errorf("page 2: %+v after %+v", page2.Items, page1.Items)
	}
	var byOnes listOutput
	decodeJSON(t, mustOK(t, ctlAs(t, s, "admin", "list", "--limit", "1", "--all", "--json")), &byOnes)
	if len(byOnes.Items) != len(all.Items) {
		t.Errorf("--limit 1 --all: %d items, want %d", len(byOnes.Items), len(all.Items))
	}
	if tbl := mustOK(t, ctlAs(t, s, "admin", "list", "--limit", "1")); !strings.Contains(tbl.stderr, "more: egressctl list --next-token ") {
		t.Errorf("a partial table says nothing of the next page: %q", tbl.stderr)
	}
}

// The API's refusals come back with their errorType and exit 3.
func TestAPIErrors(t *testing.T) {
	s := embedded(t)
	tests := []struct {
		who  string
		args []string
		want string
	}{
		{"researcher", []string{"list"}, "Unauthorized"},
		{"ig", []string{"verify", "no-such-request"}, "Unauthorized"},
		{"admin", []string{"verify", "no-such-request"}, "NotFound"},
		{"admin", []string{"show", "no-such-request"}, "NotFoundError"},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			r := ctlAs(t, s, tt.who, tt.args...)
			if r.code != exitAPI || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitAPI, tt.want)
			}
		})
	}
}
