package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// fakePublisher keeps the notices published, or fails with err.
type fakePublisher struct {
	mu      sync.Mutex
	notices []egress.Notice
	err     error
}

func (f *fakePublisher) Publish(_ context.Context, n egress.Notice) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.notices = append(f.notices, n)
	return nil
}

// fakeDirectory answers the members of each group, or fails with err.
type fakeDirectory struct {
	members map[string][]string
	err     error
	asked   []string
}

func (f *fakeDirectory) GroupEmails(_ context.Context, group string) ([]string, error) {
	f.asked = append(f.asked, group)
	if f.err != nil {
		return nil, f.err
	}
	return f.members[group], nil
}

// failingMailer refuses the addresses in refuse and sends the rest.
type failingMailer struct {
	*fakeMailer
	refuse []string
}

func (f failingMailer) Send(ctx context.Context, e egress.Email) error {
	for _, a := range e.To {
		if slices.Contains(f.refuse, a) {
			return errors.New("SES refused " + a)
		}
	}
	return f.fakeMailer.Send(ctx, e)
}

const (
	igTopic  = "arn:aws:sns:eu-west-2:123456789012:egress-ig"
	ritTopic = "arn:aws:sns:eu-west-2:123456789012:egress-rit"
	token    = "AQCEAAAAKgAAAAMAAAAAAAAAAR-secret-task-token"
)

// reviewersEnv is an env whose stages have topics, whose groups have
// members, and whose request has staged four files.
func reviewersEnv(t *testing.T, status egress.Status) (*env, *fakePublisher, *fakeDirectory) {
	t.Helper()
	e := newEnv(t)
	pub := &fakePublisher{}
	dir := &fakeDirectory{members: map[string][]string{
		egress.GroupIG:  {"ida@example.org", "ig2@example.org", "IG-List@example.org"},
		egress.GroupRIT: {"rob@example.org"},
	}}
	e.h.Publisher, e.h.Directory = pub, dir
	e.h.Settings.ReviewerTopics = map[string]string{egress.GroupIG: igTopic, egress.GroupRIT: ritTopic}
	// A configured list is still e-mailed; an address in both once.
	e.h.Settings.ReviewerEmails = map[string][]string{egress.GroupIG: {"ig-list@example.org"}}
	e.h.Settings.WebAppURL = "https://egress.example.org"
	r := request()
	r.Status = status
	r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
	if status == egress.StatusIGApproved {
		r.Reviews = []egress.Review{{Stage: "IG", Group: egress.GroupIG, Email: "ida@example.org", Name: "Ida", Decision: egress.Approved}}
	}
	r.FileTypes = egress.FileTypes([]egress.File{
		{Path: "tables/summary.csv"}, {Path: "tables/other.CSV"}, {Path: "figures/km curve.png"}, {Path: "README"},
	})
	e.put(t, r)
	return e, pub, dir
}

// TestStoreTaskTokenTellsReviewers: the stage's topic gets one notice with
// what the original's listed (file types, request, project, researcher,
// the earlier reviewer), and every member of the stage's group and every
// configured address gets one e-mail; no token or link to data is sent.
func TestStoreTaskTokenTellsReviewers(t *testing.T) {
	tests := []struct {
		name      string
		status    egress.Status
		stage     int
		topic     string
		group     string
		emails    []string
		mentions  []string
		stageName string
	}{
		{"IG stage", egress.StatusProcessing, 0, igTopic, egress.GroupIG,
			[]string{"ida@example.org", "ig2@example.org", "ig-list@example.org"},
			[]string{"File types: csv (2), no extension (1), png (1)", "Request: " + reqID, "Project: P1", "Researcher: researcher@example.org"},
			"IG"},
		{"RIT stage", egress.StatusIGApproved, 1, ritTopic, egress.GroupRIT,
			[]string{"rob@example.org"},
			[]string{"File types: csv (2), no extension (1), png (1)", "Request: " + reqID, "Project: P1", "Researcher: researcher@example.org",
				"IG reviewer: ida@example.org"},
			"RIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, pub, dir := reviewersEnv(t, tt.status)
			if err := e.h.StoreTaskToken(context.Background(), workflow.TokenInput{RequestID: reqID, Stage: tt.stage, TaskToken: token}); err != nil {
				t.Fatal(err)
			}
			if len(pub.notices) != 1 || pub.notices[0].Topic != tt.topic {
				t.Fatalf("notices %+v, want one on %s", pub.notices, tt.topic)
			}
			n := pub.notices[0]
			if want := "awaits the " + tt.stageName + " decision"; !strings.Contains(n.Subject, want) || !strings.Contains(n.Subject, reqID) {
				t.Errorf("subject %q, want it to name the request and %q", n.Subject, want)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(n.Text, m) {
					t.Errorf("notice lacks %q:\n%s", m, n.Text)
				}
			}
			if tt.stage == 0 && strings.Contains(n.Text, "reviewer:") {
				t.Errorf("first stage notice names a reviewer:\n%s", n.Text)
			}
			if !slices.Equal(dir.asked, []string{tt.group}) {
				t.Errorf("directory asked for %v, want %s", dir.asked, tt.group)
			}
			var to []string
			for _, m := range e.mail.sent {
				if len(m.To) != 1 {
					t.Errorf("e-mail to %v: want one recipient per e-mail", m.To)
				}
				to = append(to, m.To...)
				if m.Subject != n.Subject || m.Text != n.Text {
					t.Errorf("e-mail %q differs from the notice %q", m.Subject, n.Subject)
				}
			}
			if slices.Sort(to); !slices.Equal(to, slices.Sorted(slices.Values(tt.emails))) {
				t.Errorf("e-mailed %v, want %v", to, tt.emails)
			}
			for _, text := range []string{n.Subject, n.Text} {
				if strings.Contains(text, token) || strings.Contains(text, "X-Amz-") {
					t.Errorf("notice carries a task token or a presigned URL:\n%s", text)
				}
			}
			if got := e.reqs.get(t, reqID).TaskToken; got != token {
				t.Errorf("task token %q not stored", got)
			}
		})
	}
}

// TestReviewerNoticeFailures: a topic, directory or mail failure, or no
// one to tell, never fails the stage (its token is stored and the request
// is visible in the web app); the admin is told.
func TestReviewerNoticeFailures(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*env, *fakePublisher, *fakeDirectory)
		wantAdmin  string
		wantNotice bool
		wantMailed []string
	}{
		{"topic unavailable", func(e *env, p *fakePublisher, _ *fakeDirectory) { p.err = errors.New("SNS throttled") },
			"SNS throttled", false, []string{"ida@example.org", "ig2@example.org", "ig-list@example.org"}},
		{"directory unavailable", func(e *env, _ *fakePublisher, d *fakeDirectory) { d.err = errors.New("Cognito throttled") },
			"Cognito throttled", true, []string{"ig-list@example.org"}},
		{"one address refused", func(e *env, _ *fakePublisher, _ *fakeDirectory) {
			e.h.Mailer = failingMailer{e.mail, []string{"ig2@example.org"}}
		}, "SES refused ig2@example.org", true, []string{"ida@example.org", "ig-list@example.org"}},
		{"no one to tell", func(e *env, _ *fakePublisher, d *fakeDirectory) {
			e.h.Settings.ReviewerTopics, e.h.Settings.ReviewerEmails = nil, nil
			d.members = nil
		}, "no one was told", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, pub, dir := reviewersEnv(t, egress.StatusProcessing)
			tt.setup(e, pub, dir)
			if err := e.h.StoreTaskToken(context.Background(), workflow.TokenInput{RequestID: reqID, TaskToken: token}); err != nil {
				t.Fatalf("the stage failed over a notice: %v", err)
			}
			if got := e.reqs.get(t, reqID).TaskToken; got != token {
				t.Errorf("task token %q not stored", got)
			}
			if (len(pub.notices) == 1) != tt.wantNotice {
				t.Errorf("notices %+v, want one: %v", pub.notices, tt.wantNotice)
			}
			var mailed []string
			for _, m := range e.mail.sent {
				if !slices.Contains(m.To, adminEmail) {
					mailed = append(mailed, m.To...)
				}
			}
			if slices.Sort(mailed); !slices.Equal(mailed, slices.Sorted(slices.Values(tt.wantMailed))) {
				t.Errorf("e-mailed %v, want %v", mailed, tt.wantMailed)
			}
			admin := e.mail.to(adminEmail)
			if len(admin) != 1 || !strings.Contains(admin[0].Text, tt.wantAdmin) {
				t.Fatalf("admin e-mails %+v, want one mentioning %q", admin, tt.wantAdmin)
			}
			if strings.Contains(admin[0].Text, token) {
				t.Error("the admin e-mail carries the task token")
			}
		})
	}
}

// TestReviewerNoticeBounded: SNS refuses a subject of 100 characters or
// more or with control characters, and a message over 256 KiB; a long
// request id and a thousand file types stay within both.
func TestReviewerNoticeBounded(t *testing.T) {
	e, pub, _ := reviewersEnv(t, egress.StatusProcessing)
	long := request()
	long.ID = strings.Repeat("x", 150) + "\r\nBcc: evil@example.org"
	long.ProjectID = strings.Repeat("p", 100000)
	var files []egress.File
	for i := range 1000 {
		files = append(files, egress.File{Path: fmt.Sprintf("f%d.ext%d", i, i)})
	}
	long.FileTypes = egress.FileTypes(files)
	e.put(t, long)
	if err := e.h.StoreTaskToken(context.Background(), workflow.TokenInput{RequestID: long.ID, TaskToken: token}); err != nil {
		t.Fatal(err)
	}
	if len(pub.notices) != 1 {
		t.Fatalf("notices %+v", pub.notices)
	}
	n := pub.notices[0]
	if utf8.RuneCountInString(n.Subject) > 99 || strings.ContainsFunc(n.Subject, unicode.IsControl) {
		t.Errorf("subject %q: over 99 characters or with control characters", n.Subject)
	}
	if len(n.Text) > 16<<10 {
		t.Errorf("notice of %d bytes", len(n.Text))
	}
	if !strings.Contains(n.Text, "and 980 other types") {
		t.Errorf("file types not bounded:\n%.2000s", n.Text)
	}
}

// TestRequesterTold: the requester is e-mailed when the request is
// submitted (once, not on a replay), when it fails or expires (without
// the cause, which is for the admin), and of the final decision with the
// first stage's reviewer in copy.
func TestRequesterTold(t *testing.T) {
	ctx := context.Background()
	const researcher = "researcher@example.org"
	review := func(stage, group, email string, d egress.Decision) egress.Review {
		return egress.Review{Stage: stage, Group: group, Email: email, Decision: d, Reason: "reason " + stage}
	}
	tests := []struct {
		name    string
		from    egress.Status // "": no request stored (intake)
		reviews []egress.Review
		setup   func(*env)
		run     func(*env) error
		subject string
		cc      []string
		text    []string
		notText []string
	}{
		{name: "submitted", run: func(e *env) error {
			if err := e.h.Intake(ctx, message(t, nil)); err != nil {
				return err
			}
			return e.h.Intake(ctx, message(t, nil)) // a replay tells no one again
		}, subject: "submitted", text: []string{"awaits the IG decision"}},
		{name: "approved", from: egress.StatusRITApproved,
			reviews: []egress.Review{review("IG", egress.GroupIG, "ida@example.org", egress.Approved), review("RIT", egress.GroupRIT, "rob@example.org", egress.Approved)},
			run:     func(e *env) error { return e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "approved"}) },
			subject: "approved", cc: []string{"ida@example.org"}},
		{name: "rejected at RIT", from: egress.StatusRejected,
			reviews: []egress.Review{review("IG", egress.GroupIG, "ida@example.org", egress.Approved), review("RIT", egress.GroupRIT, "rob@example.org", egress.Rejected)},
			run:     func(e *env) error { return e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "rejected"}) },
			subject: "rejected", cc: []string{"ida@example.org"}, text: []string{"reason RIT"}},
		{name: "failed", from: egress.StatusFailed,
			setup: func(e *env) {
				e.reqs.byID[reqID] = withCause(e.reqs.byID[reqID], "InternalError: s3 bucket egress-staging unreachable")
			},
			run:     func(e *env) error { return e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "failed"}) },
			subject: "failed", text: []string{"egress store is unlocked"}, notText: []string{"egress-staging"}},
		{name: "expired", from: egress.StatusExpired,
			setup:   func(e *env) { e.reqs.byID[reqID] = withCause(e.reqs.byID[reqID], "States.Timeout") },
			run:     func(e *env) error { return e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: "failed"}) },
			subject: "expired", text: []string{"was not decided in time"}, notText: []string{"States.Timeout"}},
		{name: "could not start",
			setup:   func(e *env) { e.execs.err = egress.Errorf(egress.EINVALID, "state machine does not exist") },
			run:     func(e *env) error { return e.h.Intake(ctx, message(t, nil)) },
			subject: "failed", notText: []string{"state machine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.from != "" {
				r := request()
				r.Status, r.Reviews = tt.from, tt.reviews
				e.put(t, r)
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			if err := tt.run(e); err != nil {
				t.Fatal(err)
			}
			got := e.mail.to(researcher)
			if len(got) != 1 {
				t.Fatalf("requester e-mails %+v, want one", got)
			}
			m := got[0]
			if !strings.Contains(m.Subject, reqID) || !strings.Contains(m.Subject, tt.subject) {
				t.Errorf("subject %q, want the request id and %q", m.Subject, tt.subject)
			}
			if !slices.Equal(m.Cc, tt.cc) {
				t.Errorf("cc %v, want %v", m.Cc, tt.cc)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(m.Text, s) {
					t.Errorf("text has %q, which is for the admin:\n%s", s, m.Text)
				}
			}
		})
	}
}

// TestFailedNotifyStillTellsAdmin: the admin's failure e-mail is sent when
// the requester cannot be e-mailed, and says so.
func TestFailedNotifyStillTellsAdmin(t *testing.T) {
	e := newEnv(t)
	r := request()
	r.Status = egress.StatusFailed
	e.put(t, r)
	e.h.Mailer = failingMailer{e.mail, []string{"researcher@example.org"}}
	if err := e.h.Notify(context.Background(), workflow.NotifyInput{RequestID: reqID, Kind: "failed"}); err != nil {
		t.Fatal(err)
	}
	admin := e.mail.to(adminEmail)
	if len(admin) != 1 || !strings.Contains(admin[0].Text, "could not be e-mailed") {
		t.Fatalf("admin e-mails %+v", admin)
	}
}

func withCause(r egress.Request, cause string) egress.Request {
	r.FailureCause = cause
	return r
}

// TestReviewerNoticeWithinTheTaskTime: e-mailing the members must not run
// the task past its time limit (a timed-out AwaitDecision task would fail
// the request). With a mail server that never answers, the task stores
// the token and returns within its time, and the admin learns who was not
// e-mailed.
func TestReviewerNoticeWithinTheTaskTime(t *testing.T) {
	e, _, _ := reviewersEnv(t, egress.StatusProcessing)
	e.mail.onSend = func(ctx context.Context, m egress.Email) error {
		if m.To[0] == adminEmail {
			return nil
		}
		<-ctx.Done() // a mail server that never answers
		return ctx.Err()
	}
	const taskTime = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), taskTime)
	defer cancel()
	if err := e.h.StoreTaskToken(ctx, workflow.TokenInput{RequestID: reqID, TaskToken: token}); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the task ran past its time limit")
	}
	if got := e.reqs.get(t, reqID); got.TaskToken != token {
		t.Fatal("token not stored")
	}
	admin := e.mail.to(adminEmail)
	if len(admin) != 1 || !strings.Contains(admin[0].Text, "addresses not e-mailed: telling the reviewers ran out of its") {
		t.Fatalf("admin e-mails %+v", admin)
	}
}
