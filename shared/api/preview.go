package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
)

// VersionPresigner links one exact object version (objects.Client).
type VersionPresigner interface {
	PresignVersion(ctx context.Context, bucket, key, versionID string, expiry time.Duration) (string, error)
}

// HeadReader reads the first bytes of an object version (objects.Client).
type HeadReader interface {
	ReadHead(ctx context.Context, bucket, key, versionID string, n int64) ([]byte, error)
}

// Bounds of a preview.
const (
	// PreviewBytes is how much of a staged file a preview reads.
	PreviewBytes = 64 << 10
	// PreviewLines and PreviewLineChars bound a text file's lines.
	PreviewLines     = 50
	PreviewLineChars = 1000
	// PreviewRows and PreviewCellChars bound a CSV or TSV file's rows.
	PreviewRows      = 50
	PreviewCellChars = 200
	// MaxPreviewExpiry is the longest a preview link is valid; shorter when
	// download_expiry_seconds is.
	MaxPreviewExpiry = 5 * time.Minute
)

// FilePreview is a quick look at one staged file: its details, a short-lived
// link to the exact staged version, and for text its first lines or for
// CSV/TSV its first rows (neither for other files).
type FilePreview struct {
	Path        string
	ContentType string
	Size        int64
	SHA256      string
	URL         string // a bearer credential: never logged
	ExpiresAt   time.Time
	Lines       []string
	Rows        [][]string
	// Truncated: the file has more than Lines or Rows show.
	Truncated bool
}

// Preview gives who a quick look at the file at path of request id while
// the request awaits a decision (its staged copies exist): for the members
// of the awaited stage's group and the TRE admins, never the requester.
// Each preview is recorded in the request's audit trail (who and which
// file, never the link).
func (s *Service) Preview(ctx context.Context, who egress.Identity, id, filePath string) (FilePreview, error) {
	// Callers in no group that could ever preview learn nothing, not even
	// whether the request exists.
	if !inAny(who, s.reviewerGroups()) && !s.isAdmin(who) {
		return FilePreview{}, egress.Errorf(egress.EFORBIDDEN, "previews are limited to the reviewers of the stage a request awaits and the TRE admins")
	}
	switch {
	case id == "":
		return FilePreview{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	case filePath == "":
		return FilePreview{}, egress.Errorf(egress.EINVALID, "path is required")
	}
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return FilePreview{}, err
	}
	// Only the status is read before the caller's membership is checked.
	chain, err := s.chainFor(r)
	if err != nil {
		return FilePreview{}, err
	}
	i := chain.StageAwaiting(r.Status)
	if i < 0 {
		return FilePreview{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and awaits no decision: files can be previewed only while a decision is awaited", r.ID, r.Status)
	}
	stage := chain.Stages[i]
	if !who.InGroup(stage.Group) && !s.isAdmin(who) {
		return FilePreview{}, egress.Errorf(egress.EFORBIDDEN, "request %s awaits the %s stage: only members of %s and the TRE admins may preview its files", r.ID, stage.Name, stage.Group)
	}
	if r.IsRequester(who) {
		return FilePreview{}, egress.Errorf(egress.EFORBIDDEN, "you submitted request %s and may not preview its files", r.ID)
	}
	if r.StagingObjectMetadataVersion == "" {
		return FilePreview{}, egress.Errorf(egress.ECONFLICT, "request %s has no staged files yet; try again shortly", r.ID)
	}
	if s.VersionPresigner == nil || s.HeadReader == nil {
		return FilePreview{}, fmt.Errorf("preview of %s: the service has no staged-file reader", r.ID)
	}
	files, err := s.readManifest(ctx, r)
	if err != nil {
		return FilePreview{}, err
	}
	var f egress.File
	found := false
	for _, mf := range files {
		if mf.Path == filePath {
			f, found = mf, true
			break
		}
	}
	if !found {
		return FilePreview{}, egress.Errorf(egress.ENOTFOUND, "request %s has no file %q", r.ID, filePath)
	}
	if f.StagedVersionID == "" {
		return FilePreview{}, fmt.Errorf("preview of %s: the manifest records no staged version of %q", r.ID, f.Path)
	}
	// A file an earlier stage rejected never leaves: not in the zip, not
	// through a preview link to a later stage.
	for _, lo := range r.LeftOut() {
		if lo.Path == f.Path {
			return FilePreview{}, egress.Errorf(egress.EFORBIDDEN, "%q was rejected at the %s stage and cannot be previewed", f.Path, lo.Stage)
		}
	}
	key := egress.StagedKey(r, f.Path)
	head := []byte{}
	if f.Size > 0 {
		if head, err = s.HeadReader.ReadHead(ctx, s.StagingBucket, key, f.StagedVersionID, PreviewBytes); err != nil {
			return FilePreview{}, fmt.Errorf("preview of %s: %w", r.ID, err)
		}
	}
	p := FilePreview{Path: f.Path, ContentType: ContentType(f.Path, head), Size: f.Size, SHA256: f.SHA256}
	p.Lines, p.Rows, p.Truncated = PreviewHead(p.ContentType, head, f.Size)

	expiry := MaxPreviewExpiry
	if s.DownloadExpiry > 0 {
		expiry = min(expiry, s.DownloadExpiry)
	}
	at := s.now()
	if p.URL, err = s.VersionPresigner.PresignVersion(ctx, s.StagingBucket, key, f.StagedVersionID, expiry); err != nil {
		return FilePreview{}, fmt.Errorf("preview of %s: presign %q: %w", r.ID, f.Path, err)
	}
	p.ExpiresAt = at.Add(expiry)
	// Recorded before the link is handed out: a preview the trail cannot
	// show is not given.
	ev := egress.Event{RequestID: r.ID, At: at, Kind: egress.EventPreview, Actor: actorOf(who),
		From: r.Status, To: r.Status, Stage: stage.Name, Reason: "previewed " + f.Path}
	if err := s.Requests.AddEvent(ctx, ev, r.Version); err != nil {
		return FilePreview{}, fmt.Errorf("preview of %s: %w", r.ID, err)
	}
	s.log(ctx, r.ID).Info("file previewed", "actor", ev.Actor, "stage", stage.Name, "path", f.Path,
		"content_type", p.ContentType, "size", f.Size)
	return p, nil
}

// extensionTypes are the content types of common research outputs that
// the bytes alone cannot tell from plain text.
var extensionTypes = map[string]string{
	".csv":  "text/csv",
	".tsv":  "text/tab-separated-values",
	".tab":  "text/tab-separated-values",
	".txt":  "text/plain",
	".log":  "text/plain",
	".md":   "text/plain",
	".json": "application/json",
	".xml":  "application/xml",
	".yaml": "application/yaml",
	".yml":  "application/yaml",
}

// ContentType names the content of a file from its first bytes and its
// name: the extension's type when the bytes look like text (a .csv is
// text/csv, not text/plain), else what the bytes say (a .csv that is a zip
// is application/zip).
func ContentType(name string, head []byte) string {
	sniffed := http.DetectContentType(head)
	if t, ok := extensionTypes[strings.ToLower(path.Ext(name))]; ok && utf8Text(sniffed) {
		return t
	}
	return sniffed
}

// utf8Text reports whether a sniffed type is text in UTF-8 (or ASCII).
func utf8Text(contentType string) bool {
	mediaType, params, _ := strings.Cut(contentType, ";")
	if !strings.HasPrefix(mediaType, "text/") {
		return false
	}
	_, charset, _ := strings.Cut(params, "charset=")
	charset = strings.ToLower(strings.TrimSpace(charset))
	return charset == "" || charset == "utf-8"
}

// PreviewHead returns the first lines of text, or the first rows of CSV
// and TSV, in head (the first bytes of a file of size bytes), and whether
// the file holds more than they show. Other content gets neither.
func PreviewHead(contentType string, head []byte, size int64) (lines []string, rows [][]string, truncated bool) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	var comma rune
	switch mediaType {
	case "text/csv":
		comma = ','
	case "text/tab-separated-values":
		comma = '\t'
	case "application/json", "application/xml", "application/yaml":
	default:
		if !utf8Text(contentType) {
			return nil, nil, false
		}
	}
	text, partial := completeLines(head, size)
	text = bytes.TrimPrefix(text, []byte("\uFEFF"))
	if comma != 0 {
		if rows, truncated, err := previewRows(text, comma); err == nil {
			return nil, rows, truncated || partial
		}
		// Malformed: its lines still give the quick look asked for.
	}
	lines, truncated = previewLines(text)
	return lines, nil, truncated || partial
}

// completeLines is head without a last line that goes on past it, unless
// head is all one line; partial reports that the file goes on.
func completeLines(head []byte, size int64) (text []byte, partial bool) {
	if int64(len(head)) >= size {
		return head, false
	}
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
		return head[:i+1], true
	}
	return head, true
}

func previewLines(text []byte) (lines []string, truncated bool) {
	lines = []string{}
	s := strings.TrimSuffix(string(text), "\n")
	if s == "" {
		return lines, false
	}
	for line := range strings.SplitSeq(s, "\n") {
		if len(lines) == PreviewLines {
			return lines, true
		}
		line, cut := cutChars(strings.TrimSuffix(line, "\r"), PreviewLineChars)
		truncated = truncated || cut
		lines = append(lines, line)
	}
	return lines, truncated
}

func previewRows(text []byte, comma rune) (rows [][]string, truncated bool, err error) {
	cr := csv.NewReader(bytes.NewReader(text))
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = comma, -1, true
	rows = [][]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, truncated, nil
		}
		if err != nil {
			return nil, false, err
		}
		if len(rows) == PreviewRows {
			return rows, true, nil
		}
		for i, cell := range rec {
			var cut bool
			rec[i], cut = cutChars(cell, PreviewCellChars)
			truncated = truncated || cut
		}
		rows = append(rows, rec)
	}
}

// cutChars returns s, made valid UTF-8, cut to at most n characters.
func cutChars(s string, n int) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], true
}
