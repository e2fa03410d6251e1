package egress_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

func TestCheckZipPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"summary.csv", true},
		{"a/b/c d+e%.csv", true},
		{"données/résumé.txt", true},
		{".hidden/x", true},
		{"", false},
		{".", false},
		{"/abs.csv", false},
		{"a/../b", false},
		{"a//b", false},
		{"dir/", false},
		{`a\b.csv`, false},
		{egress.ZipSumsName, false},
		{egress.ZipManifestName, false},
		{"sub/" + egress.ZipManifestName, true},
		// Names Windows cannot create, or would create under another name.
		{"a:b.csv", false},
		{"c:/x.csv", false},
		{"dir/report?.csv", false},
		{`say "hi".txt`, false},
		{"a<b>c.txt", false},
		{"pipe|.txt", false},
		{"star*.txt", false},
		{"tab\t.txt", false},
		{"CON", false},
		{"con.txt", false},
		{"data/Nul.tar.gz", false},
		{"aux /x", false},
		{"COM1.log", false},
		{"lpt9", false},
		{"COM¹.txt", false},
		{"trailing.", false},
		{"trailing /x.csv", false},
		{"dir./x.csv", false},
		{"x.csv ", false},
		{"console.txt", true},
		{"COM10.txt", true},
		{"com.txt", true},
		{"LPT.csv", true},
		{"nul_results.csv", true},
		{" leading space.txt", true},
		{"a.b.c", true},
	}
	for _, tt := range tests {
		err := egress.CheckZipPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("egress.CheckZipPath(%q) = %v, want ok %v", tt.path, err, tt.ok)
		}
		if err != nil && egress.ErrorCode(err) != egress.EINVALID {
			t.Errorf("egress.CheckZipPath(%q) code %s, want EINVALID", tt.path, egress.ErrorCode(err))
		}
	}
}

func TestNonPortableSaysWhy(t *testing.T) {
	tests := []struct{ path, want string }{
		{"a/b:c.csv", `has ':' in "b:c.csv" (Windows allows none of <>:"|?* in file names)`},
		{"CON.txt", `has "CON.txt", a reserved device name on Windows`},
		{"x./y", `has "x.", which ends with a dot or a space`},
		{"a\x01", `has the control character U+0001 in "a\x01"`},
		{"fine/name.csv", ""},
	}
	for _, tt := range tests {
		if got := egress.NonPortable(tt.path); got != tt.want && (tt.want == "" || !strings.HasPrefix(got, tt.want)) {
			t.Errorf("NonPortable(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestJoinBounded(t *testing.T) {
	var errs []error
	for i := range 2000 {
		errs = append(errs, egress.Errorf(egress.ENOTFOUND, "object %04d not found", i), nil)
	}
	err := egress.JoinBounded(10, errs...)
	msg := err.Error()
	if !strings.Contains(msg, "object 0009 not found") || strings.Contains(msg, "object 0010") {
		t.Errorf("kept the wrong errors: %q", msg)
	}
	if !strings.HasSuffix(msg, "\nand 1990 more") || len(msg) > 1000 {
		t.Errorf("error of %d bytes ends %q", len(msg), msg[max(0, len(msg)-30):])
	}
	if egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Errorf("code %q", egress.ErrorCode(err))
	}
	if err := egress.JoinBounded(10, nil, nil); err != nil {
		t.Errorf("no errors joined to %v", err)
	}
	if got := egress.JoinBounded(3, errors.New("a"), errors.New("b")).Error(); got != "a\nb" {
		t.Errorf("under the bound: %q", got)
	}
}

func TestFileTypes(t *testing.T) {
	many := make([]egress.File, 1000)
	for i := range many {
		many[i] = egress.File{Path: fmt.Sprintf("f%d.ext%d", i, i)}
	}
	tests := []struct {
		name  string
		files []egress.File
		want  string
	}{
		{"none", nil, "none"},
		{"most common first, then by name, case folded", []egress.File{
			{Path: "tables/summary.csv"}, {Path: "tables/other.CSV"}, {Path: "figures/km curve.png"}, {Path: "README"},
		}, "csv (2), no extension (1), png (1)"},
		{"odd or long extensions are other", []egress.File{
			{Path: "a.tar-gz"}, {Path: "b." + strings.Repeat("x", 17)}, {Path: "c.sixteenletters"},
		}, "other (2), sixteenletters (1)"},
		{"the extension of the name, not of a folder", []egress.File{{Path: "v1.2/data"}}, "no extension (1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := egress.FileTypes(tt.files); got != tt.want {
				t.Errorf("FileTypes = %q, want %q", got, tt.want)
			}
		})
	}
	got := egress.FileTypes(many)
	if n := strings.Count(got, "("); n != egress.MaxFileTypes || !strings.HasSuffix(got, ", and 980 other types") || len(got) > 40*(egress.MaxFileTypes+1) {
		t.Errorf("1,000 types: %d listed, %d bytes: %q", n, len(got), got)
	}
}
