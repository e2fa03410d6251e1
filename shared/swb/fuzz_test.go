package swb

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"

	"github.com/tre-egress/egress/shared/egress"
)

// Fuzz targets for what SWB sends us. Seeds are the samples in testdata
// plus testdata/fuzz/<FuzzName>/ (hostile keys: NUL, control characters,
// NFC/NFD twins, 1,024-byte keys, ".."); `make fuzz` runs each for
// FUZZTIME.

// maxErrorBytes bounds an error about hostile input: values are clipped,
// so no message, however large, makes an error that swamps a log line or
// Step Functions' 256 KiB error cause.
const maxErrorBytes = 32 << 10

// invalidErr fails unless err is a bounded EINVALID error.
func invalidErr(t *testing.T, err error) {
	t.Helper()
	var e *egress.Error
	if !errors.As(err, &e) || e.Code != egress.EINVALID {
		t.Fatalf("error %v (%T) is not EINVALID", err, err)
	}
	if n := len(err.Error()); n > maxErrorBytes {
		t.Fatalf("error of %d bytes, over %d", n, maxErrorBytes)
	}
}

func seedFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// messageJSON writes m back in the contract's shape.
func messageJSON(m Message) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": m.ID, "egress_store_id": m.EgressStoreID, "egress_store_name": m.EgressStoreName,
		"workspace_id": m.WorkspaceID, "project_id": m.ProjectID,
		"created_at": m.CreatedAt.Format(time.RFC3339Nano), "created_by": m.CreatedBy, "created_by_email": m.CreatedByEmail,
		"updated_at": m.UpdatedAt.Format(time.RFC3339Nano), "updated_by": m.UpdatedBy, "updated_by_email": m.UpdatedByEmail,
		"s3_bucketname": m.S3BucketName, "s3_bucketpath": m.S3BucketPath, "status": m.Status, "ver": m.Ver,
		"egress_store_object_list_location": m.ObjectListLocation,
	})
	return b
}

// FuzzParseMessage: any bytes give a message or a bounded EINVALID error;
// an accepted message has safe ids and prefix, and parses to itself when
// written back.
func FuzzParseMessage(f *testing.F) {
	sample := seedFile(f, "testdata/swb-egress-message.json")
	f.Add(sample)
	f.Add([]byte(strings.Replace(string(sample), `"ver": 3`, `"ver": "3"`, 1)))
	f.Add([]byte(strings.Replace(string(sample), `cohort-analysis-results-ver3.json`, `../../x\u0000.json`, 1)))
	f.Add([]byte(`{"id":"` + strings.Repeat("a", 81) + `"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"ver":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			invalidErr(t, err)
			return
		}
		if !safeID(m.ID, maxExecutionName) || !safeID(m.WorkspaceID, maxWorkspaceID) || m.EgressStoreID != m.WorkspaceID {
			t.Fatalf("unsafe ids accepted: %q %q %q", m.ID, m.WorkspaceID, m.EgressStoreID)
		}
		if m.S3BucketPath != m.WorkspaceID+"/" || m.Status != "PENDING" || m.Ver < 1 {
			t.Fatalf("accepted prefix %q, status %q, ver %d", m.S3BucketPath, m.Status, m.Ver)
		}
		if k := m.ObjectListKey; k == "" || len(k) > maxKeyBytes || !utf8.ValidString(k) || strings.IndexFunc(k, unicode.IsControl) >= 0 {
			t.Fatalf("object list key %q accepted", k)
		}
		again, err := ParseMessage(messageJSON(m))
		if err != nil {
			t.Fatalf("written back, the message is refused: %v", err)
		}
		if !again.CreatedAt.Equal(m.CreatedAt) || !again.UpdatedAt.Equal(m.UpdatedAt) {
			t.Fatalf("times changed: %v %v -> %v %v", m.CreatedAt, m.UpdatedAt, again.CreatedAt, again.UpdatedAt)
		}
		again.CreatedAt, again.UpdatedAt = m.CreatedAt, m.UpdatedAt
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("parse, write, parse differs:\n%+v\n%+v", m, again)
		}
	})
}

// FuzzParseObjectList: any bytes give a list or a bounded EINVALID error;
// a list parses to itself when written back; what ReleasePaths accepts
// from it is safe (see checkEntries).
func FuzzParseObjectList(f *testing.F) {
	f.Add(seedFile(f, "testdata/swb-object-list.json"), "8b7e6f1a-2d3c-4e5f-a6b7-c8d9e0f1a2b3/")
	f.Add([]byte(`{"objects":[]}`), "ws/")
	f.Add([]byte(`{"objects":null}`), "ws/")
	f.Add([]byte(`{"objects":[{"Key":"ws/a","VersionId":"v","Size":-1}]}`), "ws/")
	f.Add([]byte(`{"objects":[{"Key":"ws/\u0000","VersionId":"v"}]}`), "ws/")
	f.Add([]byte(`{"objects":[{"Key":"ws/\"\\u00e9","VersionId":"v"},{"Key":"ws/e\u0301","VersionId":"v"}]}`), "ws/")
	f.Fuzz(func(t *testing.T, data []byte, prefix string) {
		l, err := ParseObjectList(data)
		if err != nil {
			invalidErr(t, err)
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseObjectList(b)
		if err != nil {
			t.Fatalf("written back, the list is refused: %v", err)
		}
		if !sameObjects(again.Objects, l.Objects) {
			t.Fatalf("parse, write, parse differs:\n%+v\n%+v", l.Objects, again.Objects)
		}
		entries, err := ReleasePaths(prefix, l.Objects)
		checkEntries(t, prefix, l.Objects, entries, err)
	})
}

// sameObjects compares lists as JSON carries them: encoding/json writes
// invalid UTF-8 as U+FFFD, so compare after that replacement.
func sameObjects(a, b []Object) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		for _, p := range []*string{&x.Key, &x.LastModified, &x.ETag, &x.StorageClass, &x.VersionID, &x.Owner.DisplayName, &x.Owner.ID} {
			*p = strings.ToValidUTF8(*p, "\uFFFD")
		}
		if x != y {
			return false
		}
	}
	return true
}

// FuzzReleasePathsZip maps three listed keys below a prefix: whatever the
// keys, an accepted entry is a safe, portable path in the zip, below the
// prefix, and no two collide on a case-insensitive or normalising file
// system.
func FuzzReleasePathsZip(f *testing.F) {
	long := "ws/" + strings.Repeat("k", maxKeyBytes-3)
	for _, s := range [][4]string{
		{"ws/", "ws/a.csv", "ws/b/c.csv", "ws/b/"},
		{"ws/", "ws/../etc/passwd", "ws/a", "ws/"},
		{"ws/", "ws//abs", "ws/./a", "ws/a/.."},
		{"ws/", "ws/a\x00b", "ws/a\nb", "ws/\x7f"},
		{"ws/", "ws/caf\u00e9.txt", "ws/cafe\u0301.txt", "ws/CAF\u00c9.TXT"},
		{"ws/", long, long + "x", "ws/" + strings.Repeat("é", 511)},
		{"ws/", "ws/a", "ws/a/b", "ws/A/c"},
		{"ws/", "ws/con.txt", "ws/a:b", "ws/trailing."},
		{"ws/", "ws/evil\u202egpj.exe", "ws/a\\b", "ws/\xff\xfe"},
		{"", "a", "/a", "../a"},
		{"ws", "wsa", "ws/a", "ws"},
	} {
		f.Add(s[0], s[1], s[2], s[3], "v1", int64(1))
	}
	f.Fuzz(func(t *testing.T, prefix, k1, k2, k3, version string, size int64) {
		objects := []Object{{Key: k1, VersionID: version, Size: size}, {Key: k2, VersionID: version + "2", Size: 0}, {Key: k3, VersionID: version, Size: size}}
		entries, err := ReleasePaths(prefix, objects)
		checkEntries(t, prefix, objects, entries, err)
	})
}

// checkEntries holds ReleasePaths' result to its promises.
func checkEntries(t *testing.T, prefix string, objects []Object, entries []Entry, err error) {
	t.Helper()
	if err != nil {
		invalidErr(t, err)
		if entries != nil {
			t.Fatalf("entries with an error")
		}
		return
	}
	if len(entries) == 0 {
		t.Fatal("no entries and no error")
	}
	folded := map[string]string{}
	caser := cases.Fold()
	for _, e := range entries {
		p := e.RelPath
		switch {
		case e.Key != prefix+p:
			t.Fatalf("key %q is not prefix %q + path %q", e.Key, prefix, p)
		case !utf8.ValidString(p), strings.HasPrefix(p, "/"), !fs.ValidPath(p), strings.ContainsRune(p, 0):
			t.Fatalf("unsafe path %q accepted", p)
		case strings.IndexFunc(p, unicode.IsControl) >= 0, len(e.Key) > maxKeyBytes:
			t.Fatalf("path %q accepted", p)
		case e.VersionID == "" || e.VersionID == "null" || e.Size < 0:
			t.Fatalf("entry %+v accepted", e)
		}
		for seg := range strings.SplitSeq(p, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("path %q has %q", p, seg)
			}
		}
		if err := egress.CheckZipPath(p); err != nil {
			t.Fatalf("ReleasePaths accepted %q, the zip writer refuses it: %v", p, err)
		}
		k := foldPath(caser, p)
		if other, ok := folded[k]; ok {
			t.Fatalf("%q and %q collide", other, p)
		}
		folded[k] = p
	}
	// A file is never also a folder of another accepted file.
	for k, p := range folded {
		for dir := range parentDirs(k) {
			if other, ok := folded[dir]; ok {
				t.Fatalf("%q is a file and the folder of %q", other, p)
			}
		}
	}
}
