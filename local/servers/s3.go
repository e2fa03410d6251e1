package servers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// minioTool is MinIO's place under .tools, as `make tools` installs it.
const minioTool = "bin/minio"

// S3Server is a MinIO server running as a child process.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT", or https with StartS3TLS
	AccessKey string
	SecretKey string
	Region    string
	// CACert is the PEM certificate a StartS3TLS server presents (its own
	// issuer); nil for plain HTTP.
	CACert []byte

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
	return startS3(ctx, dataDir, nil)
}

// StartS3TLS is StartS3 serving HTTPS, as S3 does, with a self-signed
// certificate for 127.0.0.1 made now (S3Server.CACert; HTTPClient trusts
// it). Over HTTPS the SDK sends uploads with an unsigned payload and a
// trailing checksum instead of hashing each body for SigV4 first, as it
// does with AWS: what a benchmark of uploads must measure.
func StartS3TLS(ctx context.Context, dataDir string) (*S3Server, error) {
	certPEM, keyPEM, err := selfSignedCert()
	if err != nil {
		return nil, fmt.Errorf("servers: minio certificate: %w", err)
	}
	certs := filepath.Join(dataDir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return nil, fmt.Errorf("servers: minio certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(certs, "public.crt"), certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("servers: minio certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(certs, "private.key"), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("servers: minio certificate: %w", err)
	}
	return startS3(ctx, dataDir, certPEM)
}

// selfSignedCert makes a certificate and key for 127.0.0.1, valid a day.
func selfSignedCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "egress local MinIO"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

// HTTPClient returns an HTTP client for the server: one trusting its
// certificate when it serves HTTPS.
func (s *S3Server) HTTPClient() *http.Client {
	if s.CACert == nil {
		return &http.Client{}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

func startS3(ctx context.Context, dataDir string, caCert []byte) (*S3Server, error) {
	bin, err := toolPath(minioTool)
	if err != nil {
		return nil, err
	}
	// A free port can be taken between FreeAddr and MinIO binding it; a
	// process that exits before it is ready gets a second and third try.
	for attempt := 1; ; attempt++ {
		s, err := startMinIO(ctx, bin, dataDir, caCert)
		if err == nil || attempt == 3 || ctx.Err() != nil || !errors.Is(err, errS3Exited) {
			return s, err
		}
	}
}

var errS3Exited = errors.New("minio exited before it was ready")

func startMinIO(ctx context.Context, bin, dataDir string, caCert []byte) (*S3Server, error) {
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
		return nil, fmt.Errorf("servers: minio data dir: %w", err)
	}
	logPath := filepath.Join(dataDir, "minio.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("servers: minio log: %w", err)
	}
	scheme := "http://"
	if caCert != nil {
		scheme = "https://"
	}
	s := &S3Server{
		Endpoint:  scheme + addr,
		CACert:    caCert,
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
		return nil, fmt.Errorf("servers: start minio: %w", err)
	}
	s.cmd = cmd
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("servers: minio at %s (log %s): %w", addr, logPath, err)
	}
	return s, nil
}

// waitReady polls the liveness endpoint with a bounded backoff.
func (s *S3Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := s.HTTPClient()
	client.Timeout = 2 * time.Second
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
// credentials, checksums only where an operation requires them, and
// multipart uploads listed by prefix as S3 lists them (ListUploadsByPrefix).
func (s *S3Server) Client() *s3.Client {
	o := s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		APIOptions:                 []func(*middleware.Stack) error{ListUploadsByPrefix},
	}
	if s.CACert != nil {
		o.HTTPClient = TrustingClient(s.CACert)
	}
	return s3.New(o)
}

// TrustingClient is the SDK's default HTTP client trusting the PEM
// certificate caCert as well (a StartS3TLS server's).
func TrustingClient(caCert []byte) aws.HTTPClient {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(caCert)
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
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
