package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/shared/objects"
)

// Env is what scenarios share: the scale, a work folder, and the servers,
// started on first use and stopped by Close.
type Env struct {
	Scale      float64   // data size factor; 1 is the sizes
	Dir        string    // work folder (server data, downloads, builds)
	Log        io.Writer // progress lines; nil discards them
	ProfileDir string    // if set, release children write CPU profiles here
	Functions  []string  // functions the cold-start scenario builds; nil means all

	s3Once    sync.Once
	s3        *servers.S3Server
	s3Err     error
	s3MemDir  string // the S3 server's data folder in memory, if there (inMemoryDir)
	s3TLSOnce sync.Once
	s3TLS     *servers.S3Server
	s3TLSErr  error
	ddbOnce   sync.Once
	ddb       *servers.DynamoDBServer
	ddbErr    error

	compression []Compression // set by the release scenario
}

// NewEnv makes an Env working in a new temporary folder.
func NewEnv(scale float64, log io.Writer) (*Env, error) {
	if scale <= 0 || scale > 1 {
		return nil, fmt.Errorf("scale must be in (0, 1], got %g", scale)
	}
	dir, err := os.MkdirTemp("", "egress-bench-")
	if err != nil {
		return nil, err
	}
	return &Env{Scale: scale, Dir: dir, Log: log}, nil
}

// Logf writes a progress line.
func (e *Env) Logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// S3 returns the MinIO server, starting it on first use. Its data is in
// memory where the machine has room (inMemoryDir): S3's disks and their
// syncs are not on the function's cores, while a MinIO writing to this
// machine's disk spends most of a small copy's time syncing it, which
// would bound the copy scenarios by the server rather than by the calls
// they make.
func (e *Env) S3(ctx context.Context) (*servers.S3Server, error) {
	e.s3Once.Do(func() {
		dir := filepath.Join(e.Dir, "minio")
		if mem, ok := inMemoryDir(s3MemoryBytes); ok {
			if dir, e.s3Err = os.MkdirTemp(mem, memDirPattern()); e.s3Err != nil {
				return
			}
			e.s3MemDir = dir
		}
		e.s3, e.s3Err = servers.StartS3(ctx, dir)
	})
	return e.s3, e.s3Err
}

// s3MemoryBytes is the room the S3 server's data needs in memory: the copy
// scenario's sources (about 700 MiB) and one round of their copies.
const s3MemoryBytes = 2 << 30

// shm is Linux's memory-backed folder.
const shm = "/dev/shm"

// inMemoryDir returns a folder in memory (shm) if its file system has need
// bytes free and the machine twice that available, so that the data
// never pushes the bench's other servers and children into swap. It first
// removes what a bench killed before it could clean up left there.
func inMemoryDir(need int64) (string, bool) {
	removeOrphans(shm)
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err != nil || int64(st.Bavail)*st.Bsize < need {
		return "", false
	}
	if avail, err := procKB("/proc/meminfo", "MemAvailable"); err != nil || avail < 2*need {
		return "", false
	}
	return shm, true
}

// memPrefix starts the name of the S3 server's folder in shm; the process
// id follows, so that a later bench knows whose it was.
const memPrefix = "egress-bench-minio-"

// memDirPattern is this process's folder name for os.MkdirTemp.
func memDirPattern() string { return fmt.Sprintf("%s%d-", memPrefix, os.Getpid()) }

// removeOrphans removes the folders in dir of benches whose process is
// gone.
func removeOrphans(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), memPrefix)
		if !ok {
			continue
		}
		// Only names of this form: "<pid>-<random>".
		pidText, _, ok := strings.Cut(rest, "-")
		if pid, err := strconv.Atoi(pidText); ok && err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// s3Storage says where the S3 server keeps its data, for rows' notes.
func (e *Env) s3Storage() string {
	if e.s3MemDir != "" {
		return "MinIO's data in memory (tmpfs)"
	}
	return "MinIO's data on disk (no room in /dev/shm)"
}

// S3TLS returns a second MinIO server, serving HTTPS with a certificate
// made at its start, starting it on first use: the release scenarios
// talk to S3 as the functions do, over TLS, where the SDK sends uploads
// with an unsigned payload and a trailing checksum rather than hashing
// each part for SigV4 before sending it.
func (e *Env) S3TLS(ctx context.Context) (*servers.S3Server, error) {
	e.s3TLSOnce.Do(func() { e.s3TLS, e.s3TLSErr = servers.StartS3TLS(ctx, filepath.Join(e.Dir, "minio-tls")) })
	return e.s3TLS, e.s3TLSErr
}

// DynamoDB returns a DynamoDB Local server, starting it on first use.
func (e *Env) DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	e.ddbOnce.Do(func() { e.ddb, e.ddbErr = servers.StartDynamoDB(ctx) })
	if e.ddbErr != nil {
		return nil, e.ddbErr
	}
	return e.ddb.Client(), nil
}

// Close stops the servers and removes the work folder.
func (e *Env) Close() error {
	if e.s3 != nil {
		e.s3.Close()
	}
	if e.s3MemDir != "" {
		os.RemoveAll(e.s3MemDir)
	}
	if e.s3TLS != nil {
		e.s3TLS.Close()
	}
	if e.ddb != nil {
		e.ddb.Close()
	}
	return os.RemoveAll(e.Dir)
}

// scaled returns n×scale, at least floor.
func (e *Env) scaled(n, floor int64) int64 {
	return max(int64(float64(n)*e.Scale), floor)
}

// s3Conn is how a process reaches the S3 server.
type s3Conn struct {
	Endpoint  string `json:"endpoint"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	Region    string `json:"region"`
	CACert    []byte `json:"ca_cert,omitempty"` // the server's certificate, when it serves HTTPS
}

func connOf(s *servers.S3Server) s3Conn {
	return s3Conn{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: s.Region, CACert: s.CACert}
}

// client builds the S3 client the way the functions build theirs
// (objects.NewS3: SDK defaults, so checksums as in production), with
// the endpoint and credentials of the local server.
func (c s3Conn) client() *s3.Client {
	cfg := aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""),
		BaseEndpoint: aws.String(c.Endpoint),
	}
	if c.CACert != nil {
		cfg.HTTPClient = servers.TrustingClient(c.CACert)
	}
	return objects.NewS3(cfg, true)
}

// clientBefore builds the S3 client as objects.NewS3 built it before it
// kept objects.IdleConnsPerHost idle connections (the SDK's 10 per host):
// the copy bench's CPU baseline.
func (c s3Conn) clientBefore() *s3.Client {
	cfg := aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""),
		BaseEndpoint: aws.String(c.Endpoint),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// newBucket creates a bucket, versioned if asked.
func newBucket(ctx context.Context, c *s3.Client, name string, versioned bool) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	if !versioned {
		return nil
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		return fmt.Errorf("enable versioning on %s: %w", name, err)
	}
	return nil
}

// moduleRoot returns the folder of the repository's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the egress module")
	}
	return filepath.Dir(gomod), nil
}
