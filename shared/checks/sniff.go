package checks

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/gabriel-vasile/mimetype"

	"github.com/tre-egress/egress/shared/egress"
)

// headBytes is what sniffing reads: mimetype's default read limit (4096
// bytes in v1.4.16), so Detect sees all it would read itself and the
// library's global SetLimit is left alone.
const headBytes = 4096

// The sniffing table: what the bytes of a file may be, by its extension.
// The README's "Automated checks" section repeats it; keep both in step.
//
//   - textExtensions must sniff as text: text/plain or any type below it in
//     mimetype's tree (text/csv, application/json, text/html, image/svg+xml,
//     ...). Anything binary contradicts them.
//   - typedExtensions must sniff as one of their types or a type below it
//     (a .docx that mimetype sees only as application/zip is accepted: the
//     office formats are zips whose first entry varies).
//   - Any other extension is not checked against the bytes, except that
//     executables (Windows PE, ELF, Mach-O, MSI) are refused whatever the
//     extension, unless AllowedExtensions names that extension explicitly.
var textExtensions = map[string]bool{
	".csv": true, ".tsv": true, ".txt": true, ".md": true, ".json": true, ".log": true,
	".r": true, ".rmd": true, ".qmd": true, ".py": true, ".ipynb": true, ".sql": true,
	".do": true, ".sas": true, ".tex": true, ".bib": true, ".html": true, ".htm": true,
	".xml": true, ".yaml": true, ".yml": true, ".svg": true,
}

var typedExtensions = map[string][]string{
	".png":     {"image/png"},
	".jpg":     {"image/jpeg"},
	".jpeg":    {"image/jpeg"},
	".gif":     {"image/gif"},
	".tif":     {"image/tiff"},
	".tiff":    {"image/tiff"},
	".pdf":     {"application/pdf"},
	".docx":    {"application/zip"},
	".xlsx":    {"application/zip"},
	".pptx":    {"application/zip"},
	".odt":     {"application/zip"},
	".ods":     {"application/zip"},
	".odp":     {"application/zip"},
	".doc":     {"application/x-ole-storage"},
	".xls":     {"application/x-ole-storage"},
	".ppt":     {"application/x-ole-storage"},
	".zip":     {"application/zip"},
	".gz":      {"application/gzip"}, // also .tar.gz: filepath.Ext sees ".gz"
	".tgz":     {"application/gzip"},
	".tar":     {"application/x-tar"},
	".parquet": {"application/vnd.apache.parquet"},
}

// executableTypes are refused whatever the extension (see above).
var executableTypes = []string{
	"application/vnd.microsoft.portable-executable", "application/x-msdownload",
	"application/x-elf", "application/x-executable", "application/x-sharedlib",
	"application/x-mach-binary", "application/x-ms-installer",
}

// containerExtensions name formats that are zips or compressed streams by
// design (office documents, R's saved data): they are documents, not
// archives inside the request.
var containerExtensions = map[string]bool{
	".docx": true, ".xlsx": true, ".pptx": true, ".odt": true, ".ods": true, ".odp": true,
	".rds": true, ".rda": true, ".rdata": true,
}

// documentZips are the zip-based types mimetype names that are documents
// rather than archives, whatever their extension.
var documentZips = []string{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/epub+zip", "application/vnd.oasis.opendocument.text",
	"application/vnd.oasis.opendocument.spreadsheet", "application/vnd.oasis.opendocument.presentation",
	"application/vnd.oasis.opendocument.graphics", "application/vnd.oasis.opendocument.formula",
	"application/vnd.oasis.opendocument.chart", "application/vnd.ms-visio.drawing.main+xml",
}

// Archive kinds.
const (
	kindZip   = "zip"
	kindTar   = "tar"
	kindGzip  = "gzip"
	kindOther = "other" // a format the checks cannot list (7z, rar, xz, ...)
)

// otherArchives are archive or compression formats that cannot be listed.
var otherArchives = []string{
	"application/x-7z-compressed", "application/vnd.rar", "application/x-bzip2", "application/x-xz",
	"application/zstd", "application/x-cpio", "application/x-archive", "application/vnd.ms-cab-compressed",
	"application/x-rpm", "application/lzip", "application/x-xar",
}

// isA reports whether m is t or a type below t in mimetype's tree.
func isA(m *mimetype.MIME, types ...string) bool {
	for ; m != nil; m = m.Parent() {
		for _, t := range types {
			if m.Is(t) {
				return true
			}
		}
	}
	return false
}

// sniff detects the type of a file from its first bytes. mimetype takes
// any file starting with "MZ" for a Windows executable; a CSV whose first
// header starts with those letters is not one, so a PE is only believed
// when the header the DOS stub points to says "PE\0\0".
func sniff(head []byte) *mimetype.MIME {
	m := mimetype.Detect(head)
	if m.Is("application/vnd.microsoft.portable-executable") && !validPE(head) {
		if isText(head) {
			return mimetype.Lookup("text/plain")
		}
		return mimetype.Lookup("application/octet-stream")
	}
	return m
}

func validPE(head []byte) bool {
	if len(head) < 0x40 {
		return false
	}
	off := int(binary.LittleEndian.Uint32(head[0x3c:]))
	return off >= 0x40 && off+4 <= len(head) && string(head[off:off+4]) == "PE\x00\x00"
}

// isText is mimetype's own test for text (WHATWG's binary data bytes).
func isText(b []byte) bool {
	for _, c := range b {
		if c <= 0x08 || c == 0x0b || 0x0e <= c && c <= 0x1a || 0x1c <= c && c <= 0x1f {
			return false
		}
	}
	return true
}

func isExecutable(m *mimetype.MIME) bool { return isA(m, executableTypes...) }

// typeFinding compares the sniffed type with the extension; nil when they
// agree.
func (c *Checker) typeFinding(p, ext string, m *mimetype.MIME) *egress.Finding {
	what := m.String()
	if isExecutable(m) {
		what += " (an executable)"
	}
	contradicts := func(want string) *egress.Finding {
		return &egress.Finding{Check: egress.CheckType, Severity: egress.SeverityBlocking,
			Message: fmt.Sprintf("%s: its bytes are %s, which contradicts its extension %q (%s expected)", p, what, ext, want)}
	}
	switch types, typed := typedExtensions[ext]; {
	case textExtensions[ext]:
		if !isA(m, "text/plain") {
			return contradicts("text")
		}
	case typed:
		if !isA(m, types...) {
			return contradicts(types[0])
		}
	case isExecutable(m) && !slices.Contains(c.Settings.AllowedExtensions, ext):
		return &egress.Finding{Check: egress.CheckType, Severity: egress.SeverityBlocking,
			Message: fmt.Sprintf("%s: its bytes are %s; executables are refused whatever their extension", p, what)}
	}
	return nil
}

// archiveKind says whether the sniffed type is an archive inside the
// request, and which: "" when it is not one.
func archiveKind(m *mimetype.MIME, ext string) string {
	switch {
	case containerExtensions[ext] && !isA(m, "application/zip"):
		return "" // R's saved data: compressed by design
	case isA(m, "application/zip"):
		// A document by its content, not just its name: a plain zip
		// named report.docx is an archive like any other.
		if isA(m, documentZips...) && ext != ".zip" {
			return ""
		}
		return kindZip
	case m.Is("application/x-tar"):
		return kindTar
	case m.Is("application/gzip"):
		return kindGzip
	case isA(m, otherArchives...):
		return kindOther
	}
	return ""
}
