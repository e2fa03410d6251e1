package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/local/servers"
)

var s3Shared struct {
	once   sync.Once
	server *servers.S3Server
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
		s3Shared.server, s3Shared.err = servers.StartS3(context.Background(), dir)
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
