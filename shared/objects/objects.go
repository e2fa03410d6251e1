// Package objects adapts Amazon S3 to the egress domain: it copies submitted
// object versions to staging, keeps the staging manifest, deletes staged
// copies, streams the release zip into the datalake and presigns downloads.
package objects

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/shared/egress"
)

// S3 is the part of the S3 API the package uses; *s3.Client implements it.
type S3 interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	UploadPartCopy(context.Context, *s3.UploadPartCopyInput, ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// Size limits of S3 multipart uploads.
const (
	minPartSize = 5 << 20 // every part but the last
	maxParts    = 10000
)

// Defaults of the Store's tuning fields.
const (
	DefaultMultipartThreshold = egress.MaxCopyObjectBytes // CopyObject refuses larger sources
	DefaultCopyPartSize       = 512 << 20                 // 10 UploadPartCopy calls for a 5 GiB file
	DefaultZipPartSize        = 16 << 20
)

// Client reads and writes egress objects in S3. The zero values of the tuning
// fields select the defaults.
type Client struct {
	S3        S3
	Presigner Presigner

	// MultipartThreshold is the size above which CopyVersion copies in
	// parts (UploadPartCopy) rather than with one CopyObject.
	MultipartThreshold int64
	// CopyPartSize is the part size of multipart copies (at least 5 MiB;
	// grown when a file would need more than 10,000 parts).
	CopyPartSize int64
	// ReadBackCopies makes CopyVersion read every copy back and hash it,
	// as it did before S3 computed the copy's SHA-256: the bench's
	// baseline, and a way out for a store that computes none.
	ReadBackCopies bool
	// ZipPartSize is the part size of the zip upload (at least 5 MiB). Two
	// parts are held in memory: one filling while the other uploads.
	ZipPartSize int64
	// ZipBlockSize is the size of the blocks the zip's entries are
	// deflated in, side by side (DefaultZipBlockSize when 0). A release
	// resumed from a checkpoint needs the size it started with.
	ZipBlockSize int

	// ScratchDir, when set, makes WriteZip build each zip in a directory
	// of its own under it (an EFS mount) before uploading, instead of
	// streaming. Empty streams, with no local disk.
	ScratchDir string
}

// New returns a Client using c with the default settings.
func New(c *s3.Client) *Client {
	return &Client{S3: c, Presigner: s3.NewPresignClient(c)}
}

// NewS3 builds the S3 client every function that calls S3 uses: the SDK's
// defaults (so checksums as in production); pathStyle puts the bucket in
// the path, as local S3-compatible servers want (config.EnvS3PathStyle).
func NewS3(cfg aws.Config, pathStyle bool) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if hc, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = hc.WithTransportOptions(func(t *http.Transport) {
				t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, IdleConnsPerHost)
			})
		}
	})
}

// IdleConnsPerHost is how many idle connections to S3 NewS3's clients
// keep: one per call a function makes at once in the common case (32
// copies; the release's reads and part uploads). The SDK keeps 10, so
// every round of more calls than that dials again: a TCP and TLS
// handshake, round trips and CPU, per call above 10. Multipart copies,
// up to 4 part copies each, may dial beyond 64; their 5 GiB and more
// dwarf a handshake.
const IdleConnsPerHost = 64

func (s *Client) multipartThreshold() int64 {
	if s.MultipartThreshold > 0 {
		return s.MultipartThreshold
	}
	return DefaultMultipartThreshold
}

func (s *Client) copyPartSize() int64 {
	if s.CopyPartSize > 0 {
		return max(s.CopyPartSize, minPartSize)
	}
	return DefaultCopyPartSize
}

func (s *Client) zipPartSize() int64 {
	if s.ZipPartSize > 0 {
		return max(s.ZipPartSize, minPartSize)
	}
	return DefaultZipPartSize
}

// isNotFound reports whether err says the key or version does not exist, or
// the version is a delete marker (which S3 refuses to GET or HEAD with 405).
// HEAD responses carry no error code, hence the status checks. A missing
// bucket is a configuration error, not a missing file, where S3 says so.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion", "NotFound":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.HTTPStatusCode() {
	case http.StatusNotFound:
		return true
	case http.StatusMethodNotAllowed:
		return re.Response.Header.Get("x-amz-delete-marker") == "true"
	}
	return false
}

// notFound returns the domain error for a missing object version.
func notFound(bucket, key, versionID string) error {
	return egress.Errorf(egress.ENOTFOUND, "object %q (version %s) not found in bucket %s", key, versionLabel(versionID), bucket)
}

func versionLabel(v string) string {
	if v == "" {
		return "latest"
	}
	return v
}

// copySource returns the x-amz-copy-source value for a key version. Every
// byte but unreserved ones and '/' is percent-encoded: servers decode the
// header with query rules, where a raw '+' would turn into a space.
func copySource(bucket, key, versionID string) string {
	var b strings.Builder
	b.WriteString(bucket)
	b.WriteByte('/')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '/' || c == '-' || c == '_' || c == '.' || c == '~' ||
			'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if versionID != "" {
		b.WriteString("?versionId=")
		b.WriteString(url.QueryEscape(versionID))
	}
	return b.String()
}
