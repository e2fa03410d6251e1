// Package browsertest drives the reviewer console in headless Chromium
// (Debian's chromium package) through chromedp, for the console's browser
// tests and the bench's "console queue interactive" row. A Page records
// every console error, uncaught exception and Content-Security-Policy
// violation, so a test fails when the console does not work under its CSP;
// Axe runs the pinned axe-core on a page.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TB is the part of testing.TB the helpers use; the package does not
// import testing, so that make bench's binary may use it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Environment variables.
const (
	// EnvChromium is the browser to drive; default chromium or
	// chromium-browser on PATH.
	EnvChromium = "EGRESS_CHROMIUM"
	// EnvScreenshots, when set, is a directory the tests write their
	// screenshots of the main pages to.
	EnvScreenshots = "EGRESS_SCREENSHOTS"
)

// ErrNoChromium is returned by FindChromium when no browser is found.
var ErrNoChromium = errors.New("no Chromium found")

// Install says how to get the browser, for messages.
const Install = "install Debian's chromium package (apt-get install -y chromium, as .ci/run does) or set " + EnvChromium

// FindChromium returns the browser to drive: $EGRESS_CHROMIUM, else
// chromium or chromium-browser on PATH.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v", ErrNoChromium, EnvChromium, p, err)
		}
		return found, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: neither chromium nor chromium-browser is on PATH and %s is not set", ErrNoChromium, EnvChromium)
}

// Chromium returns the browser to drive or ends t as Need does.
func Chromium(t TB) string {
	t.Helper()
	p, err := FindChromium()
	if err != nil {
		Need(t, fmt.Errorf("%w; %s", err, Install))
	}
	return p
}

// Need ends t when something the browser tests need is missing (err not
// nil): under CI (CI set, not "false") the test fails, elsewhere it is
// skipped saying why.
func Need(t TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Fatalf("the browser tests cannot run under CI: %v", err)
	}
	t.Skipf("skipping the browser tests: %v", err)
}

// Built reports whether the console and axe-core are built (make web).
func Built() error {
	if _, err := AxeSource(); err != nil {
		return err
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "web", "dist", "index.html")); err != nil {
		return errors.New("the console is not built (no web/dist/index.html): run make web first")
	}
	return nil
}

// Viewport of the desktop pages and of the screenshots.
const (
	Width  = 1280
	Height = 800
)

// Browser is a running headless Chromium.
type Browser struct {
	ctx    context.Context // the browser's first tab; parent of every Page
	cancel context.CancelFunc
}

// Launch starts headless Chromium at path. Close stops it.
func Launch(path string) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(Width, Height),
		chromedp.DisableGPU,
		// Chromium refuses to run as root with its sandbox (containers, CI).
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }}
	// Start the browser with no deadline: it lives until Close, while
	// each Page carries its test's timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

// Page is a tab in a browser context of its own (cookies and storage of
// its own, so sign-ins do not leak between tests) that records what went
// wrong in it.
type Page struct {
	// Ctx runs actions in the tab; it ends at the page's deadline.
	Ctx    context.Context
	tab    context.Context // the tab itself, with no deadline
	cancel context.CancelFunc

	mu       sync.Mutex
	problems []string
	changed  chan struct{} // closed and replaced at each problem
}

// cspReporter turns every Content-Security-Policy violation into a console
// error, so it is recorded whatever the browser logs itself. Scripts the
// debugger adds are not subject to the page's CSP.
const cspReporter = `document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});`

// NewPage opens a tab whose actions must finish within timeout.
func (b *Browser) NewPage(timeout time.Duration) (*Page, error) {
	p := &Page{changed: make(chan struct{})}
	// The tab outlives the deadline, so a failed test can still read it.
	tab, cancelTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	ctx, cancelDeadline := context.WithTimeout(tab, timeout)
	p.tab, p.Ctx, p.cancel = tab, ctx, func() { cancelDeadline(); cancelTab() }
	// Opened with no deadline (the first run binds the tab to its
	// context); bounded by the browser's own handshake.
	err := chromedp.Do(tab,
		chromedp.EmulateViewport(Width, Height),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter})
			return err
		}))
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	return p, nil
}

// Page opens a tab for t (timeout for all its actions), closed when t
// ends; t fails then if the page logged an error.
func (b *Browser) Page(t TB, timeout time.Duration) *Page {
	t.Helper()
	p, err := b.NewPage(timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if probs := p.Problems(); len(probs) > 0 {
			t.Errorf("the page logged %d errors:\n%s", len(probs), strings.Join(probs, "\n"))
		}
	})
	return p
}

// Close closes the tab and its browser context.
func (p *Page) Close() { p.cancel() }

// listen runs in the tab's event loop: it must return fast.
func (p *Page) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			problem = "console." + string(ev.Type) + ": " + argsText(ev.Args) + where(ev.StackTrace)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		problem = "uncaught: " + text
	case *cdplog.EventEntryAdded:
		// The browser's own errors: CSP violations (source "security"),
		// failed loads ("network"), ...
		// The browser's own request for /favicon.ico is not the app's.
		if e := ev.Entry; e.Level == cdplog.EntryLevelError && !strings.HasSuffix(e.URL, "/favicon.ico") {
			problem = "browser " + string(e.Source) + ": " + e.Text
			if e.URL != "" {
				problem += " (" + e.URL + ")"
			}
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a.Type == runtime.RemoteObjectTypeString:
			var s string
			if err := json.Unmarshal(a.Value, &s); err == nil {
				parts = append(parts, s)
				continue
			}
			parts = append(parts, string(a.Value))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

func where(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" at %s:%d", f.URL, f.LineNumber+1)
}

// Problems are the console errors, uncaught exceptions and CSP
// violations seen so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// WaitProblem waits until a recorded problem contains substr (tests of
// the harness).
func (p *Page) WaitProblem(substr string) error {
	for {
		p.mu.Lock()
		for _, s := range p.problems {
			if strings.Contains(s, substr) {
				p.mu.Unlock()
				return nil
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.Ctx.Done():
			return fmt.Errorf("no problem mentioning %q: %w", substr, context.Cause(p.Ctx))
		}
	}
}

// Do runs actions in the tab.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) error {
	return chromedp.Do(p.Ctx, actions...)
}

// Evaluate runs expression in the page and decodes its result, awaiting
// it when it is a promise.
func Evaluate[T any](p *Page, expression string) (T, error) {
	return chromedp.Run(p.Ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
}

// OnNewDocument runs src in every document the tab loads from now on,
// before the page's own scripts (instrumentation: the debugger's scripts
// are not subject to the page's CSP).
func (p *Page) OnNewDocument(src string) error {
	return p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	}))
}
