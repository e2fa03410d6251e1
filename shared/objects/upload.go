package objects

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// partWriter is an io.Writer that uploads what is written to it as the parts
// of a multipart upload. It holds two part buffers, one filling while the
// other uploads, so memory stays at two parts whatever the total size.
type partWriter struct {
	ctx      context.Context
	s3       S3
	bucket   string
	key      string
	uploadID *string
	partSize int64

	buf     []byte          // the part being filled; cap is its size
	spare   []byte          // the part uploading, or a free buffer
	pending chan partResult // result of the upload in flight, nil if none
	started int             // parts handed to upload
	parts   []types.CompletedPart
	size    int64 // bytes written
	err     error // first error; every later call returns it
}

type partResult struct {
	part types.CompletedPart
	err  error
}

// partLen returns the size of part n (1-based). Parts grow by the base size
// every 1,000 parts: 10,000 parts of one size would cap a zip at 160 GB with
// 16 MiB parts, growing ones reach 880 GB while small zips keep small parts.
func (w *partWriter) partLen(n int) int64 {
	return w.partSize * int64(1+(n-1)/1000)
}

func (w *partWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.err != nil {
			return written, w.err
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, w.partLen(w.started+1))
		}
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
		w.size += int64(n)
		if len(w.buf) == cap(w.buf) {
			w.flush()
		}
	}
	return written, w.err
}

// flush starts uploading the filled buffer once the previous upload is done.
func (w *partWriter) flush() {
	w.wait()
	if w.err != nil {
		return
	}
	number := w.started + 1
	if number > maxParts {
		w.err = fmt.Errorf("upload %s: more than %d parts", w.key, maxParts)
		return
	}
	body := w.buf
	w.buf = nil
	if next := w.partLen(number + 1); int64(cap(w.spare)) == next {
		w.buf = w.spare[:0]
	}
	w.spare = body
	w.started = number
	w.pending = make(chan partResult, 1)
	go func() { w.pending <- w.upload(int32(number), body) }()
}

func (w *partWriter) upload(number int32, body []byte) partResult {
	out, err := w.s3.UploadPart(w.ctx, &s3.UploadPartInput{
		Bucket:            aws.String(w.bucket),
		Key:               aws.String(w.key),
		UploadId:          w.uploadID,
		PartNumber:        aws.Int32(number),
		Body:              bytes.NewReader(body),
		ContentLength:     aws.Int64(int64(len(body))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return partResult{err: fmt.Errorf("upload part %d: %w", number, err)}
	}
	return partResult{part: types.CompletedPart{PartNumber: aws.Int32(number), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}}
}

// wait waits for the upload in flight, if any, and records its result.
func (w *partWriter) wait() {
	if w.pending == nil {
		return
	}
	r := <-w.pending
	w.pending = nil
	if r.err != nil && w.err == nil {
		w.err = r.err
	}
	if r.err == nil {
		w.parts = append(w.parts, r.part)
	}
}

// finish uploads the last part and returns every part, in order. An empty
// stream still uploads one (empty) part, as S3 needs at least one.
func (w *partWriter) finish() ([]types.CompletedPart, error) {
	if w.err == nil && (len(w.buf) > 0 || w.started == 0) {
		w.flush()
	}
	w.wait()
	return w.parts, w.err
}

// stop waits for the upload in flight so no goroutine outlives the writer.
func (w *partWriter) stop() { w.wait() }

// resume starts the writer where a checkpoint left it: parts uploaded,
// pending bytes of the next part not yet uploaded, and size bytes written
// in all.
func (w *partWriter) resume(parts []types.CompletedPart, pending []byte, size int64) {
	w.parts = parts
	w.started = len(parts)
	w.size = size
	if len(pending) > 0 {
		w.buf = make([]byte, len(pending), max(w.partLen(w.started+1), int64(len(pending))))
		copy(w.buf, pending)
	}
}

// pause waits for the upload in flight and returns the parts uploaded and
// the bytes written since, which are not: a checkpoint keeps both.
func (w *partWriter) pause() ([]types.CompletedPart, []byte, error) {
	w.wait()
	return w.parts, w.buf, w.err
}
