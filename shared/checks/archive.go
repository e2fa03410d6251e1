package checks

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
)

// Bounds on listing an archive, whatever it holds.
const (
	ListedEntries     = 100     // entries named in findings; the rest are counted
	MaxArchiveEntries = 100_000 // listing stops there
	// MaxExpandedBytes bounds the decompressed bytes a tar.gz listing reads
	// (a tar's bodies are decompressed to reach the next header): a
	// decompression bomb stops there.
	MaxExpandedBytes = 10 << 30
	// MaxListBytes bounds the size of a tar or gzip that is listed, which
	// reads it whole: larger ones get a warning instead.
	MaxListBytes = 4 << 30
	// maxZipDirectoryBytes bounds the ranged reads of a zip's central
	// directory (about 200,000 entries).
	maxZipDirectoryBytes = 16 << 20
	maxBlockedEntries    = 20 // warnings on entries with blocked extensions
)

// expandedLimit is MaxExpandedBytes; tests lower it.
var expandedLimit int64 = MaxExpandedBytes

func kindName(kind, ext string) string {
	switch kind {
	case kindGzip:
		if ext == ".tgz" {
			return "tar.gz"
		}
		return "gzip"
	case kindOther:
		return "compressed"
	}
	return kind
}

// lister collects an archive's entries into bounded findings.
type lister struct {
	c          *Checker
	path, kind string
	shown      []string
	count      int
	blocked    []egress.Finding
	stopped    string // why listing stopped early
}

func (l *lister) add(name string, size int64) {
	l.count++
	if l.count <= ListedEntries {
		l.shown = append(l.shown, fmt.Sprintf("%q (%s)", name, human(size)))
	}
	if msg := l.c.extensionRefused(Ext(name)); msg != "" {
		l.blocked = append(l.blocked, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
			Message: fmt.Sprintf("%s holds %q, whose %s", l.path, name, msg)})
	}
}

// findings packs the entries into as few INFO findings as fit the message
// bound, then the warnings on blocked entries.
func (l *lister) findings() []egress.Finding {
	var out []egress.Finding
	msg := fmt.Sprintf("%s is a %s archive of %d entries", l.path, l.kind, l.count)
	if l.stopped != "" {
		msg = fmt.Sprintf("%s is a %s archive; listing stopped after %d entries: %s", l.path, l.kind, l.count, l.stopped)
	}
	if len(l.shown) > 0 {
		msg += ": "
	}
	sep := ""
	for _, e := range l.shown {
		if len(msg)+len(sep)+len(e) > egress.MaxFindingMessage && sep != "" {
			out = append(out, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityInfo, Message: msg})
			msg, sep = l.path+" entries, continued: ", ""
		}
		msg += sep + e
		sep = "; "
	}
	out = append(out, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityInfo, Message: msg})
	if more := l.count - len(l.shown); more > 0 {
		out = append(out, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityInfo,
			Message: fmt.Sprintf("%s: and %d more entries", l.path, more)})
	}
	if len(l.blocked) > maxBlockedEntries {
		n := len(l.blocked) - (maxBlockedEntries - 1)
		l.blocked = append(l.blocked[:maxBlockedEntries-1], egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
			Message: fmt.Sprintf("%s holds %d more entries with refused extensions", l.path, n)})
	}
	return append(out, l.blocked...)
}

var errExpanded = errors.New("decompressed size limit reached")

// expandLimit fails once more than n bytes were read.
type expandLimit struct {
	r io.Reader
	n int64
}

func (e *expandLimit) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errExpanded
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	return n, err
}

// listStream lists a tar, a tar.gz or a gzip from r, reading headers only:
// tar bodies are skipped (decompressed and discarded for a tar.gz), and
// listing stops at MaxArchiveEntries or MaxExpandedBytes. The caller
// drains what is left of r.
func (c *Checker) listStream(p, kind string, r io.Reader) []egress.Finding {
	l := &lister{c: c, path: p, kind: kind}
	if kind == kindGzip {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return []egress.Finding{{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
				Message: fmt.Sprintf("%s could not be read as gzip: %v", p, err)}}
		}
		br := bufio.NewReaderSize(&expandLimit{r: zr, n: expandedLimit}, headBytes)
		inner, _ := br.Peek(headBytes) // short for a small file: fine
		if m := sniff(inner); !m.Is("application/x-tar") {
			f := egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityInfo,
				Message: fmt.Sprintf("%s is gzip-compressed %s, original name %q; only archives are listed", p, m.String(), zr.Name)}
			if isExecutable(m) {
				f.Severity = egress.SeverityWarning
				f.Message = fmt.Sprintf("%s is a gzip-compressed executable (%s), original name %q", p, m.String(), zr.Name)
			}
			return []egress.Finding{f}
		}
		l.kind, r = "tar.gz", br
	}
	tr := tar.NewReader(r)
	for l.count < MaxArchiveEntries {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errExpanded) {
			l.stopped = fmt.Sprintf("more than %s decompressed (a decompression bomb?)", human(expandedLimit))
			break
		}
		if err != nil {
			l.stopped = fmt.Sprintf("the archive is damaged: %v", err)
			break
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		l.add(h.Name, h.Size)
	}
	if l.count >= MaxArchiveEntries {
		l.stopped = fmt.Sprintf("at most %d entries are listed", MaxArchiveEntries)
	}
	return l.findings()
}

// listZip lists a zip from its central directory, read by ranges.
func (c *Checker) listZip(ctx context.Context, f egress.File, obj egress.ObjectVersion) ([]egress.Finding, error) {
	ra := &rangeReaderAt{ctx: ctx, objs: c.Objects, obj: obj, size: f.Size, limit: maxZipDirectoryBytes}
	zr, err := zip.NewReader(ra, f.Size)
	if ra.err != nil {
		return nil, fmt.Errorf("reading the zip directory: %w", ra.err)
	}
	if err != nil {
		why := err.Error()
		if errors.Is(err, errExpanded) {
			why = fmt.Sprintf("its directory is larger than %s", human(maxZipDirectoryBytes))
		}
		return []egress.Finding{{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
			Message: fmt.Sprintf("%s could not be listed as a zip archive: %s", f.Path, why)}}, nil
	}
	l := &lister{c: c, path: f.Path, kind: kindZip}
	for _, zf := range zr.File {
		if l.count >= MaxArchiveEntries {
			l.stopped = fmt.Sprintf("at most %d entries are listed", MaxArchiveEntries)
			break
		}
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		l.add(zf.Name, int64(zf.UncompressedSize64))
	}
	return l.findings(), nil
}

// rangeReaderAt reads an object by ranged reads of blockSize, keeping the
// last few blocks: archive/zip reads the end record, then the directory in
// small sequential pieces.
type rangeReaderAt struct {
	ctx         context.Context
	objs        Objects
	obj         egress.ObjectVersion
	size, limit int64
	fetched     int64
	blocks      []rangeBlock
	err         error // a storage error, returned as such rather than as a damaged zip
}

type rangeBlock struct {
	off  int64
	data []byte
}

const blockSize = 256 << 10

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= r.size {
			return n, io.EOF
		}
		b, err := r.block(at / blockSize * blockSize)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[at%blockSize:])
	}
	return n, nil
}

func (r *rangeReaderAt) block(off int64) ([]byte, error) {
	for _, b := range r.blocks {
		if b.off == off {
			return b.data, nil
		}
	}
	length := min(blockSize, r.size-off)
	if r.fetched+length > r.limit+blockSize { // the end record's block is not counted
		return nil, errExpanded
	}
	rc, err := r.objs.OpenRange(r.ctx, r.obj, off, length)
	if err != nil {
		r.err = err
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, length))
	if err == nil && int64(len(data)) < length {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	r.fetched += length
	if len(r.blocks) == 4 {
		r.blocks = r.blocks[1:]
	}
	r.blocks = append(r.blocks, rangeBlock{off, data})
	return data, nil
}
