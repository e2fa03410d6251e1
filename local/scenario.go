package local

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// ZipEntry is one file found in a downloaded zip.
type ZipEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Report is what a scenario prints.
type Report struct {
	RequestID      string        `json:"egress_request_id"`
	WorkspaceID    string        `json:"workspace_id"`
	Decisions      []string      `json:"decisions"`
	ExpectedStatus egress.Status `json:"expected_status"`
	Status         egress.Status `json:"status"`
	StoreStatus    string        `json:"swb_store_status"`
	ZipKey         string        `json:"zip_key,omitempty"`
	ZipEntries     []ZipEntry    `json:"zip_entries"`
	SourceMatches  bool          `json:"zip_matches_source"`
	LeftOut        []string      `json:"left_out,omitempty"` // manifest.json's left_out paths
	StagedObjects  int           `json:"staged_objects_left"`
	ZipObjects     int           `json:"zip_objects"`
	EmailsSent     []string      `json:"emails_sent"`       // "to [cc: addresses]: subject"
	Notices        []string      `json:"notices_published"` // "topic: subject"
	FailureCause   string        `json:"failure_cause,omitempty"`
	// A resubmission's link to the request it follows, and its changes
	// ("path ADDED|REMOVED|CHANGED").
	PreviousRequestID string      `json:"previous_request_id,omitempty"`
	Changes           []string    `json:"changes,omitempty"`
	Revocation        *Revocation `json:"revocation,omitempty"`
	// Findings are the automated checks' findings, "path: SEVERITY check: message".
	Findings       []string `json:"findings,omitempty"`
	ExpectedResult bool     `json:"outcome_as_expected"`
	Problems       []string `json:"problems,omitempty"`

	version     int    // the store's object-list version submitted
	downloadURL string // the presigned link handed out, never printed
}

// Revocation is what a revoke scenario saw after revokeRelease.
type Revocation struct {
	By              string        `json:"by"`
	Status          egress.Status `json:"status"`
	EarlierLinkHTTP int           `json:"earlier_link_http_status"`
	DownloadRefusal string        `json:"download_refused_with"`
}

// Decider makes a stage's decision as a reviewer (the API, in-process or
// over GraphQL).
type Decider interface {
	Decide(ctx context.Context, who egress.Identity, id string, d egress.Decision, reason string) error
	Download(ctx context.Context, who egress.Identity, id string) (string, error)
}

// LifecycleDecider also returns requests, decides single files, cancels
// and revokes: what the scenarios beyond approve/reject need.
type LifecycleDecider interface {
	Decider
	Review(ctx context.Context, who egress.Identity, id string, d egress.Decision, reason string, files []egress.FileDecision) error
	Cancel(ctx context.Context, who egress.Identity, id, reason string) error
	Revoke(ctx context.Context, who egress.Identity, id, reason string) error
}

// Reviewer returns a distinct reviewer identity for stage i of the chain.
func Reviewer(chain egress.Chain, i int) egress.Identity { return Voter(chain, i, 0) }

// Voter is the development reviewer casting vote v (0 or 1) at stage i:
// a distinct person for every stage and vote.
func Voter(chain egress.Chain, i, v int) egress.Identity {
	st := chain.Stages[i]
	name := strings.ToLower(st.Name)
	suffix, label := "", ""
	if v > 0 {
		suffix, label = fmt.Sprintf("-%c", 'a'+v), fmt.Sprintf(" %c", 'A'+v)
	}
	return egress.Identity{
		Subject: fmt.Sprintf("local-%s-reviewer-%d%s", name, i+1, suffix),
		Email:   fmt.Sprintf("%s-reviewer-%d%s@example.org", name, i+1, suffix),
		Name:    fmt.Sprintf("%s Reviewer %d%s", st.Name, i+1, label),
		Groups:  []string{st.Group},
	}
}

// SampleResearcher is the local stack's researcher: the submitter of the
// scenarios, in ResearcherGroup, with the SWB user id of their submissions
// set as an administrator would, so their token reads their requests.
var SampleResearcher = egress.Identity{
	Subject: "local-researcher@example.org", Email: "researcher@example.org", Name: "Rita Researcher",
	UserID: SWBUserID("researcher@example.org"), Groups: []string{ResearcherGroup},
}

// SampleAdmin is the TRE administrator of the scenarios (the default
// admin group), who may revoke a release.
var SampleAdmin = egress.Identity{
	Subject: "local-tre-admin", Email: "tre-admin@example.org", Name: "Tess Admin", Groups: []string{egress.GroupRIT},
}

// DecisionSyntax describes a scenario's decision words, for help texts.
const DecisionSyntax = `one decision per stage, comma-separated, the request ending at the last:
  approve                     approve the stage
  approve:reject=P1+P2        approve, leaving files P1 and P2 (paths in the store) out of the zip
  reject                      reject the request
  return                      return it to the requester for changes
  cancel                      the requester cancels it while the stage waits
  blocked                     (alone) the automated checks block it before any review`

// Step is one parsed scenario decision.
type Step struct {
	Word        string   // approve, reject, return or cancel
	RejectFiles []string // with approve: the files left out
}

// ParseDecision parses one decision word (see DecisionSyntax).
func ParseDecision(s string) (Step, error) {
	word, files, hasFiles := strings.Cut(strings.TrimSpace(s), ":")
	switch word {
	case "approve", "reject", "return", "cancel", "blocked":
	default:
		return Step{}, fmt.Errorf("decision %q: want approve, reject, return, cancel, blocked or approve:reject=PATH+PATH", s)
	}
	st := Step{Word: word}
	if !hasFiles {
		return st, nil
	}
	paths, ok := strings.CutPrefix(files, "reject=")
	if word != "approve" || !ok || paths == "" {
		return Step{}, fmt.Errorf("decision %q: only approve names files, as approve:reject=PATH+PATH", s)
	}
	for _, p := range strings.Split(paths, "+") {
		if p == "" {
			return Step{}, fmt.Errorf("decision %q: an empty path", s)
		}
		st.RejectFiles = append(st.RejectFiles, p)
	}
	return st, nil
}

// parseSteps parses a scenario's decisions for a chain of n stages: every
// decision but the last approves, and the last ends the request.
func parseSteps(decisions []string, n int) ([]Step, error) {
	if len(decisions) == 0 {
		return nil, fmt.Errorf("no decisions")
	}
	if len(decisions) > n {
		return nil, fmt.Errorf("%d decisions for a %d-stage chain", len(decisions), n)
	}
	steps := make([]Step, len(decisions))
	for i, d := range decisions {
		st, err := ParseDecision(d)
		if err != nil {
			return nil, fmt.Errorf("decision %d: %w", i+1, err)
		}
		if st.Word == "blocked" && len(decisions) > 1 {
			return nil, fmt.Errorf("decision %d: blocked means no reviewer sees the request, so it stands alone", i+1)
		}
		if st.Word != "approve" && i < len(decisions)-1 {
			return nil, fmt.Errorf("decision %d: %s ends the request, yet %d more follow", i+1, st.Word, len(decisions)-1-i)
		}
		steps[i] = st
	}
	if steps[len(steps)-1].Word == "approve" && len(steps) < n {
		return nil, fmt.Errorf("%d approvals for a %d-stage chain: approve every stage or end with reject, return or cancel", len(steps), n)
	}
	return steps, nil
}

// NumberedStages is a chain of n stages (1..5) for --stages: IG, RIT,
// then Stage3...; with blinded the first has two reviewers.
func NumberedStages(n int, blinded bool) ([]egress.StageSpec, error) {
	if n < 1 || n > 5 {
		return nil, fmt.Errorf("stages: %d, want 1 to 5", n)
	}
	groups := []string{egress.GroupIG, egress.GroupRIT, "DataOwner", "Stage4Group", "Stage5Group"}
	var specs []egress.StageSpec
	for i := range n {
		name := fmt.Sprintf("Stage%d", i+1)
		switch i {
		case 0:
			name = "IG"
		case 1:
			name = "RIT"
		}
		specs = append(specs, egress.StageSpec{Name: name, Group: groups[i], Reviewers: 1})
	}
	if blinded {
		specs[0].Reviewers = 2
	}
	return specs, nil
}

func (s *Stack) swb() SWB {
	return SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: s.opts.Clock.Now}
}

// Scenario submits dir as a workspace egress store, makes each stage's
// decision (see DecisionSyntax) with distinct reviewers through d,
// downloads the released zip through its presigned URL and reports what
// happened. The report says whether the outcome is what the decisions
// imply.
func (s *Stack) Scenario(ctx context.Context, dir string, decisions []string, d Decider) (Report, error) {
	return s.scenario(ctx, dir, decisions, d, func(swb SWB) (Submission, int, error) {
		sub, err := swb.Submit(ctx, dir, SampleResearcher.Email)
		return sub, 1, err
	})
}

// ResubmitScenario submits dir again from the store of prev (a returned
// request's report), makes the decisions, and reports the link to prev
// and the files changed.
func (s *Stack) ResubmitScenario(ctx context.Context, prev Report, dir string, decisions []string, d Decider) (Report, error) {
	rep, err := s.scenario(ctx, dir, decisions, d, func(swb SWB) (Submission, int, error) {
		sub, err := swb.Resubmit(ctx, prev.WorkspaceID, dir, SampleResearcher.Email, prev.version+1)
		return sub, prev.version + 1, err
	})
	if err != nil {
		return rep, err
	}
	check(&rep, rep.PreviousRequestID == prev.RequestID, "previous_request_id %q, want %q", rep.PreviousRequestID, prev.RequestID)
	check(&rep, len(rep.Changes) > 0, "no changes listed against the previous request")
	rep.ExpectedResult = len(rep.Problems) == 0
	return rep, nil
}

// RevokeScenario approves dir at every stage, downloads the zip, revokes
// the release as SampleAdmin and checks the earlier link and a new
// download are both refused.
func (s *Stack) RevokeScenario(ctx context.Context, dir string, d LifecycleDecider) (Report, error) {
	chain, err := s.Config.Chain()
	if err != nil {
		return Report{}, err
	}
	all := make([]string, len(chain.Stages))
	for i := range all {
		all[i] = "approve"
	}
	rep, err := s.Scenario(ctx, dir, all, d)
	if err != nil || !rep.ExpectedResult {
		return rep, err
	}
	if err := d.Revoke(ctx, SampleAdmin, rep.RequestID, "revoked in a local scenario"); err != nil {
		return rep, fmt.Errorf("revoke: %w", err)
	}
	r, err := s.Requests.Get(ctx, rep.RequestID)
	if err != nil {
		return rep, err
	}
	rv := &Revocation{By: SampleAdmin.Email, Status: r.Status}
	if rv.EarlierLinkHTTP, err = httpGetStatus(ctx, rep.downloadURL); err != nil {
		return rep, err
	}
	if _, err := d.Download(ctx, Reviewer(chain, 0), rep.RequestID); err != nil {
		rv.DownloadRefusal = err.Error()
	}
	rep.Revocation, rep.Status = rv, r.Status
	check(&rep, rv.Status == egress.StatusRevoked, "status after revoking %s, want REVOKED", rv.Status)
	check(&rep, rv.EarlierLinkHTTP != http.StatusOK, "the earlier link still downloads (HTTP %d)", rv.EarlierLinkHTTP)
	check(&rep, strings.Contains(rv.DownloadRefusal, "revoked"), "a new download after revoking: %q, want refused as revoked", rv.DownloadRefusal)
	rep.ExpectedResult = len(rep.Problems) == 0
	return rep, nil
}

func httpGetStatus(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch the earlier link: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *Stack) scenario(ctx context.Context, dir string, decisions []string, d Decider, submit func(SWB) (Submission, int, error)) (Report, error) {
	chain, err := s.Config.Chain()
	if err != nil {
		return Report{}, err
	}
	steps, err := parseSteps(decisions, len(chain.Stages))
	if err != nil {
		return Report{}, err
	}
	swb := s.swb()
	sub, ver, err := submit(swb)
	if err != nil {
		return Report{}, err
	}
	rep := Report{RequestID: sub.RequestID, WorkspaceID: sub.WorkspaceID, Decisions: decisions, ZipEntries: []ZipEntry{}, version: ver}
	before, noticesBefore := len(s.Outbox.Sent()), len(s.Outbox.Notices())
	if err := s.Publish(ctx, sub.Message); err != nil {
		return rep, fmt.Errorf("publish: %w", err)
	}
	rep.ExpectedStatus = chain.Stages[len(chain.Stages)-1].ApprovedStatus
	var leftOut []string
	for i, step := range steps {
		if step.Word == "blocked" {
			rep.ExpectedStatus = egress.StatusBlocked
			break
		}
		r, err := s.WaitFor(ctx, sub.RequestID, func(r egress.Request) bool {
			return (r.TaskToken != "" && chain.StageAwaiting(r.Status) == i) || chain.Final(r.Status)
		})
		if err != nil {
			return rep, err
		}
		if chain.Final(r.Status) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("request ended %s before stage %d", r.Status, i+1))
			break
		}
		switch step.Word {
		case "reject":
			rep.ExpectedStatus = egress.StatusRejected
		case "return":
			rep.ExpectedStatus = egress.StatusReturned
		case "cancel":
			rep.ExpectedStatus = egress.StatusCancelled
		}
		leftOut = append(leftOut, step.RejectFiles...)
		if err := s.decide(ctx, chain, i, step, sub.RequestID, d); err != nil {
			return rep, fmt.Errorf("stage %d (%s) decision %q: %w", i+1, chain.Stages[i].Name, decisions[i], err)
		}
	}
	if _, err := s.Engine.Wait(ctx, s.ExecutionArn(sub.RequestID)); err != nil {
		return rep, fmt.Errorf("wait for execution: %w", err)
	}
	r, err := s.Requests.Get(ctx, sub.RequestID)
	if err != nil {
		return rep, err
	}
	rep.Status, rep.ZipKey, rep.FailureCause, rep.PreviousRequestID = r.Status, r.ZipKey, r.FailureCause, r.PreviousRequestID
	if rep.StoreStatus, err = swb.StoreStatus(ctx, r.StoreID); err != nil {
		return rep, err
	}
	if rep.StagedObjects, err = s.countVersions(ctx, StagingBucket, egress.StagingPrefix(r)); err != nil {
		return rep, err
	}
	if rep.ZipObjects, err = s.countVersions(ctx, DatalakeBucket, workflow.ZipKey(r)); err != nil {
		return rep, err
	}
	if r.StagingObjectMetadataVersion != "" {
		m, err := s.Objects.ReadManifest(ctx, StagingBucket, r.StagingObjectMetadataVersion)
		if err != nil {
			return rep, err
		}
		for _, f := range m.Files {
			for _, x := range f.Findings {
				rep.Findings = append(rep.Findings, f.Path+": "+x.String())
			}
		}
	}
	if r.PreviousRequestID != "" {
		page, err := s.API.Changes(ctx, Reviewer(chain, 0), r, 100, "")
		if err != nil {
			return rep, fmt.Errorf("changes: %w", err)
		}
		for _, c := range page.Changes {
			rep.Changes = append(rep.Changes, c.Path+" "+string(c.Change))
		}
	}
	want := map[string][]byte{}
	for p, b := range sub.Files {
		if !slices.Contains(leftOut, p) {
			want[p] = b
		}
	}
	if r.Released() {
		url, err := d.Download(ctx, Reviewer(chain, 0), r.ID)
		if err != nil {
			return rep, fmt.Errorf("download: %w", err)
		}
		rep.downloadURL = url
		var manifest []byte
		if rep.ZipEntries, manifest, err = fetchZipManifest(ctx, url); err != nil {
			return rep, err
		}
		rep.SourceMatches = matches(rep.ZipEntries, want)
		var m struct {
			LeftOut []egress.LeftOut `json:"left_out"`
		}
		if err := json.Unmarshal(manifest, &m); err != nil {
			return rep, fmt.Errorf("the zip's %s: %w", egress.ZipManifestName, err)
		}
		for _, l := range m.LeftOut {
			rep.LeftOut = append(rep.LeftOut, l.Path)
		}
	}
	for _, m := range s.Outbox.Sent()[before:] {
		// Other requests may run on the same stack at once.
		if !strings.Contains(m.Subject, sub.RequestID) {
			continue
		}
		to := strings.Join(m.To, ",")
		if len(m.Cc) > 0 {
			to += " cc: " + strings.Join(m.Cc, ",")
		}
		rep.EmailsSent = append(rep.EmailsSent, to+": "+m.Subject)
	}
	for _, n := range s.Outbox.Notices()[noticesBefore:] {
		if strings.Contains(n.Subject, sub.RequestID) {
			rep.Notices = append(rep.Notices, n.Topic+": "+n.Subject)
		}
	}
	check(&rep, rep.Status == rep.ExpectedStatus, "status %s, want %s", rep.Status, rep.ExpectedStatus)
	if rep.ExpectedStatus == chain.Stages[len(chain.Stages)-1].ApprovedStatus {
		check(&rep, rep.StoreStatus == "PROCESSED", "SWB store %s, want PROCESSED", rep.StoreStatus)
		check(&rep, rep.SourceMatches, "zip entries differ from the source tree less the files left out")
		slices.Sort(leftOut)
		got := slices.Clone(rep.LeftOut)
		slices.Sort(got)
		check(&rep, slices.Equal(slices.Compact(leftOut), got), "manifest left_out %v, want %v", got, leftOut)
	} else {
		check(&rep, rep.StoreStatus == "PENDING", "SWB store %s, want PENDING", rep.StoreStatus)
		check(&rep, rep.ZipObjects == 0, "%d zip objects left, want none", rep.ZipObjects)
	}
	check(&rep, rep.StagedObjects == 0, "%d staged objects left, want none", rep.StagedObjects)
	rep.ExpectedResult = len(rep.Problems) == 0
	return rep, nil
}

// decide makes stage i's decision: a plain approve or reject at a
// one-reviewer stage through updateRequest as the frontend does; the rest
// through reviewRequest or cancelRequest. At a two-reviewer stage the
// first vote carries the step and the second approves (one rejection or
// return decides).
func (s *Stack) decide(ctx context.Context, chain egress.Chain, i int, step Step, id string, d Decider) error {
	voters := max(1, chain.Stages[i].Reviewers)
	if voters == 1 && len(step.RejectFiles) == 0 {
		switch step.Word {
		case "approve":
			return d.Decide(ctx, Reviewer(chain, i), id, egress.Approved, "")
		case "reject":
			return d.Decide(ctx, Reviewer(chain, i), id, egress.Rejected, "rejected in a local scenario")
		}
	}
	ld, ok := d.(LifecycleDecider)
	if !ok {
		return fmt.Errorf("%T cannot return, cancel, decide single files or vote at a blinded stage", d)
	}
	if step.Word == "cancel" {
		return ld.Cancel(ctx, SampleResearcher, id, "cancelled in a local scenario")
	}
	dec, reason := egress.Approved, ""
	switch step.Word {
	case "reject":
		dec, reason = egress.Rejected, "rejected in a local scenario"
	case "return":
		dec, reason = egress.Returned, "returned for changes in a local scenario"
	}
	var files []egress.FileDecision
	for _, p := range step.RejectFiles {
		files = append(files, egress.FileDecision{Path: p, Decision: egress.Rejected, Comment: "left out in a local scenario"})
	}
	for v := range voters {
		if v > 0 {
			dec, reason, files = egress.Approved, "", nil
		}
		if err := ld.Review(ctx, Voter(chain, i, v), id, dec, reason, files); err != nil {
			return fmt.Errorf("vote %d: %w", v+1, err)
		}
	}
	return nil
}

func check(rep *Report, ok bool, format string, args ...any) {
	if !ok {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
	}
}

// countVersions counts every version and delete marker under prefix.
func (s *Stack) countVersions(ctx context.Context, bucket, prefix string) (int, error) {
	n := 0
	p := s3.NewListObjectVersionsPaginator(s.Clients.S3, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
		}
		n += len(page.Versions) + len(page.DeleteMarkers)
	}
	return n, nil
}

// fetchZip downloads the zip with plain HTTP, as a browser would, and
// lists its entries with their SHA-256.
func fetchZip(ctx context.Context, url string) ([]ZipEntry, error) {
	entries, _, err := fetchZipManifest(ctx, url)
	return entries, err
}

// fetchZipManifest is fetchZip also returning the zip's manifest.json.
func fetchZipManifest(ctx context.Context, url string) ([]ZipEntry, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("download zip: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("download zip: HTTP %d: %v", resp.StatusCode, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, nil, fmt.Errorf("open zip: %w", err)
	}
	var entries []ZipEntry
	var manifest []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		h := sha256.New()
		var w io.Writer = h
		var buf bytes.Buffer
		if f.Name == egress.ZipManifestName {
			w = io.MultiWriter(h, &buf)
		}
		n, err := io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		if f.Name == egress.ZipManifestName {
			manifest = buf.Bytes()
		}
		entries = append(entries, ZipEntry{Path: f.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, manifest, nil
}

// matches reports whether the zip holds exactly the source files (besides
// its SHA256SUMS and manifest.json) with the same SHA-256.
func matches(entries []ZipEntry, src map[string][]byte) bool {
	seen := 0
	for _, e := range entries {
		body, ok := src[e.Path]
		if !ok {
			if e.Path == "SHA256SUMS" || e.Path == "manifest.json" {
				continue
			}
			return false
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			return false
		}
		seen++
	}
	return seen == len(src)
}

// ServiceDecider decides through the API service in-process.
type ServiceDecider struct{ S *Stack }

// Decide implements Decider.
func (d ServiceDecider) Decide(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string) error {
	_, err := d.S.API.Decide(ctx, who, id, dec, reason, "")
	return err
}

// Download implements Decider.
func (d ServiceDecider) Download(ctx context.Context, who egress.Identity, id string) (string, error) {
	return d.S.API.Download(ctx, who, id)
}

// Review implements LifecycleDecider.
func (d ServiceDecider) Review(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string, files []egress.FileDecision) error {
	r, err := d.S.API.GetRequest(ctx, who, id)
	if err != nil {
		return err
	}
	in := api.ReviewInput{RequestID: id, TaskToken: api.TokenRef(r.TaskToken), Decision: string(dec), Reason: reason}
	for _, f := range files {
		in.Files = append(in.Files, api.FileDecisionInput{Path: f.Path, Decision: string(f.Decision), Comment: f.Comment})
	}
	_, err = d.S.API.Review(ctx, who, in)
	return err
}

// Cancel implements LifecycleDecider.
func (d ServiceDecider) Cancel(ctx context.Context, who egress.Identity, id, reason string) error {
	_, err := d.S.API.Cancel(ctx, who, id, reason)
	return err
}

// Revoke implements LifecycleDecider.
func (d ServiceDecider) Revoke(ctx context.Context, who egress.Identity, id, reason string) error {
	_, err := d.S.API.RevokeRelease(ctx, who, id, reason)
	return err
}
