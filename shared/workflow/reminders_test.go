package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// remindedStages is the chain of the reminder tests: IG reminded every
// 24 hours at most twice, RIT never.
var remindedStages = []egress.StageSpec{
	{Name: "IG", Group: egress.GroupIG, ReminderAfterHours: 24, MaxReminders: 2},
	{Name: "RIT", Group: egress.GroupRIT},
}

// TestSendReminders is the due-time rule: a stage's (n+1)-th reminder is
// due (n+1) × reminder_after_hours after it started waiting, at most
// max_reminders times, once however many runs race for it, and never for
// a request no longer awaiting that stage.
func TestSendReminders(t *testing.T) {
	tests := []struct {
		name    string
		status  egress.Status
		stages  []egress.StageSpec // the request's chain; nil: the default one
		waited  time.Duration      // since AwaitingSince; 0: not waiting yet (staging)
		sent    int                // RemindersSent before the run
		setup   func(*env)         // runs before SendReminders
		want    int                // reminders sent
		wantErr string
	}{
		{name: "not yet due", status: egress.StatusProcessing, stages: remindedStages, waited: 23 * time.Hour},
		{name: "due", status: egress.StatusProcessing, stages: remindedStages, waited: 25 * time.Hour, want: 1},
		{name: "exactly due", status: egress.StatusProcessing, stages: remindedStages, waited: 24 * time.Hour, want: 1},
		{name: "second not yet due", status: egress.StatusProcessing, stages: remindedStages, waited: 47 * time.Hour, sent: 1},
		{name: "second due", status: egress.StatusProcessing, stages: remindedStages, waited: 49 * time.Hour, sent: 1, want: 1},
		// A run sends one reminder per request; the next run the next.
		{name: "two overdue, one a run", status: egress.StatusProcessing, stages: remindedStages, waited: 49 * time.Hour, want: 1},
		{name: "max reached", status: egress.StatusProcessing, stages: remindedStages, waited: 100 * time.Hour, sent: 2},
		{name: "still staging", status: egress.StatusProcessing, stages: remindedStages},
		{name: "stage without reminders", status: egress.StatusIGApproved, stages: remindedStages, waited: 100 * time.Hour},
		{name: "default chain has none", status: egress.StatusProcessing, waited: 100 * time.Hour},
		{name: "final status of a single stage", status: egress.StatusIGApproved, stages: remindedStages[:1], waited: 100 * time.Hour},
		{name: "decided meanwhile", status: egress.StatusProcessing, stages: remindedStages, waited: 25 * time.Hour,
			setup: func(e *env) {
				e.reqs.beforeUpdate = once(func() {
					r := e.reqs.byID[reqID]
					r.Status, r.TaskToken, r.AwaitingSince = egress.StatusRejected, "", time.Time{}
					r.Version++
					e.reqs.byID[reqID] = r
				})
			}},
		{name: "concurrent runs remind once", status: egress.StatusProcessing, stages: remindedStages, waited: 25 * time.Hour, want: 1,
			setup: func(e *env) {
				// Another run counts and sends the reminder between this
				// run's read and its write.
				e.reqs.beforeUpdate = once(func() {
					if _, err := e.h.SendReminders(context.Background(), workflow.ReminderInput{ID: "other"}); err != nil {
						t.Errorf("the other run: %v", err)
					}
				})
			}},
		{name: "listing fails", status: egress.StatusProcessing, stages: remindedStages, waited: 25 * time.Hour,
			setup:   func(e *env) { e.reqs.listErr = errors.New("throttled") },
			wantErr: "list PROCESSING requests: throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, pub, _ := reviewersEnv(t, tt.status)
			r := e.reqs.byID[reqID]
			r.Stages, r.RemindersSent = tt.stages, tt.sent
			if tt.waited > 0 {
				r.AwaitingSince, r.TaskToken = now.Add(-tt.waited), token
			}
			e.reqs.byID[reqID] = r
			if tt.setup != nil {
				tt.setup(e)
			}
			out, err := e.h.SendReminders(context.Background(), workflow.ReminderInput{ID: "run"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			stored := e.reqs.get(t, reqID)
			reminders := e.reqs.kinds(reqID)[egress.EventReminder]
			if reminders != tt.want || (tt.setup == nil && out.Sent != tt.want) {
				t.Fatalf("%d REMINDER events, output %+v; want %d", reminders, out, tt.want)
			}
			if stored.RemindersSent != tt.sent+tt.want && tt.name != "decided meanwhile" {
				t.Errorf("reminders_sent %d, want %d", stored.RemindersSent, tt.sent+tt.want)
			}
			subject := "Reminder: egress request " + reqID + " awaits the IG decision"
			var notices int
			for _, n := range pub.notices {
				if n.Topic != igTopic || n.Subject != subject {
					t.Errorf("notice %q on %s", n.Subject, n.Topic)
				}
				notices++
			}
			if notices != tt.want {
				t.Errorf("%d notices, want %d", notices, tt.want)
			}
			for _, m := range []string{"ida@example.org", "ig2@example.org", "ig-list@example.org"} {
				if got := len(e.mail.to(m)); got != tt.want {
					t.Errorf("%s got %d e-mails, want %d", m, got, tt.want)
				}
			}
			if got := len(e.mail.to("rob@example.org")); got != 0 {
				t.Errorf("the RIT group got %d e-mails", got)
			}
			if tt.want > 0 && tt.setup == nil {
				m := e.mail.to("ida@example.org")[0]
				days := int(tt.waited / (24 * time.Hour))
				hours := int(tt.waited % (24 * time.Hour) / time.Hour)
				for _, w := range []string{
					fmt.Sprintf("Reminder %d of 2", tt.sent+1), "awaited the IG decision by the " + egress.GroupIG + " group",
					"Request: " + reqID, "https://egress.example.org/#" + reqID,
				} {
					if !strings.Contains(m.Text, w) {
						t.Errorf("reminder lacks %q:\n%s", w, m.Text)
					}
				}
				if days > 0 && !strings.Contains(m.Text, fmt.Sprintf("for %d day", days)) || hours > 0 && !strings.Contains(m.Text, fmt.Sprintf(" %d hour", hours)) {
					t.Errorf("reminder does not say it waited %s:\n%s", tt.waited, m.Text)
				}
				if strings.Contains(m.Text, token) {
					t.Error("the reminder carries the task token")
				}
			}
			if stored.Status != r.Status && tt.name != "decided meanwhile" {
				t.Errorf("status %s, want %s unchanged", stored.Status, r.Status)
			}
		})
	}
}

// once runs f the first time only.
func once(f func()) func() {
	done := false
	return func() {
		if !done {
			done = true
			f()
		}
	}
}

// A run pages through every awaiting status, and stops before its time
// limit with the rest left for the next run.
func TestSendRemindersPagesAndStops(t *testing.T) {
	e, pub, _ := reviewersEnv(t, egress.StatusProcessing)
	const n = 230 // more than two pages
	for k := range n {
		r := request()
		r.ID, r.StoreID = fmt.Sprintf("req-%03d", k), fmt.Sprintf("store-%03d", k)
		r.Stages, r.AwaitingSince, r.TaskToken = remindedStages, now.Add(-25*time.Hour), token
		if k%2 == 1 {
			// The third stage awaits in STAGE2APPROVED.
			r.Stages = []egress.StageSpec{remindedStages[1], {Name: "X", Group: "Extra"}, {Name: "IG", Group: egress.GroupIG, ReminderAfterHours: 24, MaxReminders: 1}}
			r.Status = "STAGE2APPROVED"
		}
		e.put(t, r)
	}
	out, err := e.h.SendReminders(context.Background(), workflow.ReminderInput{})
	if err != nil {
		t.Fatal(err)
	}
	// reviewersEnv's own request is staging, not yet waiting.
	if out.Checked != n+1 || out.Sent != n || out.Unfinished || len(pub.notices) != n {
		t.Fatalf("output %+v, %d notices; want %d checked and %d sent", out, len(pub.notices), n+1, n)
	}

	// Too little time left: nothing is checked, the next run does it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err = e.h.SendReminders(ctx, workflow.ReminderInput{})
	if err != nil || !out.Unfinished || out.Checked != 0 {
		t.Fatalf("output %+v, %v; want an unfinished run that checked nothing", out, err)
	}
}

// The sample event (events/send-reminders.json, for sam local invoke) is
// EventBridge's scheduled event, which the handler takes as its input.
func TestSendRemindersSampleEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/send-reminders.json")
	if err != nil {
		t.Fatal(err)
	}
	var in workflow.ReminderInput
	if err := json.Unmarshal(b, &in); err != nil || in.ID == "" {
		t.Fatalf("input %+v, %v", in, err)
	}
	e, _, _ := reviewersEnv(t, egress.StatusProcessing)
	if out, err := e.h.SendReminders(context.Background(), in); err != nil || out.Checked != 1 || out.Sent != 0 {
		t.Fatalf("output %+v, %v", out, err)
	}
}
