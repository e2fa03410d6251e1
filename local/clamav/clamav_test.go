package clamav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/shared/egress"
)

// need fails the test in CI when clamd is missing, and skips it
// elsewhere, with the install hint (README, Tests).
func need(t *testing.T) {
	t.Helper()
	if _, err := Find(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("%v (CI=true makes this a failure)", err)
	}
}

func TestEICAR(t *testing.T) {
	e := EICAR()
	sum := sha256.Sum256(e)
	// The published digest of the 68-byte test file.
	if len(e) != 68 || hex.EncodeToString(sum[:]) != "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f" {
		t.Fatalf("EICAR() is %d bytes, sha256 %x: not the test file", len(e), sum)
	}
}

func TestStartOwnSignaturesOnly(t *testing.T) {
	need(t)
	dir := t.TempDir()
	began := time.Now()
	d, err := StartWith(context.Background(), dir, nil, Options{OwnSignaturesOnly: true, MaxScanBytes: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clamd with our database only answered PING after %s", time.Since(began))
	defer d.Stop()

	if got := d.Databases(); !slices.Equal(got, []string{OwnDatabase}) {
		t.Errorf("databases %v: want only %s", got, OwnDatabase)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "clamd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Foreground yes", "TCPAddr 127.0.0.1", "StreamMaxLength 5242880", "MaxScanSize 20971520",
		"AlertExceedsMax yes", "LogFile " + filepath.Join(dir, "clamd.log"), "DatabaseDirectory " + filepath.Join(dir, "db")} {
		if !strings.Contains(string(conf), want+"\n") {
			t.Errorf("clamd.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), "LocalSocket") {
		t.Error("clamd.conf opens a local socket")
	}
	s := d.Scanner()
	if s.Address != d.Address() || s.MaxBytes != 5<<20 || d.MaxScanBytes() != 5<<20 {
		t.Errorf("scanner %+v: want the daemon's address and limit", s)
	}
	v, err := s.Scan(context.Background(), egress.ObjectVersion{Key: "k"}, 68, strings.NewReader(string(EICAR())))
	if err != nil || !egress.Blocking(v.Findings) || !strings.Contains(v.Findings[0].Message, SignatureName) {
		t.Fatalf("EICAR scanned: %+v, %v: want a blocking finding naming %s", v, err, SignatureName)
	}

	pid := d.cmd.Process.Pid
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("clamd's process group after Stop: %v, want none", err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("clamd answers PING after Stop")
	}
	if err := d.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartFailsWithClamdsOutput(t *testing.T) {
	need(t)
	machine := t.TempDir()
	if err := os.WriteFile(filepath.Join(machine, "daily.cvd"), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(f func() []string) { databaseDirs = f }(databaseDirs)
	databaseDirs = func() []string { return []string{machine} }

	_, err := Start(context.Background(), t.TempDir(), nil)
	if err == nil {
		t.Fatal("clamd started on a broken database")
	}
	for _, want := range []string{"clamd exited before it was ready", "daily.cvd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to say %q (clamd's own output)", err, want)
		}
	}
}

func TestStartRetriesATakenPort(t *testing.T) {
	need(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	defer func(f func() (string, error)) { freeAddr = f }(freeAddr)
	var calls int
	freeAddr = func() (string, error) {
		calls++
		if calls == 1 {
			return taken.Addr().String(), nil
		}
		return servers.FreeAddr()
	}
	d, err := StartWith(context.Background(), t.TempDir(), nil, Options{OwnSignaturesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if calls != 2 || d.Address() == taken.Addr().String() {
		t.Errorf("%d ports tried, clamd at %s: want a second port after %s", calls, d.Address(), taken.Addr())
	}
}

func TestStartWithoutClamd(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	defer func(p []string) { clamdPaths = p }(clamdPaths)
	clamdPaths = nil
	_, err := Start(context.Background(), t.TempDir(), nil)
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("error %v: want ErrNotInstalled", err)
	}
	for _, want := range []string{"apt-get install clamav-daemon", "brew install clamav"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want the hint %q", err, want)
		}
	}
}

func TestStartRefusesBadLimits(t *testing.T) {
	for _, n := range []int64{-1, MaxStreamBytes + 1} {
		_, err := StartWith(context.Background(), t.TempDir(), nil, Options{MaxScanBytes: n})
		if err == nil || !strings.Contains(err.Error(), "MaxScanBytes") {
			t.Errorf("MaxScanBytes %d: %v, want it refused", n, err)
		}
	}
}

func TestPrepareDatabases(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	for dir, names := range map[string][]string{
		first:  {"main.cvd", "daily.cld", "notes.txt"},
		second: {"daily.cld", "bytecode.cud"},
	} {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(dir), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func(f func() []string) { databaseDirs = f }(databaseDirs)
	databaseDirs = func() []string { return []string{first, second, filepath.Join(first, "missing")} }

	cases := []struct {
		ownOnly bool
		want    []string
	}{
		{false, []string{"bytecode.cud", "daily.cld", OwnDatabase, "main.cvd"}},
		{true, []string{OwnDatabase}},
	}
	for _, c := range cases {
		db := filepath.Join(t.TempDir(), "db")
		os.MkdirAll(db, 0o755)
		os.WriteFile(filepath.Join(db, "stale.cvd"), nil, 0o644) // left by an earlier start
		names, err := prepareDatabases(db, c.ownOnly)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(db)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		slices.Sort(names)
		if !slices.Equal(got, c.want) || !slices.Equal(names, c.want) {
			t.Errorf("own only %v: folder %v, names %v; want %v", c.ownOnly, got, names, c.want)
		}
		if !c.ownOnly {
			// The first folder holding a database wins.
			if target, _ := os.Readlink(filepath.Join(db, "daily.cld")); target != filepath.Join(first, "daily.cld") {
				t.Errorf("daily.cld links to %q, want the first folder's", target)
			}
		}
		own, _ := os.ReadFile(filepath.Join(db, OwnDatabase))
		if want := SignatureName + ":0:*:" + hex.EncodeToString(EICAR()) + "\n"; string(own) != want {
			t.Errorf("%s holds %q, want %q", OwnDatabase, own, want)
		}
	}
}

func TestConfDatabaseDirectory(t *testing.T) {
	cases := []struct{ conf, want string }{
		{"LocalSocket /run/clamd.ctl\nDatabaseDirectory /srv/clamav\nUser clamav\n", "/srv/clamav"},
		{"#DatabaseDirectory /srv/clamav\n", ""},
		{"DatabaseDirectory\n", ""},
		{"", ""},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "clamd.conf")
		os.WriteFile(p, []byte(c.conf), 0o644)
		if got := confDatabaseDirectory(p); got != c.want {
			t.Errorf("%q: got %q, want %q", c.conf, got, c.want)
		}
	}
	if got := confDatabaseDirectory(filepath.Join(t.TempDir(), "absent")); got != "" {
		t.Errorf("absent file: %q", got)
	}
}
