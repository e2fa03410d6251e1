package checks

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

// memObjects is an in-memory Objects that records every OpenRange.
type memObjects struct {
	mu    sync.Mutex
	data  map[string][]byte
	opens []string // "key offset length"
	// failAfter, when > 0, makes full reads fail after that many bytes.
	failAfter int
}

func (m *memObjects) OpenRange(_ context.Context, obj egress.ObjectVersion, offset, length int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opens = append(m.opens, fmt.Sprintf("%s %d %d", obj.Key, offset, length))
	b, ok := m.data[obj.Key]
	if !ok {
		return nil, errors.New("NoSuchKey")
	}
	if offset > int64(len(b)) {
		return nil, errors.New("InvalidRange")
	}
	b = b[offset:]
	if length >= 0 && length < int64(len(b)) {
		b = b[:length]
	}
	if m.failAfter > 0 && length < 0 {
		return io.NopCloser(io.MultiReader(bytes.NewReader(b[:min(len(b), m.failAfter)]), errReader{errors.New("connection reset")})), nil
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memObjects) openCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.opens)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// bodyScanner is a ReadsBody scanner (like clamd) keeping what it read.
type bodyScanner struct {
	mu       sync.Mutex
	got      []byte
	findings []egress.Finding
	err      error
}

func (s *bodyScanner) Engine() string  { return "FakeAV" }
func (s *bodyScanner) ReadsBody() bool { return true }
func (s *bodyScanner) Scan(_ context.Context, _ egress.ObjectVersion, _ int64, body io.Reader) (Verdict, error) {
	if s.err != nil {
		return Verdict{}, s.err
	}
	b, err := io.ReadAll(body)
	s.mu.Lock()
	s.got = b
	s.mu.Unlock()
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{Findings: s.findings}, nil
}

// tagScanner scans where the object lies (like GuardDuty).
type tagScanner struct {
	pending  bool
	findings []egress.Finding
	calls    int
}

func (s *tagScanner) Engine() string  { return "FakeDuty" }
func (s *tagScanner) ReadsBody() bool { return false }
func (s *tagScanner) Scan(_ context.Context, _ egress.ObjectVersion, _ int64, body io.Reader) (Verdict, error) {
	s.calls++
	if body != nil {
		return Verdict{}, errors.New("tagScanner got a body")
	}
	return Verdict{Pending: s.pending, Findings: s.findings}, nil
}

// stubs records what the SDC and ACRO readers were given.
type stubs struct {
	mu          sync.Mutex
	tableCalls  int
	tableBytes  []byte
	tableComma  rune
	tableReadTo int // bytes read before returning; < 0: all
	acroCalls   int
}

// newChecker builds a Checker on objs with the SDC and ACRO readers stubbed:
// these tests are about the checker, not package sdc.
func newChecker(t *testing.T, s egress.CheckSettings, sc Scanner, objs Objects) (*Checker, *stubs) {
	t.Helper()
	old := compileSDC
	compileSDC = func(egress.SDCSettings) (sdc.Settings, error) { return sdc.Settings{}, nil }
	defer func() { compileSDC = old }()
	c, err := New(s, sc, objs)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	st := &stubs{tableReadTo: -1}
	c.tableCheck = func(r io.Reader, comma rune) ([]egress.Finding, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.tableCalls++
		st.tableComma = comma
		var err error
		if st.tableReadTo < 0 {
			st.tableBytes, err = io.ReadAll(r)
		} else {
			st.tableBytes = make([]byte, st.tableReadTo)
			_, err = io.ReadFull(r, st.tableBytes)
		}
		return []egress.Finding{{Check: egress.CheckSDC, Severity: egress.SeverityWarning, Message: "stub table finding"}}, err
	}
	c.parseACRO = func(r io.Reader) ([]sdc.ACROOutput, error) {
		st.mu.Lock()
		st.acroCalls++
		st.mu.Unlock()
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(b, []byte("{")) {
			return nil, errors.New("not an ACRO results file")
		}
		return []sdc.ACROOutput{{UID: "out_0", Status: "pass", Files: []string{"a.csv"}}}, nil
	}
	return c, st
}

// peBytes is a minimal Windows PE: a DOS header pointing at a PE header.
func peBytes() []byte {
	b := make([]byte, 1024)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], 0x8664) // machine: x86-64
	return b
}

// elfBytes is the start of a 64-bit little-endian ELF executable.
func elfBytes() []byte {
	b := make([]byte, 512)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], 62)
	return b
}

func pngBytes() []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
}

func zipBytes(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "content of %s\n", n)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarBytes(t *testing.T, gz bool, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, n := range names {
		body := strings.Repeat("x", 1000)
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// find returns the findings of check with severity sev.
func find(fs []egress.Finding, check string, sev egress.Severity) []egress.Finding {
	var out []egress.Finding
	for _, f := range fs {
		if f.Check == check && f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}

func messages(fs []egress.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func gzipWriter(w io.Writer, name string) *gzip.Writer {
	zw := gzip.NewWriter(w)
	zw.Name = name
	return zw
}
