package swb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/tre-egress/egress/shared/egress"
)

// ObjectList is SWB's object list file: every object version submitted from
// the egress store, folder markers included.
type ObjectList struct {
	Objects []Object `json:"objects"`
}

// Object is one listed object version, as S3 ListObjectVersions reports it.
type Object struct {
	Key string `json:"Key"`
	// LastModified is kept as text: nothing depends on it and its format
	// varies with the tool that wrote the list.
	LastModified string `json:"LastModified"`
	ETag         string `json:"ETag"`
	Size         int64  `json:"Size"`
	StorageClass string `json:"StorageClass"`
	VersionID    string `json:"VersionId"`
	Owner        Owner  `json:"Owner"`
}

// Owner is the owner of a listed object.
type Owner struct {
	DisplayName string `json:"DisplayName"`
	ID          string `json:"ID"`
}

// ParseObjectList parses the object list file. The caller reads it from S3
// and passes what it read: empty data (a missing or blank file), data that
// is not a JSON object and an object without "objects" are EINVALID errors.
// An empty "objects" list parses; ReleasePaths refuses it with ErrNoFiles.
func ParseObjectList(data []byte) (ObjectList, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return ObjectList{}, egress.Errorf(egress.EINVALID, "object list file is empty")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		if !json.Valid(data) {
			return ObjectList{}, egress.Errorf(egress.EINVALID, "object list file is not JSON: %v", err)
		}
		return ObjectList{}, egress.Errorf(egress.EINVALID, "object list file is not a JSON object")
	}
	raw, ok := top["objects"]
	if !ok || string(raw) == "null" {
		return ObjectList{}, egress.Errorf(egress.EINVALID, `object list file has no "objects" list`)
	}
	var l ObjectList
	if err := json.Unmarshal(raw, &l.Objects); err != nil {
		return ObjectList{}, egress.Errorf(egress.EINVALID, `object list file: malformed "objects": %v`, err)
	}
	return l, nil
}

// Entry is one file to release: the object version to copy and its path
// relative to the store prefix, which is also its path inside the zip.
type Entry struct {
	Key       string
	VersionID string
	Size      int64
	ETag      string
	RelPath   string
}

// ErrNoFiles is returned by ReleasePaths when the list holds no files, only
// folder markers or nothing at all.
var ErrNoFiles = &egress.Error{Code: egress.EINVALID, Message: "no files to release: the object list is empty or lists only folders"}

// maxVersionBytes bounds a listed VersionId: S3's are 32 characters, and
// each is stored in the manifests.
const maxVersionBytes = 1024

// maxProblems bounds the problems an error lists, keeping it readable and
// within Step Functions' error cause limit.
const maxProblems = 20

// ReleasePaths turns the listed objects below prefix (the message's
// s3_bucketpath) into release entries, in list order, keeping folders and
// keys as written (spaces, unicode, '+', '%', parentheses).
//
// Folder markers (keys ending in "/") are dropped. A key ending in "/" that
// holds bytes is refused rather than dropped: it cannot be a file in a zip,
// and silently releasing less than was submitted would mislead the
// requester.
//
// A key is refused when it is outside prefix, is not valid UTF-8, is longer
// than S3 allows, has a control or bidirectional formatting character, a
// backslash, an empty, "." or ".." segment, or starts with "/" after the
// prefix; when a segment cannot be a file name on Windows (see
// egress.NonPortable); when it has no VersionId (or "null"), since then
// the submitted bytes cannot be pinned, or one longer than S3's; when it is
// listed twice; when it equals another path after Unicode
// normalisation, or differs from one only in letter case, because the two
// would overwrite each other when unzipped on macOS or Windows; and when it
// is both a file and a folder. Every problem is reported, each naming its
// key, in one EINVALID error.
func ReleasePaths(prefix string, objects []Object) ([]Entry, error) {
	if prefix == "" || !strings.HasSuffix(prefix, "/") {
		return nil, egress.Errorf(egress.EINVALID, `store prefix %s must be non-empty and end with "/"`, quote(prefix))
	}
	var (
		entries  []Entry
		problems []string
		fail     = func(key, format string, args ...any) {
			problems = append(problems, "key "+quote(key)+" "+fmt.Sprintf(format, args...))
		}
		byKey   = map[string]int{}    // key -> index in entries
		files   = map[string]string{} // folded path -> path of the file it came from
		folders = map[string]string{} // folded folder path -> path of a file inside it
		caser   = cases.Fold()
	)
	for _, o := range objects {
		key := o.Key
		if !utf8.ValidString(key) {
			fail(key, "is not valid UTF-8")
			continue
		}
		if len(key) > maxKeyBytes {
			fail(key, "is %d bytes long, over S3's limit of %d", len(key), maxKeyBytes)
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			fail(key, "is outside the store prefix %s", quote(prefix))
			continue
		}
		rel := key[len(prefix):]
		if rel == "" || strings.HasSuffix(rel, "/") {
			if o.Size != 0 {
				fail(key, `ends with "/" like a folder but holds %d bytes, which cannot be released as a file`, o.Size)
			}
			continue
		}
		if why := checkRelPath(rel); why != "" {
			fail(key, "%s", why)
			continue
		}
		if o.VersionID == "" || o.VersionID == "null" {
			fail(key, "has no VersionId, so the submitted version cannot be pinned")
			continue
		}
		if len(o.VersionID) > maxVersionBytes {
			fail(key, "has a VersionId of %d bytes, over the %d an S3 version id can be", len(o.VersionID), maxVersionBytes)
			continue
		}
		if o.Size < 0 {
			fail(key, "has a negative Size %d", o.Size)
			continue
		}
		if i, dup := byKey[key]; dup {
			fail(key, "is listed more than once (versions %s and %s)", quote(entries[i].VersionID), quote(o.VersionID))
			continue
		}
		folded := foldPath(caser, rel)
		if other, ok := files[folded]; ok {
			if norm.NFC.String(other) == norm.NFC.String(rel) {
				fail(key, "is the same path as %s after Unicode normalisation", quote(other))
			} else {
				fail(key, "differs from %s only in letter case; they would overwrite each other when unzipped on macOS or Windows", quote(other))
			}
			continue
		}
		if other, ok := folders[folded]; ok {
			fail(key, "is a file but %s puts a folder at the same path", quote(other))
			continue
		}
		if other, ok := fileAtFolder(folded, files); ok {
			fail(key, "is inside a folder whose path is the file %s", quote(other))
			continue
		}
		byKey[key] = len(entries)
		files[folded] = rel
		for dir := range parentDirs(folded) {
			if _, ok := folders[dir]; !ok {
				folders[dir] = rel
			}
		}
		entries = append(entries, Entry{Key: key, VersionID: o.VersionID, Size: o.Size, ETag: o.ETag, RelPath: rel})
	}
	if len(problems) > 0 {
		n := len(problems)
		if n > maxProblems {
			problems = append(problems[:maxProblems], fmt.Sprintf("and %d more", n-maxProblems))
		}
		return nil, egress.Errorf(egress.EINVALID, "object list: %d problem(s): %s", n, strings.Join(problems, "; "))
	}
	if len(entries) == 0 {
		return nil, ErrNoFiles
	}
	return entries, nil
}

// checkRelPath says why rel, a key below the prefix, cannot safely be a
// path inside the zip, or returns "" when it can.
func checkRelPath(rel string) string {
	if strings.HasPrefix(rel, "/") {
		return `is an absolute path ("/" after the prefix)`
	}
	if strings.Contains(rel, `\`) {
		return "contains a backslash, which zip tools treat as a folder separator"
	}
	for _, r := range rel {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U", r)
		}
		if isBidiControl(r) {
			return fmt.Sprintf("contains the bidirectional formatting character %U, which can disguise a file name", r)
		}
	}
	for seg := range strings.SplitSeq(rel, "/") {
		switch seg {
		case "":
			return `has an empty path segment ("//")`
		case ".", "..":
			return fmt.Sprintf("has a %q path segment", seg)
		}
	}
	// The zip is unpacked on reviewers' Windows machines too.
	return egress.NonPortable(rel)
}

// isBidiControl reports the invisible characters that reorder text, used to
// make "evil\u202Egpj.exe" display as "evilexe.jpg".
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// foldPath is Unicode canonical caseless matching (NFD, case fold, NFC):
// two paths with the same fold name the same file on macOS and Windows.
func foldPath(caser cases.Caser, p string) string {
	return norm.NFC.String(caser.String(norm.NFD.String(p)))
}

// parentDirs yields every folder above the file path p ("a/b/c" -> "a",
// "a/b").
func parentDirs(p string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range len(p) {
			if p[i] == '/' && !yield(p[:i]) {
				return
			}
		}
	}
}

// fileAtFolder reports a file whose path is one of p's folders.
func fileAtFolder(p string, files map[string]string) (string, bool) {
	for dir := range parentDirs(p) {
		if other, ok := files[dir]; ok {
			return other, true
		}
	}
	return "", false
}
