package local

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/tre-egress/egress/shared/egress"
)

// concurrently runs every f at once and returns their errors in order.
func concurrently(fs ...func() error) []error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, f := range fs {
		wg.Go(func() {
			<-start
			errs[i] = f()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// succeeded counts the nil errors; any other must be a domain refusal
// (conflict, forbidden, not found, invalid), never an internal error.
func succeeded(t *testing.T, what string, errs []error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case err == nil:
			n++
		case egress.ErrorCode(err) == egress.EINTERNAL:
			t.Errorf("%s: an internal error in a race: %v", what, err)
		}
	}
	return n
}

// raceRequest submits the sample store to s and waits for its first
// stage; it returns the request id.
func raceRequest(t *testing.T, s *Stack) string {
	t.Helper()
	swb := s.swb()
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", researcher)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	awaitStage(t, s, sub.RequestID, 0)
	return sub.RequestID
}

// settled waits for id's execution and checks what any final request
// leaves: SWB's store unlocked, nothing staged, an audit trail that
// chains to its status; it returns the request.
func settled(t *testing.T, s *Stack, id string) egress.Request {
	t.Helper()
	if _, err := s.Engine.Wait(ctx(t), s.ExecutionArn(id)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	chain, _ := s.Config.Chain()
	if !chain.Final(r.Status) {
		t.Fatalf("request %s ended its execution %s", id, r.Status)
	}
	if st, err := s.swb().StoreStatus(ctx(t), r.StoreID); err != nil || st == "PROCESSING" {
		t.Errorf("SWB store of %s: %q %v", r.Status, st, err)
	}
	if n, err := s.countVersions(ctx(t), StagingBucket, egress.StagingPrefix(r)); err != nil || n != 0 {
		t.Errorf("%s request: %d staged versions left (%v)", r.Status, n, err)
	}
	statusHistory(t, ctx(t), s, r)
	return r
}

// kinds counts id's audit events by kind.
func kinds(t *testing.T, s *Stack, id string) map[string]int {
	t.Helper()
	evs, err := s.Requests.Events(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	k := map[string]int{}
	for _, e := range evs {
		k[e.Kind]++
	}
	return k
}

// releasedRequest runs a request to release and returns its id.
func releasedRequest(t *testing.T, s *Stack) string {
	t.Helper()
	rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve", "approve"}, ServiceDecider{S: s})
	if err != nil || !rep.ExpectedResult {
		t.Fatalf("release: %v %v", err, rep.Problems)
	}
	return rep.RequestID
}

// TestRaces races the people and deliveries a request meets, several
// rounds each, on the stack's real clock under go test -race, and checks
// the invariants after each: one winner where one must win, the status
// reached by exactly one path, nothing staged or locked left behind, and
// an audit trail that chains to the request's status.
func TestRaces(t *testing.T) {
	s := faultStack(t)
	chain, _ := s.Config.Chain()
	ig, ig2, rit := Reviewer(chain, 0), Voter(chain, 0, 1), Reviewer(chain, 1)
	rounds := 2
	if soak() {
		rounds = 10
	}
	races := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the same SNS message 20 times at once", func(t *testing.T) {
			s.SetSNSDeliveries(20)
			id := raceRequest(t, s)
			s.SetSNSDeliveries(0)
			out, err := s.Clients.SFN.ListExecutions(ctx(t), &awssfn.ListExecutionsInput{StateMachineArn: aws.String(s.StateMachineArn)})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range out.Executions {
				if aws.ToString(e.Name) == id {
					n++
				}
			}
			if k := kinds(t, s, id); n != 1 || k[egress.EventCreated] != 1 || k[egress.EventStarted] != 1 {
				t.Errorf("%d executions, events %v", n, k)
			}
			if _, err := s.API.Decide(ctx(t), ig, id, egress.Rejected, "race", ""); err != nil {
				t.Fatal(err)
			}
			settled(t, s, id)
		}},
		{"two IG reviewers decide differently at once", func(t *testing.T) {
			id := raceRequest(t, s)
			errs := concurrently(
				func() error { _, err := s.API.Decide(ctx(t), ig, id, egress.Approved, "", ""); return err },
				func() error { _, err := s.API.Decide(ctx(t), ig2, id, egress.Rejected, "race", ""); return err },
			)
			if n := succeeded(t, "decisions", errs); n != 1 {
				t.Fatalf("%d decisions taken, want 1: %v", n, errs)
			}
			if errs[0] == nil {
				awaitStage(t, s, id, 1)
				if _, err := s.API.Decide(ctx(t), rit, id, egress.Rejected, "race", ""); err != nil {
					t.Fatal(err)
				}
			}
			r := settled(t, s, id)
			if k := kinds(t, s, id); r.Status != egress.StatusRejected || k[egress.EventDecision] != 1+boolInt(errs[0] == nil) {
				t.Errorf("%s, events %v", r.Status, k)
			}
		}},
		{"IG and RIT decide at once at the IG stage", func(t *testing.T) {
			id := raceRequest(t, s)
			errs := concurrently(
				func() error { _, err := s.API.Decide(ctx(t), ig, id, egress.Approved, "", ""); return err },
				func() error { _, err := s.API.Decide(ctx(t), rit, id, egress.Rejected, "race", ""); return err },
			)
			if errs[0] != nil {
				t.Fatalf("the IG decision: %v", errs[0])
			}
			succeeded(t, "decisions", errs)
			if errs[1] != nil {
				// Refused before its stage: decide it now.
				awaitStage(t, s, id, 1)
				if _, err := s.API.Decide(ctx(t), rit, id, egress.Rejected, "race", ""); err != nil {
					t.Fatal(err)
				}
			}
			if r := settled(t, s, id); r.Status != egress.StatusRejected {
				t.Errorf("status %s", r.Status)
			}
		}},
		{"cancel races a decision", func(t *testing.T) {
			id := raceRequest(t, s)
			errs := concurrently(
				func() error { _, err := s.API.Cancel(ctx(t), SampleResearcher, id, "race"); return err },
				func() error { _, err := s.API.Decide(ctx(t), ig, id, egress.Approved, "", ""); return err },
			)
			succeeded(t, "cancel and decision", errs)
			r, err := s.Requests.Get(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if errs[0] != nil && r.Status != egress.StatusCancelled {
				// The decision won: finish the request at RIT.
				awaitStage(t, s, id, 1)
				if _, err := s.API.Decide(ctx(t), rit, id, egress.Rejected, "race", ""); err != nil {
					t.Fatal(err)
				}
			}
			r = settled(t, s, id)
			k := kinds(t, s, id)
			if errs[0] == nil && (r.Status != egress.StatusCancelled || k[egress.EventCancelled] != 1) {
				t.Errorf("cancel succeeded, yet %s, events %v", r.Status, k)
			}
			if r.Status == egress.StatusCancelled && k[egress.EventDecision] > 0 && errs[1] == nil {
				t.Errorf("both the cancel and the decision took effect: events %v", k)
			}
		}},
		{"revoke races downloads", func(t *testing.T) {
			id := releasedRequest(t, s)
			fs := []func() error{func() error { _, err := s.API.RevokeRelease(ctx(t), SampleAdmin, id, "race"); return err }}
			for range 3 {
				fs = append(fs, func() error { _, err := s.API.Download(ctx(t), ig, id); return err })
			}
			errs := concurrently(fs...)
			if errs[0] != nil {
				t.Fatalf("revoke: %v", errs[0])
			}
			succeeded(t, "downloads", errs[1:])
			r := settled(t, s, id)
			if r.Status != egress.StatusRevoked {
				t.Fatalf("status %s", r.Status)
			}
			if _, err := s.API.Download(ctx(t), ig, id); err == nil {
				t.Error("a download after the revoke succeeded")
			}
			assertNoDownloadAfter(t, s, id, egress.EventRevoked)
		}},
		{"downloads race the counter", func(t *testing.T) {
			id := releasedRequest(t, s) // the scenario downloaded once
			var fs []func() error
			for range 6 {
				fs = append(fs, func() error { _, err := s.API.Download(ctx(t), ig, id); return err })
			}
			n := succeeded(t, "downloads", concurrently(fs...))
			r, err := s.Requests.Get(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if want := s.Config.MaxDownloads - 1; n != want || r.DownloadCount != s.Config.MaxDownloads || kinds(t, s, id)[egress.EventDownload] != s.Config.MaxDownloads {
				t.Errorf("%d downloads granted (want %d), count %d, events %v", n, want, r.DownloadCount, kinds(t, s, id))
			}
		}},
		{"a rejection races a download", func(t *testing.T) {
			id := raceRequest(t, s)
			if _, err := s.API.Decide(ctx(t), ig, id, egress.Approved, "", ""); err != nil {
				t.Fatal(err)
			}
			awaitStage(t, s, id, 1)
			errs := concurrently(
				func() error { _, err := s.API.Decide(ctx(t), rit, id, egress.Rejected, "race", ""); return err },
				func() error { _, err := s.API.Download(ctx(t), ig, id); return err },
			)
			if errs[0] != nil || errs[1] == nil {
				t.Fatalf("rejection %v, download %v; want the rejection taken and the download refused", errs[0], errs[1])
			}
			succeeded(t, "download", errs[1:])
			if r := settled(t, s, id); r.Status != egress.StatusRejected || r.ZipKey != "" || kinds(t, s, id)[egress.EventDownload] != 0 {
				t.Errorf("%s, zip %q, events %v", r.Status, r.ZipKey, kinds(t, s, id))
			}
		}},
		{"a resubmission races the clean-up of the returned request", func(t *testing.T) {
			swb := s.swb()
			sub, err := swb.Submit(ctx(t), "testdata/sample-store", researcher)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Publish(ctx(t), sub.Message); err != nil {
				t.Fatal(err)
			}
			awaitStage(t, s, sub.RequestID, 0)
			if err := (ServiceDecider{S: s}).Review(ctx(t), ig, sub.RequestID, egress.Returned, "race", nil); err != nil {
				t.Fatal(err)
			}
			// SWB lets the researcher submit again once the store is
			// unlocked, while the rest of the clean-up may still run.
			r, err := s.WaitFor(ctx(t), sub.RequestID, func(r egress.Request) bool { return r.Status == egress.StatusReturned })
			if err != nil {
				t.Fatal(err)
			}
			for {
				changed := s.changes()
				st, err := swb.StoreStatus(ctx(t), r.StoreID)
				if err != nil {
					t.Fatal(err)
				}
				if st != "PROCESSING" {
					break
				}
				select {
				case <-changed:
				case <-ctx(t).Done():
					t.Fatal("the store stays locked")
				}
			}
			again, err := swb.Resubmit(ctx(t), sub.WorkspaceID, "testdata/sample-store", researcher, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Publish(ctx(t), again.Message); err != nil {
				t.Fatal(err)
			}
			awaitStage(t, s, again.RequestID, 0)
			nr, err := s.Requests.Get(ctx(t), again.RequestID)
			if err != nil {
				t.Fatal(err)
			}
			if nr.PreviousRequestID != sub.RequestID {
				t.Errorf("the resubmission follows %q, want %q", nr.PreviousRequestID, sub.RequestID)
			}
			if n, err := s.countVersions(ctx(t), StagingBucket, egress.StagingPrefix(nr)); err != nil || n == 0 {
				t.Errorf("the resubmission's staged files: %d versions (%v)", n, err)
			}
			if _, err := s.API.Decide(ctx(t), ig, again.RequestID, egress.Rejected, "race", ""); err != nil {
				t.Fatal(err)
			}
			settled(t, s, again.RequestID)
			// Only now: the resubmission holds the store the two share.
			if old := settled(t, s, sub.RequestID); old.Status != egress.StatusReturned {
				t.Errorf("the returned request ended %s", old.Status)
			}
		}},
	}
	n := 0
	for _, rc := range races {
		t.Run(rc.name, func(t *testing.T) {
			for round := range rounds {
				t.Run(fmt.Sprint(round+1), rc.run)
				n++
			}
		})
	}
	reliability.Lock()
	reliability.races += n
	reliability.Unlock()
	t.Logf("races: %d run (%d kinds, %d rounds each)", n, len(races), rounds)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// assertNoDownloadAfter checks that id's trail records no download after
// its first event of kind.
func assertNoDownloadAfter(t *testing.T, s *Stack, id, kind string) {
	t.Helper()
	evs, err := s.Requests.Events(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, e := range evs {
		if e.Kind == kind {
			seen = true
		}
		if seen && e.Kind == egress.EventDownload {
			t.Errorf("a download recorded after %s: event %d", kind, e.Sequence)
		}
	}
}
