package sfn

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(epoch0)
	a := c.NewTimer(3 * time.Second)
	b := c.NewTimer(time.Second)
	stopped := c.NewTimer(2 * time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop should report true once, then false")
	}
	if n := c.PendingTimers(); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}
	if d, ok := c.AdvanceToNext(); !ok || d != time.Second {
		t.Fatalf("AdvanceToNext = %v %v, want 1s", d, ok)
	}
	select {
	case now := <-b.C():
		if !now.Equal(epoch0.Add(time.Second)) {
			t.Errorf("b fired at %v", now)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	if a.Reset(10*time.Second) != true {
		t.Error("Reset of an active timer should report true")
	}
	c.Advance(9 * time.Second)
	select {
	case <-a.C():
		t.Fatal("a fired before its reset deadline")
	default:
	}
	c.Advance(time.Second)
	if got := <-a.C(); !got.Equal(epoch0.Add(11 * time.Second)) {
		t.Errorf("a fired at %v", got)
	}
	if _, ok := c.AdvanceToNext(); ok {
		t.Error("AdvanceToNext with no timers should report false")
	}
	if now := c.Now(); !now.Equal(epoch0.Add(11 * time.Second)) {
		t.Errorf("Now = %v", now)
	}
	z := c.NewTimer(0)
	select {
	case <-z.C():
	default:
		t.Error("a zero timer should fire immediately")
	}
}

func TestFakeClockWaitForTimers(t *testing.T) {
	c := NewFakeClock(epoch0)
	done := make(chan error, 1)
	go func() { done <- c.WaitForTimers(context.Background(), 2) }()
	c.NewTimer(time.Second)
	c.NewTimer(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitForTimers(ctx, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitForTimers with a cancelled context = %v", err)
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = RealClock{}
	timer := c.NewTimer(time.Millisecond)
	defer timer.Stop()
	select {
	case <-timer.C():
	case <-time.After(5 * time.Second):
		t.Fatal("real timer did not fire")
	}
	if c.Now().IsZero() {
		t.Error("Now is zero")
	}
}
