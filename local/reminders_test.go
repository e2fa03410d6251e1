package local

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/egress"
)

// TestRemindersAndExpiry is issue 14's acceptance on the embedded stack:
// reminders go out at the configured times and counts, on the stage's
// topic and to each member of its group, from the stack's 15-minute
// schedule, and once however often the function runs; and a stage never decided ends
// EXPIRED with everything cleaned up, the requester and the admin told,
// nothing released. Then a request at the second stage is reminded on
// that stage's topic.
func TestRemindersAndExpiry(t *testing.T) {
	fake := sfn.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	stages := []egress.StageSpec{
		{Name: "IG", Group: egress.GroupIG, ReminderAfterHours: 24, MaxReminders: 2},
		{Name: "RIT", Group: egress.GroupRIT, ReminderAfterHours: 24, MaxReminders: 1},
	}
	// The stage times out after 5 days: past the last reminder check.
	const timeout = 5 * 24 * time.Hour
	s, err := startLogged(t, context.Background(), Options{Clock: fake, Stages: stages, StageTimeout: timeout, Schedules: true})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: fake.Now}
	submitNow := func() Submission {
		t.Helper()
		sub, err := swb.Submit(ctx(t), "testdata/sample-store", researcher)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Publish(ctx(t), sub.Message); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	// run advances the clock to d after the stage started waiting, which
	// fires the schedule: its run is over once its timer is armed again.
	// A run of the function straight after sends nothing more.
	run := func(since time.Time, d time.Duration) {
		t.Helper()
		n := fake.PendingTimers()
		fake.Advance(since.Add(d).Sub(fake.Now()))
		if err := fake.WaitForTimers(ctx(t), n); err != nil {
			t.Fatalf("at %s: the scheduled run did not end: %v", d, err)
		}
		out, err := s.SendReminders(ctx(t))
		if err != nil {
			t.Fatalf("at %s: %v", d, err)
		}
		if out.Sent != 0 || out.Failed != 0 || out.Unfinished {
			t.Fatalf("at %s: a run after the schedule's did %+v", d, out)
		}
	}
	// reminded checks the reminders of request id's stage so far: on the
	// group's topic, to each member, counted and audited.
	reminded := func(id string, st egress.StageSpec, want int, waited string) {
		t.Helper()
		subject := "Reminder: egress request " + id + " awaits the " + st.Name + " decision"
		mails, notices := requestMail(s, id)
		var on int
		for _, n := range notices {
			if n.Subject == subject {
				on++
				if n.Topic != s.ReviewerTopics[st.Group] {
					t.Errorf("reminder on %s, want %s", n.Topic, s.ReviewerTopics[st.Group])
				}
			}
		}
		if on != want {
			t.Errorf("%d reminder notices, want %d", on, want)
		}
		members := s.Directory.Members(st.Group)
		if len(members) < 2 {
			t.Fatalf("group %s has %d members; the test wants several", st.Group, len(members))
		}
		for _, u := range members {
			got := mailTo(mails, u.Attributes["email"], subject)
			if len(got) != want {
				t.Errorf("member %s got %d reminders, want %d", u.Attributes["email"], len(got), want)
			}
			if want > 0 && !strings.Contains(got[len(got)-1].Text, "for "+waited) {
				t.Errorf("the last reminder does not say it waited %s:\n%s", waited, got[len(got)-1].Text)
			}
		}
		r, err := s.Requests.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		events, err := s.Requests.Events(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		audited := 0
		for _, e := range events {
			if e.Kind == egress.EventReminder {
				audited++
			}
		}
		if r.RemindersSent != want || audited != want {
			t.Errorf("reminders_sent %d, %d REMINDER events; want %d", r.RemindersSent, audited, want)
		}
	}

	sub := submitNow()
	r := awaiting(t, s, sub.RequestID, 0)
	ig := stages[0]
	run(r.AwaitingSince, 23*time.Hour)
	reminded(r.ID, ig, 0, "")
	run(r.AwaitingSince, 25*time.Hour)
	reminded(r.ID, ig, 1, "1 day 1 hour")
	run(r.AwaitingSince, 49*time.Hour)
	reminded(r.ID, ig, 2, "2 days 1 hour")
	// Another run at the same time reminds no one again.
	run(r.AwaitingSince, 49*time.Hour)
	run(r.AwaitingSince, 100*time.Hour)
	reminded(r.ID, ig, 2, "2 days 1 hour")
	if got, _ := s.Requests.Get(ctx(t), r.ID); got.Status != egress.StatusProcessing {
		t.Fatalf("status %s after the reminders, want PROCESSING unchanged", got.Status)
	}

	// A minute before the stage timeout, still two; the schedule's next
	// run is then after the timeout.
	run(r.AwaitingSince, timeout-time.Minute)
	reminded(r.ID, ig, 2, "2 days 1 hour")

	// Past the stage timeout the request expires: cleaned up (finished
	// checks the SWB store is PENDING and staging and the datalake hold
	// nothing of it), the requester and the admin told.
	fake.Advance(r.AwaitingSince.Add(timeout + time.Second).Sub(fake.Now()))
	expired := finished(t, s, sub, egress.StatusExpired)
	if !strings.Contains(expired.FailureCause, "States.Timeout") || len(expired.Reviews) != 0 {
		t.Fatalf("cause %q, reviews %+v", expired.FailureCause, expired.Reviews)
	}
	mails, _ := requestMail(s, r.ID)
	if got := mailTo(mails, researcher, "expired"); len(got) != 1 || !strings.Contains(got[0].Text, "was not decided in time") {
		t.Fatalf("expiry e-mails to the requester %+v", got)
	}
	if got := mailTo(mails, AdminEmail, "expired"); len(got) != 1 {
		t.Fatalf("expiry e-mails to the admin %+v", got)
	}
	run(fake.Now(), 0)
	reminded(r.ID, ig, 2, "2 days 1 hour")

	// The second stage is reminded on its own topic.
	sub = submitNow()
	awaiting(t, s, sub.RequestID, 0)
	chain, _ := s.Config.Chain()
	if _, err := s.API.Decide(ctx(t), Reviewer(chain, 0), sub.RequestID, egress.Approved, "", ""); err != nil {
		t.Fatal(err)
	}
	r = awaiting(t, s, sub.RequestID, 1)
	run(r.AwaitingSince, 24*time.Hour)
	reminded(r.ID, stages[1], 1, "1 day")
	run(r.AwaitingSince, 49*time.Hour)
	reminded(r.ID, stages[1], 1, "1 day")
}

// send-reminders lists the awaiting requests on the by-status index: with
// its Query grant removed the run fails, naming the refused call.
func TestRemindersNeedTheIndexGrant(t *testing.T) {
	s, _ := startWithoutLogged(t, []string{"SendReminders"}, "dynamodb:Query", "by-status")
	_, err := s.SendReminders(ctx(t))
	want := "User: arn:aws:sts::000000000000:assumed-role/send-reminders-role/send-reminders is not authorized to perform: dynamodb:Query on resource: " +
		"arn:aws:dynamodb:" + Region + ":" + Account + ":table/" + RequestsTable + "/index/by-status"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v\nwant it to contain %q", err, want)
	}
}
