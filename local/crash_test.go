package local

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/shared/egress"
)

var (
	closeAtExit    []*Stack // stacks of their own that TestMain closes
	faultStackOnce sync.Once
	faultStackS    *Stack
	faultStackErr  error
)

// faultStack is the stack of the fault, crash and race tests: the real
// clock (the state machine's retries must run by themselves) with retries
// at once, so a test of hundreds of faults takes seconds.
func faultStack(t *testing.T) *Stack {
	t.Helper()
	faultStackOnce.Do(func() {
		faultStackS, faultStackErr = Start(context.Background(), Options{RetryBackoff: time.Millisecond, ClamdOwnSignaturesOnly: true, MultipartThreshold: multipartThreshold})
		if faultStackErr == nil {
			stacksMu.Lock()
			closeAtExit = append(closeAtExit, faultStackS)
			stacksMu.Unlock()
		}
	})
	if faultStackErr != nil {
		t.Fatalf("start stack: %v", faultStackErr)
	}
	s := faultStackS
	s.SetFail(nil)
	s.SetFailCall(nil)
	s.SetFaults(nil)
	s.SetReleaseBudget(0)
	return s
}

// crashModes are how TestCrashAtEveryStep ends an invocation at a call:
// killed there (no later call of it reaches AWS: a panic or the process
// killed between two calls), its context cancelled there (Lambda's
// deadline), or the call failing with a connection reset.
var crashModes = []string{"kill", "cancel", "error"}

type crashSpec struct {
	fn   string
	k    int // the function's k-th AWS call for the request, over all its invocations
	mode string
}

func (c crashSpec) String() string { return fmt.Sprintf("%s %s at call %d", c.fn, c.mode, c.k) }

// crashes hands each new request the next crash of a queue, and crashes
// the invocation at it.
type crashes struct {
	mu    sync.Mutex
	queue []crashSpec
	byReq map[string]*crashState
	calls map[string]int // by function: calls made, when counting a run without crashes
}

type crashState struct {
	spec crashSpec
	n    int
	hit  bool
}

func (cr *crashes) hook(ctx context.Context, c Call) error {
	inv := c.Invocation
	if inv == nil || inv.RequestID == "" {
		return nil
	}
	cr.mu.Lock()
	if cr.calls != nil {
		cr.calls[inv.Function]++
		cr.mu.Unlock()
		return nil
	}
	st, ok := cr.byReq[inv.RequestID]
	if !ok && len(cr.queue) > 0 {
		st = &crashState{spec: cr.queue[0]}
		cr.queue = cr.queue[1:]
		cr.byReq[inv.RequestID] = st
	}
	if st == nil || st.hit || st.spec.fn != inv.Function {
		cr.mu.Unlock()
		return nil
	}
	st.n++
	if st.n != st.spec.k {
		cr.mu.Unlock()
		return nil
	}
	st.hit = true
	cr.mu.Unlock()
	switch st.spec.mode {
	case "kill":
		inv.Kill()
		return errKilled
	case "cancel":
		inv.Cancel()
		return ctx.Err()
	}
	return &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
}

// outcome is what a request leaves that a crash must not change.
type outcome struct {
	Status  egress.Status
	Store   string
	Staged  int
	Zip     []ZipEntry // less manifest.json, which names the request
	History []string
}

func outcomeOf(t *testing.T, s *Stack, rep Report) outcome {
	r, err := s.Requests.Get(ctx(t), rep.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{Status: rep.Status, Store: rep.StoreStatus, Staged: rep.StagedObjects, History: statusHistory(t, ctx(t), s, r)}
	for _, e := range rep.ZipEntries {
		if e.Path != egress.ZipManifestName {
			o.Zip = append(o.Zip, e)
		}
	}
	return o
}

func (o outcome) diff(want outcome) string {
	var d []string
	if o.Status != want.Status || o.Store != want.Store || o.Staged != want.Staged {
		d = append(d, fmt.Sprintf("status %s store %s staged %d, want %s %s %d", o.Status, o.Store, o.Staged, want.Status, want.Store, want.Staged))
	}
	if !slices.Equal(o.Zip, want.Zip) {
		d = append(d, fmt.Sprintf("zip %v, want %v", o.Zip, want.Zip))
	}
	if !slices.Equal(o.History, want.History) {
		d = append(d, fmt.Sprintf("audit trail\n %v\nwant\n %v", o.History, want.History))
	}
	return strings.Join(d, "; ")
}

// TestCrashAtEveryStep enumerates, for each workflow function a request
// runs, its AWS calls in a run without crashes; then for each call k it
// runs a request whose function is crashed at its k-th call (killed,
// context cancelled, or the call failing; the normal run rotates the
// modes over the calls, EGRESS_SOAK tries all three at every call), and
// the state machine's retry runs it again. The outcome must equal the
// uncrashed run's: status, SWB store, staged objects left, the zip's
// entries and bytes, and the audit trail. The resumable release
// (a release budget of a nanosecond: one block an invocation) is crashed
// at every call of every one of its invocations too.
func TestCrashAtEveryStep(t *testing.T) {
	s := faultStack(t)
	paths := []struct {
		name      string
		decisions []string
		budget    time.Duration
		only      []string // crash only these functions
		every     int      // outside EGRESS_SOAK, every n-th call only (and the last)
	}{
		{"approve", []string{"approve", "approve"}, 0, nil, 1},
		{"reject", []string{"reject"}, 0, []string{"handle-rejection", "notify"}, 1},
		{"resumable release", []string{"approve", "approve"}, time.Nanosecond, []string{"copy-to-datalake"}, 4},
	}
	d := ServiceDecider{S: s}
	total := 0
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			s.SetReleaseBudget(p.budget)
			defer s.SetReleaseBudget(0)
			cr := &crashes{calls: map[string]int{}, byReq: map[string]*crashState{}}
			s.SetFailCall(cr.hook)
			defer s.SetFailCall(nil)
			rep, err := s.Scenario(ctx(t), "testdata/sample-store", p.decisions, d)
			if err != nil || !rep.ExpectedResult {
				t.Fatalf("uncrashed: %v %v", err, rep.Problems)
			}
			want := outcomeOf(t, s, rep)
			cr.mu.Lock()
			counted := cr.calls
			cr.calls = nil
			var specs []crashSpec
			for _, fn := range slices.Sorted(maps.Keys(counted)) {
				if p.only != nil && !slices.Contains(p.only, fn) {
					continue
				}
				for k := 1; k <= counted[fn]; k++ {
					if !soak() && k%p.every != 0 && k != counted[fn] {
						continue
					}
					if soak() {
						for _, m := range crashModes {
							specs = append(specs, crashSpec{fn, k, m})
						}
					} else {
						specs = append(specs, crashSpec{fn, k, crashModes[(k+len(fn))%len(crashModes)]})
					}
				}
			}
			cr.queue = slices.Clone(specs)
			cr.mu.Unlock()
			t.Logf("calls of the uncrashed run: %v; %d crash points", counted, len(specs))

			// Several requests at once, each crashed at the spec it draws.
			const workers = 6
			var wg sync.WaitGroup
			sem := make(chan struct{}, workers)
			reps := make([]Report, len(specs))
			errs := make([]error, len(specs))
			for i := range specs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					reps[i], errs[i] = s.Scenario(ctx(t), "testdata/sample-store", p.decisions, d)
				}()
			}
			wg.Wait()
			cr.mu.Lock()
			defer cr.mu.Unlock()
			hit := 0
			for i := range specs {
				st := cr.byReq[reps[i].RequestID]
				name := "(no crash drawn)"
				if st != nil {
					name = st.spec.String()
					if st.hit {
						hit++
					}
				}
				if errs[i] != nil {
					t.Errorf("%s: %v", name, errs[i])
					continue
				}
				if diff := outcomeOf(t, s, reps[i]).diff(want); diff != "" {
					t.Errorf("%s: %s", name, diff)
				}
			}
			// A call a crash hits may be one the crashed run does not make
			// (a retry that found the work done): most must hit.
			if hit < len(specs)*3/4 {
				t.Errorf("%d of %d crashes hit their call", hit, len(specs))
			}
			assertNoOpenUploads(t, s)
			total += len(specs)
		})
	}
	reliability.Lock()
	reliability.crashPoints += total
	reliability.Unlock()
	t.Logf("crash at every step: %d crash points tried, outcomes equal to the uncrashed runs", total)
}
