package sfn

import (
	"context"
	"errors"
	"sync"
	"time"
)

func (s *stateRun) pass() (any, string, error) {
	ctxObj := s.contextObject(0, "")
	in, err := s.effectiveInput(ctxObj)
	if err != nil {
		return nil, "", err
	}
	result := in
	if s.st.hasResult {
		result = s.st.result
	}
	out, err := s.output(result, ctxObj)
	return out, s.st.next, err
}

func (s *stateRun) choice() (any, string, error) {
	ctxObj := s.contextObject(0, "")
	in, err := selectPath(s.st.inputPath, s.raw, ctxObj)
	if err != nil {
		return nil, "", err
	}
	next := s.st.defaultNext
	env := s.env(in, ctxObj)
	for _, rule := range s.st.choices {
		ok, err := rule.eval(env)
		if err != nil {
			return nil, "", err
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		return nil, "", failf(StatesNoChoiceMatched, "No Matches!")
	}
	out, err := selectPath(s.st.outputPath, in, ctxObj)
	return out, next, err
}

func (s *stateRun) wait(ctx context.Context) (any, string, error) {
	ctxObj := s.contextObject(0, "")
	in, err := selectPath(s.st.inputPath, s.raw, ctxObj)
	if err != nil {
		return nil, "", err
	}
	clock := s.t.x.e.clock
	var d time.Duration
	switch st := s.st; {
	case st.seconds != nil:
		d = time.Duration(*st.seconds) * time.Second
	case st.secondsPath != nil:
		v, err := st.secondsPath.lookup(in, ctxObj)
		n, ok := integer(v)
		if err != nil || !ok || n < 0 {
			return nil, "", runtimeErr("The SecondsPath parameter does not reference a valid non-negative integer: '%s'", st.secondsPath)
		}
		d = time.Duration(n) * time.Second
	case st.timestamp != nil:
		d = st.timestamp.Sub(clock.Now())
	case st.timestampPath != nil:
		v, err := st.timestampPath.lookup(in, ctxObj)
		ts, ok := asTimestamp(v)
		if err != nil || !ok {
			return nil, "", runtimeErr("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: '%s'", st.timestampPath)
		}
		d = ts.Sub(clock.Now())
	}
	if err := sleep(ctx, clock, d); err != nil {
		return nil, "", err
	}
	out, err := selectPath(s.st.outputPath, in, ctxObj)
	return out, s.st.next, err
}

func (s *stateRun) succeed() (any, string, error) {
	ctxObj := s.contextObject(0, "")
	in, err := selectPath(s.st.inputPath, s.raw, ctxObj)
	if err != nil {
		return nil, "", err
	}
	out, err := selectPath(s.st.outputPath, in, ctxObj)
	return out, "", err
}

// fail returns the error the Fail state ends its flow with. ErrorPath and
// CausePath are evaluated against the state's input and must yield strings.
func (s *stateRun) fail() error {
	ctxObj := s.contextObject(0, "")
	name, cause := s.st.errorName, s.st.cause
	for _, f := range []struct {
		field string
		expr  *valueExpr
		dst   *string
	}{{"ErrorPath", s.st.errorPath, &name}, {"CausePath", s.st.causePath, &cause}} {
		if f.expr == nil {
			continue
		}
		v, err := f.expr.eval(s.env(s.raw, ctxObj))
		if errors.Is(err, errPathNotFound) {
			return runtimeErr("Invalid path '%s' : No results for path: %s", f.expr.raw, f.expr.path.canonical())
		}
		if err != nil {
			return err
		}
		str, ok := v.(string)
		if !ok {
			return runtimeErr("The %s '%s' of state '%s' must resolve to a string, got %s", f.field, f.expr.raw, s.st.name, jsonType(v))
		}
		*f.dst = str
	}
	return &stateError{name: name, cause: cause}
}

// errSiblingFailed cancels the other branches or iterations once one fails.
var errSiblingFailed = errors.New("another branch or iteration failed")

// group runs child flows concurrently, cancelling the rest when one fails
// with a state error, and reports the first such error.
type group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func newGroup(ctx context.Context) *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	return g
}

func (g *group) failed(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
		g.cancel(errSiblingFailed)
	}
}

// wait waits for all flows; the parent's cancellation takes precedence over
// a child's failure.
func (g *group) wait(parent context.Context) error {
	g.wg.Wait()
	g.cancel(nil)
	if err := context.Cause(parent); err != nil {
		return err
	}
	return g.err
}

func (s *stateRun) parallelAttempt(ctx context.Context, retryCount int64) (any, map[string]any, error) {
	ctxObj := s.contextObject(retryCount, "")
	in, err := s.effectiveInput(ctxObj)
	if err != nil {
		return nil, ctxObj, err
	}
	started := s.t.record(HistoryEvent{Type: EventParallelStateStarted})
	results := make([]any, len(s.st.branches))
	g := newGroup(ctx)
	for i, branch := range s.st.branches {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			out, err := s.t.child(branch, started).run(g.ctx, in)
			if err != nil {
				var se *stateError
				if errors.As(err, &se) {
					g.failed(se)
				}
				return
			}
			results[i] = out
		}()
	}
	err = g.wait(ctx)
	s.t.prev = s.t.x.lastEventID()
	if err != nil {
		if se := (*stateError)(nil); errors.As(err, &se) {
			s.t.record(HistoryEvent{Type: EventParallelStateFailed, Error: se.name, Cause: se.cause})
		}
		return nil, ctxObj, err
	}
	s.t.record(HistoryEvent{Type: EventParallelStateSucceeded})
	out, err := s.selectResult(results, ctxObj)
	return out, ctxObj, err
}

func (s *stateRun) mapAttempt(ctx context.Context, retryCount int64) (any, map[string]any, error) {
	st := s.st
	ctxObj := s.contextObject(retryCount, "")
	in, err := selectPath(st.inputPath, s.raw, ctxObj)
	if err != nil {
		return nil, ctxObj, err
	}
	itemsVal := in
	if st.itemsPath != nil {
		if itemsVal, err = st.itemsPath.lookup(in, ctxObj); err != nil {
			return nil, ctxObj, runtimeErr("Invalid path '%s' : No results for path: %s", st.itemsPath, st.itemsPath.canonical())
		}
	}
	items, ok := itemsVal.([]any)
	if !ok {
		return nil, ctxObj, runtimeErr("Map state '%s': the items to iterate over must be a JSON array, got %s", st.name, jsonType(itemsVal))
	}
	limit := st.maxConcurrency
	if st.maxConcurrencyPath != nil {
		v, err := st.maxConcurrencyPath.lookup(in, ctxObj)
		n, ok := integer(v)
		if err != nil || !ok || n < 0 {
			return nil, ctxObj, runtimeErr("The MaxConcurrencyPath '%s' of Map state '%s' must reference a non-negative integer", st.maxConcurrencyPath, st.name)
		}
		limit = n
	}

	started := s.t.record(HistoryEvent{Type: EventMapStateStarted, Length: len(items)})
	results := make([]any, len(items))
	var sem chan struct{}
	if limit > 0 {
		sem = make(chan struct{}, limit)
	}
	g := newGroup(ctx)
launch:
	for i, item := range items {
		itemInput := item
		if st.itemSelector != nil {
			v, err := st.itemSelector.eval(s.env(in, withMapItem(ctxObj, i, item)))
			if err != nil {
				g.failed(err)
				break
			}
			itemInput = v
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-g.ctx.Done():
				break launch
			}
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if sem != nil {
				defer func() { <-sem }()
			}
			it := s.t.child(st.processor, started)
			it.record(HistoryEvent{Type: EventMapIterationStarted, StateName: st.name, Index: i})
			out, err := it.run(g.ctx, itemInput)
			var se *stateError
			switch {
			case err == nil:
				results[i] = out
				it.record(HistoryEvent{Type: EventMapIterationSucceeded, StateName: st.name, Index: i})
			case errors.As(err, &se):
				it.record(HistoryEvent{Type: EventMapIterationFailed, StateName: st.name, Index: i})
				g.failed(se)
			default:
				it.record(HistoryEvent{Type: EventMapIterationAborted, StateName: st.name, Index: i})
			}
		}()
	}
	err = g.wait(ctx)
	s.t.prev = s.t.x.lastEventID()
	if err != nil {
		if se := (*stateError)(nil); errors.As(err, &se) {
			s.t.record(HistoryEvent{Type: EventMapStateFailed, Error: se.name, Cause: se.cause})
		}
		return nil, ctxObj, err
	}
	s.t.record(HistoryEvent{Type: EventMapStateSucceeded})
	out, err := s.selectResult(results, ctxObj)
	return out, ctxObj, err
}
