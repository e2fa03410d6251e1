package local

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// reliability counts what the fault, crash and race tests ran, for the
// README's Reliability section (printed at the end of each test).
var reliability struct {
	sync.Mutex
	faults, attempts, requests, crashPoints, races int
}

// soak reports whether the long variants run (make soak).
func soak() bool { return os.Getenv("EGRESS_SOAK") != "" }

// faultPath is one decision path of TestFaultInjection.
type faultPath struct {
	name      string
	decisions []string
	revoke    bool
	blocked   bool
}

var faultPaths = []faultPath{
	{name: "approve", decisions: []string{"approve", "approve"}},
	{name: "reject", decisions: []string{"approve", "reject"}},
	{name: "return", decisions: []string{"return"}},
	{name: "cancel", decisions: []string{"approve", "cancel"}},
	{name: "revoke", revoke: true},
	{name: "blocked", decisions: []string{"blocked"}, blocked: true},
}

// TestFaultInjection runs whole requests down every decision path while
// the functions' S3, DynamoDB, Step Functions, SES and SNS calls are
// throttled, fail with 5xx, have their connection reset, lose their
// response after the service acted, or are slowed, at set rates (seeded)
// and at chosen call numbers. Every request must end as it would without
// faults: the final status its decisions imply, SWB's store unlocked
// (never PROCESSING), staging empty, exactly one zip version for a
// release and none otherwise, no multipart upload left open, and an audit
// trail whose chain verifies and whose status history is the unfaulted
// run's, event for event.
func TestFaultInjection(t *testing.T) {
	s := faultStack(t)
	blockedDir := storeDir(t, map[string]string{"results/summary.csv": "group,count\na,12\n", "results/notes.txt": string(clamav.EICAR())})

	seeds := []uint64{1, 2, 3}
	if soak() {
		for i := uint64(4); i <= 20; i++ {
			seeds = append(seeds, i)
		}
	}
	baseline := map[string][]string{}
	run := func(t *testing.T, plan *FaultPlan) {
		s.SetFaults(plan)
		var wg sync.WaitGroup
		histories := make([][]string, len(faultPaths))
		for i, p := range faultPaths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				histories[i] = runFaultPath(t, s, p, blockedDir)
			}()
		}
		wg.Wait()
		st := s.SetFaults(nil)
		for i, p := range faultPaths {
			if plan == nil {
				baseline[p.name] = histories[i]
			} else if histories[i] != nil && !slices.Equal(histories[i], baseline[p.name]) {
				t.Errorf("%s: status history\n %v\nwant (unfaulted)\n %v", p.name, histories[i], baseline[p.name])
			}
		}
		assertNoOpenUploads(t, s)
		if plan != nil {
			t.Logf("seed %d: %v", plan.Seed, st)
			reliability.Lock()
			reliability.faults += st.Total()
			reliability.attempts += st.Attempts
			reliability.requests += len(faultPaths)
			reliability.Unlock()
		}
	}
	t.Run("unfaulted", func(t *testing.T) { run(t, nil) })
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			run(t, &FaultPlan{
				Seed:  seed,
				Rates: map[Fault]float64{FaultThrottle: 0.05, Fault5xx: 0.03, FaultReset: 0.03, FaultTimeout: 0.03, FaultLatency: 0.05},
				// A burst early on (intake), and lost responses later.
				At: map[int]Fault{1: FaultTimeout, 2: FaultThrottle, 3: FaultThrottle, 40 + int(seed): FaultTimeout, 120 + int(seed): FaultTimeout},
			})
		})
	}
	reliability.Lock()
	t.Logf("fault injection: %d faults injected in %d attempts over %d requests; all survived", reliability.faults, reliability.attempts, reliability.requests)
	reliability.Unlock()
}

// runFaultPath runs one request down p and checks what it left; it
// returns the request's status history from its audit trail.
func runFaultPath(t *testing.T, s *Stack, p faultPath, blockedDir string) []string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := retryingDecider{ServiceDecider{S: s}}
	var rep Report
	var err error
	switch {
	case p.revoke:
		rep, err = s.RevokeScenario(c, "testdata/sample-store", d)
	case p.blocked:
		rep, err = s.Scenario(c, blockedDir, p.decisions, d)
	default:
		rep, err = s.Scenario(c, "testdata/sample-store", p.decisions, d)
	}
	if err != nil {
		t.Errorf("%s: %v", p.name, err)
		return nil
	}
	if !rep.ExpectedResult {
		t.Errorf("%s: status %s (cause %q): %v", p.name, rep.Status, rep.FailureCause, rep.Problems)
	}
	if rep.StoreStatus == "PROCESSING" {
		t.Errorf("%s: SWB store left PROCESSING", p.name)
	}
	r, err := s.Requests.Get(c, rep.RequestID)
	if err != nil {
		t.Errorf("%s: %v", p.name, err)
		return nil
	}
	// A zip removal the API could not record (its write failed past the
	// SDK's retries) is left ZipPending for purge-revoked's schedule: run
	// the sweep as the schedule would, until it has recorded one.
	for sweeps := 0; r.ZipRemoval == egress.ZipPending && sweeps < 5; sweeps++ {
		if _, err := s.tasks["purge-revoked"].handlers.PurgeRevoked(c, workflow.PurgeInput{}); err != nil {
			t.Logf("%s: sweep %d: %v", p.name, sweeps+1, err)
		}
		if r, err = s.Requests.Get(c, rep.RequestID); err != nil {
			t.Errorf("%s: %v", p.name, err)
			return nil
		}
	}
	zips, err := s.countVersions(c, DatalakeBucket, rep.ZipKey)
	if rep.ZipKey == "" {
		zips, err = 0, nil
	}
	switch {
	case err != nil:
		t.Errorf("%s: %v", p.name, err)
	case r.Status == egress.StatusRITApproved && zips != 1:
		t.Errorf("%s: %d zip versions, want 1", p.name, zips)
	case r.Status != egress.StatusRITApproved && r.Status != egress.StatusRevoked && zips != 0:
		t.Errorf("%s: %d zip versions of a %s request, want none", p.name, zips, r.Status)
	}
	return statusHistory(t, c, s, r)
}

// statusHistory reads r's whole audit trail, checks its chain, and
// returns its status changes in order, then all its events sorted, each
// as "KIND FROM>TO", downloads left out (the scenario makes a varying
// number). The status changes must chain from CREATED to r's status.
func statusHistory(t *testing.T, c context.Context, s *Stack, r egress.Request) []string {
	t.Helper()
	var events []egress.Event
	var page egress.AuditPage
	var err error
	for {
		if page, err = s.Requests.AuditTrail(c, r.ID, 100, page.NextToken); err != nil {
			t.Errorf("audit trail of %s: %v", r.ID, err)
			return nil
		}
		events = append(events, page.Events...)
		if page.NextToken == "" {
			break
		}
	}
	if err := egress.VerifyChain(page.Head, page.Length, events); err != nil {
		t.Errorf("audit trail of %s: %v", r.ID, err)
	}
	var changes, all []string
	var at egress.Status
	for _, e := range events {
		if e.Kind == egress.EventDownload {
			continue
		}
		ev := e.Kind + " " + string(e.From) + ">" + string(e.To)
		all = append(all, ev)
		if e.To != "" && e.To != e.From {
			if e.From != at && at != "" {
				t.Errorf("audit trail of %s: %s from %s, but the request was %s", r.ID, e.Kind, e.From, at)
			}
			at = e.To
			changes = append(changes, ev)
		}
	}
	if at != r.Status {
		t.Errorf("audit trail of %s ends at %s, the request is %s: %v", r.ID, at, r.Status, all)
	}
	// The status changes in order; then every event, sorted: a stage's
	// AWAITING_DECISION and the previous stage's DECISION_DELIVERED race
	// even without faults.
	slices.Sort(all)
	return append(append(changes, "|"), all...)
}

// assertNoOpenUploads lists the multipart uploads of the stack's buckets:
// none may be left open.
func assertNoOpenUploads(t *testing.T, s *Stack) {
	t.Helper()
	for _, b := range []string{StagingBucket, DatalakeBucket} {
		out, err := s.Clients.S3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatalf("list uploads of %s: %v", b, err)
		}
		for _, u := range out.Uploads {
			t.Errorf("multipart upload left open: %s/%s (%s)", b, aws.ToString(u.Key), aws.ToString(u.UploadId))
		}
	}
}

// retryingDecider is a client of the API that sends a call again when
// it fails with an error of no domain code (throttled past the SDK's
// attempts, a lost response), as the console does: the call must be
// idempotent for that.
type retryingDecider struct{ d ServiceDecider }

const clientAttempts = 5

func retried(f func() error) error {
	var err error
	for range clientAttempts {
		if err = f(); err == nil || egress.ErrorCode(err) != egress.EINTERNAL {
			return err
		}
	}
	return err
}

func (r retryingDecider) Decide(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string) error {
	return retried(func() error { return r.d.Decide(ctx, who, id, dec, reason) })
}

func (r retryingDecider) Download(ctx context.Context, who egress.Identity, id string) (url string, err error) {
	err = retried(func() error { url, err = r.d.Download(ctx, who, id); return err })
	return url, err
}

func (r retryingDecider) Review(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string, files []egress.FileDecision) error {
	return retried(func() error { return r.d.Review(ctx, who, id, dec, reason, files) })
}

func (r retryingDecider) Cancel(ctx context.Context, who egress.Identity, id, reason string) error {
	return retried(func() error { return r.d.Cancel(ctx, who, id, reason) })
}

func (r retryingDecider) Revoke(ctx context.Context, who egress.Identity, id, reason string) error {
	return retried(func() error { return r.d.Revoke(ctx, who, id, reason) })
}
