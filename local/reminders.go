package local

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// SendReminders runs the send-reminders function once, as its EventBridge
// schedule does, at the time of the stack's clock. Tests advance a
// FakeClock, then call it; with Options.Schedules the stack also runs it
// every Schedule of its clock.
func (s *Stack) SendReminders(ctx context.Context) (workflow.ReminderOutput, error) {
	var out workflow.ReminderOutput
	raw, err := s.runScheduled(ctx, "send-reminders")
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("send-reminders output: %w", err)
	}
	return out, nil
}

// runScheduled invokes a scheduled function with EventBridge's
// "Scheduled Event", through the handler path of every function, within
// the function's timeout.
func (s *Stack) runScheduled(ctx context.Context, name string) (json.RawMessage, error) {
	t, ok := s.tasks[name]
	if !ok || t.fn.Schedule == 0 {
		return nil, fmt.Errorf("%s is not a scheduled function", name)
	}
	h, err := app.HandlerByName(t.handlers, t.fn)
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	event, err := json.Marshal(map[string]any{
		"version": "0", "id": fmt.Sprintf("%s-%d", name, now.UnixNano()), "detail-type": "Scheduled Event",
		"source": "aws.events", "account": Account, "region": Region, "time": egress.FormatTime(now),
		"resources": []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%sSchedule", Region, Account, t.fn.ID)},
		"detail":    map[string]any{},
	})
	if err != nil {
		return nil, err
	}
	// Lambda's deadline is wall-clock time, whatever the stack's clock.
	ctx, cancel := context.WithTimeout(ctx, t.fn.Timeout)
	defer cancel()
	out, err := h.Invoke(ctx, event)
	s.broadcast()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// startSchedules runs every scheduled function of the table every
// Schedule of the stack's clock, as the deployed stack's EventBridge rules
// do, until the returned stop is called. A failed run is logged; the next
// one comes.
func (s *Stack) startSchedules() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, fn := range functions.All() {
		if fn.Schedule == 0 {
			continue
		}
		// Armed before Start returns, so a FakeClock advanced straight
		// after fires it.
		timer := s.opts.Clock.NewTimer(fn.Schedule)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer timer.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-timer.C():
				}
				if _, err := s.runScheduled(ctx, fn.Name); err != nil && ctx.Err() == nil {
					s.opts.Logger.Error("scheduled run failed", "function", fn.Name, "error", err)
				}
				timer.Reset(fn.Schedule)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// CheckStuck runs the check-stuck function once, as its schedule does.
func (s *Stack) CheckStuck(ctx context.Context) (workflow.StuckOutput, error) {
	var out workflow.StuckOutput
	raw, err := s.runScheduled(ctx, "check-stuck")
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("check-stuck output: %w", err)
	}
	return out, nil
}

// VerifyReleases runs the verify-releases function once, as its schedule
// does.
func (s *Stack) VerifyReleases(ctx context.Context) (workflow.VerifyOutput, error) {
	var out workflow.VerifyOutput
	raw, err := s.runScheduled(ctx, "verify-releases")
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("verify-releases output: %w", err)
	}
	return out, nil
}
