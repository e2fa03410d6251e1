package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

func checkOne(t *testing.T, c *Checker, objs *memObjects, p string, data []byte) FileResult {
	t.Helper()
	objs.data = map[string][]byte{p: data}
	res, err := c.File(context.Background(), egress.File{Path: p, Size: int64(len(data))}, egress.ObjectVersion{Bucket: "staging", Key: p})
	if err != nil {
		t.Fatalf("File(%s): %v", p, err)
	}
	return res
}

func TestFileContentType(t *testing.T) {
	csv := []byte("region,count\nnorth,12\nsouth,30\n")
	tests := []struct {
		name    string
		path    string
		data    []byte
		allowed []string
		want    []string // substrings of the one blocking content-type finding; nil: none
	}{
		{"Windows executable renamed results.csv", "out/results.csv", peBytes(), nil,
			[]string{"out/results.csv", "application/vnd.microsoft.portable-executable (an executable)", `".csv"`}},
		{"ELF named .txt", "notes.txt", elfBytes(), nil, []string{"notes.txt", "an executable", `".txt"`}},
		{"zip named .csv", "table.csv", zipBytes(t, "a.csv"), nil, []string{"table.csv", "application/zip", `".csv"`}},
		{"text named .png", "plot.png", csv, nil, []string{"plot.png", "text/", "image/png expected"}},
		{"executable under an unknown extension", "tool.bin", peBytes(), nil, []string{"tool.bin", "executables are refused whatever their extension"}},
		{"genuine CSV", "out/table.csv", csv, nil, nil},
		{"CSV whose header starts with MZ", "mz.csv", []byte("MZ_code,count\nA1,12\nB2,30\n"), nil, nil},
		{"PNG", "plot.png", pngBytes(), nil, nil},
		{"office document", "report.docx", zipBytes(t, "[Content_Types].xml", "word/document.xml"), nil, nil},
		{"executable under an explicitly allowed extension", "tool.bin", peBytes(), []string{".bin", ".csv"}, nil},
		{"unknown extension, binary", "data.sav", []byte("$FL2@(#) SPSS DATA FILE\x00\x01\x02"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			c, _ := newChecker(t, egress.CheckSettings{AllowedExtensions: tt.allowed}, nil, objs)
			res := checkOne(t, c, objs, tt.path, tt.data)
			got := find(res.Findings, egress.CheckType, egress.SeverityBlocking)
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("want no content-type finding, got %s", messages(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one blocking content-type finding, got %s", messages(res.Findings))
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0].Message, w) {
					t.Errorf("message %q lacks %q", got[0].Message, w)
				}
			}
		})
	}
}

func TestFileArchives(t *testing.T) {
	many := make([]string, 150)
	for i := range many {
		many[i] = fmt.Sprintf("part-%03d.csv", i)
	}
	tests := []struct {
		name     string
		archives string
		path     string
		data     []byte
		sev      egress.Severity
		want     []string // substrings of the findings of that severity, together
		wantNone egress.Severity
	}{
		{"zip refused", egress.ArchivesRefuse, "out/bundle.zip", zipBytes(t, "a.csv"), egress.SeverityBlocking,
			[]string{"out/bundle.zip is a zip archive; archives are refused"}, ""},
		{"a plain zip named .docx is an archive", egress.ArchivesRefuse, "report.docx", zipBytes(t, "a.csv"), egress.SeverityBlocking,
			[]string{"report.docx is a zip archive; archives are refused"}, ""},
		{"zip listed", egress.ArchivesList, "out/bundle.zip", zipBytes(t, "data/a.csv", "tool.exe", "inner.zip"), egress.SeverityInfo,
			[]string{"out/bundle.zip is a zip archive of 3 entries", `"data/a.csv" (`, `"inner.zip"`}, egress.SeverityBlocking},
		{"zip entry with a blocked extension", egress.ArchivesList, "out/bundle.zip", zipBytes(t, "data/a.csv", "tool.exe"), egress.SeverityWarning,
			[]string{`out/bundle.zip holds "tool.exe", whose extension ".exe" is blocked`}, egress.SeverityBlocking},
		{"zip of 150 entries", egress.ArchivesList, "many.zip", zipBytes(t, many...), egress.SeverityInfo,
			[]string{"archive of 150 entries", `"part-099.csv"`, "many.zip: and 50 more entries"}, ""},
		{"tar.gz listed", egress.ArchivesList, "out/b.tar.gz", tarBytes(t, true, "x/a.csv", "x/b.txt"), egress.SeverityInfo,
			[]string{"out/b.tar.gz is a tar.gz archive of 2 entries", `"x/a.csv" (1000 B)`, `"x/b.txt"`}, egress.SeverityWarning},
		{"tar.gz refused", egress.ArchivesRefuse, "b.tgz", tarBytes(t, true, "a.csv"), egress.SeverityBlocking,
			[]string{"b.tgz is a tar.gz archive; archives are refused"}, ""},
		{"tar under an unknown extension", egress.ArchivesList, "b.dat", tarBytes(t, false, "a.csv", "run.bat"), egress.SeverityWarning,
			[]string{`b.dat holds "run.bat"`}, egress.SeverityBlocking},
		{"gzip of one file", egress.ArchivesList, "a.csv.gz", gzipOf(t, "a.csv", []byte("a,b\n1,2\n")), egress.SeverityInfo,
			[]string{`a.csv.gz is gzip-compressed text/`, `original name "a.csv"`}, egress.SeverityWarning},
		{"R data is not an archive", egress.ArchivesRefuse, "model.rds", gzipOf(t, "", []byte("X\n\x00\x00\x00\x03")), egress.SeverityBlocking, nil, egress.SeverityBlocking},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			c, _ := newChecker(t, egress.CheckSettings{Archives: tt.archives}, nil, objs)
			res := checkOne(t, c, objs, tt.path, tt.data)
			got := messages(find(res.Findings, egress.CheckArchive, tt.sev))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s archive findings lack %q; all findings:\n%s", tt.sev, w, messages(res.Findings))
				}
			}
			if tt.wantNone != "" && len(find(res.Findings, egress.CheckArchive, tt.wantNone)) > 0 {
				t.Errorf("want no %s archive finding, got:\n%s", tt.wantNone, messages(res.Findings))
			}
			for _, f := range res.Findings {
				if len(f.Message) > egress.MaxFindingMessage {
					t.Errorf("message of %d bytes: %q", len(f.Message), f.Message)
				}
			}
		})
	}
}

func gzipOf(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzipWriter(&buf, name)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFileReads counts the reads of each File call: one, of the head
// alone or of the whole object, plus a zip's ranged reads of its directory.
func TestFileReads(t *testing.T) {
	big := make([]byte, 10_000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	tests := []struct {
		name    string
		path    string
		data    []byte
		scanner Scanner
		want    []string // the opens, "key offset length"; "..." at the end: and more
	}{
		{"CSV is read whole for the SDC", "t.csv", []byte("a,n\nx,1\n"), nil, []string{"t.csv 0 -1"}},
		{"PNG, no scanner: the head", "p.png", pngBytes(), nil, []string{fmt.Sprintf("p.png 0 %d", len(pngBytes()))}},
		{"large unknown file: the first 4096 bytes", "d.dat", big, nil, []string{"d.dat 0 4096"}},
		{"zip: the head, then its directory", "z.zip", zipBytes(t, "a.csv"), nil, []string{fmt.Sprintf("z.zip 0 %d", len(zipBytes(t, "a.csv"))), "..."}},
		{"tar.gz: once, whole", "b.tar.gz", tarBytes(t, true, "a.csv"), nil, []string{"b.tar.gz 0 -1"}},
		{"tar under an unknown extension: the head, then once more", "b.dat", tarBytes(t, false, "a.csv"), nil, []string{fmt.Sprintf("b.dat 0 %d", len(tarBytes(t, false, "a.csv"))), "b.dat 0 -1"}},
		{"tar under an unknown extension with a body scanner: once", "b.dat", tarBytes(t, false, "a.csv"), &bodyScanner{}, []string{"b.dat 0 -1"}},
		{"body scanner: once, whole", "d.dat", big, &bodyScanner{}, []string{"d.dat 0 -1"}},
		{"CSV with a body scanner: once, whole", "t.csv", []byte("a,n\nx,1\n"), &bodyScanner{}, []string{"t.csv 0 -1"}},
		{"empty file: nothing", "e.csv", nil, &bodyScanner{}, nil},
		{"pending scanner: nothing", "t.csv", []byte("a,n\nx,1\n"), &tagScanner{pending: true}, nil},
		{"tag scanner done: like no scanner", "d.dat", big, &tagScanner{}, []string{"d.dat 0 4096"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			c, _ := newChecker(t, egress.CheckSettings{}, tt.scanner, objs)
			res := checkOne(t, c, objs, tt.path, tt.data)
			if ts, ok := tt.scanner.(*tagScanner); ok && ts.pending != res.Pending {
				t.Errorf("Pending = %v, want %v", res.Pending, ts.pending)
			}
			got := objs.opens
			if n := len(tt.want); n > 0 && tt.want[n-1] == "..." {
				if len(got) < n {
					t.Fatalf("opens %q, want %q", got, tt.want)
				}
				got = got[:n-1]
				tt.want = tt.want[:n-1]
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("opens %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFileFansOutOneRead(t *testing.T) {
	data := make([]byte, 100<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = "0123456789,\n"[r.IntN(12)]
	}
	tests := []struct {
		name        string
		tableReadTo int // what the SDC stub reads before it returns; < 0: all
	}{
		{"every reader reads it all", -1},
		{"the table reader stops early", 10},
		{"the table reader stops after the head", headBytes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			sc := &bodyScanner{findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "FakeAV: Eicar-Test-Signature"}}}
			c, st := newChecker(t, egress.CheckSettings{}, sc, objs)
			st.tableReadTo = tt.tableReadTo
			res := checkOne(t, c, objs, "big.csv", data)
			if !bytes.Equal(sc.got, data) {
				t.Errorf("the scanner got %d bytes, not the object's %d", len(sc.got), len(data))
			}
			if st.tableCalls != 1 || st.tableComma != ',' {
				t.Errorf("table check called %d times with %q", st.tableCalls, st.tableComma)
			}
			want := data
			if tt.tableReadTo >= 0 {
				want = data[:tt.tableReadTo]
			}
			if !bytes.Equal(st.tableBytes, want) {
				t.Errorf("the table check got %d bytes that are not the object's first %d", len(st.tableBytes), len(want))
			}
			if len(objs.opens) != 1 {
				t.Errorf("opens %q, want one", objs.opens)
			}
			if len(find(res.Findings, egress.CheckMalware, egress.SeverityBlocking)) != 1 || len(find(res.Findings, egress.CheckSDC, egress.SeverityWarning)) != 1 {
				t.Errorf("want the scanner's and the table's findings, got:\n%s", messages(res.Findings))
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	data := []byte(strings.Repeat("a,n\nx,1\n", 2000))
	tests := []struct {
		name      string
		scanner   Scanner
		failAfter int
		ctx       func() context.Context
		want      string
	}{
		{"scanner fails", &bodyScanner{err: errors.New("clamd: connection refused")}, 0, nil, "checking out/t.csv: FakeAV scan: clamd: connection refused"},
		{"read fails mid-stream", &bodyScanner{}, 5000, nil, "checking out/t.csv: "},
		{"read fails mid-stream, no scanner", nil, 5000, nil, "checking out/t.csv: reading: connection reset"},
		{"context ended", &bodyScanner{}, 0, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{data: map[string][]byte{"k": data}, failAfter: tt.failAfter}
			c, _ := newChecker(t, egress.CheckSettings{}, tt.scanner, objs)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			_, err := c.File(ctx, egress.File{Path: "out/t.csv", Size: int64(len(data))}, egress.ObjectVersion{Key: "k"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if tt.failAfter > 0 && !strings.Contains(err.Error(), "connection reset") {
				t.Errorf("err = %v, want the read's error", err)
			}
		})
	}
	t.Run("missing object", func(t *testing.T) {
		c, _ := newChecker(t, egress.CheckSettings{}, nil, &memObjects{})
		_, err := c.File(context.Background(), egress.File{Path: "gone.csv", Size: 3}, egress.ObjectVersion{Key: "gone"})
		if err == nil || !strings.Contains(err.Error(), "checking gone.csv: reading: NoSuchKey") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFileScannerFindings(t *testing.T) {
	csv := []byte("a,n\nx,1\n")
	threat := egress.Finding{Check: egress.CheckMalware, Severity: egress.SeverityBlocking, Message: "t.csv: FakeDuty found a threat"}
	tests := []struct {
		name     string
		settings egress.CheckSettings
		scanner  Scanner
		reason   string
		size     int64 // the manifest's size when not the data's
		check    string
		sev      egress.Severity
		want     string
	}{
		{"no scanner", egress.CheckSettings{}, nil, "", 0, egress.CheckMalware, egress.SeverityWarning,
			"t.csv was not scanned for malware: no malware scanner is configured"},
		{"no scanner, engine none", egress.CheckSettings{Malware: egress.MalwareSettings{Engine: egress.EngineNone}}, nil, "", 0, egress.CheckMalware, egress.SeverityWarning,
			`t.csv was not scanned for malware: no malware scanner is configured (checks.malware.engine is "none")`},
		{"no clamd locally", egress.CheckSettings{}, nil, "clamd is not installed: apt-get install clamav-daemon", 0, egress.CheckMalware, egress.SeverityWarning,
			"t.csv was not scanned for malware: clamd is not installed: apt-get install clamav-daemon"},
		{"too large for the scanner", egress.CheckSettings{Malware: egress.MalwareSettings{MaxScanBytes: 4}}, &bodyScanner{}, "", 0, egress.CheckMalware, egress.SeverityWarning,
			"t.csv was not scanned by FakeAV: it is 8 B, larger than 4 B (checks.malware.max_scan_bytes)"},
		{"too large for the SDC", egress.CheckSettings{SDC: egress.SDCSettings{MaxBytes: 4}}, &bodyScanner{}, "", 0, egress.CheckSDC, egress.SeverityInfo,
			"t.csv was not analysed for disclosure risk: it is 8 B, larger than 4 B (checks.sdc.max_bytes)"},
		{"threat from a tag scanner", egress.CheckSettings{}, &tagScanner{findings: []egress.Finding{threat}}, "", 0, egress.CheckMalware, egress.SeverityBlocking,
			threat.Message},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			c, _ := newChecker(t, tt.settings, tt.scanner, objs)
			if tt.reason != "" {
				c.NotScannedReason = tt.reason
			}
			res := checkOne(t, c, objs, "t.csv", csv)
			got := find(res.Findings, tt.check, tt.sev)
			if len(got) != 1 || got[0].Message != tt.want {
				t.Fatalf("want the %s %s finding %q, got:\n%s", tt.sev, tt.check, tt.want, messages(res.Findings))
			}
		})
	}
}

func TestFileReadsACROResults(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantOut int
		warning string
	}{
		{"results", `{"version": "0.4"}`, 1, ""},
		{"not ACRO's", `[1, 2]`, 0, "out/results.json could not be read as ACRO results: not an ACRO results file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &memObjects{}
			c, st := newChecker(t, egress.CheckSettings{}, nil, objs)
			res := checkOne(t, c, objs, "out/results.json", []byte(tt.data))
			if st.acroCalls != 1 || len(res.ACRO) != tt.wantOut {
				t.Errorf("parsed %d times, %d outputs; want once, %d", st.acroCalls, len(res.ACRO), tt.wantOut)
			}
			got := find(res.Findings, egress.CheckACRO, egress.SeverityWarning)
			if tt.warning == "" && len(got) > 0 || tt.warning != "" && (len(got) != 1 || got[0].Message != tt.warning) {
				t.Errorf("want warning %q, got:\n%s", tt.warning, messages(res.Findings))
			}
		})
	}
}

func TestListing(t *testing.T) {
	files := func(sizes ...int64) []egress.File {
		var fs []egress.File
		for i, s := range sizes {
			fs = append(fs, egress.File{Path: fmt.Sprintf("out/f%d.csv", i), Size: s})
		}
		return fs
	}
	tests := []struct {
		name     string
		settings egress.CheckSettings
		files    []egress.File
		request  []string
		perFile  map[int][]string
	}{
		{"within limits", egress.CheckSettings{}, files(10, 20), nil, nil},
		{"too many files", egress.CheckSettings{MaxFiles: 2}, files(1, 1, 1),
			[]string{"count: the request holds 3 files; at most 2 are allowed (checks.max_files)"}, nil},
		{"too large in total", egress.CheckSettings{MaxTotalBytes: 3 << 20}, files(2<<20, 2<<20),
			[]string{"size: the request's 2 files total 4.0 MiB; the limit is 3.0 MiB (checks.max_total_bytes)"}, nil},
		{"a file too large", egress.CheckSettings{MaxFileBytes: 1 << 30}, files(10, 3<<29), nil,
			map[int][]string{1: {"size: out/f1.csv is 1.5 GiB; the limit is 1.0 GiB per file (checks.max_file_bytes)"}}},
		{"blocked extensions", egress.CheckSettings{}, []egress.File{{Path: "a.csv"}, {Path: "bin/Setup.EXE"}}, nil,
			map[int][]string{1: {`extension: bin/Setup.EXE: extension ".exe" is blocked (checks.blocked_extensions)`}}},
		{"not allowed", egress.CheckSettings{AllowedExtensions: []string{".csv", ".txt"}}, []egress.File{{Path: "a.csv"}, {Path: "b.dat"}, {Path: "README"}}, nil,
			map[int][]string{
				1: {`extension: b.dat: extension ".dat" is not among the allowed extensions .csv .txt (checks.allowed_extensions)`},
				2: {`extension: README: a file without an extension is not among the allowed extensions .csv .txt (checks.allowed_extensions)`},
			}},
		{"no blocked extensions", egress.CheckSettings{BlockedExtensions: []string{}}, []egress.File{{Path: "a.exe"}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newChecker(t, tt.settings, nil, &memObjects{})
			req, per := c.Listing(tt.files)
			check := func(what string, fs []egress.Finding, want []string) {
				var got []string
				for _, f := range fs {
					if f.Severity != egress.SeverityBlocking {
						t.Errorf("%s finding %v is not blocking", what, f)
					}
					got = append(got, f.Check+": "+f.Message)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s findings:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			check("request", req, tt.request)
			for i := range tt.files {
				check(fmt.Sprintf("file %d", i), per[i], tt.perFile[i])
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		s    egress.CheckSettings
		want string
	}{
		{"defaults", egress.CheckSettings{}, ""},
		{"bad archives", egress.CheckSettings{Archives: "open"}, `checks.archives "open"`},
		{"bad extension", egress.CheckSettings{AllowedExtensions: []string{"CSV"}}, `checks extension "CSV"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := compileSDC
			compileSDC = func(egress.SDCSettings) (sdc.Settings, error) { return sdc.Settings{}, nil }
			defer func() { compileSDC = old }()
			c, err := New(tt.s, nil, &memObjects{})
			if tt.want == "" {
				if err != nil || c.Settings.MaxFiles != 100_000 || c.Settings.Archives != egress.ArchivesList {
					t.Fatalf("New = %+v, %v; want the defaults applied", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestFileStopsListingABomb: a tar.gz that expands past the limit is
// listed up to there, and the scanner reading the same stream still gets
// every byte.
func TestFileStopsListingABomb(t *testing.T) {
	old := expandedLimit
	expandedLimit = 2500 // two of tarBytes' 1000-byte entries and their headers
	defer func() { expandedLimit = old }()
	data := tarBytes(t, true, "a.csv", "b.csv", "c.csv", "d.csv")
	objs := &memObjects{}
	sc := &bodyScanner{}
	c, _ := newChecker(t, egress.CheckSettings{}, sc, objs)
	res := checkOne(t, c, objs, "bomb.tgz", data)
	got := messages(find(res.Findings, egress.CheckArchive, egress.SeverityInfo))
	if !strings.Contains(got, "listing stopped after 2 entries: more than 2.4 KiB decompressed") || strings.Contains(got, "c.csv") {
		t.Errorf("want the listing stopped after two entries, got:\n%s", messages(res.Findings))
	}
	if !bytes.Equal(sc.got, data) {
		t.Errorf("the scanner got %d bytes, not the object's %d", len(sc.got), len(data))
	}
}

// A tar or gzip too large to list within the step's time gets a warning,
// and only its head is read.
func TestFileDoesNotListHugeArchives(t *testing.T) {
	for _, p := range []string{"big.tar", "data.bin"} {
		objs := &memObjects{}
		c, _ := newChecker(t, egress.CheckSettings{}, nil, objs)
		data := tarBytes(t, false, "a.csv", "b.csv", "c.csv", "d.csv", "e.csv")
		objs.data = map[string][]byte{p: data}
		res, err := c.File(context.Background(), egress.File{Path: p, Size: MaxListBytes + 1}, egress.ObjectVersion{Bucket: "staging", Key: p})
		if err != nil {
			t.Fatal(err)
		}
		if got := messages(find(res.Findings, egress.CheckArchive, egress.SeverityWarning)); !strings.Contains(got, "too large to list") {
			t.Errorf("%s: findings\n%s", p, messages(res.Findings))
		}
		if len(objs.opens) != 1 || !strings.HasSuffix(objs.opens[0], fmt.Sprintf(" 0 %d", headBytes)) {
			t.Errorf("%s: reads %v, want the head only", p, objs.opens)
		}
	}
}

// The checks report the type they sniffed, for reviewers to see beside the
// file; an empty file has none.
func TestFileSniffedType(t *testing.T) {
	tests := []struct {
		path string
		data []byte
		want string
	}{
		{"out/table.csv", []byte("region,count\nnorth,12\nsouth,30\n"), "text/csv"},
		{"plot.png", pngBytes(), "image/png"},
		{"notes.txt", []byte("Results of the second model run.\nNothing identifiable.\n"), "text/plain; charset=utf-8"},
		{"empty.txt", nil, ""},
	}
	for _, tt := range tests {
		objs := &memObjects{}
		c, _ := newChecker(t, egress.CheckSettings{}, nil, objs)
		if got := checkOne(t, c, objs, tt.path, tt.data).ContentType; got != tt.want {
			t.Errorf("%s: content type %q, want %q", tt.path, got, tt.want)
		}
	}
}
