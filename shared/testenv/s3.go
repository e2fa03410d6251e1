package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// minioTool is MinIO's place under .tools, as `make tools` installs it.
const minioTool = "bin/minio"

// S3Server is a MinIO server running as a child process.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	AccessKey string
	SecretKey string
	Region    string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	logf   *os.File
	once   sync.Once
}

// StartS3 starts MinIO serving dataDir/data on free loopback ports and waits
// until it is ready. ctx bounds the start only; stop the server with Close.
// The process is killed if this process dies, and its output goes to
// dataDir/minio.log.
func StartS3(ctx context.Context, dataDir string) (*S3Server, error) {
	bin, err := toolPath(minioTool)
	if err != nil {
		return nil, err
	}
	// A free port can be taken between FreeAddr and MinIO binding it; a
	// process that exits before it is ready gets a second and third try.
	for attempt := 1; ; attempt++ {
		s, err := startMinIO(ctx, bin, dataDir)
		if err == nil || attempt == 3 || ctx.Err() != nil || !errors.Is(err, errS3Exited) {
			return s, err
		}
	}
}

var errS3Exited = errors.New("minio exited before it was ready")

func startMinIO(ctx context.Context, bin, dataDir string) (*S3Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	console, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dataDir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: minio data dir: %w", err)
	}
	logPath := filepath.Join(dataDir, "minio.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv: minio log: %w", err)
	}
	s := &S3Server{
		Endpoint:  "http://" + addr,
		AccessKey: "egress-test",
		SecretKey: "egress-test-secret",
		Region:    "us-east-1",
		exited:    make(chan struct{}),
		logf:      logf,
	}
	cmd := exec.Command(bin, "server", data,
		"--address", addr, "--console-address", console,
		"--certs-dir", filepath.Join(dataDir, "certs"), "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Tests may be killed without running cleanups; never leave MinIO behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("testenv: start minio: %w", err)
	}
	s.cmd = cmd
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("testenv: minio at %s (log %s): %w", addr, logPath, err)
	}
	return s, nil
}

// waitReady polls the liveness endpoint with a bounded backoff.
func (s *S3Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	delay := 10 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/minio/health/live", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", errS3Exited, s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// Client returns an S3 client for the server: path-style addressing, static
// credentials, and checksums only where an operation requires them.
func (s *S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Close kills the server and waits for it to exit.
func (s *S3Server) Close() error {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.exited
		s.logf.Close()
	})
	return nil
}

var s3Shared struct {
	once   sync.Once
	server *S3Server
	err    error
}

// s3SharedDirPrefix names the data folders of shared servers; the pid of the
// test binary follows it so later runs can remove folders of dead ones.
const s3SharedDirPrefix = "egress-testenv-s3-"

// S3 returns a client of the MinIO server shared by every test of the test
// binary, starting it on first use. It fails the test, saying how to install
// MinIO, if the server cannot start.
func S3(t testing.TB) *s3.Client {
	t.Helper()
	s3Shared.once.Do(func() {
		removeStaleS3Dirs()
		dir := filepath.Join(os.TempDir(), s3SharedDirPrefix+strconv.Itoa(os.Getpid()))
		s3Shared.server, s3Shared.err = StartS3(context.Background(), dir)
	})
	if s3Shared.err != nil {
		t.Fatalf("S3 test server unavailable (run `make tools` to install MinIO): %v", s3Shared.err)
	}
	return s3Shared.server.Client()
}

// removeStaleS3Dirs deletes the data folders of shared servers whose test
// binary has exited: nothing else can, as the server lives as long as the
// binary.
func removeStaleS3Dirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), s3SharedDirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), s3SharedDirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

const maxBucketName = 63

var (
	bucketSeq    atomic.Int64
	bucketUnsafe = regexp.MustCompile(`[^a-z0-9]+`)
	// bucketRunID keeps names unique across test binaries sharing a server
	// (the local stack's, say).
	bucketRunID = strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
)

// NewBucket creates a bucket with a unique name derived from the test's
// name, with versioning enabled if asked, and returns its name.
func NewBucket(t testing.TB, c *s3.Client, versioned bool) string {
	t.Helper()
	suffix := fmt.Sprintf("-%s-%d", bucketRunID, bucketSeq.Add(1))
	base := strings.Trim(bucketUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if n := maxBucketName - len(suffix); len(base) > n {
		base = strings.TrimRight(base[:n], "-")
	}
	if len(base) < 3 {
		base = "test" + base
	}
	name := base + suffix
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	if versioned {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		})
		if err != nil {
			t.Fatalf("enable versioning on %s: %v", name, err)
		}
	}
	return name
}
