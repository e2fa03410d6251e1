package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

// MaxACROBytes bounds the results.json files read as ACRO results.
const MaxACROBytes = 8 << 20

// ACROResultsName is the file ACRO/SACRO write beside the outputs.
const ACROResultsName = "results.json"

// compileSDC compiles the SDC settings; a variable so that tests of the
// checker do not depend on package sdc's findings.
var compileSDC = sdc.NewSettings

// Checker runs the automated checks on a request's staged files.
type Checker struct {
	Settings egress.CheckSettings // with defaults applied
	// Scanner is nil when no malware scanner is configured or available:
	// every file then carries a "not scanned" warning saying why.
	Scanner Scanner
	Objects Objects
	// NotScannedReason ends the "not scanned" warning when Scanner is nil
	// (the local stack says how to install clamd).
	NotScannedReason string

	tableCheck func(r io.Reader, comma rune) ([]egress.Finding, error) // sdc.Table with the compiled settings
	parseACRO  func(r io.Reader) ([]sdc.ACROOutput, error)
}

// New validates s (with its defaults) and returns a Checker using sc
// (nil for none) and objs.
func New(s egress.CheckSettings, sc Scanner, objs Objects) (*Checker, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("checks settings: %w", err)
	}
	set, err := compileSDC(s.SDC)
	if err != nil {
		return nil, fmt.Errorf("checks settings: sdc: %w", err)
	}
	reason := "no malware scanner is configured"
	if s.Malware.Engine == egress.EngineNone {
		reason += fmt.Sprintf(" (checks.malware.engine is %q)", egress.EngineNone)
	}
	return &Checker{Settings: s, Scanner: sc, Objects: objs, NotScannedReason: reason,
		tableCheck: func(r io.Reader, comma rune) ([]egress.Finding, error) { return sdc.Table(r, comma, set) },
		parseACRO:  sdc.ParseACRO,
	}, nil
}

// Ext is the extension the file policy judges: the lower-cased last
// extension of the path, so "a.tar.gz" is ".gz"; "" for none.
func Ext(p string) string { return strings.ToLower(path.Ext(p)) }

// Listing runs the checks that need only the manifest: the file count and
// total size (request findings) and each file's size and extension
// (perFile, by index in files). All its findings block.
func (c *Checker) Listing(files []egress.File) (request []egress.Finding, perFile map[int][]egress.Finding) {
	s := c.Settings
	if len(files) > s.MaxFiles {
		request = append(request, egress.Finding{Check: egress.CheckCount, Severity: egress.SeverityBlocking,
			Message: fmt.Sprintf("the request holds %d files; at most %d are allowed (checks.max_files)", len(files), s.MaxFiles)})
	}
	var total int64
	perFile = map[int][]egress.Finding{}
	add := func(i int, check, msg string) {
		perFile[i] = append(perFile[i], egress.Finding{Check: check, Severity: egress.SeverityBlocking, Message: msg})
	}
	for i, f := range files {
		total += f.Size
		if f.Size > s.MaxFileBytes {
			add(i, egress.CheckSize, fmt.Sprintf("%s is %s; the limit is %s per file (checks.max_file_bytes)",
				f.Path, human(f.Size), human(s.MaxFileBytes)))
		}
		if msg := c.extensionRefused(Ext(f.Path)); msg != "" {
			add(i, egress.CheckExtension, f.Path+": "+msg)
		}
	}
	if total > s.MaxTotalBytes {
		request = append(request, egress.Finding{Check: egress.CheckSize, Severity: egress.SeverityBlocking,
			Message: fmt.Sprintf("the request's %d files total %s; the limit is %s (checks.max_total_bytes)",
				len(files), human(total), human(s.MaxTotalBytes))})
	}
	for i, fs := range perFile {
		perFile[i] = egress.BoundFindings(fs)
	}
	return request, perFile
}

// extensionRefused says why the policy refuses ext, or "".
func (c *Checker) extensionRefused(ext string) string {
	name := fmt.Sprintf("extension %q", ext)
	if ext == "" {
		name = "a file without an extension"
	}
	if slices.Contains(c.Settings.BlockedExtensions, ext) {
		return name + " is blocked (checks.blocked_extensions)"
	}
	if a := c.Settings.AllowedExtensions; len(a) > 0 && !slices.Contains(a, ext) {
		return fmt.Sprintf("%s is not among the allowed extensions %s (checks.allowed_extensions)", name, strings.Join(a, " "))
	}
	return ""
}

// File checks one staged file, obj. It reads the object at most once, and
// only as much as the checks need: the first bytes for sniffing alone, the
// whole object, streamed to every reader at once, when the scanner, the
// SDC, the ACRO results or a tar listing need it. Two further reads: a zip
// is listed from its central directory by ranged reads of their own, and
// a tar or gzip under a name that does not say so, found by a head-only
// read, is read once more to be listed. Errors
// (storage, the scanner) are worth retrying; what the checks find in the
// file is in the result.
func (c *Checker) File(ctx context.Context, f egress.File, obj egress.ObjectVersion) (FileResult, error) {
	var fs []egress.Finding
	wrap := func(err error) error { return fmt.Errorf("checking %s: %w", f.Path, err) }
	s := c.Settings
	ext := Ext(f.Path)

	// The scanner that reads no body (GuardDuty) goes first: while it is
	// pending, nothing is read.
	scanBody := false
	switch {
	case c.Scanner == nil:
		fs = append(fs, egress.Finding{Check: egress.CheckMalware, Severity: egress.SeverityWarning,
			Message: fmt.Sprintf("%s was not scanned for malware: %s", f.Path, c.NotScannedReason)})
	case !c.Scanner.ReadsBody():
		v, err := c.Scanner.Scan(ctx, obj, f.Size, nil)
		if err != nil {
			return FileResult{}, wrap(fmt.Errorf("%s scan: %w", c.Scanner.Engine(), err))
		}
		if v.Pending {
			return FileResult{Pending: true}, nil
		}
		fs = append(fs, v.Findings...)
	case f.Size > s.Malware.MaxScanBytes:
		fs = append(fs, egress.Finding{Check: egress.CheckMalware, Severity: egress.SeverityWarning,
			Message: fmt.Sprintf("%s was not scanned by %s: it is %s, larger than %s (checks.malware.max_scan_bytes)",
				f.Path, c.Scanner.Engine(), human(f.Size), human(s.Malware.MaxScanBytes))})
	default:
		scanBody = true
	}

	comma := map[string]rune{".csv": ',', ".tsv": '\t'}[ext]
	table := comma != 0 && f.Size <= s.SDC.MaxBytes
	if comma != 0 && !table {
		fs = append(fs, egress.Finding{Check: egress.CheckSDC, Severity: egress.SeverityInfo,
			Message: fmt.Sprintf("%s was not analysed for disclosure risk: it is %s, larger than %s (checks.sdc.max_bytes)",
				f.Path, human(f.Size), human(s.SDC.MaxBytes))})
	}
	isACRO := strings.EqualFold(path.Base(f.Path), ACROResultsName)
	acro := isACRO && f.Size <= MaxACROBytes
	if isACRO && !acro {
		fs = append(fs, egress.Finding{Check: egress.CheckACRO, Severity: egress.SeverityInfo,
			Message: fmt.Sprintf("%s was not read as ACRO results: it is %s, larger than %s", f.Path, human(f.Size), human(MaxACROBytes))})
	}
	listStream := s.Archives == egress.ArchivesList && !containerExtensions[ext] && (ext == ".tar" || ext == ".gz" || ext == ".tgz") && f.Size <= MaxListBytes
	full := scanBody || table || acro || listStream

	// Read the head, and with it, when needed, open the whole object.
	var rc io.ReadCloser = io.NopCloser(strings.NewReader(""))
	if f.Size > 0 { // S3 refuses a range of an empty object
		length := int64(-1)
		if !full {
			length = min(f.Size, headBytes)
		}
		var err error
		if rc, err = c.Objects.OpenRange(ctx, obj, 0, length); err != nil {
			return FileResult{}, wrap(fmt.Errorf("reading: %w", err))
		}
	}
	defer rc.Close()
	head := make([]byte, min(f.Size, headBytes))
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return FileResult{}, wrap(fmt.Errorf("reading: %w", err))
	}
	head = head[:n]

	typeOK, kind, sniffed := true, "", ""
	if len(head) > 0 { // an empty file has no type to contradict its name
		m := sniff(head)
		sniffed = m.String()
		if tf := c.typeFinding(f.Path, ext, m); tf != nil {
			fs = append(fs, *tf)
			typeOK = false
		}
		kind = archiveKind(m, ext)
	}

	// What reads the stream.
	var res FileResult
	var consumers []consumer
	if scanBody {
		consumers = append(consumers, func(r io.Reader) ([]egress.Finding, error) {
			v, err := c.Scanner.Scan(ctx, obj, f.Size, r)
			if err != nil {
				return nil, fmt.Errorf("%s scan: %w", c.Scanner.Engine(), err)
			}
			if v.Pending { // an engine reading the body has its verdict at once; be safe
				res.Pending = true
			}
			return v.Findings, nil
		})
	}
	if table && typeOK {
		consumers = append(consumers, func(r io.Reader) ([]egress.Finding, error) {
			tfs, err := c.tableCheck(r, comma)
			if err != nil { // a malformed table; a read error is the feed's, returned instead
				return []egress.Finding{{Check: egress.CheckSDC, Severity: egress.SeverityWarning,
					Message: fmt.Sprintf("%s could not be analysed for disclosure risk: %v", f.Path, err)}}, nil
			}
			return tfs, nil
		})
	}
	if acro && typeOK {
		consumers = append(consumers, func(r io.Reader) ([]egress.Finding, error) {
			outs, err := c.parseACRO(r)
			if err != nil {
				return []egress.Finding{{Check: egress.CheckACRO, Severity: egress.SeverityWarning,
					Message: fmt.Sprintf("%s could not be read as ACRO results: %v", f.Path, err)}}, nil
			}
			res.ACRO = outs
			return nil, nil
		})
	}
	listed := false
	if kind != "" && typeOK {
		switch {
		case s.Archives == egress.ArchivesRefuse:
			fs = append(fs, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityBlocking,
				Message: fmt.Sprintf("%s is a %s archive; archives are refused inside a request (checks.archives is %q)", f.Path, kindName(kind, ext), s.Archives)})
		case kind == kindOther:
			fs = append(fs, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
				Message: fmt.Sprintf("%s is an archive or compressed file whose entries cannot be listed; reviewers see it unopened", f.Path)})
		case (kind == kindTar || kind == kindGzip) && f.Size > MaxListBytes:
			// Listing reads the whole stream: bounded, so one file never
			// outlasts the step's time.
			fs = append(fs, egress.Finding{Check: egress.CheckArchive, Severity: egress.SeverityWarning,
				Message: fmt.Sprintf("%s is a %s archive of %s, too large to list (over %s); reviewers see it unopened", f.Path, kindName(kind, ext), human(f.Size), human(MaxListBytes))})
			listed = true
		case kind == kindTar || kind == kindGzip:
			if full {
				consumers = append(consumers, func(r io.Reader) ([]egress.Finding, error) {
					return c.listStream(f.Path, kind, r), nil
				})
				listed = true
			}
		}
	}

	var found [][]egress.Finding
	if len(consumers) > 0 {
		if found, err = fanOut(ctx, head, rc, consumers); err != nil {
			return FileResult{}, wrap(err)
		}
	}
	rc.Close()
	for _, ff := range found {
		fs = append(fs, ff...)
	}
	if res.Pending {
		return FileResult{Pending: true}, nil
	}

	if kind != "" && typeOK && s.Archives == egress.ArchivesList {
		switch {
		case kind == kindZip:
			// A second, small read of this file: the central directory,
			// by ranges, rather than the whole zip.
			zfs, err := c.listZip(ctx, f, obj)
			if err != nil {
				return FileResult{}, wrap(err)
			}
			fs = append(fs, zfs...)
		case (kind == kindTar || kind == kindGzip) && !listed:
			// A tar or gzip under a name that did not say so, found in a
			// head-only read: listing it takes a second read.
			lfs, err := c.listAgain(ctx, f, obj, kind)
			if err != nil {
				return FileResult{}, wrap(err)
			}
			fs = append(fs, lfs...)
		}
	}
	res.Findings, res.ContentType = egress.BoundFindings(fs), sniffed
	return res, nil
}

func (c *Checker) listAgain(ctx context.Context, f egress.File, obj egress.ObjectVersion, kind string) ([]egress.Finding, error) {
	rc, err := c.Objects.OpenRange(ctx, obj, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	defer rc.Close()
	found, err := fanOut(ctx, nil, rc, []consumer{func(r io.Reader) ([]egress.Finding, error) {
		return c.listStream(f.Path, kind, r), nil
	}})
	if err != nil {
		return nil, err
	}
	return found[0], nil
}

// consumer reads one copy of a stream. It need not read to the end: the
// rest is drained for it. An error stops the stream for every consumer.
type consumer func(r io.Reader) ([]egress.Finding, error)

// fanOut streams head and then src to every consumer at once, each through
// a pipe, and returns what each found. A consumer that stops early has its
// pipe drained so the others go on; one that fails, a failed read or ctx's
// end close every pipe with the error.
func fanOut(ctx context.Context, head []byte, src io.Reader, consumers []consumer) ([][]egress.Finding, error) {
	found := make([][]egress.Finding, len(consumers))
	errs := make([]error, len(consumers))
	ws := make([]io.Writer, len(consumers))
	pws := make([]*io.PipeWriter, len(consumers))
	var wg sync.WaitGroup
	for i, run := range consumers {
		pr, pw := io.Pipe()
		ws[i], pws[i] = pw, pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[i], errs[i] = run(pr)
			if errs[i] != nil {
				pr.CloseWithError(errs[i])
				return
			}
			_, _ = io.Copy(io.Discard, pr) // the feed's error, if any, is the feed's to report
		}()
	}
	mw := io.MultiWriter(ws...)
	_, err := mw.Write(head)
	if err == nil {
		_, err = io.Copy(mw, ctxReader{ctx, src})
	}
	for _, pw := range pws {
		pw.CloseWithError(err) // nil: EOF
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return found, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// human writes a size in binary units.
func human(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n)/1024, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB", "PiB"} {
		if f < 1024 {
			break
		}
		f, u = f/1024, next
	}
	return fmt.Sprintf("%.1f %s", f, u)
}
