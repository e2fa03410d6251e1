package objects

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/tre-egress/egress/shared/egress"
)

// FuzzZipNames writes two entries under any names the writer accepts
// (egress.CheckZipPath, distinct) and reads the zip back with archive/zip:
// the names, contents, SHA256SUMS and manifest.json come back as written,
// and the bytes equal archive/zip's own for the same entries.
func FuzzZipNames(f *testing.F) {
	for _, s := range [][2]string{
		{"a.csv", "b/c.txt"},
		{"données/résumé.txt", "数据/表格.xlsx"},
		{"caf\u00e9.txt", "cafe\u0301.txt"},
		{"a\u00a0b.png", "sp ace/x (1).txt"},
		{strings.Repeat("k", 1021), strings.Repeat("d/", 300) + "f"},
		{"~$tmp.docx", "#%+&;=@[]^`{}.txt"},
		{"a", "a"},
		{"../x", "\x00"},
	} {
		f.Add(s[0], s[1], []byte("a,1,2.5\n"))
	}
	modified := time.Date(2026, 11, 30, 17, 4, 33, 0, time.UTC)
	f.Fuzz(func(t *testing.T, n1, n2 string, body []byte) {
		if n1 == n2 || egress.CheckZipPath(n1) != nil || egress.CheckZipPath(n2) != nil {
			return // WriteZipJob refuses these before writing anything
		}
		names := []string{n1, n2}
		m := bytesS3{objects: map[string][]byte{"k1": body, "k2": bytes.ToUpper(body)}, modified: modified}
		entries := []egress.ZipEntry{{Path: n1, Bucket: "b", Key: "k1"}, {Path: n2, Bucket: "b", Key: "k2"}}
		got := &bytes.Buffer{}
		z := &zipStream{blockSize: DefaultZipBlockSize, out: got}
		if _, done, err := (&Client{S3: m}).zipEntries(context.Background(), z, egress.ZipJob{Entries: entries}, modified, nil); err != nil || !done {
			t.Fatalf("done %t, error %v", done, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
		if err != nil {
			t.Fatalf("archive/zip cannot read the zip: %v", err)
		}
		want := []string{n1, n2, egress.ZipSumsName, egress.ZipManifestName}
		if len(zr.File) != len(want) {
			t.Fatalf("%d entries, want %d", len(zr.File), len(want))
		}
		var ref bytes.Buffer
		zw := zip.NewWriter(&ref)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
		contents := map[string][]byte{}
		for i, zf := range zr.File {
			if zf.Name != want[i] {
				t.Fatalf("entry %d read back as %q, written as %q", i, zf.Name, want[i])
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatalf("%q: %v", zf.Name, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%q: %v", zf.Name, err)
			}
			contents[zf.Name] = b
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: Method(zf.Name), Modified: modified})
			w.Write(b)
		}
		zw.Close()
		if !bytes.Equal(contents[n1], body) || !bytes.Equal(contents[n2], bytes.ToUpper(body)) {
			t.Fatal("contents differ")
		}
		var manifest zipManifest
		if err := json.Unmarshal(contents[egress.ZipManifestName], &manifest); err != nil || len(manifest.Files) != 2 {
			t.Fatalf("manifest.json: %v, %d files", err, len(manifest.Files))
		}
		sums := strings.Split(strings.TrimSuffix(string(contents[egress.ZipSumsName]), "\n"), "\n")
		for i, n := range names {
			if manifest.Files[i].Path != n {
				t.Errorf("manifest.json names %q, want %q", manifest.Files[i].Path, n)
			}
			if line := sums[i]; line+"\n" != sumsLine(manifest.Files[i].SHA256, n) || !strings.HasSuffix(line, "  "+n) {
				t.Errorf("SHA256SUMS line %q for %q", line, n)
			}
		}
		if !bytes.Equal(got.Bytes(), ref.Bytes()) {
			t.Fatalf("ours: %d bytes, archive/zip's: %d; they differ at byte %d", got.Len(), ref.Len(), firstDiff(got.Bytes(), ref.Bytes()))
		}
	})
}
