// Package clamav starts a clamd of the local stack's own, the ClamAV engine
// that scans staged files locally (shared/clamd speaks to it). It loads the
// machine's signature databases when there are any (what `freshclam`
// keeps) plus a database of its own holding the EICAR test signature, so
// the standard test file is detected offline on any machine with clamd
// installed. It does not import testing, so the stack's binary may link it.
package clamav

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/shared/clamd"
)

// ErrNotInstalled: no clamd on this machine. Its text says how to
// install one.
var ErrNotInstalled = errors.New("clamd (ClamAV's scanning daemon) is not installed: " +
	"`sudo apt-get install clamav-daemon` on Debian/Ubuntu (or `make tools` as root), " +
	"`brew install clamav` on macOS")

// Scan size limits. libclamav scans no file larger than MaxStreamBytes
// (2 GiB - 3 in ClamAV 1.x, whatever MaxFileSize says), so a larger
// StreamMaxLength would pass unscanned bytes as clean.
const (
	DefaultMaxScanBytes = 1 << 30
	MaxStreamBytes      = 1<<31 - 3
)

// DefaultStartTimeout bounds the wait for clamd to answer PING: loading
// the full machine databases takes 20-40 s (and about 1 GB of memory).
const DefaultStartTimeout = 120 * time.Second

// OwnDatabase is the file name of our EICAR database in the daemon's
// database folder.
const OwnDatabase = "egress-eicar.ndb"

// Options adjust the daemon; the zero value is the local stack's default.
type Options struct {
	// OwnSignaturesOnly loads only our EICAR database: clamd starts in
	// well under a second instead of tens, which tests want.
	OwnSignaturesOnly bool
	// MaxScanBytes is clamd's StreamMaxLength (and MaxFileSize): larger
	// streams are refused. Default DefaultMaxScanBytes, at most
	// MaxStreamBytes.
	MaxScanBytes int64
	// StartTimeout: default DefaultStartTimeout.
	StartTimeout time.Duration
}

// Daemon is a running clamd, a child process in its own process group.
type Daemon struct {
	addr      string
	maxBytes  int64
	databases []string
	logPath   string
	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has exited
	out       *os.File
	once      sync.Once
}

// Start starts clamd with the default Options; see StartWith.
func Start(ctx context.Context, dir string, log *slog.Logger) (*Daemon, error) {
	return StartWith(ctx, dir, log, Options{})
}

// StartWith writes dir/clamd.conf and a database folder dir/db (links to
// the machine's databases unless opts.OwnSignaturesOnly, and our EICAR
// database), starts clamd on a free loopback port and waits until it
// answers PING. ctx bounds the start only; Stop ends the daemon. Without
// clamd on the machine the error wraps ErrNotInstalled.
func StartWith(ctx context.Context, dir string, log *slog.Logger, opts Options) (*Daemon, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxScanBytes == 0 {
		opts.MaxScanBytes = DefaultMaxScanBytes
	}
	if opts.MaxScanBytes < 0 || opts.MaxScanBytes > MaxStreamBytes {
		return nil, fmt.Errorf("clamav: MaxScanBytes %d: want 1 to %d, the largest file libclamav scans", opts.MaxScanBytes, int64(MaxStreamBytes))
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("clamav: %w", err)
	}
	dbs, err := prepareDatabases(filepath.Join(dir, "db"), opts.OwnSignaturesOnly)
	if err != nil {
		return nil, err
	}
	if !opts.OwnSignaturesOnly && len(dbs) == 1 {
		log.Info("clamd: no signature databases on this machine; only the EICAR test file will be detected (run freshclam to get ClamAV's)",
			"searched", strings.Join(databaseDirs(), ", "))
	}
	// A free port can be taken between FreeAddr and clamd binding it
	// (after loading its databases); a daemon that could not bind gets a
	// second and third try.
	for attempt := 1; ; attempt++ {
		began := time.Now()
		d, err := start(ctx, bin, dir, dbs, opts)
		if err == nil {
			version, verr := d.Scanner().Version(ctx)
			if verr != nil {
				version = verr.Error()
			}
			log.Info("clamd ready", "address", d.addr, "version", version, "databases", strings.Join(dbs, ","),
				"max_scan_bytes", opts.MaxScanBytes, "start_ms", time.Since(began).Milliseconds(), "log", d.logPath)
			return d, nil
		}
		if attempt == 3 || ctx.Err() != nil || !errors.Is(err, errBind) {
			return nil, err
		}
		log.Warn("clamd exited before it was ready; trying another port", "attempt", attempt, "error", err)
	}
}

var (
	errExited = errors.New("clamd exited before it was ready")
	errBind   = errors.New("clamd could not bind its port")
)

// freeAddr finds clamd a port (a variable for tests).
var freeAddr = servers.FreeAddr

// clamdPaths are where packages install clamd off a user's PATH.
var clamdPaths = []string{"/usr/sbin/clamd", "/usr/local/sbin/clamd", "/opt/homebrew/sbin/clamd"}

// databaseDirs returns the folders searched for the machine's databases
// (a variable for tests).
var databaseDirs = machineDatabaseDirs

// Find returns clamd's path: on PATH, else where Debian (/usr/sbin, often
// not on a user's PATH) and Homebrew put it.
func Find() (string, error) {
	if p, err := exec.LookPath("clamd"); err == nil {
		return p, nil
	}
	for _, p := range clamdPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("clamav: %w", ErrNotInstalled)
}

func start(ctx context.Context, bin, dir string, dbs []string, opts Options) (*Daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("clamav: parse %s: %w", addr, err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("clamav: %w", err)
	}
	conf := filepath.Join(dir, "clamd.conf")
	logPath := filepath.Join(dir, "clamd.log")
	if err := os.WriteFile(conf, []byte(config(port, dir, opts.MaxScanBytes)), 0o644); err != nil {
		return nil, fmt.Errorf("clamav: write %s: %w", conf, err)
	}
	outPath := filepath.Join(dir, "clamd.out")
	out, err := os.Create(outPath)
	if err != nil {
		return nil, fmt.Errorf("clamav: %w", err)
	}
	cmd := exec.Command(bin, "--config-file="+conf)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("clamav: start %s: %w", bin, err)
	}
	d := &Daemon{addr: addr, maxBytes: opts.MaxScanBytes, databases: dbs, logPath: logPath,
		cmd: cmd, exited: make(chan struct{}), out: out}
	go func() {
		cmd.Wait() // the exit status is of no interest: Stop ends it anyway
		close(d.exited)
	}()
	if err := d.waitReady(ctx, opts.StartTimeout); err != nil {
		d.Stop()
		out := tail(outPath, 4<<10)
		if errors.Is(err, errExited) && strings.Contains(out, "Cannot bind") {
			err = fmt.Errorf("%w: %w", errBind, err)
		}
		return nil, fmt.Errorf("clamav: clamd at %s (config %s): %w; its output ends:\n%s", addr, conf, err, out)
	}
	return d, nil
}

// config is clamd.conf for the local daemon. Limits are set so that a
// stream clamd accepts is scanned whole: MaxScanSize (all the bytes of one
// scan, archive members included) is four times the stream limit, and
// AlertExceedsMax makes reaching it, or MaxScanTime, a
// Heuristics.Limits.Exceeded verdict rather than a silent OK. One gap is
// libclamav's: an archive member larger than MaxFileSize has only its
// first MaxFileSize bytes scanned, silently; MaxFileSize is therefore as
// large as MaxScanSize allows.
func config(port, dir string, maxBytes int64) string {
	scanSize := min(4*maxBytes, 4<<30-1)
	lines := []string{
		"# Written by the local stack (local/clamav) on every start; edits are lost.",
		"Foreground yes",
		"TCPSocket " + port,
		"TCPAddr 127.0.0.1",
		"DatabaseDirectory " + filepath.Join(dir, "db"),
		"TemporaryDirectory " + filepath.Join(dir, "tmp"),
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"LogTime yes",
		fmt.Sprintf("StreamMaxLength %d", maxBytes),
		fmt.Sprintf("MaxScanSize %d", scanSize),
		fmt.Sprintf("MaxFileSize %d", min(scanSize, MaxStreamBytes)),
		"AlertExceedsMax yes",
		// Scans are CPU-bound: more threads than cores only queue.
		fmt.Sprintf("MaxThreads %d", max(2, runtime.NumCPU())),
	}
	return strings.Join(lines, "\n") + "\n"
}

// waitReady polls PING with a bounded backoff until clamd answers, exits
// or timeout passes.
func (d *Daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe := &clamd.Scanner{Address: d.addr, Timeout: 2 * time.Second}
	delay := 20 * time.Millisecond
	for {
		err := probe.Ping(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-d.exited:
			t.Stop()
			return fmt.Errorf("%w: %v", errExited, d.cmd.ProcessState)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("not ready after %s: %w (last error: %v)", timeout, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// Address is clamd's TCP address, "127.0.0.1:PORT".
func (d *Daemon) Address() string { return d.addr }

// MaxScanBytes is the daemon's StreamMaxLength.
func (d *Daemon) MaxScanBytes() int64 { return d.maxBytes }

// Databases are the file names the daemon loaded from its database folder.
func (d *Daemon) Databases() []string { return append([]string(nil), d.databases...) }

// LogPath is clamd's log file.
func (d *Daemon) LogPath() string { return d.logPath }

// Scanner returns a checks.Scanner using the daemon.
func (d *Daemon) Scanner() *clamd.Scanner {
	return &clamd.Scanner{Address: d.addr, MaxBytes: d.maxBytes}
}

// Stop ends clamd and anything it started: SIGTERM to its process group,
// SIGKILL if it has not exited within 10 s. It waits for the exit.
func (d *Daemon) Stop() error {
	d.once.Do(func() {
		signalGroup(d.cmd, false)
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-d.exited:
		case <-t.C:
			signalGroup(d.cmd, true)
			<-d.exited
		}
		d.out.Close()
	})
	return nil
}

// prepareDatabases fills db (emptied first) with our EICAR database and,
// unless ownOnly, symbolic links to the machine's databases, and returns
// their names.
func prepareDatabases(db string, ownOnly bool) ([]string, error) {
	if err := os.RemoveAll(db); err != nil {
		return nil, fmt.Errorf("clamav: clear %s: %w", db, err)
	}
	if err := os.MkdirAll(db, 0o755); err != nil {
		return nil, fmt.Errorf("clamav: %w", err)
	}
	sig := SignatureName + ":0:*:" + hex.EncodeToString(EICAR()) + "\n"
	if err := os.WriteFile(filepath.Join(db, OwnDatabase), []byte(sig), 0o644); err != nil {
		return nil, fmt.Errorf("clamav: write our database: %w", err)
	}
	names := []string{OwnDatabase}
	if ownOnly {
		return names, nil
	}
	for _, dir := range databaseDirs() {
		for _, pattern := range []string{"*.cvd", "*.cld", "*.cud"} {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, f := range files {
				name := filepath.Base(f)
				if _, err := os.Lstat(filepath.Join(db, name)); err == nil {
					continue // the first folder holding a database wins
				}
				if err := os.Symlink(f, filepath.Join(db, name)); err != nil {
					return nil, fmt.Errorf("clamav: link %s: %w", f, err)
				}
				names = append(names, name)
			}
		}
	}
	return names, nil
}

// machineDatabaseDirs are the folders freshclam fills on this machine:
// DatabaseDirectory of the system's clamd.conf, then the packages'
// defaults (Debian, Homebrew on Apple silicon and on Intel).
func machineDatabaseDirs() []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, conf := range []string{"/etc/clamav/clamd.conf", "/opt/homebrew/etc/clamav/clamd.conf", "/usr/local/etc/clamav/clamd.conf"} {
		add(confDatabaseDirectory(conf))
	}
	for _, d := range []string{"/var/lib/clamav", "/opt/homebrew/var/lib/clamav", "/usr/local/var/lib/clamav"} {
		add(d)
	}
	return dirs
}

// confDatabaseDirectory returns the DatabaseDirectory a clamd.conf sets,
// or "".
func confDatabaseDirectory(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "DatabaseDirectory" {
			return fields[1]
		}
	}
	return ""
}

// tail returns the last n bytes of the file at path, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	if len(b) == 0 {
		return "(no output)"
	}
	return string(b)
}
