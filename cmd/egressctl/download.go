package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// downloadOutput is `download --json`.
type downloadOutput struct {
	ID     string `json:"egress_request_id"`
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

const (
	downloadRequestQuery = `query ForDownload($id: String!) { getRequest(egress_request_id: $id) { egress_status workspace_id download_count } }`
	downloadMutation     = `mutation Download($request: DownloadDataInput!) { downloadData(request: $request) { presign_url } }`
)

// downloadCmd asks downloadData for a link (counted against
// max_downloads_allowed) and fetches the zip into -o. The link is a
// credential: it is never printed, and errors fetching it leave it out.
func downloadCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("download")
	out := fs.String("o", "", "the file to write (required)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := a.parse(fs, args, "request id")
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("download: -o FILE is required")
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	id := pos[0]
	var got struct {
		R *struct {
			Status        string  `json:"egress_status"`
			WorkspaceID   string  `json:"workspace_id"`
			DownloadCount *string `json:"download_count"`
		} `json:"getRequest"`
	}
	if err := c.Do(ctx, downloadRequestQuery, map[string]any{"id": id}, &got); err != nil {
		return err
	}
	if got.R == nil {
		return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s", id)}
	}
	in := map[string]any{"egress_request_id": id, "workspace_id": got.R.WorkspaceID, "download_count": first(deref(got.R.DownloadCount), "0")}
	var res struct {
		D *struct {
			URL string `json:"presign_url"`
		} `json:"downloadData"`
	}
	if err := c.Do(ctx, downloadMutation, map[string]any{"request": in}, &res); err != nil {
		return err
	}
	if res.D == nil || res.D.URL == "" {
		return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("downloadData gave no link for %s", id)}
	}
	var progress io.Writer
	if !*quiet {
		progress = a.stderr
	}
	n, sum, err := fetch(ctx, a.httpClient(), res.D.URL, *out, progress)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.writeJSON(downloadOutput{ID: id, File: *out, Bytes: n, SHA256: sum})
	}
	_, err = fmt.Fprintf(a.stdout, "%s: %d bytes to %s (sha256 %s)\n", id, n, *out, sum)
	return err
}

// fetch GETs url into path (through a temporary file in the same folder,
// renamed into place once complete) and returns its size and SHA-256.
func fetch(ctx context.Context, hc *http.Client, url, path string, progress io.Writer) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("download: the link is not a URL")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", &connError{fmt.Errorf("download: %w", unwrapURL(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", &connError{fmt.Errorf("download: HTTP %d", resp.StatusCode)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return 0, "", fmt.Errorf("download: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	var bar *progressBar
	if progress != nil {
		bar = &progressBar{w: progress, total: resp.ContentLength, drawn: -1, start: time.Now()}
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, resp.Body)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		tmp.Close()
		return n, "", &connError{fmt.Errorf("download: %w", unwrapURL(err))}
	}
	if err := tmp.Close(); err != nil {
		return n, "", fmt.Errorf("download: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, "", fmt.Errorf("download: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// progressBar draws "[=====>    ]  42% 1.2 MiB/2.9 MiB" on one line,
// redrawn at most every 100ms.
type progressBar struct {
	w     io.Writer
	total int64 // -1 when unknown
	n     int64
	drawn int64 // n when last drawn, -1 before
	start time.Time
	last  time.Time
}

func (p *progressBar) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

// size is n bytes for people.
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

func (p *progressBar) draw() {
	const width = 30
	p.drawn = p.n
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s", size(p.n))
		return
	}
	filled := int(float64(width) * float64(p.n) / float64(p.total))
	filled = min(max(filled, 0), width)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < filled:
			bar[i] = '='
		case i == filled:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %3d%% %s/%s", bar, 100*p.n/p.total, size(p.n), size(p.total))
}

func (p *progressBar) done() {
	if p.drawn != p.n {
		p.draw()
	}
	fmt.Fprintln(p.w)
}
