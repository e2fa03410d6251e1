package objects

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/flate"

	"github.com/tre-egress/egress/shared/egress"
)

// DefaultZipBlockSize is the size of the blocks an entry is cut into:
// each is deflated on its own, side by side with the others, and the
// compressed blocks joined into one deflate stream (as pigz does): every
// block but an entry's last ends with an empty stored block (a sync
// flush), the last is final. A mebibyte costs well under 0.1% of
// compression against one stream, and is where a release split over
// several invocations may stop within an entry. The size is part of the
// zip's bytes: a release resumed from a checkpoint must use the one it
// started with.
const DefaultZipBlockSize = 1 << 20

// zipBlock is one block of an entry on its way through the pipeline:
// read in order, hashed in order, deflated side by side, written in order.
type zipBlock struct {
	entry       int
	first, last bool
	buf         *zipBuf
	n           int        // bytes of buf.raw in use
	modified    time.Time  // the object's, on an entry's first block
	resume      *zipResume // on the first block read of an entry resumed mid-way
	err         error      // reading failed; the block carries nothing else

	hashed     chan struct{} // closed once crc, sum and state are set
	compressed chan struct{} // closed once buf.comp holds the block's deflate output
	crc        uint32        // the entry's CRC32 up to the block's end
	sum        string        // the entry's SHA-256, on its last block
	state      []byte        // the entry's SHA-256 state after the block, on other blocks
}

// zipBuf is a block's memory, reused: the pipeline owns a fixed number of
// them, which bounds its memory whatever the sizes of the entries.
type zipBuf struct {
	raw  []byte
	comp bytes.Buffer
}

// zipResume is where an entry cut by a checkpoint stands.
type zipResume struct {
	File  zipFile // local header offset; sizes and CRC32 so far
	State []byte  // SHA-256 state (encoding.BinaryMarshaler) so far
}

// zipStream writes a zip to out, tracking what its directory needs.
type zipStream struct {
	out       io.Writer
	size      int64 // bytes written to out, from the zip's start
	files     []zipFile
	sums      []string   // each file's SHA-256, hex
	next      int        // the next entry to write (cur's when cur is set)
	cur       *zipResume // the entry cut mid-way by the last stop
	blockSize int
	scratch   []byte
}

func (z *zipStream) write(p []byte) error {
	n, err := z.out.Write(p)
	z.size += int64(n)
	return err
}

// zipWorkers is how many blocks are deflated at once.
func zipWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

// run writes entries from z.next on, block after block, until every entry
// is written (true) or stop, asked after each block (at least one is
// written per call), says to stop (false): z then records where the
// next call resumes. Each entry's SHA-256 is checked against the one
// expected; reading, hashing and deflating run on goroutines of their
// own, so the writer only copies.
func (s *Client) zipRun(ctx context.Context, z *zipStream, entries []egress.ZipEntry, stop func() bool) (bool, error) {
	if z.next >= len(entries) {
		return true, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := zipWorkers()
	slots := 2*workers + 2
	free := make(chan *zipBuf, slots)
	for range slots {
		free <- &zipBuf{raw: make([]byte, z.blockSize)}
	}
	order := make(chan *zipBlock, slots)
	hashq := make(chan *zipBlock, slots)
	work := make(chan *zipBlock, slots)
	var wg sync.WaitGroup
	wg.Go(func() { s.zipRead(ctx, z, entries, free, order, hashq, work) })
	wg.Go(func() { zipHash(hashq) })
	for range workers {
		wg.Go(func() { zipDeflate(work) })
	}
	defer wg.Wait()

	var (
		err     error
		done    bool
		written int
		hdr     zipFile // the entry being written
		sha     string
	)
	for b := range order {
		<-b.hashed
		<-b.compressed
		if err == nil && !done {
			err = b.err
			if err == nil {
				err = z.writeBlock(b, entries[b.entry], &hdr, &sha)
			}
			if err == nil {
				written++
				switch {
				case b.last && b.entry == len(entries)-1:
					done = true
				case stop != nil && stop():
					// Stop here: the blocks read ahead are dropped.
					done = true
					if b.last {
						z.next, z.cur = b.entry+1, nil
					} else {
						z.next, z.cur = b.entry, &zipResume{File: hdr, State: b.state}
					}
				}
			}
			if err != nil || done {
				cancel()
			}
		}
		if b.buf != nil {
			free <- b.buf
		}
	}
	if err == nil && !done {
		// The reader stopped without a block saying why: ctx ended.
		err = fmt.Errorf("zip: %w", context.Cause(ctx))
	}
	if err != nil {
		return false, err
	}
	return z.next >= len(entries), nil
}

// writeBlock writes block b of entry e: its local header first, its data
// descriptor last, when it has them.
func (z *zipStream) writeBlock(b *zipBlock, e egress.ZipEntry, hdr *zipFile, sha *string) error {
	if b.first {
		*hdr = zipFile{Name: e.Path, Method: Method(e.Path), Modified: b.modified, Offset: z.size}
		z.scratch = appendLocalHeader(z.scratch[:0], *hdr)
		if err := z.write(z.scratch); err != nil {
			return fmt.Errorf("entry %q: %w", e.Path, err)
		}
	} else if b.resume != nil {
		*hdr = b.resume.File
	}
	data := b.buf.raw[:b.n]
	if hdr.Method == zip.Deflate {
		data = b.buf.comp.Bytes()
	}
	if err := z.write(data); err != nil {
		return fmt.Errorf("entry %q: %w", e.Path, err)
	}
	hdr.CSize += int64(len(data))
	hdr.USize += int64(b.n)
	hdr.CRC32 = b.crc
	if !b.last {
		return nil
	}
	if e.SHA256 != "" && !strings.EqualFold(b.sum, e.SHA256) {
		return egress.Errorf(egress.ECONFLICT, "entry %q: SHA-256 is %s, the staging manifest says %s", e.Path, b.sum, e.SHA256)
	}
	if e.SHA256 != "" && hdr.USize != e.Size {
		return egress.Errorf(egress.ECONFLICT, "entry %q: %d bytes, the staging manifest says %d", e.Path, hdr.USize, e.Size)
	}
	z.scratch = appendDataDescriptor(z.scratch[:0], *hdr)
	if err := z.write(z.scratch); err != nil {
		return fmt.Errorf("entry %q: %w", e.Path, err)
	}
	z.files = append(z.files, *hdr)
	z.sums = append(z.sums, b.sum)
	z.next, z.cur = b.entry+1, nil
	return nil
}

// zipRead reads the entries from z.next on into blocks and hands each to
// the writer (order), the hasher and, for deflated entries, the workers.
// It closes the three queues when done, failed or cancelled.
func (s *Client) zipRead(ctx context.Context, z *zipStream, entries []egress.ZipEntry, free chan *zipBuf, order, hashq, work chan *zipBlock) {
	defer close(work)
	defer close(hashq)
	defer close(order)
	// Every block goes to the three queues without a cancellation check
	// in between, so that the writer, draining order, never waits for a
	// block nobody will hash or deflate. The queues hold as many blocks
	// as there are buffers, so these sends never block.
	send := func(b *zipBlock) {
		deflate := Method(entries[b.entry].Path) == zip.Deflate
		order <- b
		hashq <- b
		if deflate {
			work <- b
		} else {
			close(b.compressed)
		}
	}
	fail := func(i int, err error) {
		b := &zipBlock{entry: i, err: err, hashed: make(chan struct{}), compressed: make(chan struct{})}
		order <- b
		hashq <- b
		close(b.compressed)
	}
	start := z.next
	ra := s.startReadAhead(ctx, entries[start:])
	defer ra.stop()
	for i := start; i < len(entries); i++ {
		e := entries[i]
		var (
			obj    object
			off    int64
			resume *zipResume
		)
		if i == start && z.cur != nil {
			resume, off = z.cur, z.cur.File.USize
			obj = s.openFrom(ctx, e, off)
			obj.modified = resume.File.Modified
			if o := ra.next(ctx, 0); o.body != nil { // its read-ahead, unused
				o.body.Close()
			}
		} else {
			obj = ra.next(ctx, i-start)
			if obj.err == nil && obj.body == nil {
				obj = s.open(ctx, e)
			}
		}
		if obj.err != nil {
			fail(i, fmt.Errorf("entry %q: %w", e.Path, obj.err))
			return
		}
		for first := resume == nil; ; first = false {
			var buf *zipBuf
			select {
			case buf = <-free:
			case <-ctx.Done():
				obj.body.Close()
				return
			}
			want := min(int64(z.blockSize), obj.size-off)
			n, err := io.ReadFull(obj.body, buf.raw[:want])
			if err != nil {
				free <- buf
				obj.body.Close()
				fail(i, fmt.Errorf("entry %q (%s version %s): %w", e.Path, e.Key, versionLabel(e.VersionID), err))
				return
			}
			off += int64(n)
			b := &zipBlock{entry: i, first: first, last: off == obj.size, buf: buf, n: n,
				hashed: make(chan struct{}), compressed: make(chan struct{})}
			if first {
				b.modified = obj.modified
			}
			if resume != nil {
				b.resume, resume = resume, nil
			}
			send(b)
			if b.last {
				break
			}
		}
		obj.body.Close()
	}
}

// zipHash computes each entry's CRC32 and SHA-256 in order, off the
// writer's and the workers' way.
func zipHash(q chan *zipBlock) {
	h := sha256.New()
	var crc uint32
	for b := range q {
		if b.err == nil {
			switch {
			case b.first:
				h.Reset()
				crc = 0
			case b.resume != nil:
				h = sha256.New()
				if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b.resume.State); err != nil {
					b.err = fmt.Errorf("resume SHA-256: %w", err)
				}
				crc = b.resume.File.CRC32
			}
			data := b.buf.raw[:b.n]
			h.Write(data)
			crc = crc32.Update(crc, crc32.IEEETable, data)
			b.crc = crc
			if b.last {
				b.sum = hex.EncodeToString(h.Sum(nil))
			} else {
				b.state, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
			}
		}
		close(b.hashed)
	}
}

// zipDeflate deflates blocks, each on its own: a sync flush ends every
// block but an entry's last, which ends the stream.
func zipDeflate(q chan *zipBlock) {
	var fw *flate.Writer
	for b := range q {
		b.buf.comp.Reset()
		if fw == nil {
			fw, _ = flate.NewWriter(&b.buf.comp, flate.BestSpeed)
		} else {
			fw.Reset(&b.buf.comp)
		}
		// Writes to a bytes.Buffer do not fail.
		fw.Write(b.buf.raw[:b.n])
		if b.last {
			fw.Close()
		} else {
			fw.Flush()
		}
		close(b.compressed)
	}
}

// zipWhole writes a small file held in memory (SHA256SUMS, manifest.json)
// as one entry of one deflate stream.
func (z *zipStream) zipWhole(name string, modified time.Time, data []byte) (string, error) {
	f := zipFile{Name: name, Method: Method(name), Modified: modified, Offset: z.size, USize: int64(len(data)), CRC32: crc32.ChecksumIEEE(data)}
	body := data
	if f.Method == zip.Deflate {
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
		fw.Write(data)
		fw.Close()
		body = buf.Bytes()
	}
	f.CSize = int64(len(body))
	z.scratch = appendLocalHeader(z.scratch[:0], f)
	if err := z.write(z.scratch); err != nil {
		return "", err
	}
	if err := z.write(body); err != nil {
		return "", err
	}
	z.scratch = appendDataDescriptor(z.scratch[:0], f)
	if err := z.write(z.scratch); err != nil {
		return "", err
	}
	z.files = append(z.files, f)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// finish writes the central directory.
func (z *zipStream) finish() error {
	return z.write(appendDirectory(nil, z.files, z.size))
}

// openFrom GETs an entry's object from offset off on, for an entry
// resumed mid-way.
func (s *Client) openFrom(ctx context.Context, e egress.ZipEntry, off int64) object {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(e.Bucket), Key: aws.String(e.Key), VersionId: optional(e.VersionID),
		Range: aws.String(fmt.Sprintf("bytes=%d-", off)),
	})
	if err != nil {
		if isNotFound(err) {
			return object{err: notFound(e.Bucket, e.Key, e.VersionID)}
		}
		return object{err: err}
	}
	if out.ContentLength == nil {
		out.Body.Close()
		return object{err: errors.New("ranged GET without a length")}
	}
	return object{body: out.Body, size: off + *out.ContentLength, modified: aws.ToTime(out.LastModified)}
}
