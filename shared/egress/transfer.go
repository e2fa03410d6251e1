package egress

import (
	"io/fs"
	"strings"
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
}

// ZipEntry is one file of a release zip: where to read it and its path in
// the zip.
type ZipEntry struct {
	Path      string // relative, forward slashes; see CheckZipPath
	Bucket    string
	Key       string
	VersionID string // empty reads the latest version
	SHA256    string // expected hex SHA-256 (from the staging manifest); checked if set
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

// Names of the files a release zip carries after the entries. No entry may
// use them.
const (
	ZipSumsName     = "SHA256SUMS"
	ZipManifestName = "manifest.json"
)

// CheckZipPath returns an EINVALID error unless p can be a file's path in a
// release zip that extracts safely everywhere: relative, forward slashes, no
// "." or ".." or empty elements, no backslash, not a reserved name.
func CheckZipPath(p string) error {
	switch {
	case !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`):
		return Errorf(EINVALID, "path %q is not a relative file path with forward slashes", p)
	case p == ZipSumsName || p == ZipManifestName:
		return Errorf(EINVALID, "path %q is reserved for the zip's own %s", p, p)
	}
	return nil
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
