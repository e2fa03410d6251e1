package local

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
)

// responseLog keeps the error responses the front endpoint gave (GraphQL
// errors, and any answer of status 400 or more), so tests can check that no
// error shows a caller a token, a link or file contents (leak_test.go).
type responseLog struct {
	mu      sync.Mutex
	entries []string
	dropped int
}

// maxLoggedResponses bounds the log of a long-running stack.
const maxLoggedResponses = 20_000

func (l *responseLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= maxLoggedResponses {
		l.dropped++
		return
	}
	l.entries = append(l.entries, s)
}

// APIErrors returns the error responses of the front endpoint so far:
// GraphQL "errors" lists and the bodies of answers of status 400 or more.
func (s *Stack) APIErrors() []string {
	s.responses.mu.Lock()
	defer s.responses.mu.Unlock()
	return append([]string(nil), s.responses.entries...)
}

// recordErrors serves h and keeps what it answers with an error.
func (l *responseLog) recordErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		if rec.status >= http.StatusBadRequest {
			l.add(string(body))
			return
		}
		// A GraphQL answer's data may rightly hold a download link; only
		// its errors are kept.
		var gql struct {
			Errors json.RawMessage `json:"errors"`
		}
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && json.Unmarshal(body, &gql) == nil && len(gql.Errors) > 0 && string(gql.Errors) != "null" {
			l.add(string(gql.Errors))
		}
	})
}

// teeWriter copies what a handler writes, up to maxTeeBytes.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

const maxTeeBytes = 4 << 20

func (t *teeWriter) WriteHeader(status int) {
	t.status = status
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if room := maxTeeBytes - t.body.Len(); room > 0 {
		t.body.Write(p[:min(len(p), room)])
	}
	return t.ResponseWriter.Write(p)
}

// Flush keeps streaming handlers working through the tee.
func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
