package egress

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The types below are what the workflow asks of object storage: staging the
// submitted versions and zipping the staged ones. They live in the domain so
// the workflow declares its ports without knowing the S3 adapter, and the
// adapter implements them without knowing the workflow.

// ObjectVersion names one version of an object.
type ObjectVersion struct {
	Bucket    string
	Key       string
	VersionID string // empty means the latest version
}

// CopyJob is one file to stage: the source version, where to copy it, and
// its path relative to the store prefix, recorded in the result.
type CopyJob struct {
	Path      string
	Source    ObjectVersion
	DstBucket string
	DstKey    string
	// Size is the source's size as listed, if Listed. A listed size of a
	// pinned version spares asking S3 for it before the copy: a version's
	// bytes never change. The release checks it against the bytes.
	Size   int64
	Listed bool
}

// ZipEntry is one file of a release zip: where to read it and its path in
// the zip.
type ZipEntry struct {
	Path      string // relative, forward slashes; see CheckZipPath
	Bucket    string
	Key       string
	VersionID string // empty reads the latest version
	SHA256    string // expected hex SHA-256 (from the staging manifest); checked if set
	Size      int64  // expected bytes (from the staging manifest); checked with SHA256
	// SourceKey and SourceVersionID name the submitted object the entry was
	// staged from, for manifest.json; they default to Key and VersionID.
	SourceKey       string
	SourceVersionID string
}

// ZipResult describes a written release zip.
type ZipResult struct {
	Bucket    string
	Key       string
	VersionID string // empty in an unversioned bucket
	Size      int64  // bytes of the zip
	Entries   []File // the entries in order, with their size and SHA-256
}

// ZipJob is a release zip to write: in one call or, with a checkpoint,
// over as many as it takes (see objects.Client.WriteZipJob).
type ZipJob struct {
	Bucket  string // where the zip goes
	Key     string
	Entries []ZipEntry
	LeftOut []LeftOut // listed in manifest.json
	// Modified is the time SHA256SUMS and manifest.json carry; zero means
	// the first call's. A resumed zip keeps its first call's.
	Modified time.Time
	// CheckpointBucket and CheckpointKey, when set, are where the zip's
	// progress is kept between calls.
	CheckpointBucket string
	CheckpointKey    string
	// Stop, with a checkpoint, is when a call stops writing (at the next
	// block boundary, after at least one block), saves its progress and
	// returns unfinished.
	Stop time.Time
}

// Names of the files a release zip carries after the entries. No entry may
// use them.
const (
	ZipSumsName     = "SHA256SUMS"
	ZipManifestName = "manifest.json"
)

// CheckZipPath returns an EINVALID error unless p can be a file's path in a
// release zip that extracts safely everywhere: relative, forward slashes, no
// "." or ".." or empty elements, no backslash, not a reserved name, no
// element Windows cannot create (see NonPortable), and short enough for a
// zip header.
func CheckZipPath(p string) error {
	switch {
	case len(p) > MaxZipPathBytes:
		// Longer, the header's 16-bit name length would wrap and the zip
		// would be corrupt (found by FuzzCheckZipPath).
		return Errorf(EINVALID, "path %.100q... is %d bytes long, over the zip format's %d", p, len(p), MaxZipPathBytes)
	case !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`):
		return Errorf(EINVALID, "path %q is not a relative file path with forward slashes", p)
	case p == ZipSumsName || p == ZipManifestName:
		return Errorf(EINVALID, "path %q is reserved for the zip's own %s", p, p)
	}
	if why := NonPortable(p); why != "" {
		return Errorf(EINVALID, "path %q %s", p, why)
	}
	return nil
}

// MaxZipPathBytes is the longest name a zip header can hold.
const MaxZipPathBytes = 0xFFFF

// windowsForbidden are the printable characters Windows refuses in a file
// or folder name.
const windowsForbidden = `<>:"|?*`

// NonPortable says why the slash-separated path p cannot be extracted as
// written on Windows, or returns "" when it can: an element with a control
// character or one of <>:"|?*, one ending in a dot or a space (Windows drops
// them, so "a." and "a" collide), or a reserved device name (CON, PRN, AUX,
// NUL, COM0-9, LPT0-9, also with an extension, as in "con.txt"). Unzip tools
// there fail on such names or write another file than the one released.
func NonPortable(p string) string {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			continue // CheckZipPath's and the SWB list's own rules refuse these
		}
		if i := strings.IndexFunc(seg, func(r rune) bool { return unicode.IsControl(r) || strings.ContainsRune(windowsForbidden, r) }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(seg[i:])
			if unicode.IsControl(r) {
				return fmt.Sprintf("has the control character %U in %q", r, seg)
			}
			return fmt.Sprintf("has %q in %q (Windows allows none of %s in file names)", r, seg, windowsForbidden)
		}
		if last := seg[len(seg)-1]; last == '.' || last == ' ' {
			return fmt.Sprintf("has %q, which ends with a dot or a space (Windows drops it, so the file would get another name)", seg)
		}
		if reservedDevice(seg) {
			return fmt.Sprintf("has %q, a reserved device name on Windows", seg)
		}
	}
	return ""
}

// reservedDevice reports Windows' device names, which stay reserved with
// any extension and whatever their case.
func reservedDevice(seg string) bool {
	base, _, _ := strings.Cut(seg, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) > 3 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// JoinBounded is errors.Join of the non-nil errs, keeping the first limit
// and then "and K more": an error that lists per-file failures stays a
// few kilobytes however many files fail, well within the 256 KiB that Step
// Functions allows an error to carry. ErrorCode reads the first kept error.
func JoinBounded(limit int, errs ...error) error {
	var kept []error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if n++; len(kept) < max(limit, 1) {
			kept = append(kept, err)
		}
	}
	if n > len(kept) {
		kept = append(kept, fmt.Errorf("and %d more", n-len(kept)))
	}
	return errors.Join(kept...)
}

// Email is one plain-text message.
type Email struct {
	To      []string
	Cc      []string
	Subject string
	Text    string
}

// Notice is one message published on a topic whose subscribers (e-mail
// addresses an administrator manages) receive it: how a reviewer group is
// told of new work, as the original add-on did.
type Notice struct {
	Topic   string // the topic's ARN
	Subject string // at most 99 characters, no line breaks (SNS's rule)
	Text    string
}

// Bounds of a file-type summary: at most MaxFileTypes types, each an
// extension of at most maxExtension letters or digits.
const (
	MaxFileTypes = 20
	maxExtension = 16
)

// FileTypes summarises files' types for people: their lower-case
// extensions with counts, most common first, at most MaxFileTypes of them
// and then how many others ("csv (2), png (1)"); "none" for no files. It
// is worked out once, at staging, and kept on the request, so the
// reviewers' notice needs no read of the manifest.
func FileTypes(files []File) string {
	counts := map[string]int{}
	for _, f := range files {
		counts[extension(f.Path)]++
	}
	types := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(counts[b]-counts[a], cmp.Compare(a, b))
	})
	var parts []string
	for _, t := range types[:min(len(types), MaxFileTypes)] {
		parts = append(parts, fmt.Sprintf("%s (%d)", t, counts[t]))
	}
	if n := len(types) - MaxFileTypes; n > 0 {
		parts = append(parts, fmt.Sprintf("and %d other types", n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// extension is a file's lower-case extension without the dot, "no
// extension", or "other" for one too long or odd to show.
func extension(p string) string {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(path.Base(p)), "."))
	switch {
	case ext == "":
		return "no extension"
	case len(ext) > maxExtension || strings.ContainsFunc(ext, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) }):
		return "other"
	}
	return ext
}

// How a file differs from the previous attempt's.
const (
	FileAdded   = "ADDED"
	FileRemoved = "REMOVED"
	FileChanged = "CHANGED"
)

// FileChange is a file added, removed or changed (by SHA-256) between two
// attempts of a request.
type FileChange struct {
	Path           string
	Change         string
	SHA256         string // the new attempt's; empty when removed
	PreviousSHA256 string // the previous attempt's; empty when added
}

// DiffFiles returns what changed from before to after, by path, in path
// order; files with the same path and SHA-256 are unchanged and left out.
func DiffFiles(before, after []File) []FileChange {
	old := make(map[string]string, len(before))
	for _, f := range before {
		old[f.Path] = f.SHA256
	}
	var out []FileChange
	seen := make(map[string]bool, len(after))
	for _, f := range after {
		seen[f.Path] = true
		prev, ok := old[f.Path]
		switch {
		case !ok:
			out = append(out, FileChange{Path: f.Path, Change: FileAdded, SHA256: f.SHA256})
		case prev != f.SHA256:
			out = append(out, FileChange{Path: f.Path, Change: FileChanged, SHA256: f.SHA256, PreviousSHA256: prev})
		}
	}
	for _, f := range before {
		if !seen[f.Path] {
			out = append(out, FileChange{Path: f.Path, Change: FileRemoved, PreviousSHA256: f.SHA256})
		}
	}
	slices.SortFunc(out, func(a, b FileChange) int { return cmp.Compare(a.Path, b.Path) })
	if out == nil {
		out = []FileChange{}
	}
	return out
}
