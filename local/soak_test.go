package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// Soak bounds, stated in README's Reliability section: the heap in use
// after a GC when all requests are done is at most soakHeapFactor times
// the figure at 25% plus soakHeapSlack, and goroutines return to within
// soakGoroutineSlack of where they started.
const (
	soakHeapFactor     = 1.5
	soakHeapSlack      = 32 << 20
	soakGoroutineSlack = 25
	soakWorkers        = 8
	soakSeed           = 18
)

// soakPlan is what happens to one request: approved at every stage, or
// rejected, returned or cancelled at stage k, or approved and revoked.
type soakPlan struct {
	action string // approve, reject, return, cancel, revoke
	stage  int
}

// TestSoak runs EGRESS_SOAK_REQUESTS (default 20; `make soak` runs 200)
// requests at once through the embedded stack with seeded random
// decisions, cancels, returns and revokes, within a time bound: every one
// reaches the final status its plan leads to, with its SWB store unlocked
// and nothing staged; requests created = final + awaiting (none awaiting);
// the heap stays flat and no goroutine leaks.
func TestSoak(t *testing.T) {
	n := 20
	if v := os.Getenv("EGRESS_SOAK_REQUESTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 4 {
			t.Fatalf("EGRESS_SOAK_REQUESTS=%q: want a number of at least 4", v)
		}
	}
	s := stack(t, false)
	chain, _ := s.Config.Chain()
	d := s.GraphQLDecider()
	requester, admin := SampleResearcher, Reviewer(chain, len(chain.Stages)-1) // the last stage's group is TREAdmin
	dir := "testdata/sample-store"
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: s.opts.Clock.Now}

	rng := rand.New(rand.NewPCG(soakSeed, uint64(n)))
	actions := []string{"approve", "reject", "return", "cancel", "revoke"}
	plans := make([]soakPlan, n)
	for i := range plans {
		plans[i] = soakPlan{action: actions[rng.IntN(len(actions))], stage: rng.IntN(len(chain.Stages))}
	}

	// The whole soak is bounded: a request that never settles fails it
	// rather than hanging make.
	bound := 5*time.Minute + time.Duration(n)*3*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	runtime.GC()
	goroutinesBefore, _ := goroutines()
	heap := map[int]uint64{} // percent done -> HeapInuse after a GC
	var heapMu sync.Mutex
	measure := func(pct int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		heapMu.Lock()
		heap[pct] = m.HeapInuse
		heapMu.Unlock()
	}

	start := time.Now()
	var (
		done    atomic.Int64
		mu      sync.Mutex
		created []string
		wg      sync.WaitGroup
		work    = make(chan int)
	)
	for range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, err := soakOne(ctx, s, d, swb, dir, chain, plans[i], requester, admin)
				if id != "" {
					mu.Lock()
					created = append(created, id)
					mu.Unlock()
				}
				if err != nil {
					t.Errorf("request %d (%s at stage %d, %s): %v", i, plans[i].action, plans[i].stage, id, err)
				}
				switch k := done.Add(1); k {
				case int64(n / 4):
					measure(25)
				case int64(n / 2):
					measure(50)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	measure(100)

	// Counts: every request created is final or awaiting, none lost.
	final, awaitingN := map[egress.Status]int{}, 0
	for _, id := range created {
		r, err := s.Requests.Get(context.Background(), id)
		if err != nil {
			t.Errorf("request %s created but not found: %v", id, err)
			continue
		}
		if chain.Final(r.Status) {
			final[r.Status]++
		} else {
			awaitingN++
		}
	}
	nFinal := 0
	for _, c := range final {
		nFinal += c
	}
	if len(created) != n || nFinal+awaitingN != len(created) || awaitingN != 0 {
		t.Errorf("requests: %d submitted, %d created, %d final + %d awaiting", n, len(created), nFinal, awaitingN)
	}

	// Goroutines settle as finished executions wind down; poll with a
	// deadline rather than sleep a fixed time. Idle keep-alive connections
	// (two goroutines each in the client, one in an in-process server) are
	// counted apart: the pools bound them, not the number of requests.
	goroutinesAfter, conns := goroutines()
	for deadline := time.Now().Add(30 * time.Second); goroutinesAfter > goroutinesBefore+soakGoroutineSlack && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond) // polling a condition, not synchronising
		goroutinesAfter, conns = goroutines()
	}
	if goroutinesAfter > goroutinesBefore+soakGoroutineSlack {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("goroutines: %d before, %d after (leak; slack %d):\n%s", goroutinesBefore, goroutinesAfter, soakGoroutineSlack, b.String())
	}
	if limit := uint64(float64(heap[25])*soakHeapFactor) + soakHeapSlack; heap[100] > limit {
		t.Errorf("heap in use grew: %d MiB at 25%%, %d MiB at 100%% (limit %d MiB)", heap[25]>>20, heap[100]>>20, limit>>20)
	}
	t.Logf("soak: %d requests (%d workers, seed %d) in %s (bound %s): final %v, awaiting %d, lost 0",
		n, soakWorkers, soakSeed, elapsed.Round(time.Second), bound, final, awaitingN)
	t.Logf("soak: HeapInuse after GC at 25%%/50%%/100%%: %.1f / %.1f / %.1f MiB; goroutines %d before, %d after (+%d of idle keep-alive connections)",
		mib(heap[25]), mib(heap[50]), mib(heap[100]), goroutinesBefore, goroutinesAfter, conns)
}

// goroutines counts the goroutines other than those of idle HTTP
// keep-alive connections, and those apart.
func goroutines() (other, conns int) {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	for _, block := range strings.Split(b.String(), "\n\n") {
		head, _, _ := strings.Cut(block, " @ ")
		n, err := strconv.Atoi(strings.TrimSpace(head))
		if err != nil {
			continue
		}
		if strings.Contains(block, "net/http.(*persistConn)") || strings.Contains(block, "net/http.(*conn).serve") {
			conns += n
		} else {
			other += n
		}
	}
	return other, conns
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// soakOne submits one request and carries out its plan, returning its id
// once created and what went wrong, if anything.
func soakOne(ctx context.Context, s *Stack, d GraphQLDecider, swb SWB, dir string, chain egress.Chain, p soakPlan, requester, admin egress.Identity) (string, error) {
	sub, err := swb.Submit(ctx, dir, researcher)
	if err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	if err := s.Publish(ctx, sub.Message); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	id := sub.RequestID
	if _, err := s.WaitFor(ctx, id, func(r egress.Request) bool { return r.Status != "" }); err != nil {
		return "", fmt.Errorf("never created: %w", err)
	}
	for stage := range chain.Stages {
		if r, err := s.WaitFor(ctx, id, func(r egress.Request) bool {
			return r.TaskToken != "" && chain.StageAwaiting(r.Status) == stage || chain.Final(r.Status)
		}); err != nil {
			return id, fmt.Errorf("awaiting stage %d: %w", stage, err)
		} else if chain.Final(r.Status) {
			return id, fmt.Errorf("ended %s (cause %q) awaiting stage %d", r.Status, r.FailureCause, stage)
		}
		reviewer := Reviewer(chain, stage)
		if stage == p.stage {
			switch p.action {
			case "reject":
				err = d.Decide(ctx, reviewer, id, egress.Rejected, "soak: rejected")
			case "return":
				err = d.Review(ctx, reviewer, id, egress.Returned, "soak: please change", nil)
			case "cancel":
				err = d.Cancel(ctx, requester, id, "soak: cancelled")
			}
			if err != nil {
				return id, fmt.Errorf("%s at stage %d: %w", p.action, stage, err)
			}
			if p.action == "reject" || p.action == "return" || p.action == "cancel" {
				break
			}
		}
		if err := d.Decide(ctx, reviewer, id, egress.Approved, ""); err != nil {
			return id, fmt.Errorf("approve at stage %d: %w", stage, err)
		}
	}
	if _, err := s.Engine.Wait(ctx, s.ExecutionArn(id)); err != nil {
		return id, fmt.Errorf("execution: %w", err)
	}
	if p.action == "revoke" {
		if err := d.Revoke(ctx, admin, id, "soak: revoked"); err != nil {
			return id, fmt.Errorf("revoke: %w", err)
		}
	}
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return id, err
	}
	wantStatus := map[string]egress.Status{
		"approve": chain.Stages[len(chain.Stages)-1].ApprovedStatus, "reject": egress.StatusRejected,
		"return": egress.StatusReturned, "cancel": egress.StatusCancelled, "revoke": egress.StatusRevoked,
	}[p.action]
	if r.Status != wantStatus {
		return id, fmt.Errorf("status %s (cause %q), want %s", r.Status, r.FailureCause, wantStatus)
	}
	if st, err := swb.StoreStatus(ctx, r.StoreID); err != nil || st == "PROCESSING" {
		return id, fmt.Errorf("SWB store %q, %v", st, err)
	}
	if n, err := s.countVersions(ctx, StagingBucket, egress.StagingPrefix(r)); err != nil || n != 0 {
		return id, fmt.Errorf("%d staged versions left (%v)", n, err)
	}
	return id, nil
}
