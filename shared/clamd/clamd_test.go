package clamd_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/clamd"
	"github.com/tre-egress/egress/shared/egress"
)

// Two real clamds, loading only our EICAR database so they start in
// well under a second: one with the default stream limit, one refusing
// streams over 1 MiB.
var (
	daemon, small *clamav.Daemon
	notInstalled  error // clamd is missing and CI is unset: tests skip
)

const smallLimit = 1 << 20

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "clamd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	daemon, err = clamav.StartWith(ctx, dir+"/default", nil, clamav.Options{OwnSignaturesOnly: true})
	if errors.Is(err, clamav.ErrNotInstalled) && os.Getenv("CI") == "" {
		notInstalled = err
		return m.Run()
	}
	if err != nil { // in CI a missing clamd fails the package, with the hint
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer daemon.Stop()
	small, err = clamav.StartWith(ctx, dir+"/small", nil, clamav.Options{OwnSignaturesOnly: true, MaxScanBytes: smallLimit})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer small.Stop()
	return m.Run()
}

func need(t *testing.T) {
	t.Helper()
	if notInstalled != nil {
		t.Skipf("%v (CI=true makes this a failure)", notInstalled)
	}
}

// body counts what the scanner read and whether it read to the end;
// it hands out irregular reads so chunks are assembled across them.
type body struct {
	r    io.Reader
	n    int64
	eof  bool
	step int
	// after, when set, runs once n reaches at: a mid-stream event.
	at    int64
	after func()
}

func newBody(b []byte) *body { return &body{r: bytes.NewReader(b), step: 7777} }

func (b *body) Read(p []byte) (int, error) {
	if len(p) > b.step {
		p = p[:b.step]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.after != nil && b.n >= b.at {
		b.after()
		b.after = nil
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) drained(t *testing.T, size int) {
	t.Helper()
	if !b.eof || b.n != int64(size) {
		t.Errorf("body read %d of %d bytes, at end %v: Scan must drain it", b.n, size, b.eof)
	}
}

var obj = egress.ObjectVersion{Key: "staging/req-1/results/out.bin", VersionID: "v1"}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	// Random bytes may by chance contain nothing of EICAR; make sure.
	if bytes.Contains(b, clamav.EICAR()) {
		t.Fatal("random bytes hold EICAR")
	}
	return b
}

// embed returns filler with EICAR written at off.
func embed(filler []byte, off int) []byte {
	out := bytes.Clone(filler)
	copy(out[off:], clamav.EICAR())
	return out
}

// bomb returns a zip of a few KiB holding six members of 1000 KiB each,
// which the small daemon inflates past its MaxScanSize (4 MiB).
func bomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 6 {
		w, err := zw.Create(fmt.Sprintf("part%d.bin", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(bytes.Repeat([]byte{byte(i + 1)}, 1000<<10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestScanVerdicts(t *testing.T) {
	need(t)
	fiveMiB := random(t, 5<<20)
	oneMiB := random(t, 1<<20)
	blocking := func(t *testing.T, v checks.Verdict) {
		t.Helper()
		if len(v.Findings) != 1 || v.Findings[0].Severity != egress.SeverityBlocking || v.Findings[0].Check != egress.CheckMalware {
			t.Fatalf("findings %v: want one blocking malware finding", v.Findings)
		}
		if m := v.Findings[0].Message; !strings.HasPrefix(m, "ClamAV found "+clamav.SignatureName) {
			t.Errorf("message %q: want the engine and our signature's name", m)
		}
	}
	clean := func(t *testing.T, v checks.Verdict) {
		t.Helper()
		if len(v.Findings) != 0 || v.Pending {
			t.Fatalf("verdict %+v: want clean", v)
		}
	}
	warning := func(want string) func(*testing.T, checks.Verdict) {
		return func(t *testing.T, v checks.Verdict) {
			t.Helper()
			if len(v.Findings) != 1 || v.Findings[0].Severity != egress.SeverityWarning || v.Findings[0].Check != egress.CheckMalware ||
				!strings.Contains(v.Findings[0].Message, want) {
				t.Fatalf("findings %v: want one malware warning saying %q", v.Findings, want)
			}
		}
	}
	cases := []struct {
		name    string
		scanner *clamd.Scanner
		data    []byte
		size    int64 // -1: len(data)
		check   func(*testing.T, checks.Verdict)
	}{
		{"EICAR alone", daemon.Scanner(), clamav.EICAR(), -1, blocking},
		// 1 MiB is a multiple of the 256 KiB chunks: EICAR spans two.
		{"EICAR across a chunk boundary in 5 MiB", daemon.Scanner(), embed(fiveMiB, 1<<20-30), -1, blocking},
		{"EICAR at the end of 5 MiB", daemon.Scanner(), embed(fiveMiB, 5<<20-68), -1, blocking},
		{"clean 1 MiB", daemon.Scanner(), oneMiB, -1, clean},
		{"empty", daemon.Scanner(), nil, -1, clean},
		{"clamd refuses a stream over its StreamMaxLength", &clamd.Scanner{Address: small.Address()}, embed(random(t, 3<<20), 2<<20), -1,
			warning("not scanned by ClamAV: larger than clamd's StreamMaxLength")},
		{"over MaxBytes: not sent", small.Scanner(), embed(random(t, 2<<20), 0), -1,
			warning("not scanned by ClamAV: larger than clamd's StreamMaxLength")},
		{"over MaxBytes though size said less", small.Scanner(), embed(random(t, 2<<20), 0), 100,
			warning("not scanned by ClamAV: larger than clamd's StreamMaxLength")},
		{"exactly the limit is scanned", small.Scanner(), embed(random(t, smallLimit), smallLimit-68), -1, blocking},
		{"a zip inflating past MaxScanSize", small.Scanner(), bomb(t), -1,
			warning("not fully scanned by ClamAV: Heuristics.Limits.Exceeded")},
		{"EICAR in a zip", daemon.Scanner(), func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("inner/eicar.com")
			w.Write(clamav.EICAR())
			zw.Close()
			return buf.Bytes()
		}(), -1, blocking},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			size := c.size
			if size < 0 {
				size = int64(len(c.data))
			}
			b := newBody(c.data)
			v, err := c.scanner.Scan(context.Background(), obj, size, b)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			c.check(t, v)
			b.drained(t, len(c.data))
		})
	}
}

func TestScanErrors(t *testing.T) {
	need(t)
	data := random(t, 3<<20)
	// A port nothing listens on: taken, then released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	// A clamd that has been stopped.
	stopped, err := clamav.StartWith(context.Background(), t.TempDir(), nil, clamav.Options{OwnSignaturesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	stopped.Stop()

	// A server that takes everything and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name    string
		scanner *clamd.Scanner
		ctx     func(b *body) context.Context
		want    string
		is      error
	}{
		{"nothing listening", &clamd.Scanner{Address: closedAddr}, nil, closedAddr, nil},
		{"clamd stopped", stopped.Scanner(), nil, stopped.Address(), nil},
		{"no address", &clamd.Scanner{}, nil, "no address", nil},
		{"context cancelled before", daemon.Scanner(), func(*body) context.Context { return cancelled }, daemon.Address(), context.Canceled},
		{"context cancelled mid-stream", daemon.Scanner(), func(b *body) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			b.at, b.after = 1<<20, cancel
			return ctx
		}, daemon.Address(), context.Canceled},
		{"no verdict within Timeout", &clamd.Scanner{Address: silent.Addr().String(), Timeout: 300 * time.Millisecond}, nil,
			silent.Addr().String(), os.ErrDeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBody(data)
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx(b)
			}
			v, err := c.scanner.Scan(ctx, obj, int64(len(data)), b)
			if err == nil {
				t.Fatalf("Scan gave %+v, want an error", v)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want it to name %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v: want %v", err, c.is)
			}
			b.drained(t, len(data))
		})
	}
}

// errAfter fails after n bytes, as an S3 body cut off mid-read.
type errAfter struct {
	r io.Reader
	n int
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("connection reset by S3")
	}
	p = p[:min(len(p), e.n)]
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func TestScanBodyErrorIsNotClamdsFault(t *testing.T) {
	need(t)
	data := random(t, 1<<20)
	_, err := daemon.Scanner().Scan(context.Background(), obj, int64(len(data)), &errAfter{bytes.NewReader(data), 600 << 10})
	if err == nil || !strings.Contains(err.Error(), "read object: connection reset by S3") {
		t.Fatalf("error %v: want the body's error", err)
	}
	if _, err := daemon.Scanner().Scan(context.Background(), obj, 0, nil); err == nil {
		t.Fatal("a nil body was accepted")
	}
}

func TestScanConcurrently(t *testing.T) {
	need(t)
	clean, bad := random(t, 512<<10), embed(random(t, 512<<10), 300<<10)
	s := daemon.Scanner()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			data, want := clean, false
			if i%2 == 1 {
				data, want = bad, true
			}
			v, err := s.Scan(context.Background(), obj, int64(len(data)), bytes.NewReader(data))
			if err != nil {
				errs <- err
			} else if egress.Blocking(v.Findings) != want {
				errs <- fmt.Errorf("scan %d: findings %v, want blocking %v", i, v.Findings, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPingAndVersion(t *testing.T) {
	need(t)
	s := daemon.Scanner()
	if s.Engine() != "ClamAV" || !s.ReadsBody() {
		t.Errorf("Engine %q ReadsBody %v: want ClamAV, true", s.Engine(), s.ReadsBody())
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	v, err := s.Version(context.Background())
	if err != nil || !strings.HasPrefix(v, "ClamAV ") {
		t.Fatalf("Version = %q, %v: want ClamAV's version line", v, err)
	}
	down := &clamd.Scanner{Address: "127.0.0.1:1"}
	if err := down.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Ping of nothing: %v, want an error naming the address", err)
	}
}
