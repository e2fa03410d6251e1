package local

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
)

// checkStack starts a stack of its own with these check settings.
func checkStack(t *testing.T, cs egress.CheckSettings, clock *sfn.FakeClock) *Stack {
	t.Helper()
	opts := Options{Checks: &cs, ClamdOwnSignaturesOnly: true}
	if clock != nil {
		opts.Clock = clock
	}
	s, err := startLogged(t, context.Background(), opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	return s
}

// manifestOf reads r's staging manifest, with the checks' findings.
func manifestOf(t *testing.T, s *Stack, r egress.Request) map[string][]egress.Finding {
	t.Helper()
	m, err := s.Objects.ReadManifest(ctx(t), StagingBucket, r.StagingObjectMetadataVersion)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]egress.Finding{}
	for _, f := range m.Files {
		out[f.Path] = f.Findings
	}
	return out
}

// has reports whether fs holds a finding of check and severity whose
// message contains every one of words.
func has(fs []egress.Finding, check string, sev egress.Severity, words ...string) bool {
	return slices.ContainsFunc(fs, func(f egress.Finding) bool {
		if f.Check != check || f.Severity != sev {
			return false
		}
		for _, w := range words {
			if !strings.Contains(f.Message, w) {
				return false
			}
		}
		return true
	})
}

// windowsExe is the start of a Windows PE file: the MZ header pointing at
// a PE signature and a COFF header.
func windowsExe() string {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], 0x8664) // x86-64
	return string(b)
}

// Issue 15, acceptance 1 (ClamAV): an upload holding the EICAR test
// string is BLOCKED before any review, the finding names the file,
// nothing staged is left, the store is unlocked and the requester is
// told which file and why, without its contents.
func TestChecksBlockMalware(t *testing.T) {
	s := stack(t, false)
	eicar := string(clamav.EICAR())
	sub := submitDir(t, s, storeDir(t, map[string]string{
		"results/summary.csv": "group,count\na,12\nb,15\n",
		"results/notes.txt":   "notes before\n" + eicar + "\nand after\n",
	}))
	r := ended(t, s, sub.RequestID, egress.StatusBlocked)
	if r.Checks == nil || r.Checks.Blocking != 1 || r.Checks.Engine != "ClamAV" || len(r.Checks.Notable) == 0 ||
		r.Checks.Notable[0].Path != "results/notes.txt" || r.Checks.Notable[0].Check != egress.CheckMalware {
		t.Fatalf("checks %+v", r.Checks)
	}
	if !strings.Contains(r.EndReason, "results/notes.txt") || r.EndedBy != egress.ActorWorkflow {
		t.Errorf("end reason %q by %q", r.EndReason, r.EndedBy)
	}
	found := manifestOf(t, s, r)
	if !has(found["results/notes.txt"], egress.CheckMalware, egress.SeverityBlocking, "ClamAV", "EICAR") || len(found["results/summary.csv"]) != 0 {
		t.Fatalf("manifest findings %+v", found)
	}
	mails, notices := requestMail(s, r.ID)
	got := mailTo(mails, researcher, "blocked by automated checks")
	if len(got) != 1 || !strings.Contains(got[0].Text, "results/notes.txt") || strings.Contains(got[0].Text, "notes before") {
		t.Fatalf("requester's notice %+v", got)
	}
	for _, m := range mails {
		if !slices.Contains(m.To, researcher) {
			t.Errorf("someone else was told of a blocked request: %+v", m)
		}
	}
	if len(notices) != 0 {
		t.Errorf("reviewers were told of a blocked request: %+v", notices)
	}
}

// playGuardDuty tags every staged version of r whose path is in verdicts
// with GuardDuty's verdict, as GuardDuty's own role does.
func playGuardDuty(t *testing.T, s *Stack, r egress.Request, verdicts map[string]string) {
	t.Helper()
	out, err := s.Clients.S3.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(StagingBucket), Prefix: aws.String(egress.StagingPrefix(r))})
	if err != nil {
		t.Fatal(err)
	}
	tagged := 0
	for _, v := range out.Versions {
		status, ok := verdicts[strings.TrimPrefix(*v.Key, egress.StagingPrefix(r))]
		if !ok {
			continue
		}
		if _, err := s.Clients.S3.PutObjectTagging(ctx(t), &s3.PutObjectTaggingInput{Bucket: aws.String(StagingBucket), Key: v.Key, VersionId: v.VersionId,
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("GuardDutyMalwareScanStatus"), Value: aws.String(status)}}}}); err != nil {
			t.Fatal(err)
		}
		tagged++
	}
	if tagged != len(verdicts) {
		t.Fatalf("tagged %d staged versions, want %d", tagged, len(verdicts))
	}
}

// Issue 15, acceptance 1 (GuardDuty): the workflow waits for the tags
// GuardDuty Malware Protection for S3 sets on each staged version;
// THREATS_FOUND blocks, other verdicts and no verdict within the timeout
// are warnings the reviewers see.
func TestChecksGuardDuty(t *testing.T) {
	clock := sfn.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	s := checkStack(t, egress.CheckSettings{Malware: egress.MalwareSettings{Engine: egress.EngineGuardDuty, TimeoutMinutes: 30}}, clock)
	waitPoll := func(id string) egress.Request {
		t.Helper()
		// The execution's own timeout, and the checks' poll.
		if err := clock.WaitForTimers(ctx(t), 2); err != nil {
			t.Fatal(err)
		}
		if d := clock.PendingDurations(); len(d) != 2 || !slices.Contains(d, 15*time.Second) {
			t.Fatalf("pending timers %v, want the checks' 15 s poll", d)
		}
		r, err := s.Requests.Get(ctx(t), id)
		if err != nil || r.Status != egress.StatusProcessing || r.Checks != nil {
			t.Fatalf("while GuardDuty scans: %s %+v %v", r.Status, r.Checks, err)
		}
		return r
	}

	// One threat: blocked.
	sub := submitDir(t, s, storeDir(t, map[string]string{"a/clean.csv": "group,count\na,12\n", "a/bad.txt": "pretend malware"}))
	r := waitPoll(sub.RequestID)
	playGuardDuty(t, s, r, map[string]string{"a/clean.csv": "NO_THREATS_FOUND", "a/bad.txt": "THREATS_FOUND"})
	clock.Advance(15 * time.Second)
	r = ended(t, s, sub.RequestID, egress.StatusBlocked)
	if found := manifestOf(t, s, r); !has(found["a/bad.txt"], egress.CheckMalware, egress.SeverityBlocking, "GuardDuty") || len(found["a/clean.csv"]) != 0 {
		t.Fatalf("findings %+v", found)
	}

	// UNSUPPORTED and no verdict in time: warnings; the request goes to review.
	sub = submitDir(t, s, storeDir(t, map[string]string{"b/ok.csv": "group,count\na,12\n", "b/huge.bin": "x", "b/never.txt": "y"}))
	r = waitPoll(sub.RequestID)
	playGuardDuty(t, s, r, map[string]string{"b/ok.csv": "NO_THREATS_FOUND", "b/huge.bin": "UNSUPPORTED"})
	clock.Advance(15 * time.Second)
	waitPoll(sub.RequestID)
	clock.Advance(31 * time.Minute)
	r = awaiting(t, s, sub.RequestID, 0)
	found := manifestOf(t, s, r)
	if !has(found["b/huge.bin"], egress.CheckMalware, egress.SeverityWarning, "UNSUPPORTED") ||
		!has(found["b/never.txt"], egress.CheckMalware, egress.SeverityWarning, "no verdict within 30m") || len(found["b/ok.csv"]) != 0 {
		t.Fatalf("findings %+v", found)
	}
	if r.Checks == nil || r.Checks.Warnings != 2 || r.Checks.Blocking != 0 {
		t.Fatalf("checks %+v", r.Checks)
	}
}

// The GuardDuty verdict is read with s3:GetObjectVersionTagging: without
// that grant the checks fail, and the request with them.
func TestChecksGuardDutyNeedsTagGrant(t *testing.T) {
	p, err := iam.Load(withoutGrant(t, []string{"CheckFiles"}, "s3:GetObjectVersionTagging", "Staging"), Resolver())
	if err != nil {
		t.Fatal(err)
	}
	s, err := startLogged(t, context.Background(), Options{Authorizer: NewAuthorizer(p),
		Checks: &egress.CheckSettings{Malware: egress.MalwareSettings{Engine: egress.EngineGuardDuty}}})
	if err != nil {
		t.Fatal(err)
	}
	sub := submit(t, s)
	r := ended(t, s, sub.RequestID, egress.StatusFailed)
	if !strings.Contains(r.FailureCause, "not authorized to perform: s3:GetObjectVersionTagging") {
		t.Fatalf("cause %q", r.FailureCause)
	}
}

// zipOf is a zip holding the named entries.
func zipOf(t *testing.T, entries ...string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("entry " + e))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Issue 15, acceptance 2: a Windows executable renamed results.csv is
// caught by sniffing; size and count limits give clear findings; a zip
// inside the request is listed or refused as configured.
func TestChecksFilePolicy(t *testing.T) {
	t.Run("sniffing", func(t *testing.T) {
		s := stack(t, false)
		sub := submitDir(t, s, storeDir(t, map[string]string{"out/results.csv": windowsExe(), "out/fine.csv": "group,count\na,11\n"}))
		r := ended(t, s, sub.RequestID, egress.StatusBlocked)
		if found := manifestOf(t, s, r); !has(found["out/results.csv"], egress.CheckType, egress.SeverityBlocking, "results.csv", ".csv") {
			t.Fatalf("findings %+v", found)
		}
	})
	t.Run("limits and a refused zip", func(t *testing.T) {
		s := checkStack(t, egress.CheckSettings{MaxFiles: 3, MaxFileBytes: 100, Archives: egress.ArchivesRefuse}, nil)
		sub := submitDir(t, s, storeDir(t, map[string]string{"a.txt": strings.Repeat("x", 101), "b.txt": "b", "c.zip": zipOf(t, "inner.csv")}))
		r := ended(t, s, sub.RequestID, egress.StatusBlocked)
		found := manifestOf(t, s, r)
		if !has(found["a.txt"], egress.CheckSize, egress.SeverityBlocking, "a.txt") || !has(found["c.zip"], egress.CheckArchive, egress.SeverityBlocking) || len(found["b.txt"]) != 0 {
			t.Fatalf("findings %+v", found)
		}
		// Too many files: blocked as a whole, without reading them.
		sub = submitDir(t, s, storeDir(t, map[string]string{"1.txt": "1", "2.txt": "2", "3.txt": "3", "4.txt": "4"}))
		r = ended(t, s, sub.RequestID, egress.StatusBlocked)
		if !slices.ContainsFunc(r.Checks.Notable, func(f egress.FileFinding) bool {
			return f.Path == "" && f.Check == egress.CheckCount && strings.Contains(f.Message, "4 files")
		}) {
			t.Fatalf("no request-level count finding in %+v", r.Checks.Notable)
		}
	})
	t.Run("a listed zip goes to review", func(t *testing.T) {
		s := stack(t, false)
		sub := submitDir(t, s, storeDir(t, map[string]string{"bundle.zip": zipOf(t, "tables/a.csv", "tool.exe")}))
		r := awaiting(t, s, sub.RequestID, 0)
		found := manifestOf(t, s, r)["bundle.zip"]
		if !has(found, egress.CheckArchive, egress.SeverityInfo, "tables/a.csv") || !has(found, egress.CheckArchive, egress.SeverityWarning, "tool.exe") {
			t.Fatalf("findings %+v", found)
		}
		adminCancel(t, s, r)
	})
}

// adminCancel ends r, awaiting a decision, as a TRE admin would.
func adminCancel(t *testing.T, s *Stack, r egress.Request) {
	t.Helper()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	if err := d.Cancel(ctx(t), SampleAdmin, r.ID, "test over"); err != nil {
		t.Fatal(err)
	}
	ended(t, s, r.ID, egress.StatusCancelled)
}

// acroResults is an ACRO results.json naming one output file.
const acroResults = `{"version": "0.4.12", "results": {"crosstab_region": {"uid": "crosstab_region", "status": "fail", "type": "table",
 "properties": {"method": "crosstab"}, "files": [{"name": "crosstab_region_0.csv", "sdc": {}}], "outcome": {},
 "command": "acro.crosstab(...)", "summary": "fail; threshold: 1 cells may need suppressing; ",
 "timestamp": "2026-11-30T09:00:00", "comments": ["small area"], "exception": "the count is of hospitals, not people"}}}`

// Issue 15, acceptance 3: a frequency table with a cell of 3 gives an SDC
// finding naming its row and column; a table whose totals give away a
// suppressed cell gives one too; ACRO's results.json is shown with the
// file it names. They are warnings: the request goes to review, and is
// approved and released.
func TestChecksDisclosure(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	files := map[string]string{
		"tables/freq.csv":            "region,n\nNorth,3\nSouth,25\nEast,40\n",
		"tables/totals.csv":          "group,male_n,female_n,total\nx,12,*,40\ny,15,20,35\n",
		"acro/results.json":          acroResults,
		"acro/crosstab_region_0.csv": "region,count\nNorth,11\nSouth,25\n",
		"tables/means.tsv":           "group\tmean_age\nx\t41.5\n",
	}
	sub := submitDir(t, s, storeDir(t, files))
	r := awaiting(t, s, sub.RequestID, 0)
	found := manifestOf(t, s, r)
	if !has(found["tables/freq.csv"], egress.CheckSDC, egress.SeverityWarning, "row 1", "North", `"n"`, "3") {
		t.Errorf("freq.csv findings %+v", found["tables/freq.csv"])
	}
	if !has(found["tables/totals.csv"], egress.CheckSDC, egress.SeverityWarning, "row 1", `"female_n"`, "total") {
		t.Errorf("totals.csv findings %+v", found["tables/totals.csv"])
	}
	if !has(found["acro/crosstab_region_0.csv"], egress.CheckACRO, egress.SeverityWarning, "crosstab_region", "fail", "hospitals") {
		t.Errorf("ACRO findings %+v", found["acro/crosstab_region_0.csv"])
	}
	if len(found["tables/means.tsv"]) != 0 {
		t.Errorf("a table of means has findings: %+v", found["tables/means.tsv"])
	}
	if r.Checks == nil || r.Checks.Blocking != 0 || r.Checks.Warnings < 3 {
		t.Fatalf("checks %+v", r.Checks)
	}
	_, notices := requestMail(s, r.ID)
	if len(notices) == 0 || !strings.Contains(notices[0].Text, "Automated checks:") || !strings.Contains(notices[0].Text, "tables/freq.csv: sdc: a possible disclosure risk") {
		t.Errorf("the reviewers' notice does not quote the findings: %+v", notices)
	}
	var page struct {
		GetRequest struct {
			Files []struct {
				Path     string           `json:"path"`
				Findings []egress.Finding `json:"findings"`
			} `json:"files"`
			Checks struct {
				Warnings int `json:"warnings"`
			} `json:"checks"`
		} `json:"getRequest"`
	}
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	if err := d.Do(ctx(t), Reviewer(chain, 0), `query($id: String!) { getRequest(egress_request_id: $id) { files { path findings { check severity message } } checks { warnings } } }`,
		map[string]any{"id": r.ID}, &page); err != nil {
		t.Fatal(err)
	}
	var viaAPI []egress.Finding
	for _, f := range page.GetRequest.Files {
		if f.Path == "tables/freq.csv" {
			viaAPI = f.Findings
		}
	}
	if !has(viaAPI, egress.CheckSDC, egress.SeverityWarning, "North") || page.GetRequest.Checks.Warnings != r.Checks.Warnings {
		t.Errorf("the API shows %+v and %d warnings", viaAPI, page.GetRequest.Checks.Warnings)
	}
	if err := d.Decide(ctx(t), Reviewer(chain, 0), r.ID, egress.Approved, "checked the warnings"); err != nil {
		t.Fatal(err)
	}
	awaiting(t, s, r.ID, 1)
	if err := d.Decide(ctx(t), Reviewer(chain, 1), r.ID, egress.Approved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(r.ID)); err != nil {
		t.Fatal(err)
	}
	if r, _ = s.Requests.Get(ctx(t), r.ID); r.Status != egress.StatusRITApproved || len(releasedZip(t, s, r)) != len(files)+2 {
		t.Fatalf("status %s (cause %q)", r.Status, r.FailureCause)
	}
}

// Without clamd the files are not scanned, and every file says so, with
// how to install it, rather than passing silently.
func TestChecksWithoutClamd(t *testing.T) {
	s, err := startLogged(t, context.Background(), Options{WithoutClamd: true})
	if err != nil {
		t.Fatal(err)
	}
	sub := submit(t, s)
	r := awaiting(t, s, sub.RequestID, 0)
	found := manifestOf(t, s, r)
	if len(found) == 0 {
		t.Fatal("no files")
	}
	for p, fs := range found {
		if !has(fs, egress.CheckMalware, egress.SeverityWarning, "not scanned", "apt-get install clamav-daemon") {
			t.Errorf("%s: %+v", p, fs)
		}
	}
	if r.Checks == nil || r.Checks.Engine != "none" || r.Checks.Warnings < len(found) {
		t.Errorf("checks %+v", r.Checks)
	}
}
