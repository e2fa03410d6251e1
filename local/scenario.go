package local

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	Decisions      []string      `json:"decisions"`
	Status         egress.Status `json:"status"`
	StoreStatus    string        `json:"swb_store_status"`
	ZipKey         string        `json:"zip_key,omitempty"`
	ZipEntries     []ZipEntry    `json:"zip_entries"`
	SourceMatches  bool          `json:"zip_matches_source"`
	StagedObjects  int           `json:"staged_objects_left"`
	ZipObjects     int           `json:"zip_objects"`
	EmailsSent     []string      `json:"emails_sent"`       // "to [cc: addresses]: subject"
	Notices        []string      `json:"notices_published"` // "topic: subject"
	FailureCause   string        `json:"failure_cause,omitempty"`
	ExpectedResult bool          `json:"outcome_as_expected"`
	Problems       []string      `json:"problems,omitempty"`
}

// Decider makes a stage's decision as a reviewer (the API, in-process or
// over GraphQL).
type Decider interface {
	Decide(ctx context.Context, who egress.Identity, id string, d egress.Decision, reason string) error
	Download(ctx context.Context, who egress.Identity, id string) (string, error)
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

// Scenario submits dir as a workspace egress store, makes each stage's
// decision (approve/reject) with distinct reviewers through d, downloads the
// released zip through its presigned URL and reports what happened. The
// report says whether the outcome is what the decisions imply.
func (s *Stack) Scenario(ctx context.Context, dir string, decisions []string, d Decider) (Report, error) {
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: s.opts.Clock.Now}
	sub, err := swb.Submit(ctx, dir, SampleResearcher.Email)
	if err != nil {
		return Report{}, err
	}
	rep := Report{RequestID: sub.RequestID, Decisions: decisions, ZipEntries: []ZipEntry{}}
	before, noticesBefore := len(s.Outbox.Sent()), len(s.Outbox.Notices())
	if err := s.Publish(ctx, sub.Message); err != nil {
		return rep, fmt.Errorf("publish: %w", err)
	}
	chain, err := s.Config.Chain()
	if err != nil {
		return rep, err
	}
	if len(decisions) > len(chain.Stages) {
		return rep, fmt.Errorf("%d decisions for a %d-stage chain", len(decisions), len(chain.Stages))
	}
	wantApproved := len(decisions) == len(chain.Stages)
	for i, dec := range decisions {
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
		who := Reviewer(chain, i)
		switch dec {
		case "approve":
			err = d.Decide(ctx, who, sub.RequestID, egress.Approved, "")
		case "reject":
			wantApproved = false
			err = d.Decide(ctx, who, sub.RequestID, egress.Rejected, "rejected in a local scenario")
		default:
			return rep, fmt.Errorf("decision %d: want approve or reject, got %q", i+1, dec)
		}
		if err != nil {
			return rep, fmt.Errorf("stage %d decision: %w", i+1, err)
		}
		if dec == "reject" {
			break
		}
	}
	if _, err := s.Engine.Wait(ctx, s.ExecutionArn(sub.RequestID)); err != nil {
		return rep, fmt.Errorf("wait for execution: %w", err)
	}
	r, err := s.Requests.Get(ctx, sub.RequestID)
	if err != nil {
		return rep, err
	}
	rep.Status, rep.ZipKey, rep.FailureCause = r.Status, r.ZipKey, r.FailureCause
	if rep.StoreStatus, err = swb.StoreStatus(ctx, r.StoreID); err != nil {
		return rep, err
	}
	if rep.StagedObjects, err = s.countVersions(ctx, StagingBucket, egress.StagingPrefix(r)); err != nil {
		return rep, err
	}
	if rep.ZipObjects, err = s.countVersions(ctx, DatalakeBucket, workflow.ZipKey(r)); err != nil {
		return rep, err
	}
	if r.Released() {
		url, err := d.Download(ctx, Reviewer(chain, 0), r.ID)
		if err != nil {
			return rep, fmt.Errorf("download: %w", err)
		}
		if rep.ZipEntries, err = fetchZip(ctx, url); err != nil {
			return rep, err
		}
		rep.SourceMatches = matches(rep.ZipEntries, sub.Files)
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
	final := chain.Stages[len(chain.Stages)-1].ApprovedStatus
	if wantApproved {
		check(&rep, rep.Status == final, "status %s, want %s", rep.Status, final)
		check(&rep, rep.StoreStatus == "PROCESSED", "SWB store %s, want PROCESSED", rep.StoreStatus)
		check(&rep, rep.SourceMatches, "zip entries differ from the source tree")
	} else {
		check(&rep, rep.Status == egress.StatusRejected, "status %s, want REJECTED", rep.Status)
		check(&rep, rep.StoreStatus == "PENDING", "SWB store %s, want PENDING", rep.StoreStatus)
		check(&rep, rep.ZipObjects == 0, "%d zip objects left, want none", rep.ZipObjects)
	}
	check(&rep, rep.StagedObjects == 0, "%d staged objects left, want none", rep.StagedObjects)
	rep.ExpectedResult = len(rep.Problems) == 0
	return rep, nil
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download zip: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download zip: HTTP %d: %v", resp.StatusCode, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, fmt.Errorf("open zip: %w", err)
	}
	var entries []ZipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		entries = append(entries, ZipEntry{Path: f.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, nil
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
