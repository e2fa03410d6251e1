package browsertest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Selectors by what a person sees (an accessible name) or by the app's
// data-testid, never by layout.

// Button is the button or link whose text or aria-label is name.
func Button(name string) chromedp.Search {
	n := xpathString(name)
	return chromedp.Search(fmt.Sprintf(`//*[(self::button or self::a or @role="button" or @role="link") and (normalize-space(.)=%s or @aria-label=%s)]`, n, n))
}

// Heading is the heading whose text is name.
func Heading(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[(self::h1 or self::h2 or self::h3 or @role="heading") and normalize-space(.)=%s]`, xpathString(name)))
}

// Field is the form control labelled name: by a <label for>, a wrapping
// <label>, or aria-label.
func Field(name string) chromedp.Search {
	n := xpathString(name)
	return chromedp.Search(fmt.Sprintf(`//*[(self::input or self::textarea or self::select) and (@aria-label=%[1]s or @id=//label[normalize-space(.)=%[1]s]/@for or ancestor::label[starts-with(normalize-space(.), %[1]s)])]`, n))
}

// Text is any element whose own text contains s.
func Text(s string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[contains(text(), %s)]`, xpathString(s)))
}

// TestID is the element with data-testid id, then the CSS selector in
// (descendants), if any.
func TestID(id string, in ...string) chromedp.CSS {
	return chromedp.CSS(strings.TrimSpace(fmt.Sprintf("[data-testid=%q] %s", id, strings.Join(in, " "))))
}

// xpathString quotes s as an XPath 1.0 literal, which has no escapes.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	parts := strings.Split(s, `"`)
	return `concat("` + strings.Join(parts, `", '"', "`) + `")`
}

// HorizontalOverflow shows the page at a phone's width (CSS pixels,
// touch, mobile) and returns by how many pixels its content is wider than
// the viewport: 0 when it needs no horizontal scrolling.
func (p *Page) HorizontalOverflow(width int64) (int, error) {
	if err := p.Do(chromedp.EmulateViewport(width, 812, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		return 0, err
	}
	return Evaluate[int](p, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth`)
}

// Desktop restores the desktop viewport.
func (p *Page) Desktop() error { return p.Do(chromedp.EmulateViewport(Width, Height)) }

// Screenshot writes the viewport as name.png into $EGRESS_SCREENSHOTS,
// when set: 256 colours (a page's flat colours and text antialiasing
// survive), compressed as small as PNG allows, for the README.
func (p *Page) Screenshot(name string) error {
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		return nil
	}
	raw, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, paletted(img)); err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".png"), out.Bytes(), 0o644)
}

// Download runs trigger, which should start a download in the page, and
// returns the file the browser saved into dir.
func (p *Page) Download(dir string, trigger chromedp.Action[chromedp.Void]) (string, error) {
	c := chromedp.FromContext(p.Ctx)
	_, err := chromedp.CallBrowser(p.Ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: c.BrowserContextID,
		DownloadPath: dir, EventsEnabled: ptr(true),
	})
	if err != nil {
		return "", fmt.Errorf("allow downloads: %w", err)
	}
	// Subscribed before the trigger, so no event is missed.
	progress := chromedp.BrowserEvents(p.Ctx, browser.DownloadProgress)
	started := chromedp.BrowserEvents(p.Ctx, browser.DownloadWillBegin)
	if err := p.Do(trigger); err != nil {
		return "", err
	}
	var guid string
	for ev, err := range started {
		if err != nil {
			return "", fmt.Errorf("no download started: %w", err)
		}
		guid = ev.GUID
		break
	}
	for ev, err := range progress {
		if err != nil {
			return "", fmt.Errorf("download %s: %w", guid, err)
		}
		if ev.GUID != guid {
			continue
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			return filepath.Join(dir, guid), nil
		case browser.DownloadProgressStateCanceled:
			return "", errors.New("the download was cancelled")
		}
	}
	return "", context.Cause(p.Ctx)
}

func ptr[T any](v T) *T { return &v }

// SignIn opens the console at url#hash (hash a route or a request id;
// empty for the landing page) and signs in as the local stack's
// development user labelled who.
func (p *Page) SignIn(url, who, hash string) error {
	if hash != "" {
		url += "#" + hash
	}
	if err := p.Do(chromedp.Navigate(url), chromedp.Click(Button("Sign in as "+who))); err != nil {
		return fmt.Errorf("sign in as %s: %w", who, err)
	}
	return nil
}

// Shown is the text of the page's main landmark (or body), shortened: what
// a person would see, for failure messages.
func (p *Page) Shown() string {
	ctx, cancel := context.WithTimeout(p.tab, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body || document.documentElement).innerText`))
	if err != nil {
		return "(page text unavailable: " + err.Error() + ")"
	}
	if r := []rune(s); len(r) > 1500 {
		s = string(r[:1500]) + "…"
	}
	return s
}

// paletted maps img to its 256 most frequent colours, each pixel to the
// nearest of them: a third of the size of a true-colour PNG for a page of
// flat colours and text.
func paletted(img image.Image) *image.Paletted {
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := slices.Collect(maps.Keys(counts))
	slices.SortFunc(colors, func(a, b color.RGBA) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return cmp.Compare(uint32(a.R)<<24|uint32(a.G)<<16|uint32(a.B)<<8|uint32(a.A), uint32(b.R)<<24|uint32(b.G)<<16|uint32(b.B)<<8|uint32(b.A))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colors[:min(len(colors), 256)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	index := map[color.RGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	return out
}
