// Package clamd is the ClamAV engine of checks.Scanner: it streams each
// staged object to a clamd over its INSTREAM protocol and turns the reply
// into findings. It needs nothing but a TCP address; the local stack starts
// its own clamd (local/clamav), a deployment points at one it runs.
package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
)

// EngineName names ClamAV in findings.
const EngineName = "ClamAV"

// DefaultTimeout bounds each write to clamd and the wait for its verdict
// after the last byte; clamd's own MaxScanTime (2 minutes by default)
// ends a scan before it.
const DefaultTimeout = 3 * time.Minute

// chunkSize is the length of each INSTREAM chunk: large enough that the
// 4-byte headers cost nothing, small enough to keep one buffer per scan.
const chunkSize = 256 << 10

// chunks keeps INSTREAM buffers between scans: allocating and zeroing a
// new one per file costs more than sending a small file.
var chunks = sync.Pool{New: func() any { return new([4 + chunkSize]byte) }}

// maxReply bounds what is read of one reply: clamd's replies are a line.
const maxReply = 4 << 10

// Scanner asks clamd at Address for a verdict on each object, one
// connection per scan; it is safe for concurrent use. Timeout bounds each
// write and the wait for the verdict after the last byte (zero takes
// DefaultTimeout); Dial, when set, replaces net.Dialer (proxies, tests).
type Scanner struct {
	Address string // clamd's TCPSocket, "host:port"
	// MaxBytes is clamd's StreamMaxLength: larger objects are not sent
	// and get a "not scanned" warning. 0 leaves the limit to clamd, whose
	// refusal gives the same warning.
	MaxBytes int64
	Timeout  time.Duration
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ checks.Scanner = (*Scanner)(nil)

// Engine implements checks.Scanner.
func (s *Scanner) Engine() string { return EngineName }

// ReadsBody implements checks.Scanner: clamd scans the bytes it is sent.
func (s *Scanner) ReadsBody() bool { return true }

// Scan implements checks.Scanner. body is always read to its end, whatever
// happens, because the checker feeds the same stream to other readers.
// clamd's refusal of a stream larger than its StreamMaxLength is a
// warning; a scan limit reached inside the file (archives, time) is too,
// since clamd then says so with a Heuristics.Limits.Exceeded signature.
func (s *Scanner) Scan(ctx context.Context, obj egress.ObjectVersion, size int64, body io.Reader) (checks.Verdict, error) {
	if body == nil {
		return checks.Verdict{}, errors.New("clamd: scan needs the object's bytes, got no body")
	}
	defer io.Copy(io.Discard, body) //nolint:errcheck // draining only: the scan's outcome is already decided
	if s.MaxBytes > 0 && size > s.MaxBytes {
		return tooLarge(), nil
	}
	reply, err := s.instream(ctx, body)
	if errors.Is(err, errTooLarge) {
		return tooLarge(), nil
	}
	if err != nil {
		return checks.Verdict{}, err
	}
	v, err := verdict(reply)
	if err != nil {
		return v, fmt.Errorf("clamd at %s: %w", s.Address, err)
	}
	return v, nil
}

var (
	// errTooLarge: the body held more than MaxBytes, whatever size said.
	errTooLarge = errors.New("larger than MaxBytes")
	// errAnswered: clamd replied before the stream's end.
	errAnswered = errors.New("clamd answered before the end of the stream")
)

func tooLarge() checks.Verdict {
	return checks.Verdict{Findings: []egress.Finding{{
		Check: egress.CheckMalware, Severity: egress.SeverityWarning,
		Message: "not scanned by " + EngineName + ": larger than clamd's StreamMaxLength",
	}}}
}

// verdict reads an INSTREAM reply: "stream: OK", "stream: SIG FOUND",
// "INSTREAM size limit exceeded. ERROR" or another "... ERROR".
func verdict(reply string) (checks.Verdict, error) {
	r := strings.TrimPrefix(reply, "stream: ")
	switch {
	case r == "OK":
		return checks.Verdict{}, nil
	case strings.HasSuffix(r, " FOUND"):
		sig := strings.TrimSpace(strings.TrimSuffix(r, " FOUND"))
		if strings.HasPrefix(sig, "Heuristics.Limits.Exceeded") {
			// AlertExceedsMax: clamd stopped inside the file at one of its
			// limits; what it did not read is not known to be clean.
			return checks.Verdict{Findings: []egress.Finding{{
				Check: egress.CheckMalware, Severity: egress.SeverityWarning,
				Message: "not fully scanned by " + EngineName + ": " + sig,
			}}}, nil
		}
		return checks.Verdict{Findings: []egress.Finding{{
			Check: egress.CheckMalware, Severity: egress.SeverityBlocking,
			Message: EngineName + " found " + sig,
		}}}, nil
	case strings.Contains(r, "size limit exceeded"):
		return tooLarge(), nil
	default:
		// "... ERROR" and anything unforeseen: clamd could not scan (out of
		// memory, a temporary file, a reload); asking again may work.
		return checks.Verdict{}, &scanError{reply: bound(reply)}
	}
}

// scanError is clamd's refusal to scan a stream. It is worth retrying:
// the workflow retries errors that say so (RetryableError, as the AWS
// SDK's do) rather than failing the request.
type scanError struct{ reply string }

func (e *scanError) Error() string        { return fmt.Sprintf("could not scan: %q", e.reply) }
func (e *scanError) RetryableError() bool { return true }

// instream sends body as INSTREAM chunks and returns clamd's reply. The
// reply is read concurrently: clamd answers a stream past its limit at
// once and closes the connection, which fails the writes that follow.
func (s *Scanner) instream(ctx context.Context, body io.Reader) (string, error) {
	conn, stop, err := s.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	defer stop()
	replies := make(chan result, 1)
	var answered atomic.Bool
	go func() {
		r, err := readReply(conn)
		// An early answer (a refusal) ends the writes: clamd reads no more.
		answered.Store(true)
		conn.SetWriteDeadline(time.Unix(1, 0))
		replies <- result{r, err}
	}()

	werr := s.send(ctx, conn, body, &answered)
	if errors.Is(werr, errTooLarge) {
		return "", werr
	}
	var bodyErr *bodyError
	if errors.As(werr, &bodyErr) {
		return "", fmt.Errorf("clamd: %w", bodyErr)
	}
	// Written (or clamd stopped reading): its reply says why.
	s.deadline(ctx, conn.SetReadDeadline)
	r := <-replies
	if ctx.Err() != nil {
		return "", fmt.Errorf("clamd at %s: scan: %w", s.Address, ctx.Err())
	}
	if r.err == nil {
		return r.reply, nil
	}
	if werr != nil {
		return "", fmt.Errorf("clamd at %s: send: %w", s.Address, werr)
	}
	return "", fmt.Errorf("clamd at %s: read verdict: %w", s.Address, r.err)
}

type result struct {
	reply string
	err   error
}

// bodyError is a failure to read the object, not to talk to clamd.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "read object: " + e.err.Error() }

// send writes the INSTREAM command, body in chunks and the terminator.
func (s *Scanner) send(ctx context.Context, conn net.Conn, body io.Reader, answered *atomic.Bool) error {
	chunk := chunks.Get().(*[4 + chunkSize]byte)
	defer chunks.Put(chunk)
	buf := chunk[:]
	write := func(p []byte) error {
		s.deadline(ctx, conn.SetWriteDeadline)
		if answered.Load() { // after the deadline: see the reader's
			return errAnswered
		}
		_, err := conn.Write(p)
		return err
	}
	if err := write([]byte("zINSTREAM\x00")); err != nil {
		return err
	}
	var sent int64
	for {
		n, err := io.ReadFull(body, buf[4:])
		if n > 0 {
			sent += int64(n)
			if s.MaxBytes > 0 && sent > s.MaxBytes {
				return errTooLarge
			}
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if werr := write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return &bodyError{err}
		}
	}
	return write([]byte{0, 0, 0, 0})
}

// Ping asks clamd for PONG: it is up and its databases are loaded.
func (s *Scanner) Ping(ctx context.Context) error {
	r, err := s.command(ctx, "PING")
	if err != nil {
		return err
	}
	if r != "PONG" {
		return fmt.Errorf("clamd at %s: PING answered %q", s.Address, bound(r))
	}
	return nil
}

// Version returns clamd's version line, "ClamAV 1.4.6/27840/Mon Dec  1
// 09:00:00 2026" (engine/signatures/date of the newest database).
func (s *Scanner) Version(ctx context.Context) (string, error) {
	return s.command(ctx, "VERSION")
}

// command sends one argument-less command and returns the reply.
func (s *Scanner) command(ctx context.Context, name string) (string, error) {
	conn, stop, err := s.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	defer stop()
	s.deadline(ctx, conn.SetDeadline)
	if _, err := conn.Write([]byte("z" + name + "\x00")); err != nil {
		return "", s.ioErr(ctx, name, err)
	}
	r, err := readReply(conn)
	if err != nil {
		return "", s.ioErr(ctx, name, err)
	}
	return r, nil
}

func (s *Scanner) ioErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("clamd at %s: %s: %w", s.Address, what, err)
}

// dial connects to clamd; stop ends the watch that fails the connection's
// reads and writes when ctx is done.
func (s *Scanner) dial(ctx context.Context) (net.Conn, func() bool, error) {
	if s.Address == "" {
		return nil, nil, errors.New("clamd: no address (checks.malware.clamd_address)")
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("clamd at %s: %w", s.Address, err)
	}
	dial := s.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", s.Address)
	if err != nil {
		return nil, nil, fmt.Errorf("clamd at %s: connect: %w", s.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}

// deadline sets a deadline Timeout from now, unless ctx is done: the
// check after the set keeps it from undoing the watch's past deadline.
func (s *Scanner) deadline(ctx context.Context, set func(time.Time) error) {
	set(time.Now().Add(s.timeout()))
	if ctx.Err() != nil {
		set(time.Unix(1, 0))
	}
}

func (s *Scanner) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// readReply reads one NUL-terminated reply (the z prefix of the command);
// a newline or the end of the connection also ends it.
func readReply(conn net.Conn) (string, error) {
	r := bufio.NewReaderSize(io.LimitReader(conn, maxReply), 256)
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if len(b) > 0 && err == io.EOF {
				break
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == 0 || c == '\n' {
			break
		}
		b = append(b, c)
	}
	return string(bytes.TrimSpace(b)), nil
}

// bound keeps a reply quoted in an error short.
func bound(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
