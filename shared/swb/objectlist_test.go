package swb_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

const prefix = sampleWS + "/"

func TestParseObjectListContract(t *testing.T) {
	l, err := swb.ParseObjectList(readFile(t, "testdata/swb-object-list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Objects) != 5 {
		t.Fatalf("%d objects, want 5", len(l.Objects))
	}
	want := swb.Object{
		Key:          prefix + "tables/summary.csv",
		LastModified: "2026-11-20T09:40:11.000Z",
		ETag:         `"9b2cf535f27731c974343645a3985328"`,
		Size:         18234,
		StorageClass: "STANDARD",
		VersionID:    "Jt0bN8wq.yXcZ0a3bOQ1nBvV2q9P7r6s",
		Owner:        swb.Owner{DisplayName: "swb", ID: "a1b2c3"},
	}
	if l.Objects[1] != want {
		t.Fatalf("got  %+v\nwant %+v", l.Objects[1], want)
	}
}

func TestParseObjectList(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    int // objects, when no error
		wantErr string
	}{
		{"empty list", `{"objects": []}`, 0, ""},
		{"unknown fields ignored", `{"objects": [{"Key": "a", "VersionId": "v", "Checksum": "x"}], "IsTruncated": false}`, 1, ""},
		{"missing file (no bytes)", "", 0, "object list file is empty"},
		{"blank file", " \n\t", 0, "object list file is empty"},
		{"not JSON", "<Error><Code>NoSuchKey</Code></Error>", 0, "object list file is not JSON: invalid character '<'"},
		{"truncated JSON", `{"objects": [{"Key": "a"`, 0, "object list file is not JSON: unexpected end of JSON input"},
		{"array", `[{"Key": "a"}]`, 0, "object list file is not a JSON object"},
		{"null", `null`, 0, "object list file is not a JSON object"},
		{"no objects key", `{"Contents": []}`, 0, `object list file has no "objects" list`},
		{"objects null", `{"objects": null}`, 0, `object list file has no "objects" list`},
		{"objects not a list", `{"objects": {"Key": "a"}}`, 0, `object list file: malformed "objects": json: cannot unmarshal object`},
		{"size as string", `{"objects": [{"Key": "a", "Size": "12"}]}`, 0, `object list file: malformed "objects": json: cannot unmarshal string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := swb.ParseObjectList([]byte(tt.data))
			if tt.wantErr != "" {
				wantInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Objects) != tt.want {
				t.Fatalf("%d objects, want %d", len(l.Objects), tt.want)
			}
		})
	}
}

func TestReleasePathsContract(t *testing.T) {
	l, err := swb.ParseObjectList(readFile(t, "testdata/swb-object-list.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := swb.ReleasePaths(prefix, l.Objects)
	if err != nil {
		t.Fatal(err)
	}
	want := []swb.Entry{
		{Key: prefix + "tables/summary.csv", VersionID: "Jt0bN8wq.yXcZ0a3bOQ1nBvV2q9P7r6s", Size: 18234, ETag: `"9b2cf535f27731c974343645a3985328"`, RelPath: "tables/summary.csv"},
		{Key: prefix + "figures/km curve (final).png", VersionID: "p1Qx7Lr2mNv8cYb0dWs4eFg6hJk3aZ5u", Size: 204811, ETag: `"6f5902ac237024bdd0c176cb93063dc4"`, RelPath: "figures/km curve (final).png"},
		{Key: prefix + "models/v2/summary.csv", VersionID: "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv", Size: 9437184, ETag: `"2c26b46b68ffc68ff99b453c1d304134-2"`, RelPath: "models/v2/summary.csv"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	again, err := swb.ReleasePaths(prefix, l.Objects)
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("replay gave %+v, %v", again, err)
	}
}

// obj is a listed file version; keys are relative to prefix unless they
// start with "!" (then taken verbatim, minus the "!").
func obj(key string, size int64, version string) swb.Object {
	if k, ok := strings.CutPrefix(key, "!"); ok {
		key = k
	} else {
		key = prefix + key
	}
	return swb.Object{Key: key, Size: size, VersionID: version, ETag: `"e"`}
}

func files(keys ...string) []swb.Object {
	var objs []swb.Object
	for i, k := range keys {
		size := int64(10 + i)
		if k == "" || strings.HasSuffix(k, "/") {
			size = 0 // a folder marker
		}
		objs = append(objs, obj(k, size, fmt.Sprintf("v%d", i)))
	}
	return objs
}

func relPaths(entries []swb.Entry) []string {
	var p []string
	for _, e := range entries {
		p = append(p, e.RelPath)
	}
	return p
}

func TestReleasePathsAccepted(t *testing.T) {
	tests := []struct {
		name    string
		objects []swb.Object
		want    []string
	}{
		{"spaces, unicode, plus, percent, parentheses kept as written",
			files("Q3 report (draft 2).pdf", "a+b=c 100%.txt", "%2F.csv", "données/résumé – été.csv", "数据/表格.xlsx", "emoji 👩\u200d🔬.txt"),
			[]string{"Q3 report (draft 2).pdf", "a+b=c 100%.txt", "%2F.csv", "données/résumé – été.csv", "数据/表格.xlsx", "emoji 👩\u200d🔬.txt"}},
		{"nested folders", files("a/", "a/b/", "a/b/c/", "a/b/c/d.txt", "a/top.txt"), []string{"a/b/c/d.txt", "a/top.txt"}},
		{"same name in two folders", files("results.csv", "run1/results.csv", "run2/results.csv", "run2/final/results.csv"),
			[]string{"results.csv", "run1/results.csv", "run2/results.csv", "run2/final/results.csv"}},
		{"markers dropped, prefix marker too", files("", "x/", "x/y.txt"), []string{"x/y.txt"}},
		{"empty file is a file, not a marker", []swb.Object{obj("empty.txt", 0, "v1")}, []string{"empty.txt"}},
		{"dots inside names are not traversal", files("a..b.txt", ".hidden", "..x", "v1.2/x..y"), []string{"a..b.txt", ".hidden", "..x", "v1.2/x..y"}},
		{"near Windows' reserved names", files("console.txt", "COM10.log", "nul_results.csv", " leading.txt", "aux-data/x"),
			[]string{"console.txt", "COM10.log", "nul_results.csv", " leading.txt", "aux-data/x"}},
		{"longest key S3 allows", files(strings.Repeat("k", 1024-len(prefix))), []string{strings.Repeat("k", 1024-len(prefix))}},
		{"markers are not checked beyond the prefix", append(files("ok.txt"), obj("bad\\dir/", 0, "m"), obj("../", 0, "m")), []string{"ok.txt"}},
		{"folder case differs between files in it", files("Data/a.csv", "data/b.csv"), []string{"Data/a.csv", "data/b.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := swb.ReleasePaths(prefix, tt.objects)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(relPaths(got), tt.want) {
				t.Fatalf("got %q, want %q", relPaths(got), tt.want)
			}
			for _, e := range got {
				if e.Key != prefix+e.RelPath || e.VersionID == "" {
					t.Fatalf("entry %+v", e)
				}
			}
		})
	}
}

func TestReleasePathsRejected(t *testing.T) {
	tests := []struct {
		name    string
		objects []swb.Object
		wantErr string
	}{
		{"dot-dot segment", files("a/../b.txt"), `key "` + prefix + `a/../b.txt" has a ".." path segment`},
		{"leading dot-dot", files("../other-ws/secret.csv"), `has a ".." path segment`},
		{"trailing dot-dot", files("a/.."), `has a ".." path segment`},
		{"dot segment", files("./a.txt"), `has a "." path segment`},
		{"absolute after prefix", files("/etc/passwd"), `key "` + prefix + `/etc/passwd" is an absolute path ("/" after the prefix)`},
		{"empty segment", files("a//b.txt"), `key "` + prefix + `a//b.txt" has an empty path segment ("//")`},
		{"NUL", files("a\x00b.txt"), `key "` + prefix + `a\x00b.txt" contains the control character U+0000`},
		{"newline", files("a\nb.txt"), `contains the control character U+000A`},
		{"tab", files("a\tb.txt"), `contains the control character U+0009`},
		{"escape", files("\x1b[31mred.txt"), `contains the control character U+001B`},
		{"DEL", files("a\x7f.txt"), `contains the control character U+007F`},
		{"C1 NEL", files("a\u0085.txt"), `contains the control character U+0085`},
		{"C1 CSI", files("a\u009b.txt"), `contains the control character U+009B`},
		{"bidi override", files("invoice\u202Efdp.exe"), `contains the bidirectional formatting character U+202E, which can disguise a file name`},
		{"invalid UTF-8", files("caf\xe9.txt"), `key "` + prefix + `caf\xe9.txt" is not valid UTF-8`},
		{"outside prefix", files("!other-ws/a.txt"), `key "other-ws/a.txt" is outside the store prefix "` + prefix + `"`},
		{"prefix without slash", files("!" + sampleWS), `is outside the store prefix`},
		{"prefix as name start", files("!" + sampleWS + "-2/a.txt"), `is outside the store prefix`},
		{"backslash", files(`a\b.txt`), `key "` + prefix + `a\\b.txt" contains a backslash, which zip tools treat as a folder separator`},
		{"backslash traversal", files(`..\..\x`), `contains a backslash`},
		{"colon", files("results: final.csv"), `key "` + prefix + `results: final.csv" has ':' in "results: final.csv" (Windows allows none of <>:"|?* in file names)`},
		{"drive letter", files("c:/x.csv"), `has ':' in "c:"`},
		{"question mark in folder", files("why?/a.csv"), `has '?' in "why?"`},
		{"angle brackets", files("<tag>.txt"), `has '<' in "<tag>.txt"`},
		{"double quote", files(`"q".txt`), `has '"' in`},
		{"pipe", files("a|b.txt"), `has '|' in "a|b.txt"`},
		{"star", files("*.csv"), `has '*' in "*.csv"`},
		{"device name", files("CON"), `key "` + prefix + `CON" has "CON", a reserved device name on Windows`},
		{"device name with extension", files("data/nul.tar.gz"), `has "nul.tar.gz", a reserved device name on Windows`},
		{"device name as folder", files("Aux/x.csv"), `has "Aux", a reserved device name on Windows`},
		{"serial port", files("com3.log"), `a reserved device name`},
		{"printer port", files("LPT1"), `a reserved device name`},
		{"trailing dot", files("report."), `has "report.", which ends with a dot or a space`},
		{"only dots", files("..."), `has "...", which ends with a dot or a space`},
		{"trailing space", files("report.csv "), `which ends with a dot or a space`},
		{"folder with trailing space", files("dir /a.csv"), `has "dir ", which ends with a dot or a space`},
		{"key over S3's limit", files(strings.Repeat("k", 1025-len(prefix))), `is 1025 bytes long, over S3's limit of 1024`},
		{"long VersionId", []swb.Object{obj("a.txt", 1, strings.Repeat("v", 1025))}, `has a VersionId of 1025 bytes, over the 1024 an S3 version id can be`},
		{"NFC duplicate", files("caf\u00e9.txt", "cafe\u0301.txt"), "key \"" + prefix + "cafe\u0301.txt\" is the same path as \"caf\u00e9.txt\" after Unicode normalisation"},
		{"NFC duplicate folder", files("r\u00e9s/a.txt", "re\u0301s/a.txt"), `after Unicode normalisation`},
		{"case duplicate", files("Data.csv", "data.csv"), `key "` + prefix + `data.csv" differs from "Data.csv" only in letter case; they would overwrite each other when unzipped on macOS or Windows`},
		{"case duplicate in folder", files("Run1/x.csv", "run1/X.csv"), `differs from "Run1/x.csv" only in letter case`},
		{"two versions of one key", []swb.Object{obj("a.txt", 1, "v1"), obj("a.txt", 2, "v2")}, `key "` + prefix + `a.txt" is listed more than once (versions "v1" and "v2")`},
		{"same version listed twice", []swb.Object{obj("a.txt", 1, "v1"), obj("a.txt", 1, "v1")}, `is listed more than once (versions "v1" and "v1")`},
		{"no VersionId", []swb.Object{obj("a.txt", 1, "")}, `key "` + prefix + `a.txt" has no VersionId, so the submitted version cannot be pinned`},
		{"null VersionId", []swb.Object{obj("a.txt", 1, "null")}, `has no VersionId`},
		{"negative size", []swb.Object{obj("a.txt", -1, "v1")}, `has a negative Size -1`},
		{"marker with bytes", []swb.Object{obj("a.txt", 1, "v1"), obj("dir/", 5, "v2")}, `key "` + prefix + `dir/" ends with "/" like a folder but holds 5 bytes, which cannot be released as a file`},
		{"prefix marker with bytes", []swb.Object{obj("a.txt", 1, "v1"), obj("", 3, "v2")}, `key "` + prefix + `" ends with "/" like a folder but holds 3 bytes`},
		{"file then folder of the same name", files("a", "a/b.txt"), `key "` + prefix + `a/b.txt" is inside a folder whose path is the file "a"`},
		{"folder then file of the same name", files("A/b.txt", "a"), `key "` + prefix + `a" is a file but "A/b.txt" puts a folder at the same path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := swb.ReleasePaths(prefix, tt.objects)
			wantInvalid(t, err, "object list: 1 problem(s): ", tt.wantErr)
			if got != nil {
				t.Fatalf("entries returned with an error: %+v", got)
			}
		})
	}
}

func TestReleasePathsCollectsAllProblems(t *testing.T) {
	objs := files("good.txt", "a/../b", "!elsewhere/x", "c//d", "good2.txt")
	objs = append(objs, obj("nover.txt", 1, ""))
	_, err := swb.ReleasePaths(prefix, objs)
	wantInvalid(t, err, "object list: 4 problem(s): ",
		`key "`+prefix+`a/../b" has a ".."`,
		`key "elsewhere/x" is outside`,
		`key "`+prefix+`c//d" has an empty path segment`,
		`key "`+prefix+`nover.txt" has no VersionId`)
	if strings.Contains(err.Error(), "good") {
		t.Fatalf("good keys reported: %v", err)
	}

	var many []string
	for i := range 25 {
		many = append(many, fmt.Sprintf("f%d/../x", i))
	}
	_, err = swb.ReleasePaths(prefix, files(many...))
	wantInvalid(t, err, "object list: 25 problem(s): ", `f19/../x`, "; and 5 more")
	if strings.Contains(err.Error(), "f20/") {
		t.Fatalf("more than 20 problems listed: %v", err)
	}
}

func TestReleasePathsNoFiles(t *testing.T) {
	tests := []struct {
		name    string
		objects []swb.Object
	}{
		{"nil", nil},
		{"empty list", []swb.Object{}},
		{"only markers", files("", "a/", "a/b/")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := swb.ReleasePaths(prefix, tt.objects)
			if !errors.Is(err, swb.ErrNoFiles) || got != nil {
				t.Fatalf("got %v, %v; want ErrNoFiles", got, err)
			}
			wantInvalid(t, err, "no files to release")
		})
	}
	// A list whose every file is refused reports why, not "no files".
	_, err := swb.ReleasePaths(prefix, files("a/../b"))
	if errors.Is(err, swb.ErrNoFiles) {
		t.Fatal("refused keys reported as no files")
	}
}

func TestReleasePathsBadPrefix(t *testing.T) {
	for _, p := range []string{"", sampleWS} {
		_, err := swb.ReleasePaths(p, files("!"+sampleWS+"/a.txt"))
		wantInvalid(t, err, fmt.Sprintf(`store prefix %q must be non-empty and end with "/"`, p))
	}
}

// FuzzReleasePaths checks the safety invariants on arbitrary keys: each
// line of keys is one listed object.
func FuzzReleasePaths(f *testing.F) {
	seeds := [][2]string{
		{prefix, "tables/summary.csv\nfigures/km curve (final).png\nfigures/\nmodels/v2/summary.csv"},
		{prefix, "a/../b\n/abs\na//b\na\\b\n.\n..\n./x"},
		{prefix, "caf\u00e9\ncafe\u0301\nData\ndata\nSTRASSE\nstraße"},
		{prefix, "a\nA/b\nx/y\nX"},
		{prefix, "\x00\n\x7f\n\u0085\n\u202e\n\xff\xfe"},
		{prefix, "a+b %20 (1).txt\n数据/表格.xlsx\n\u0130.txt\ni\u0307.txt"},
		{"ws/", "ws/a\nother/b\nws\nws/"},
		{"", "a"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	caser := cases.Fold()
	f.Fuzz(func(t *testing.T, prefix, keys string) {
		var objs []swb.Object
		for i, k := range strings.Split(keys, "\n") {
			// Prefix-relative keys exercise the path rules more often.
			if i%2 == 0 {
				k = prefix + k
			}
			objs = append(objs, swb.Object{Key: k, Size: int64(len(k) % 3), VersionID: fmt.Sprint("v", i)})
		}
		entries, err := swb.ReleasePaths(prefix, objs)
		if err != nil {
			if egress.ErrorCode(err) != egress.EINVALID {
				t.Fatalf("error code %q: %v", egress.ErrorCode(err), err)
			}
			if entries != nil {
				t.Fatal("entries returned with an error")
			}
			return
		}
		seen := map[string]string{}
		for _, e := range entries {
			p := e.RelPath
			if e.Key != prefix+p || e.VersionID == "" {
				t.Fatalf("entry %+v does not match its key", e)
			}
			if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, `\`) || !utf8.ValidString(p) {
				t.Fatalf("unsafe path %q", p)
			}
			for seg := range strings.SplitSeq(p, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("path %q has segment %q", p, seg)
				}
			}
			if strings.IndexFunc(p, unicode.IsControl) >= 0 {
				t.Fatalf("path %q has a control character", p)
			}
			folded := norm.NFC.String(caser.String(norm.NFD.String(p)))
			if other, dup := seen[folded]; dup {
				t.Fatalf("paths %q and %q collide after NFC and case folding", other, p)
			}
			seen[folded] = p
		}
	})
}
