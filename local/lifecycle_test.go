package local

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// storeDir writes files (relative path -> content) to a new folder.
func storeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// submitDir submits dir as a new workspace's store and publishes it.
func submitDir(t *testing.T, s *Stack, dir string) Submission {
	t.Helper()
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: s.opts.Clock.Now}
	sub, err := swb.Submit(ctx(t), dir, researcher)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return sub
}

// releasedZip reads the released zip of r from the datalake: each entry's
// content by path.
func releasedZip(t *testing.T, s *Stack, r egress.Request) map[string][]byte {
	t.Helper()
	out, err := s.Clients.S3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(DatalakeBucket), Key: aws.String(r.ZipKey)})
	if err != nil {
		t.Fatalf("read the zip: %v", err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// stagedCount is how many object versions are staged for r.
func stagedCount(t *testing.T, s *Stack, r egress.Request) int {
	t.Helper()
	out, err := s.Clients.S3.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(StagingBucket), Prefix: aws.String(egress.StagingPrefix(r))})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Versions)
}

// ended waits for r's execution and checks the store is unlocked and
// nothing is staged.
func ended(t *testing.T, s *Stack, id string, want egress.Status) egress.Request {
	t.Helper()
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(id)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("status %s (cause %q), want %s", r.Status, r.FailureCause, want)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, err := swb.StoreStatus(ctx(t), r.StoreID); err != nil || st != "PENDING" {
		t.Errorf("SWB store %q, %v; want PENDING", st, err)
	}
	if n := stagedCount(t, s, r); n != 0 {
		t.Errorf("%d staged versions left", n)
	}
	return r
}

// Issue 14, acceptance 1: two of ten files rejected at the first stage,
// the rest approved at both: the zip holds exactly the eight, byte for
// byte, and its manifest.json names the two with their comments.
func TestPerFileDecisions(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("results/table-%02d.csv", i)] = fmt.Sprintf("group,count\na,%d\nb,%d\n", 10+i, 20+i)
	}
	sub := submitDir(t, s, storeDir(t, files))
	rejected := []egress.FileDecision{
		{Path: "results/table-03.csv", Decision: egress.Rejected, Comment: "cell below 10"},
		{Path: "results/table-07.csv", Decision: egress.Rejected, Comment: "identifiable postcode"},
	}
	awaiting(t, s, sub.RequestID, 0)
	unknown := []egress.FileDecision{{Path: "results/nope.csv", Decision: egress.Rejected, Comment: "x"}}
	if err := d.Review(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", unknown); egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(err.Error(), "nope.csv") {
		t.Fatalf("a decision on a file not submitted: %v", err)
	}
	noComment := []egress.FileDecision{{Path: "results/table-01.csv", Decision: egress.Rejected}}
	if err := d.Review(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", noComment); egress.ErrorCode(err) != egress.EINVALID || !strings.Contains(err.Error(), "comment is required") {
		t.Fatalf("a file rejected without a comment: %v", err)
	}
	if err := d.Review(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "eight are fine", rejected); err != nil {
		t.Fatal(err)
	}
	awaiting(t, s, sub.RequestID, 1)
	if err := d.Decide(ctx(t), Reviewer(chain, 1), sub.RequestID, egress.Approved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), sub.RequestID)
	if err != nil || r.Status != egress.StatusRITApproved || !r.Released() {
		t.Fatalf("status %s released %v cause %q: %v", r.Status, r.Released(), r.FailureCause, err)
	}
	zipped := releasedZip(t, s, r)
	var released []string
	for p, body := range zipped {
		if p == egress.ZipManifestName || p == egress.ZipSumsName {
			continue
		}
		released = append(released, p)
		if string(body) != files[p] {
			t.Errorf("%s: zip content differs from the submitted file", p)
		}
	}
	slices.Sort(released)
	var want []string
	for p := range files {
		if p != "results/table-03.csv" && p != "results/table-07.csv" {
			want = append(want, p)
		}
	}
	slices.Sort(want)
	if !slices.Equal(released, want) {
		t.Fatalf("released %v, want %v", released, want)
	}
	var m struct {
		Files   []egress.File    `json:"files"`
		LeftOut []egress.LeftOut `json:"left_out"`
	}
	if err := json.Unmarshal(zipped[egress.ZipManifestName], &m); err != nil {
		t.Fatal(err)
	}
	wantLeft := []egress.LeftOut{{Path: "results/table-03.csv", Stage: "IG", Comment: "cell below 10"}, {Path: "results/table-07.csv", Stage: "IG", Comment: "identifiable postcode"}}
	if len(m.Files) != 8 || !slices.Equal(m.LeftOut, wantLeft) {
		t.Fatalf("manifest.json: %d files, left out %+v; want 8 and %+v", len(m.Files), m.LeftOut, wantLeft)
	}
	mails, _ := requestMail(s, r.ID)
	if got := mailTo(mails, researcher, "approved"); len(got) != 1 || !strings.Contains(got[0].Text, "identifiable postcode") {
		t.Errorf("the requester's approval e-mail does not name the files left out: %+v", got)
	}
}

// Issue 14, acceptance 3: cancelling at each waiting stage ends the
// request CANCELLED with the execution over, the store unlocked and
// nothing staged; someone else cannot cancel, and a released request
// cannot be cancelled.
func TestCancel(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	requester := SampleResearcher
	admin := Voter(chain, 1, 0) // TREAdmin is the default admin group
	for stage := range chain.Stages {
		for _, who := range []egress.Identity{requester, admin} {
			t.Run(fmt.Sprintf("stage %d by %s", stage, who.Email), func(t *testing.T) {
				sub := submit(t, s)
				for i := range stage {
					awaiting(t, s, sub.RequestID, i)
					if err := d.Decide(ctx(t), Reviewer(chain, i), sub.RequestID, egress.Approved, ""); err != nil {
						t.Fatal(err)
					}
				}
				awaiting(t, s, sub.RequestID, stage)
				other := Voter(chain, 0, 0)
				if err := d.Cancel(ctx(t), other, sub.RequestID, "not mine"); egress.ErrorCode(err) != egress.EFORBIDDEN {
					t.Fatalf("a reviewer who is not the requester cancelling: %v", err)
				}
				if err := d.Cancel(ctx(t), who, sub.RequestID, " "); egress.ErrorCode(err) != egress.EINVALID {
					t.Fatalf("a cancel without a reason: %v", err)
				}
				if err := d.Cancel(ctx(t), who, sub.RequestID, "submitted the wrong folder"); err != nil {
					t.Fatal(err)
				}
				r := ended(t, s, sub.RequestID, egress.StatusCancelled)
				if r.EndedBy != who.Email || r.EndReason != "submitted the wrong folder" || r.Released() {
					t.Errorf("ended by %q for %q, released %v", r.EndedBy, r.EndReason, r.Released())
				}
				mails, _ := requestMail(s, r.ID)
				if len(mailTo(mails, researcher, "cancelled")) != 1 {
					t.Errorf("the requester was not told")
				}
				if len(mailTo(mails, Reviewer(chain, stage).Email, "cancelled")) != 1 {
					t.Errorf("the %s stage's reviewers were not told", chain.Stages[stage].Name)
				}
				if err := d.Cancel(ctx(t), who, sub.RequestID, "again"); egress.ErrorCode(err) != egress.ECONFLICT {
					t.Errorf("cancelling twice: %v", err)
				}
			})
		}
	}
	t.Run("after release", func(t *testing.T) {
		r := released(t, s, d)
		err := d.Cancel(ctx(t), admin, r.ID, "too late")
		if egress.ErrorCode(err) != egress.ECONFLICT || !strings.Contains(err.Error(), "released") {
			t.Fatalf("cancelling a released request: %v", err)
		}
	})
}

const getReviews = `query R($id: String!) {
  getRequest(egress_request_id: $id) {
    egress_status ig_reviewer_1_decision
    approval_stages { name group reviewers }
    reviews { stage stage_index email decision reason files { path decision comment } }
  }
}`

type reviewsView struct {
	GetRequest struct {
		Status     string `json:"egress_status"`
		IGDecision string `json:"ig_reviewer_1_decision"`
		Stages     []struct {
			Name      string `json:"name"`
			Reviewers int    `json:"reviewers"`
		} `json:"approval_stages"`
		Reviews []struct {
			Stage    string `json:"stage"`
			Email    string `json:"email"`
			Decision string `json:"decision"`
		} `json:"reviews"`
	} `json:"getRequest"`
}

func seenBy(t *testing.T, d GraphQLDecider, who egress.Identity, id string) reviewsView {
	t.Helper()
	var v reviewsView
	if err := d.Do(ctx(t), who, getReviews, map[string]any{"id": id}, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Issue 14, acceptance 5: a chain of three stages whose first has two
// blinded reviewers runs through the same definition: neither vote is
// shown to the other reviewer until both are in, any rejection rejects,
// and nobody votes twice or at two stages. (The shared stacks run the
// chains of one and two stages.)
func TestChainOfThreeWithBlindedStage(t *testing.T) {
	stages := []egress.StageSpec{
		{Name: "IG", Group: egress.GroupIG, Reviewers: 2},
		{Name: "RIT", Group: egress.GroupRIT, Reviewers: 1},
		{Name: "Owner", Group: "DataOwner", Reviewers: 1},
	}
	s, err := startLogged(t, ctx(t), Options{Clock: clock, Stages: stages, StageTimeout: 48 * 3600e9})
	if err != nil {
		t.Fatal(err)
	}
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	first, second := Voter(chain, 0, 0), Voter(chain, 0, 1)

	t.Run("approved by all", func(t *testing.T) {
		sub := submit(t, s)
		awaiting(t, s, sub.RequestID, 0)
		if err := d.Review(ctx(t), first, sub.RequestID, egress.Approved, "looks fine", nil); err != nil {
			t.Fatal(err)
		}
		if v := seenBy(t, d, second, sub.RequestID); v.GetRequest.Status != string(egress.StatusProcessing) || len(v.GetRequest.Reviews) != 0 || v.GetRequest.IGDecision != "" {
			t.Fatalf("the second reviewer sees the first's vote before voting: %+v", v.GetRequest)
		}
		if v := seenBy(t, d, first, sub.RequestID); len(v.GetRequest.Reviews) != 1 || v.GetRequest.Reviews[0].Email != first.Email {
			t.Fatalf("the first reviewer does not see their own vote: %+v", v.GetRequest)
		}
		if v := seenBy(t, d, first, sub.RequestID); len(v.GetRequest.Stages) != 3 || v.GetRequest.Stages[0].Reviewers != 2 {
			t.Errorf("approval_stages: %+v", v.GetRequest.Stages)
		}
		if err := d.Review(ctx(t), first, sub.RequestID, egress.Approved, "", nil); egress.ErrorCode(err) != egress.EFORBIDDEN {
			t.Fatalf("voting twice: %v", err)
		}
		if err := d.Review(ctx(t), second, sub.RequestID, egress.Approved, "", nil); err != nil {
			t.Fatal(err)
		}
		awaiting(t, s, sub.RequestID, 1)
		if v := seenBy(t, d, Voter(chain, 1, 0), sub.RequestID); len(v.GetRequest.Reviews) != 2 {
			t.Fatalf("the decided stage's votes are not shown: %+v", v.GetRequest)
		}
		// One person in two stages' groups votes at one stage only.
		both := second
		both.Groups = []string{egress.GroupIG, egress.GroupRIT}
		if err := d.Review(ctx(t), both, sub.RequestID, egress.Approved, "", nil); egress.ErrorCode(err) != egress.EFORBIDDEN {
			t.Fatalf("voting at a second stage: %v", err)
		}
		if err := d.Decide(ctx(t), Voter(chain, 1, 0), sub.RequestID, egress.Approved, ""); err != nil {
			t.Fatal(err)
		}
		r := awaiting(t, s, sub.RequestID, 2)
		if r.Status != "STAGE2APPROVED" || r.CurrentReviewerGroup != "DataOwner" {
			t.Fatalf("awaiting the third stage: %s, group %q", r.Status, r.CurrentReviewerGroup)
		}
		// The frontend's listRequests works with any chain and lists the
		// request awaiting its third stage.
		var list struct {
			ListRequests []struct {
				ID     string `json:"egress_request_id"`
				Status string `json:"egress_status"`
			} `json:"listRequests"`
		}
		if err := d.Do(ctx(t), Voter(chain, 2, 0), frontendOperation(t, "listRequests"), nil, &list); err != nil {
			t.Fatalf("listRequests with a three-stage chain: %v", err)
		}
		if !slices.ContainsFunc(list.ListRequests, func(l struct {
			ID     string `json:"egress_request_id"`
			Status string `json:"egress_status"`
		}) bool {
			return l.ID == sub.RequestID && l.Status == "STAGE2APPROVED"
		}) {
			t.Errorf("listRequests does not list the request awaiting its third stage")
		}
		if err := d.Review(ctx(t), Voter(chain, 2, 0), sub.RequestID, egress.Approved, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(sub.RequestID)); err != nil {
			t.Fatal(err)
		}
		r, err := s.Requests.Get(ctx(t), sub.RequestID)
		if err != nil || r.Status != egress.StatusRITApproved || !r.Released() || len(r.Reviews) != 4 {
			t.Fatalf("status %s released %v reviews %d cause %q: %v", r.Status, r.Released(), len(r.Reviews), r.FailureCause, err)
		}
	})
	t.Run("one rejection rejects", func(t *testing.T) {
		sub := submit(t, s)
		awaiting(t, s, sub.RequestID, 0)
		if err := d.Review(ctx(t), first, sub.RequestID, egress.Rejected, "small cells", nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Review(ctx(t), second, sub.RequestID, egress.Approved, "", nil); err != nil {
			t.Fatal(err)
		}
		ended(t, s, sub.RequestID, egress.StatusRejected)
	})
}

const getResubmission = `query R($id: String!) {
  getRequest(egress_request_id: $id) {
    egress_status previous_request_id
    previous_request { egress_request_id egress_status comments { stage decision path comment } }
    changes { items { path change } added removed changed }
  }
}`

// Issue 14, acceptance 2: a request returned for changes is closed like a
// rejection (nothing staged, the store unlocked, the requester told what
// to change); the store's next submission is linked to it, shows what
// changed and the earlier comments, and can be approved.
func TestReturnAndResubmit(t *testing.T) {
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider().withEndpoint(graphqlEndpoint(t, s))
	first := submitDir(t, s, storeDir(t, map[string]string{
		"a.csv": "x,n\na,5\n", "b.csv": "x,n\nb,50\n", "notes.txt": "draft",
	}))
	awaiting(t, s, first.RequestID, 0)
	if err := d.Review(ctx(t), Reviewer(chain, 0), first.RequestID, egress.Returned, "", nil); egress.ErrorCode(err) != egress.EINVALID {
		t.Fatalf("returning without saying what to change: %v", err)
	}
	comments := []egress.FileDecision{{Path: "a.csv", Decision: egress.Rejected, Comment: "suppress the count of 5"}}
	if err := d.Review(ctx(t), Reviewer(chain, 0), first.RequestID, egress.Returned, "please suppress small counts and drop notes.txt", comments); err != nil {
		t.Fatal(err)
	}
	returned := ended(t, s, first.RequestID, egress.StatusReturned)
	mails, _ := requestMail(s, returned.ID)
	if got := mailTo(mails, researcher, "returned for changes"); len(got) != 1 || !strings.Contains(got[0].Text, "drop notes.txt") || !strings.Contains(got[0].Text, "suppress the count of 5") {
		t.Fatalf("the requester is not told what to change: %+v", got)
	}

	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: s.opts.Clock.Now}
	second, err := swb.Resubmit(ctx(t), first.WorkspaceID, storeDir(t, map[string]string{
		"a.csv": "x,n\na,<10\n", "b.csv": "x,n\nb,50\n", "c.csv": "x,n\nc,40\n",
	}), researcher, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), second.Message); err != nil {
		t.Fatal(err)
	}
	r := awaiting(t, s, second.RequestID, 0)
	if r.PreviousRequestID != first.RequestID {
		t.Fatalf("the resubmission is linked to %q, want %q", r.PreviousRequestID, first.RequestID)
	}
	var v struct {
		GetRequest struct {
			Previous struct {
				ID       string `json:"egress_request_id"`
				Status   string `json:"egress_status"`
				Comments []struct {
					Path    string `json:"path"`
					Comment string `json:"comment"`
				} `json:"comments"`
			} `json:"previous_request"`
			Changes struct {
				Items []struct {
					Path   string `json:"path"`
					Change string `json:"change"`
				} `json:"items"`
				Added   int `json:"added"`
				Removed int `json:"removed"`
				Changed int `json:"changed"`
			} `json:"changes"`
		} `json:"getRequest"`
	}
	if err := d.Do(ctx(t), Reviewer(chain, 0), getResubmission, map[string]any{"id": second.RequestID}, &v); err != nil {
		t.Fatal(err)
	}
	got := v.GetRequest
	if got.Previous.ID != first.RequestID || got.Previous.Status != string(egress.StatusReturned) || len(got.Previous.Comments) != 2 ||
		got.Previous.Comments[1].Path != "a.csv" || got.Previous.Comments[1].Comment != "suppress the count of 5" {
		t.Errorf("previous attempt: %+v", got.Previous)
	}
	var changes []string
	for _, c := range got.Changes.Items {
		changes = append(changes, c.Path+" "+c.Change)
	}
	if want := []string{"a.csv CHANGED", "c.csv ADDED", "notes.txt REMOVED"}; !slices.Equal(changes, want) ||
		got.Changes.Added != 1 || got.Changes.Removed != 1 || got.Changes.Changed != 1 {
		t.Errorf("changes %v (%d added, %d removed, %d changed), want %v", changes, got.Changes.Added, got.Changes.Removed, got.Changes.Changed, want)
	}
	for i := range chain.Stages {
		awaiting(t, s, second.RequestID, i)
		if err := d.Decide(ctx(t), Reviewer(chain, i), second.RequestID, egress.Approved, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(second.RequestID)); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Requests.Get(ctx(t), second.RequestID); err != nil || r.Status != egress.StatusRITApproved || !r.Released() {
		t.Fatalf("the resubmission: %s released %v (%q): %v", r.Status, r.Released(), r.FailureCause, err)
	}
}
