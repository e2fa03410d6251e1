package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/metrics"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/workflow"
)

// StackName is the local stack's STACK_NAME: the Stack dimension of the
// metrics its functions write.
const StackName = "egress-local"

// Where Lambda sends a function's standard output to its log group, where
// CloudWatch extracts the EMF records, the local stack appends each
// function's records to <Dir>/metrics/<function>.jsonl: readable, and read
// back by Stack.Metrics.
func (s *Stack) metricsPath(function string) string {
	return filepath.Join(s.Dir, "metrics", function+".jsonl")
}

// metricsFile appends each write, one EMF record, to a function's file.
type metricsFile struct {
	mu   *sync.Mutex
	path string
}

var metricsFiles sync.Mutex // one record at a time, across functions

func (f metricsFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(f.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := out.Write(p)
	return n, errors.Join(err, out.Close())
}

func (s *Stack) metricsWriter(function string) io.Writer {
	return metricsFile{mu: &metricsFiles, path: s.metricsPath(function)}
}

// emitter is function fn's metrics emitter over its local file, nil when
// its row gives it no STACK_NAME (as in Lambda, it then writes none).
func (s *Stack) emitter(fn functions.Function, stack string) *metrics.Emitter {
	return metrics.ForStack(s.metricsWriter(fn.Name), stack, s.opts.Logger)
}

// observeMetrics points a workflow function's metrics, and its requests
// table's observer, at its local file.
func (s *Stack) observeMetrics(fn functions.Function, stack string, h *workflow.Handlers) {
	em := s.emitter(fn, stack)
	h.Metrics = nil
	if em != nil {
		h.Metrics = em
	}
	if t, ok := h.Requests.(*requests.Table); ok {
		t.Observer = nil
		if em != nil {
			t.Observer = em
		}
	}
}

// Metrics returns the EMF records function wrote, oldest first.
func (s *Stack) Metrics(function string) ([]map[string]any, error) {
	metricsFiles.Lock()
	defer metricsFiles.Unlock()
	f, err := os.Open(s.metricsPath(function))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s: %w", s.metricsPath(function), err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}
