package web

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// NotBuilt is the answer for every page while dist holds no index.html.
const NotBuilt = "the reviewer console is not built: run make web"

// ChunkDir is where esbuild writes the split chunks; their names carry a
// content hash, so they may be cached for good.
const ChunkDir = "chunks"

// Handler serves the console built into dist (index.html, app.js, app.css,
// chunks/), cfg as /config.json, and index.html for any other path without
// a dot (a page of the app), all with the console's Content-Security-Policy.
// Only GET and HEAD are answered. dist is read on every request, so a
// rebuild shows without a restart.
func Handler(dist string, cfg Config, policy Policy) http.Handler {
	csp := ContentSecurityPolicy(policy)
	config, err := json.Marshal(cfg)
	if err != nil { // a Config of strings and ints always marshals
		panic("web: config: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// No Referer: the console's URLs name requests.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the console answers GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if p == "/"+ConfigFile {
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-cache")
			w.Write(config)
			return
		}
		index := filepath.Join(dist, "index.html")
		if _, err := os.Stat(index); err != nil {
			h.Set("Cache-Control", "no-store")
			http.Error(w, NotBuilt, http.StatusServiceUnavailable)
			return
		}
		file := filepath.Join(dist, filepath.FromSlash(p))
		if p == "/" || !isFile(file) {
			if strings.Contains(path.Base(p), ".") {
				http.NotFound(w, r)
				return
			}
			file = index // a page of the app: it reads its hash
		}
		if strings.HasPrefix(p, "/"+ChunkDir+"/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// index.html, app.js and app.css keep their names across
			// builds: revalidate every time (Last-Modified).
			h.Set("Cache-Control", "no-cache")
		}
		serveFile(w, r, file)
	})
}

func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// serveFile serves one file with its type from its extension; unlike
// http.ServeFile it never redirects /index.html.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "read "+filepath.Base(name)+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "stat "+filepath.Base(name)+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	if ct, ok := contentTypes[filepath.Ext(name)]; ok {
		w.Header().Set("Content-Type", ct)
	}
	http.ServeContent(w, r, filepath.Base(name), fi.ModTime(), f)
}

// contentTypes are the bundle's types, fixed rather than from the
// machine's MIME tables (nosniff makes a wrong one fatal).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".map":  "application/json",
	".txt":  "text/plain; charset=utf-8",
}
