package web_test

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/web/browsertest"
)

// The reviewer console in a real browser against the embedded stack: the
// issue's scenarios, each page checked with axe-core, at phone width, and
// with no console error or CSP violation (browsertest.Page fails the test
// on any). EGRESS_SCREENSHOTS=<dir> writes the main pages' screenshots.

// The development users, by their ids on the sign-in page; their labels
// are read from the stack (local.Stack.DevUsers).
const (
	asIG         = "ig-reviewer"
	asRIT        = "rit-reviewer"
	asAdmin      = "tre-admin"
	asResearcher = "researcher"
)

// pageTimeout bounds everything one signed-in page does (the stack and
// the browser share two loaded cores with the race detector on).
const pageTimeout = 90 * time.Second

var shared struct {
	once    sync.Once
	err     error
	stack   *local.Stack
	url     string // the console
	browser *browsertest.Browser
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.browser != nil {
		shared.browser.Close()
	}
	if shared.stack != nil {
		shared.stack.Close()
	}
	os.Exit(code)
}

// console returns the embedded stack serving the console, its URL and a
// browser, started once for the package's tests.
func console(t *testing.T) (*local.Stack, string, *browsertest.Browser) {
	t.Helper()
	path := browsertest.Chromium(t)
	browsertest.Need(t, browsertest.Built())
	shared.once.Do(func() {
		shared.stack, shared.err = local.Start(context.Background(), local.Options{ClamdOwnSignaturesOnly: true, Logger: slog.New(slog.DiscardHandler)})
		if shared.err != nil {
			return
		}
		if !shared.stack.ConsoleBuilt() {
			shared.err = errors.New("the console is not built: run make web")
			return
		}
		shared.url = shared.stack.URL + "/"
		shared.browser, shared.err = browsertest.Launch(path)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.stack, shared.url, shared.browser
}

// signIn opens a page on the console at hash (a route or a request id)
// and signs in as the development user labelled who.
func signIn(t *testing.T, b *browsertest.Browser, url, id, hash string) *browsertest.Page {
	t.Helper()
	who := ""
	for _, u := range shared.stack.DevUsers() {
		if u.ID == id {
			who = u.Label
		}
	}
	if who == "" {
		t.Fatalf("the stack offers no development user %q", id)
	}
	p := b.Page(t, pageTimeout)
	if err := p.SignIn(url, who, hash); err != nil {
		t.Fatalf("%v; the page shows:\n%s", err, p.Shown())
	}
	return p
}

// do runs actions, failing t with what the page shows when one fails.
func do(t *testing.T, p *browsertest.Page, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := p.Do(actions...); err != nil {
		t.Fatalf("%s: %v; the page shows:\n%s", what, err, p.Shown())
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// submit uploads files as the sample researcher's new workspace store, as
// SWB does, and publishes its message.
func submit(t *testing.T, s *local.Stack, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := local.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	swb := local.SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: time.Now}
	sub, err := swb.Submit(ctxFor(t), dir, local.SampleResearcher.Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctxFor(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return sub.RequestID
}

// awaiting waits until request id awaits stage i of the chain.
func awaiting(t *testing.T, s *local.Stack, id string, i int) {
	t.Helper()
	chain, err := s.Config.Chain()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitFor(ctxFor(t), id, func(r egress.Request) bool {
		return r.TaskToken != "" && chain.StageAwaiting(r.Status) == i
	}); err != nil {
		t.Fatalf("request %s never awaited stage %d: %v", id, i, err)
	}
}

// ended waits for request id's execution and checks its status.
func ended(t *testing.T, s *local.Stack, id string, want egress.Status) {
	t.Helper()
	if _, err := s.Engine.Wait(ctxFor(t), s.ExecutionArn(id)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Requests.Get(ctxFor(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("request %s is %s (%s), want %s", id, r.Status, r.FailureCause, want)
	}
}

// checkPage runs axe-core on the page as it is and, when phone is set,
// checks it needs no horizontal scrolling at 375 px; then restores the
// desktop viewport.
func checkPage(t *testing.T, p *browsertest.Page, name string, phone bool) {
	t.Helper()
	serious, err := p.SeriousViolations()
	if err != nil {
		t.Fatal(err)
	}
	if len(serious) > 0 {
		t.Errorf("%s: axe-core found %d serious or critical violations:\n%s", name, len(serious), strings.Join(serious, "\n"))
	}
	if !phone {
		return
	}
	over, err := p.HorizontalOverflow(375)
	if err != nil {
		t.Fatal(err)
	}
	if over > 0 {
		t.Errorf("%s scrolls horizontally at 375 px: %d px too wide", name, over)
	}
	if err := p.Desktop(); err != nil {
		t.Fatal(err)
	}
}

func screenshot(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	if err := p.Screenshot(name); err != nil {
		t.Fatal(err)
	}
}

// Every development user signs in and lands on their page.
func TestSignIn(t *testing.T) {
	_, url, b := console(t)
	tests := []struct {
		who, table string
	}{
		{asIG, "queue-table"},
		{asRIT, "queue-table"},
		{asResearcher, "mine-table"},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			p := signIn(t, b, url, tt.who, "")
			// The table, or the empty list's text when nothing waits.
			do(t, p, "landing page", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid=%q], main p`, tt.table))),
				chromedp.WaitVisible(browsertest.Button("Sign out")))
			checkPage(t, p, tt.who+"'s landing page", true)
			if tt.who != asIG {
				return
			}
			do(t, p, "all requests", chromedp.Click(browsertest.Button("All requests")),
				chromedp.WaitVisible(browsertest.Heading("All requests")), chromedp.WaitVisible(browsertest.Button("Apply filters")))
			checkPage(t, p, "all requests", true)
		})
	}
}

const (
	csvPath      = "results/summary.csv"
	notesPath    = "results/notes.txt"
	rejectedPath = "results/draft.txt"
)

var releaseFiles = map[string]string{
	csvPath:      "group,count\nexposed,112\nunexposed,154\n",
	notesPath:    "Method notes for the released table.\n",
	rejectedPath: "A draft the reviewer leaves out.\n",
}

// statusShown is the request page's status once it reads s.
func statusShown(s egress.Status) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@data-testid="request-status" and normalize-space(.)=%q]`, s))
}

var approve = chromedp.CSS(`[data-testid="decision-form"] input[value="APPROVED"]`)

// The scenarios, in order on one request: each step builds on the
// ones before it.
func TestReviewerWorkflow(t *testing.T) {
	s, url, b := console(t)
	id := submit(t, s, releaseFiles)
	awaiting(t, s, id, 0)

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{{"IG reviewer previews, rejects one file and approves the rest", func(t *testing.T) {
		p := signIn(t, b, url, asIG, "")
		row := browsertest.TestID("queue-table", fmt.Sprintf("tr[data-request-id=%q]", id))
		do(t, p, "the request in the IG reviewer's queue", chromedp.WaitVisible(row))
		screenshot(t, p, "queue")
		checkPage(t, p, "queue", true)

		do(t, p, "preview of "+csvPath,
			chromedp.Click(chromedp.CSS(string(row)+" a")),
			chromedp.WaitVisible(browsertest.TestID("files-table", fmt.Sprintf("tr[data-path=%q]", csvPath))),
			chromedp.Click(browsertest.Button("Preview "+csvPath)),
			chromedp.WaitVisible(browsertest.TestID("preview-panel", "table tbody tr")),
		)
		cells, err := browsertest.Evaluate[[]string](p, `[...document.querySelectorAll('[data-testid="preview-panel"] table tbody tr:first-child td')].map(td => td.textContent)`)
		if err != nil || !slices.Equal(cells, []string{"exposed", "112"}) {
			t.Fatalf("preview's first row %q, %v; want exposed, 112", cells, err)
		}
		screenshot(t, p, "request")
		checkPage(t, p, "request with preview", true)

		do(t, p, "decision",
			chromedp.Click(browsertest.Field("Reject file "+rejectedPath)),
			chromedp.SendKeys(browsertest.Field("Comment on "+rejectedPath), "a draft, not an output"),
			chromedp.Click(browsertest.Field("Approve file "+csvPath)),
			chromedp.Click(browsertest.Field("Approve file "+notesPath)),
			chromedp.Click(approve),
			chromedp.Click(browsertest.Button("Submit decision")),
			chromedp.WaitVisible(browsertest.Text("Decision recorded")),
		)
		awaiting(t, s, id, 1)
	}}, {"RIT reviewer approves", func(t *testing.T) {
		// The e-mails' deep link: the console at #<id>.
		p := signIn(t, b, url, asRIT, id)
		do(t, p, "decision",
			chromedp.WaitVisible(browsertest.TestID("decision-form")),
			chromedp.Click(approve),
			chromedp.Click(browsertest.Button("Submit decision")),
			chromedp.WaitVisible(browsertest.Text("Decision recorded")),
		)
		ended(t, s, id, egress.StatusRITApproved)
	}}, {"IG reviewer downloads the zip", func(t *testing.T) {
		p := signIn(t, b, url, asIG, id)
		do(t, p, "download box", chromedp.WaitVisible(browsertest.TestID("downloads-left")))
		before, err := chromedp.Run(p.Ctx, chromedp.Text(browsertest.TestID("downloads-left")))
		if err != nil {
			t.Fatal(err)
		}
		file, err := p.Download(t.TempDir(), chromedp.Click(browsertest.Button("Download")))
		if err != nil {
			t.Fatalf("download: %v; the page shows:\n%s", err, p.Shown())
		}
		got := zipEntries(t, file)
		for path, body := range releaseFiles {
			switch {
			case path == rejectedPath && got[path] != nil:
				t.Errorf("the rejected %s is in the zip", path)
			case path != rejectedPath && string(got[path]) != body:
				t.Errorf("zip entry %s = %q, want %q", path, got[path], body)
			}
		}
		// The count the API now holds shows after the download.
		do(t, p, "downloads left after a download",
			chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//*[@data-testid="downloads-left" and normalize-space(.)!=%q]`, strings.TrimSpace(before)))))
	}}, {"researcher sees the outcome", func(t *testing.T) {
		p := signIn(t, b, url, asResearcher, "")
		row := browsertest.TestID("mine-table", fmt.Sprintf("tr[data-request-id=%q]", id))
		do(t, p, "the request in the researcher's requests", chromedp.WaitVisible(row))
		status, err := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(string(row)+" .status")))
		if err != nil || status != string(egress.StatusRITApproved) {
			t.Fatalf("status shown %q, %v; want %s", status, err, egress.StatusRITApproved)
		}
		screenshot(t, p, "my-requests")
		checkPage(t, p, "my requests", false)
	}}, {"admin revokes and the download button disappears", func(t *testing.T) {
		p := signIn(t, b, url, asAdmin, id)
		do(t, p, "revoke form",
			chromedp.WaitVisible(browsertest.Heading("Administration")),
			chromedp.Click(browsertest.Button("Revoke")),
			chromedp.SendKeys(browsertest.Field("Reason to revoke (required)"), "released by mistake"),
		)
		screenshot(t, p, "admin")
		checkPage(t, p, "admin actions", false)
		do(t, p, "revoke", chromedp.Click(chromedp.CSS(`form.action button[type="submit"]`)), chromedp.WaitVisible(statusShown(egress.StatusRevoked)))
		r, err := s.Requests.Get(ctxFor(t), id)
		if err != nil || r.Status != egress.StatusRevoked {
			t.Fatalf("request %s after revoke: %v", r.Status, err)
		}
		// The IG reviewer's page, loaded afresh, offers no download.
		ig := signIn(t, b, url, asIG, id)
		do(t, ig, "revoked request", chromedp.WaitVisible(statusShown(egress.StatusRevoked)))
		n, err := browsertest.Evaluate[int](ig, `document.querySelectorAll('[data-testid="downloads-left"]').length`)
		if err != nil || n != 0 {
			t.Fatalf("%d download boxes after revoke, %v", n, err)
		}
		do(t, ig, "history", chromedp.ScrollIntoView(browsertest.TestID("history")))
		screenshot(t, ig, "history")
	}}}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return // the next steps build on this one
		}
	}
}

// A request the checks block shows its findings.
func TestBlockedRequestShowsFindings(t *testing.T) {
	s, url, b := console(t)
	id := submit(t, s, map[string]string{
		"results/summary.csv": "group,count\na,120\nb,150\n",
		"results/notes.txt":   "notes before\n" + string(clamav.EICAR()) + "\nand after\n",
	})
	ended(t, s, id, egress.StatusBlocked)
	p := signIn(t, b, url, asIG, id)
	do(t, p, "blocked request", chromedp.WaitVisible(statusShown(egress.StatusBlocked)), chromedp.WaitVisible(browsertest.Heading("Automated checks")))
	findings, err := browsertest.Evaluate[string](p, `[...document.querySelectorAll("section[aria-labelledby=checks-h] li")].map(li => li.textContent).join("\n")`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(findings, "results/notes.txt") || !strings.Contains(findings, "BLOCKING") {
		t.Fatalf("findings shown %q; want the blocking finding on results/notes.txt", findings)
	}
	screenshot(t, p, "blocked")
	checkPage(t, p, "blocked request", false)
}

// zipEntries reads a downloaded zip: each entry's content by name.
func zipEntries(t *testing.T, file string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatalf("open the downloaded zip: %v", err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}
