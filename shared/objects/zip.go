package objects

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/shared/egress"
)

// Reading ahead hides the per-object latency of S3 (tens of milliseconds)
// that would otherwise dominate zips of many small files.
const (
	readAheadObjects = 16      // objects fetched ahead of the one being zipped
	readAheadMax     = 1 << 20 // only objects up to this size are read ahead
)

// zipManifest is the content of manifest.json.
type zipManifest = egress.ZipManifest

// storedExts are extensions of already-compressed formats, which are stored
// rather than deflated: deflate would spend time for no gain.
var storedExts = map[string]bool{
	".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".7z": true, ".zst": true,
	".lz4": true, ".rar": true, ".jar": true, ".whl": true,
	".docx": true, ".xlsx": true, ".pptx": true, ".odt": true, ".ods": true, ".pdf": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".heic": true,
	".mp3": true, ".m4a": true, ".ogg": true, ".flac": true,
	".mp4": true, ".m4v": true, ".mov": true, ".mkv": true, ".avi": true, ".webm": true,
	".parquet": true, ".orc": true, ".bam": true, ".cram": true,
}

// Method returns the zip compression method for a file path: zip.Store for
// already-compressed formats (by extension), zip.Deflate otherwise.
func Method(p string) uint16 {
	if storedExts[strings.ToLower(path.Ext(p))] {
		return zip.Store
	}
	return zip.Deflate
}

// WriteZip streams the entries, one after another, into a zip written to
// dstBucket/dstKey with a multipart upload, in one call: WriteZipJob
// without a checkpoint.
func (s *Client) WriteZip(ctx context.Context, dstBucket, dstKey string, entries []egress.ZipEntry, leftOut ...egress.LeftOut) (egress.ZipResult, error) {
	res, _, err := s.WriteZipJob(ctx, egress.ZipJob{Bucket: dstBucket, Key: dstKey, Entries: entries, LeftOut: leftOut})
	return res, err
}

// WriteZipJob streams the job's entries, one after another, into a zip
// written to job.Bucket/job.Key with a multipart upload, without local
// disk and in bounded memory (two upload parts, the blocks being deflated,
// and up to 16 MiB of small files read ahead). It ends the zip with
// SHA256SUMS (sha256sum format) and manifest.json. Each entry's SHA-256 is
// checked against egress.ZipEntry.SHA256 when given (a mismatch is
// egress.ECONFLICT; a missing object egress.ENOTFOUND). manifest.json also
// lists job.LeftOut, the submitted files the reviewers rejected.
//
// Without a checkpoint the whole zip is written in this call, and on any
// error, including ctx's, the upload is aborted: a zip is only ever
// visible complete. With one (job.CheckpointKey), a call past job.Stop
// stops at the next block, saves where the zip stands there and returns
// done false; the next call with the same job resumes from it, and writes
// the same bytes as one call would have. A failed call leaves the
// checkpoint and the upload for a retry, which resumes from the last
// saved checkpoint; the caller removes both when it gives up (the upload
// lives under job.Key, the checkpoint at job.CheckpointKey).
func (s *Client) WriteZipJob(ctx context.Context, job egress.ZipJob) (res egress.ZipResult, done bool, err error) {
	seen := make(map[string]bool, len(job.Entries))
	for _, e := range job.Entries {
		if err := egress.CheckZipPath(e.Path); err != nil {
			return egress.ZipResult{}, false, err
		}
		if seen[e.Path] {
			return egress.ZipResult{}, false, egress.Errorf(egress.EINVALID, "path %q appears twice in the zip", e.Path)
		}
		seen[e.Path] = true
	}
	where := fmt.Sprintf("zip %s/%s", job.Bucket, job.Key)
	resumable := job.CheckpointKey != "" && s.ScratchDir == ""
	z := &zipStream{blockSize: s.zipBlockSize()}
	var ck *zipCheckpoint
	if resumable {
		ck, err = s.loadZipCheckpoint(ctx, job, z)
		if err != nil {
			return egress.ZipResult{}, false, fmt.Errorf("%s: %w", where, err)
		}
	}
	if ck == nil {
		created, err := s.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket:            aws.String(job.Bucket),
			Key:               aws.String(job.Key),
			ContentType:       aws.String("application/zip"),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return egress.ZipResult{}, false, fmt.Errorf("%s: create multipart upload: %w", where, err)
		}
		ck = newZipCheckpoint(job, z, aws.ToString(created.UploadId), cmp.Or(job.Modified, time.Now()).UTC())
		if resumable {
			// Saved at once, so that a retry of a call that fails before
			// its first stop carries on with this upload.
			if err := s.saveZipCheckpoint(ctx, job, ck, z, nil, nil); err != nil {
				return egress.ZipResult{}, false, errors.Join(fmt.Errorf("%s: %w", where, err), s.abort(ctx, job.Bucket, job.Key, created.UploadId))
			}
		}
	}
	uploadID := aws.String(ck.UploadID)
	w := &partWriter{ctx: ctx, s3: s.S3, bucket: job.Bucket, key: job.Key, uploadID: uploadID, partSize: s.zipPartSize()}
	w.resume(ck.completedParts(), ck.pending, z.size)
	ck.pending = nil
	defer func() {
		if err == nil {
			return
		}
		w.stop()
		switch {
		case !resumable:
			err = errors.Join(err, s.abort(ctx, job.Bucket, job.Key, uploadID))
		case egress.ErrorCode(err) != egress.EINTERNAL:
			// What the data says (a file missing or not what the manifest
			// says) no retry changes: the upload goes now, and its
			// checkpoint with it, as without one.
			err = errors.Join(err, s.abort(ctx, job.Bucket, job.Key, uploadID), s.dropZipCheckpoint(ctx, job))
		}
	}()

	var stop func() bool
	if resumable && !job.Stop.IsZero() {
		stop = func() bool { return time.Now().After(job.Stop) }
	}
	files, finished, err := s.zipVia(ctx, w, z, job, ck.Modified, stop)
	if err != nil {
		return egress.ZipResult{}, false, fmt.Errorf("%s: %w", where, err)
	}
	if !finished {
		parts, pending, err := w.pause()
		if err != nil {
			return egress.ZipResult{}, false, fmt.Errorf("%s: %w", where, err)
		}
		if err := s.saveZipCheckpoint(ctx, job, ck, z, parts, pending); err != nil {
			return egress.ZipResult{}, false, fmt.Errorf("%s: %w", where, err)
		}
		return egress.ZipResult{Bucket: job.Bucket, Key: job.Key, Size: w.size, Entries: files}, false, nil
	}
	parts, err := w.finish()
	if err != nil {
		return egress.ZipResult{}, false, fmt.Errorf("%s: %w", where, err)
	}
	out, err := s.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(job.Bucket),
		Key:             aws.String(job.Key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return egress.ZipResult{}, false, fmt.Errorf("%s: complete multipart upload: %w", where, err)
	}
	if resumable {
		// At once, so that a retry of a call that dies now writes the
		// zip afresh rather than resuming an upload that is complete. A
		// failure is left for the caller's clean-up of the prefix.
		_ = s.dropZipCheckpoint(ctx, job)
	}
	return egress.ZipResult{Bucket: job.Bucket, Key: job.Key, VersionID: aws.ToString(out.VersionId), Size: w.size, Entries: files}, true, nil
}

// zipBlockSize is the size of the blocks entries are deflated in.
func (s *Client) zipBlockSize() int {
	if s.ZipBlockSize > 0 {
		return s.ZipBlockSize
	}
	return DefaultZipBlockSize
}

// zipVia writes the zip to w: straight through, or, with a ScratchDir (the
// efs_mount_path deployment option), whole into a file of its own
// directory that is removed afterwards, so concurrent releases never share
// one, before uploading it. It returns the entries written so far and
// whether the zip is complete.
func (s *Client) zipVia(ctx context.Context, w io.Writer, z *zipStream, job egress.ZipJob, modified time.Time, stop func() bool) ([]egress.File, bool, error) {
	if s.ScratchDir == "" {
		z.out = w
		return s.zipEntries(ctx, z, job, modified, stop)
	}
	dir, err := os.MkdirTemp(s.ScratchDir, "egress-zip-")
	if err != nil {
		return nil, false, fmt.Errorf("scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "egress_data.zip"))
	if err != nil {
		return nil, false, fmt.Errorf("scratch file: %w", err)
	}
	defer f.Close()
	z.out = f
	files, _, err := s.zipEntries(ctx, z, job, modified, nil)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("scratch file: %w", err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return nil, false, fmt.Errorf("upload scratch file: %w", err)
	}
	return files, true, nil
}

// zipEntries writes the entries from z.next on and, once they are all
// written, SHA256SUMS, manifest.json and the directory.
func (s *Client) zipEntries(ctx context.Context, z *zipStream, job egress.ZipJob, modified time.Time, stop func() bool) ([]egress.File, bool, error) {
	finished, err := s.zipRun(ctx, z, job.Entries, stop)
	files := make([]egress.File, len(z.sums))
	for i, sum := range z.sums {
		e := job.Entries[i]
		files[i] = egress.File{
			Path:      e.Path,
			SourceKey: cmp.Or(e.SourceKey, e.Key),
			VersionID: cmp.Or(e.SourceVersionID, e.VersionID),
			Size:      z.files[i].USize,
			SHA256:    sum,
		}
	}
	if err != nil || !finished {
		return files, false, err
	}
	var sums bytes.Buffer
	for _, f := range files {
		sums.WriteString(sumsLine(f.SHA256, f.Path))
	}
	manifest, err := json.MarshalIndent(zipManifest{Files: files, LeftOut: job.LeftOut}, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if _, err := z.zipWhole(egress.ZipSumsName, modified, sums.Bytes()); err != nil {
		return nil, false, fmt.Errorf("%s: %w", egress.ZipSumsName, err)
	}
	if _, err := z.zipWhole(egress.ZipManifestName, modified, manifest); err != nil {
		return nil, false, fmt.Errorf("%s: %w", egress.ZipManifestName, err)
	}
	if err := z.finish(); err != nil {
		return nil, false, err
	}
	return files, true, nil
}

// sumsLine formats one line of sha256sum output; like sha256sum it marks
// and escapes names with a newline (backslashes are refused by egress.CheckZipPath).
func sumsLine(sum, name string) string {
	if !strings.ContainsAny(name, "\n\r") {
		return sum + "  " + name + "\n"
	}
	name = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(name)
	return `\` + sum + "  " + name + "\n"
}

// object is an entry's content, read ahead or opened at its turn.
type object struct {
	body     io.ReadCloser // nil when too big to read ahead: open at its turn
	size     int64
	modified time.Time
	err      error
}

// open GETs an entry's object for streaming.
func (s *Client) open(ctx context.Context, e egress.ZipEntry) object {
	out, err := s.get(ctx, e)
	if err != nil {
		return object{err: err}
	}
	if out.ContentLength == nil {
		out.Body.Close()
		return object{err: fmt.Errorf("GET %s without a length", e.Key)}
	}
	return object{body: out.Body, size: *out.ContentLength, modified: aws.ToTime(out.LastModified)}
}

// fetchSmall reads an object whole if it is small. A bigger one is closed
// unread and left for open at its turn, so no connection idles meanwhile.
func (s *Client) fetchSmall(ctx context.Context, e egress.ZipEntry) object {
	out, err := s.get(ctx, e)
	if err != nil {
		return object{err: err}
	}
	defer out.Body.Close()
	n := out.ContentLength
	if n == nil || *n > readAheadMax {
		return object{}
	}
	b := make([]byte, *n)
	if _, err := io.ReadFull(out.Body, b); err != nil {
		return object{err: fmt.Errorf("read %s: %w", e.Key, err)}
	}
	return object{body: io.NopCloser(bytes.NewReader(b)), size: *n, modified: aws.ToTime(out.LastModified)}
}

func (s *Client) get(ctx context.Context, e egress.ZipEntry) (*s3.GetObjectOutput, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(e.Bucket), Key: aws.String(e.Key), VersionId: optional(e.VersionID),
	})
	if err != nil && isNotFound(err) {
		return nil, notFound(e.Bucket, e.Key, e.VersionID)
	}
	return out, err
}

// readAhead fetches entries in order, at most readAheadObjects ahead of the
// one taken with next.
type readAhead struct {
	results []chan object
	window  chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func (s *Client) startReadAhead(ctx context.Context, entries []egress.ZipEntry) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	ra := &readAhead{
		results: make([]chan object, len(entries)),
		window:  make(chan struct{}, readAheadObjects),
		cancel:  cancel,
	}
	for i := range ra.results {
		ra.results[i] = make(chan object, 1)
	}
	ra.wg.Go(func() {
		for i, e := range entries {
			select {
			case ra.window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			ra.wg.Go(func() { ra.results[i] <- s.fetchSmall(ctx, e) })
		}
	})
	return ra
}

// next returns entry i; entries must be taken in order.
func (ra *readAhead) next(ctx context.Context, i int) object {
	select {
	case obj := <-ra.results[i]:
		<-ra.window
		return obj
	case <-ctx.Done():
		return object{err: ctx.Err()}
	}
}

// stop cancels the reads ahead and waits for them.
func (ra *readAhead) stop() {
	ra.cancel()
	ra.wg.Wait()
}
