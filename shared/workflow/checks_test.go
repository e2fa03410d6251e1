package workflow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
	"github.com/tre-egress/egress/shared/workflow"
)

// fakeChecker answers File from results by path; a path in pending stays
// pending until released. It is a pure stand-in: the real checks run on
// real endpoints in local/checks_test.go.
type fakeChecker struct {
	mu      sync.Mutex
	listing []egress.Finding // request-level findings
	results map[string]checks.FileResult
	pending map[string]bool
	calls   map[string]int
}

func (f *fakeChecker) Listing(files []egress.File) ([]egress.Finding, map[int][]egress.Finding) {
	return f.listing, nil
}

func (f *fakeChecker) File(_ context.Context, file egress.File, obj egress.ObjectVersion) (checks.FileResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[file.Path]++
	if obj.VersionID != file.StagedVersionID || !strings.HasSuffix(obj.Key, "/"+file.Path) || obj.Bucket != staging {
		return checks.FileResult{}, fmt.Errorf("checked %+v, not the staged version of %s", obj, file.Path)
	}
	if f.pending[file.Path] {
		return checks.FileResult{Pending: true}, nil
	}
	return f.results[file.Path], nil
}

func warning(check, msg string) egress.Finding {
	return egress.Finding{Check: check, Severity: egress.SeverityWarning, Message: msg}
}

// checkEnv is a request staged with n files and a fake checker.
func checkEnv(t *testing.T, n int) (*env, *fakeChecker, egress.Manifest) {
	t.Helper()
	e := newEnv(t)
	r := request()
	r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
	e.put(t, r)
	m := egress.Manifest{RequestID: reqID, WorkspaceID: wsID}
	for i := range n {
		p := fmt.Sprintf("out/f%03d.csv", i)
		m.Files = append(m.Files, egress.File{Path: p, StagedVersionID: "sv-" + p, Size: 10, SHA256: "sum"})
	}
	e.objs.manifests[staging+"/"+r.StagingObjectMetadataVersion] = m
	fc := &fakeChecker{results: map[string]checks.FileResult{}, pending: map[string]bool{}}
	e.h.Checks = fc
	e.h.Settings.Checks = workflow.CheckSettings{Engine: "ClamAV", ScanTimeout: 30 * time.Minute, PollSeconds: 15}
	return e, fc, m
}

// A request too big for one invocation is checked over several, each
// starting where the last stopped, each file once; the findings and the
// sniffed types land in the manifest and a summary on the request.
func TestCheckFilesResumes(t *testing.T) {
	e, fc, m := checkEnv(t, 10)
	e.h.Settings.CopyConcurrency = 1
	e.h.Settings.Checks.Budget = time.Nanosecond // one window (4 files) per invocation
	types := map[string]string{"out/f000.csv": "text/csv", "out/f002.csv": "text/csv", "out/f005.csv": "image/png", "out/f009.csv": "text/plain; charset=utf-8"}
	for p, ct := range types {
		fc.results[p] = checks.FileResult{ContentType: ct}
	}
	fc.results["out/f002.csv"] = checks.FileResult{ContentType: "text/csv", Findings: []egress.Finding{warning(egress.CheckSDC, `row 1 ("a"), column "n": count 3 is below the threshold of 10`)}}
	fc.listing = []egress.Finding{{Check: egress.CheckCount, Severity: egress.SeverityInfo, Message: "10 files"}}
	ctx := context.Background()
	var outs []workflow.ChecksOutput
	for range 5 {
		out, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
		if out.Done {
			break
		}
	}
	want := []workflow.ChecksOutput{{Checked: 4}, {Checked: 8}, {Done: true, Checked: 10}}
	if fmt.Sprint(outs) != fmt.Sprint(want) {
		t.Fatalf("invocations returned %+v, want %+v", outs, want)
	}
	for _, f := range m.Files {
		if fc.calls[f.Path] != 1 {
			t.Errorf("%s checked %d times, want once", f.Path, fc.calls[f.Path])
		}
	}
	got := e.objs.manifests[staging+"/manifests/"+wsID+"/"+reqID+".json"]
	if len(got.Files) != 10 || len(got.Files[2].Findings) != 1 || got.Files[2].Findings[0].Check != egress.CheckSDC || len(got.Files[3].Findings) != 0 {
		t.Fatalf("manifest findings: %+v", got.Files)
	}
	for _, f := range got.Files {
		if f.ContentType != types[f.Path] {
			t.Errorf("%s: content type %q, want %q", f.Path, f.ContentType, types[f.Path])
		}
	}
	r := e.reqs.get(t, reqID)
	if r.Status != egress.StatusProcessing || r.Checks == nil || r.Checks.Warnings != 1 || r.Checks.Info != 1 || r.Checks.Files != 1 || r.Checks.Engine != "ClamAV" {
		t.Fatalf("request %s, checks %+v", r.Status, r.Checks)
	}
	if _, ok := e.objs.data[staging+"/checks/"+wsID+"/"+reqID+"/progress.json"]; ok {
		t.Error("the progress object is left behind")
	}
	// A retry after the outcome was stored returns it, changing nothing.
	calls := fmt.Sprint(fc.calls)
	if out, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID}); err != nil || !out.Done || out.Blocked || fmt.Sprint(fc.calls) != calls {
		t.Errorf("checking a checked request again: %+v, %v; calls %v", out, err, fc.calls)
	}
}

// A scanner that reports later holds the workflow until it does, without
// checking again the files it finished; past the scan timeout the file
// gets a "not scanned" warning and the request goes on.
func TestCheckFilesWaitsForLateVerdicts(t *testing.T) {
	e, fc, _ := checkEnv(t, 6)
	fc.pending["out/f001.csv"] = true
	ctx := context.Background()
	out, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID})
	if err != nil || out.Done || out.WaitSeconds != 15 || out.Checked != 5 {
		t.Fatalf("with a verdict pending: %+v, %v", out, err)
	}
	clock := now
	e.h.Now = func() time.Time { return clock }
	clock = now.Add(10 * time.Minute)
	if out, err = e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID}); err != nil || out.Done || out.WaitSeconds != 15 {
		t.Fatalf("still pending: %+v, %v", out, err)
	}
	if fc.calls["out/f000.csv"] != 1 || fc.calls["out/f003.csv"] != 1 || fc.calls["out/f001.csv"] != 2 {
		t.Fatalf("calls %v: only the pending file is asked again", fc.calls)
	}
	clock = now.Add(31 * time.Minute)
	if out, err = e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID}); err != nil || !out.Done || out.Blocked {
		t.Fatalf("past the scan timeout: %+v, %v", out, err)
	}
	r := e.reqs.get(t, reqID)
	if r.Checks == nil || r.Checks.Warnings != 1 || len(r.Checks.Notable) != 1 || r.Checks.Notable[0].Path != "out/f001.csv" ||
		!strings.Contains(r.Checks.Notable[0].Message, "ClamAV gave no verdict within 30m0s") {
		t.Fatalf("checks %+v", r.Checks)
	}
}

// A blocking finding ends the request BLOCKED, naming the file and the
// reason; the notice to the requester names them too, never contents.
func TestCheckFilesBlocks(t *testing.T) {
	e, fc, _ := checkEnv(t, 3)
	fc.results["out/f001.csv"] = checks.FileResult{Findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "ClamAV found Eicar-Test-Signature"}}}
	fc.results["out/f002.csv"] = checks.FileResult{Findings: []egress.Finding{warning(egress.CheckSDC, "zero count")}}
	ctx := context.Background()
	out, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID})
	if err != nil || !out.Done || !out.Blocked {
		t.Fatalf("%+v, %v", out, err)
	}
	r := e.reqs.get(t, reqID)
	if r.Status != egress.StatusBlocked || !strings.Contains(r.EndReason, "out/f001.csv: ClamAV found Eicar-Test-Signature") || r.EndedBy != egress.ActorWorkflow {
		t.Fatalf("status %s, end reason %q by %q", r.Status, r.EndReason, r.EndedBy)
	}
	if again, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID}); err != nil || !again.Done || !again.Blocked {
		t.Fatalf("a retry of the blocking call: %+v, %v", again, err)
	}
	if err := e.h.HandleRejection(ctx, workflow.RequestInput{RequestID: reqID}); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "BLOCKED"}); err != nil {
		t.Fatal(err)
	}
	sent := e.mail.sent
	if len(sent) != 1 || sent[0].To[0] != "researcher@example.org" || !strings.Contains(sent[0].Subject, "blocked") ||
		!strings.Contains(sent[0].Text, "out/f001.csv: ClamAV found Eicar-Test-Signature") || strings.Contains(sent[0].Text, "zero count") {
		t.Fatalf("notice %+v", sent)
	}
}

// ACRO results are put on the files they name when the checks finish,
// whichever order the files were checked in.
func TestCheckFilesACRO(t *testing.T) {
	e, fc, _ := checkEnv(t, 2)
	fc.results["out/f001.csv"] = checks.FileResult{ACRO: []sdc.ACROOutput{{UID: "crosstab_1", Status: "fail", Summary: "fail; threshold: 2 cells may need suppressing", Files: []string{"f000.csv"}}}}
	if out, err := e.h.CheckFiles(context.Background(), workflow.RequestInput{RequestID: reqID}); err != nil || !out.Done {
		t.Fatalf("%+v, %v", out, err)
	}
	got := e.objs.manifests[staging+"/manifests/"+wsID+"/"+reqID+".json"]
	if len(got.Files[0].Findings) != 1 || got.Files[0].Findings[0].Check != egress.CheckACRO || !strings.Contains(got.Files[0].Findings[0].Message, "crosstab_1") {
		t.Fatalf("findings of the output ACRO names: %+v", got.Files[0].Findings)
	}
}

func TestCheckFilesRefuses(t *testing.T) {
	e, _, _ := checkEnv(t, 1)
	r := e.reqs.get(t, reqID)
	r.Status = egress.StatusIGApproved
	e.reqs.byID[reqID] = r
	if _, err := e.h.CheckFiles(context.Background(), workflow.RequestInput{RequestID: reqID}); egress.ErrorCode(err) != egress.ECONFLICT {
		t.Fatalf("checking a request past its first stage: %v", err)
	}
	if _, err := e.h.CheckFiles(context.Background(), workflow.RequestInput{}); egress.ErrorCode(err) != egress.EINVALID {
		t.Fatalf("no request id: %v", err)
	}
}

// A request the listing blocks as a whole (too many files or bytes for
// any release) is blocked without reading a file.
func TestCheckFilesBlockedByListing(t *testing.T) {
	e, fc, _ := checkEnv(t, 5)
	fc.listing = []egress.Finding{{Check: egress.CheckCount, Severity: egress.SeverityBlocking, Message: "5 files, more than the 4 allowed"}}
	out, err := e.h.CheckFiles(context.Background(), workflow.RequestInput{RequestID: reqID})
	if err != nil || !out.Done || !out.Blocked || len(fc.calls) != 0 {
		t.Fatalf("%+v, %v; files checked %v", out, err, fc.calls)
	}
	if r := e.reqs.get(t, reqID); r.Status != egress.StatusBlocked || !strings.Contains(r.EndReason, "more than the 4 allowed") {
		t.Fatalf("status %s, end reason %q", r.Status, r.EndReason)
	}
}

// Copies may run more at a time than checks should.
func TestCheckWorkers(t *testing.T) {
	for _, tt := range []struct{ copies, want int }{
		{0, 1}, {1, 1}, {2, 2}, {workflow.MaxCheckConcurrency, workflow.MaxCheckConcurrency},
		{32, workflow.MaxCheckConcurrency}, {1000, workflow.MaxCheckConcurrency},
	} {
		if got := workflow.CheckWorkers(tt.copies); got != tt.want {
			t.Errorf("CheckWorkers(%d) = %d, want %d", tt.copies, got, tt.want)
		}
	}
}
