package egress_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
)

// FuzzCheckZipPath: a path CheckZipPath accepts is relative, clean, valid
// UTF-8, free of control characters and of anything Windows refuses, and
// extracts below the folder it is extracted to; NonPortable and
// CheckZipPath agree; refusals are EINVALID and name the path.
func FuzzCheckZipPath(f *testing.F) {
	for _, p := range []string{
		"a/b.csv", "données/résumé.txt", "../etc/passwd", "a/../b", "/abs", "a//b", "./a", "a/.", ".",
		`a\b`, "a\x00b", "a\nb", "a\x7f", "\u0085", "con.txt", "a/LPT1", "COM¹.log", "aux", "a:b", `a"b`,
		"trailing.", "trailing ", "caf\u00e9", "cafe\u0301", "\xff\xfe", egress.ZipSumsName, egress.ZipManifestName,
		"sub/" + egress.ZipManifestName, strings.Repeat("k", 1024), strings.Repeat("k/", 600) + "x",
		strings.Repeat("é", 40000),
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := egress.CheckZipPath(p)
		why := egress.NonPortable(p)
		if err != nil {
			if egress.ErrorCode(err) != egress.EINVALID {
				t.Fatalf("CheckZipPath(%q) code %s", p, egress.ErrorCode(err))
			}
			return
		}
		if why != "" {
			t.Fatalf("CheckZipPath accepts %q, NonPortable says it %s", p, why)
		}
		switch {
		case !utf8.ValidString(p), p == "", strings.HasPrefix(p, "/"), strings.Contains(p, `\`):
			t.Fatalf("accepted %q", p)
		case !fs.ValidPath(p), !filepath.IsLocal(p), filepath.Clean(p) != filepath.FromSlash(p):
			t.Fatalf("accepted %q, which is not a clean local path", p)
		case strings.IndexFunc(p, unicode.IsControl) >= 0, strings.ContainsAny(p, `<>:"|?*`):
			t.Fatalf("accepted %q with a character Windows refuses", p)
		case p == egress.ZipSumsName || p == egress.ZipManifestName:
			t.Fatalf("accepted the reserved %q", p)
		case len(p) > 0xFFFF:
			t.Fatalf("accepted a path of %d bytes; a zip header holds at most 65,535", len(p))
		}
		for seg := range strings.SplitSeq(p, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") {
				t.Fatalf("accepted %q with segment %q", p, seg)
			}
		}
	})
}
