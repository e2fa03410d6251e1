package objects

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/shared/egress"
)

const (
	// copyPartConcurrency bounds the UploadPartCopy calls of one copy.
	copyPartConcurrency = 4
	// abortTimeout bounds AbortMultipartUpload, which runs even after the
	// caller's context is done.
	abortTimeout = time.Minute
)

// Copied describes a copy made by CopyVersion.
type Copied struct {
	VersionID string // of the copy; empty in an unversioned bucket
	Size      int64
	SHA256    string // lower-case hex of the copy's bytes
	// ReadBack says the SHA-256 was read back from the copy rather than
	// computed by S3 as it copied (see CopyVersion).
	ReadBack bool
}

// CopyVersion copies exactly the version src to dstBucket/dstKey, server
// side, and returns the copy's size and SHA-256. Sources above
// MultipartThreshold are copied in parts. A missing key or version is an
// egress.ENOTFOUND error naming both. It asks S3 for the source's size
// first; CopyAll spares that call for listed sizes of pinned versions.
//
// The SHA-256 is S3's: CopyObject with ChecksumAlgorithm SHA256 makes S3
// hash the copy as it writes it and return the full-object digest, so no
// byte is read back. The copy is read back and hashed only where S3 gives
// no full-object SHA-256:
//   - multipart copies (UploadPartCopy, above MultipartThreshold): S3's
//     SHA-256 of a multipart object is COMPOSITE, a digest of the parts'
//     digests (only the CRCs have a FULL_OBJECT type), which no reader of
//     the bytes can check;
//   - a response without a well-formed full-object SHA-256 (a store that
//     ignores x-amz-checksum-algorithm);
//   - ReadBackCopies.
//
// The release hashes every entry as it zips it and fails on a difference
// from the manifest, so a wrong digest cannot pass unnoticed either way.
//
// A copy carries none of the source's tags: nothing reads a submitter's
// tags, and one could pose as GuardDuty's verdict (ScanStatusTag) on a
// copy that was never scanned.
func (s *Client) CopyVersion(ctx context.Context, src egress.ObjectVersion, dstBucket, dstKey string) (Copied, error) {
	return s.copy(ctx, egress.CopyJob{Source: src, DstBucket: dstBucket, DstKey: dstKey})
}

// copy is CopyVersion of j, without a HeadObject when j lists the size of
// a pinned version small enough for one CopyObject.
func (s *Client) copy(ctx context.Context, j egress.CopyJob) (Copied, error) {
	src := j.Source
	var head *s3.HeadObjectOutput
	size := j.Size
	if !j.Listed || src.VersionID == "" || s.ReadBackCopies || size > s.multipartThreshold() {
		var err error
		if head, err = s.head(ctx, src); err != nil {
			return Copied{}, err
		}
		size = aws.ToInt64(head.ContentLength)
	}
	var version, sum string
	var err error
	if size > s.multipartThreshold() {
		version, err = s.copyParts(ctx, src, head, j.DstBucket, j.DstKey)
	} else {
		version, sum, err = s.copyObject(ctx, src, head, j.DstBucket, j.DstKey)
	}
	if err != nil {
		if isNotFound(err) {
			return Copied{}, notFound(src.Bucket, src.Key, src.VersionID)
		}
		return Copied{}, fmt.Errorf("copy %q (version %s) to %s/%s: %w", src.Key, versionLabel(src.VersionID), j.DstBucket, j.DstKey, err)
	}
	if sum != "" {
		return Copied{VersionID: version, Size: size, SHA256: sum}, nil
	}
	sum, n, err := s.sha256(ctx, j.DstBucket, j.DstKey, version)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %q: checksum the copy: %w", src.Key, err)
	}
	if n != size {
		return Copied{}, fmt.Errorf("copy %q (version %s): copy has %d bytes, source %d", src.Key, versionLabel(src.VersionID), n, size)
	}
	return Copied{VersionID: version, Size: size, SHA256: sum, ReadBack: true}, nil
}

// head is HeadObject of src; a missing key or version is ENOTFOUND.
func (s *Client) head(ctx context.Context, src egress.ObjectVersion) (*s3.HeadObjectOutput, error) {
	head, err := s.S3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(src.Bucket), Key: aws.String(src.Key), VersionId: optional(src.VersionID),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, notFound(src.Bucket, src.Key, src.VersionID)
		}
		return nil, fmt.Errorf("copy %q (version %s): head: %w", src.Key, versionLabel(src.VersionID), err)
	}
	return head, nil
}

// ScanStatusTag is the tag GuardDuty Malware Protection writes its verdict
// to (guardduty.StatusTag). A copy never takes it from its source: the
// staged copy's verdict must be GuardDuty's scan of the copy, not a tag a
// submitter could have set on the original.
const ScanStatusTag = "GuardDutyMalwareScanStatus"

// copyObject copies src with one CopyObject and returns the copy's version
// and its hex SHA-256 as S3 computed it ("" if S3 gave none). head, if
// not nil, is what HeadObject said of src.
func (s *Client) copyObject(ctx context.Context, src egress.ObjectVersion, head *s3.HeadObjectOutput, dstBucket, dstKey string) (version, sum string, err error) {
	in := &s3.CopyObjectInput{
		Bucket:     aws.String(dstBucket),
		Key:        aws.String(dstKey),
		CopySource: aws.String(copySource(src.Bucket, src.Key, src.VersionID)),
		// No tags: REPLACE with none, which needs no tagging action.
		TaggingDirective: types.TaggingDirectiveReplace,
	}
	if head != nil {
		// The size is the head's: without a version to pin, the ETag
		// makes sure the copy is of the object the head saw.
		in.CopySourceIfMatch = head.ETag
	}
	if !s.ReadBackCopies {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	}
	out, err := s.S3.CopyObject(ctx, in)
	if err != nil {
		return "", "", err
	}
	if !s.ReadBackCopies {
		sum = copiedSHA256(out)
	}
	return aws.ToString(out.VersionId), sum, nil
}

// copiedSHA256 returns, in hex, the full-object SHA-256 S3 computed of a
// copy made with ChecksumAlgorithm SHA256, or "" if the response has none.
// AWS S3 returns it in the CopyObjectResult body; MinIO returns the same
// digest only as x-amz-checksum-sha256 and x-amz-checksum-type headers,
// which the SDK does not parse for CopyObject. A COMPOSITE value (a digest
// of part digests) is not the bytes' SHA-256, so it counts as none.
func copiedSHA256(out *s3.CopyObjectOutput) string {
	var b64 string
	var typ types.ChecksumType
	if r := out.CopyObjectResult; r != nil {
		b64, typ = aws.ToString(r.ChecksumSHA256), r.ChecksumType
	}
	if b64 == "" {
		if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
			b64 = raw.Header.Get("X-Amz-Checksum-Sha256")
			typ = types.ChecksumType(raw.Header.Get("X-Amz-Checksum-Type"))
		}
	}
	if typ == types.ChecksumTypeComposite {
		return ""
	}
	sum, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sum) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(sum)
}

// copyParts copies src with UploadPartCopy, a few parts at a time. The upload
// is aborted on any error so no partial copy or open upload remains.
func (s *Client) copyParts(ctx context.Context, src egress.ObjectVersion, head *s3.HeadObjectOutput, dstBucket, dstKey string) (version string, err error) {
	created, err := s.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(dstBucket),
		Key:         aws.String(dstKey),
		ContentType: head.ContentType,
		Metadata:    head.Metadata,
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.abort(ctx, dstBucket, dstKey, created.UploadId))
		}
	}()

	size := aws.ToInt64(head.ContentLength)
	partSize := max(s.copyPartSize(), (size+maxParts-1)/maxParts)
	parts := make([]types.CompletedPart, (size+partSize-1)/partSize)
	partCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := forEach(partCtx, len(parts), copyPartConcurrency, func(i int) error {
		first := int64(i) * partSize
		last := min(first+partSize, size) - 1
		out, err := s.S3.UploadPartCopy(partCtx, &s3.UploadPartCopyInput{
			Bucket:          aws.String(dstBucket),
			Key:             aws.String(dstKey),
			UploadId:        created.UploadId,
			PartNumber:      aws.Int32(int32(i + 1)),
			CopySource:      aws.String(copySource(src.Bucket, src.Key, src.VersionID)),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
		})
		if err != nil {
			cancel() // the upload is lost; stop the other parts
			return fmt.Errorf("copy part %d: %w", i+1, err)
		}
		parts[i] = types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(int32(i + 1))}
		return nil
	})
	if err := firstError(ctx, errs); err != nil {
		return "", err
	}
	out, err := s.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(dstBucket),
		Key:             aws.String(dstKey),
		UploadId:        created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return "", fmt.Errorf("complete multipart upload: %w", err)
	}
	return aws.ToString(out.VersionId), nil
}

// abort aborts a multipart upload even when ctx is cancelled: an open upload
// keeps its parts (and their cost) until it is aborted.
func (s *Client) abort(ctx context.Context, bucket, key string, uploadID *string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.S3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploadID,
	})
	if err != nil {
		return fmt.Errorf("abort multipart upload of %s/%s: %w", bucket, key, err)
	}
	return nil
}

// sha256 streams an object version and returns its hex SHA-256 and length.
func (s *Client) sha256(ctx context.Context, bucket, key, versionID string) (string, int64, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), VersionId: optional(versionID),
	})
	if err != nil {
		return "", 0, err
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// maxCopyErrors is how many failed copies CopyAll's error names; it says
// how many more there were. The error becomes a Step Functions error cause,
// which must stay far below 256 KiB whatever the number of files.
const maxCopyErrors = 10

// CopyAll copies every job as CopyVersion does, at most concurrency at a time, and
// returns the staged files in the order of jobs. Failures do not stop the
// other copies, so the error names the first failed files in job order and
// counts the rest (egress.JoinBounded; egress.ErrorCode finds ENOTFOUND in
// it). No new copy starts once ctx is done. On error the files are not
// returned.
func (s *Client) CopyAll(ctx context.Context, jobs []egress.CopyJob, concurrency int) ([]egress.File, error) {
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		dst := j.DstBucket + "/" + j.DstKey
		if seen[dst] {
			return nil, egress.Errorf(egress.EINVALID, "two files would be copied to %s", dst)
		}
		seen[dst] = true
	}
	files := make([]egress.File, len(jobs))
	errs := forEach(ctx, len(jobs), concurrency, func(i int) error {
		j := jobs[i]
		c, err := s.copy(ctx, j)
		if err != nil {
			return err
		}
		files[i] = egress.File{Path: j.Path, SourceKey: j.Source.Key, VersionID: j.Source.VersionID, StagedVersionID: c.VersionID, Size: c.Size, SHA256: c.SHA256}
		return nil
	})
	if err := egress.JoinBounded(maxCopyErrors, append([]error{ctx.Err()}, errs...)...); err != nil {
		return nil, err
	}
	return files, nil
}

// forEach calls fn(i) for every i in [0, n), at most limit at a time, and
// returns their errors by index. Once ctx is done no new call starts; the
// errors of calls that never started are nil, so check ctx.Err too.
func forEach(ctx context.Context, n, limit int, fn func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errs
}

// firstError returns the first of errs that is not a cancellation (which
// the failure of another call causes), else the first error, else ctx's
// error if it stopped forEach before every call ran.
func firstError(ctx context.Context, errs []error) error {
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			canceled = cmp.Or(canceled, err)
		default:
			return err
		}
	}
	return cmp.Or(canceled, ctx.Err())
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
