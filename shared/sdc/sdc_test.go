package sdc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

func settings(t testing.TB, s egress.SDCSettings) Settings {
	t.Helper()
	c, err := NewSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func messages(fs []egress.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Message)
	}
	return out
}

const zeroMsg = "zero count: disclosive (a structural or empty category tells that nobody has this attribute)"

func TestNewSettings(t *testing.T) {
	no := false
	tests := []struct {
		name    string
		in      egress.SDCSettings
		want    Settings
		wantErr string
	}{
		{name: "defaults", in: egress.SDCSettings{},
			want: Settings{Threshold: 10, ZerosDisclosive: true, Severity: egress.SeverityWarning}},
		{name: "configured", in: egress.SDCSettings{Threshold: 5, ZerosDisclosive: &no, Blocking: true, CountColumns: []string{"^people$"}},
			want: Settings{Threshold: 5, ZerosDisclosive: false, Severity: egress.SeverityBlocking}},
		{name: "bad pattern", in: egress.SDCSettings{CountColumns: []string{"(n"}}, wantErr: `sdc count column pattern "(n"`},
		{name: "negative threshold", in: egress.SDCSettings{Threshold: -1}, wantErr: "sdc threshold -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewSettings(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantPatterns := tc.in.CountColumns
			if wantPatterns == nil {
				wantPatterns = egress.DefaultCountColumns
			}
			var patterns []string
			for _, re := range got.CountColumns {
				patterns = append(patterns, re.String())
			}
			if !reflect.DeepEqual(patterns, wantPatterns) {
				t.Errorf("count columns %q, want %q", patterns, wantPatterns)
			}
			got.CountColumns = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	no := false
	tests := []struct {
		name     string
		in       string
		comma    rune // ',' when zero
		settings egress.SDCSettings
		want     []string
		wantSev  egress.Severity // of every finding but INFO ones; WARNING when empty
	}{
		{name: "frequency table with a cell of 3",
			in:   "sex,age,n\nFemale,16-64,120\nFemale,65+,3\nMale,16-64,98\n",
			want: []string{`row 2 ("Female, 65+"), column "n": count 3 is below the threshold of 10`}},
		{name: "zero cell, zeros disclosive",
			in:   "sex,n\nFemale,0\nMale,40\n",
			want: []string{`row 1 ("Female"), column "n": ` + zeroMsg}},
		{name: "zero cell, zeros not disclosive",
			in: "sex,n\nFemale,0\nMale,40\n", settings: egress.SDCSettings{ZerosDisclosive: &no},
			want: []string{}},
		{name: "threshold configured",
			in: "sex,n\nFemale,4\nMale,5\n", settings: egress.SDCSettings{Threshold: 5},
			want: []string{`row 1 ("Female"), column "n": count 4 is below the threshold of 5`}},
		{name: "crosstab without count headers",
			in: ",cat,dog\na,12,5\nb,0,30\n",
			want: []string{
				`row 1 ("a"), column "dog": count 5 is below the threshold of 10`,
				`row 2 ("b"), column "cat": ` + zeroMsg,
			}},
		{name: "ACRO crosstab: index row, margins, floats and suppressed cells",
			in: "recommend,not_recom,priority,All\nparents,,,\ngreat_pret,12.0,,40.0\nusual,15.0,20.0,35.0\nAll,27.0,,75.0\n",
			want: []string{
				`row 2 ("great_pret"), column "priority": suppressed, but recoverable by subtraction from the total in column "All"`,
				`row 4 ("All"), column "priority": suppressed, but recoverable by subtraction from the total in column "All"`,
			}},
		{name: "ACRO crosstab with two index levels",
			in: "parents,finance,not_recom,priority,All\ngreat_pret,convenient,3.0,,10\ngreat_pret,inconv,12.0,20.0,32\nAll,,15.0,,42\n",
			want: []string{
				`row 1 ("great_pret, convenient"), column "priority": suppressed, but recoverable by subtraction from the total in column "All"`,
				`row 3 ("All"), column "priority": suppressed, but recoverable by subtraction from the total in column "All"`,
				`row 1 ("great_pret, convenient"), column "not_recom": count 3 is below the threshold of 10`,
			}},
		{name: "a table of means is not a crosstab",
			in: "recommendation,great_pret,pretentious\nnot_recom,3.1006944444444446,3.1326388888888888\nrecommend,,\n", want: []string{}},
		{name: "crosstab with two header rows",
			in:   "sex,F,F,M,M\nage,young,old,young,old\nregion,,,,\nnorth,12,3,20,30\n",
			want: []string{`row 3 ("north"), column "F / old": count 3 is below the threshold of 10`}},
		{name: "not a crosstab once a cell is not a count",
			in: ",a,b\nr1,3,12\nr2,hello,12\n", want: []string{}},
		{name: "no count columns",
			in: "name,score,city\nalice,3.5,York\nbob,2,Leeds\n", want: []string{}},
		{name: "totals row gives a suppressed cell away",
			in:   "region,n\nNorth,57\nSouth,*\nEast,30\nTotal,120\n",
			want: []string{`row 2 ("South"), column "n": suppressed, but recoverable by subtraction from the total in row 4 ("Total")`}},
		{name: "totals row with two suppressed cells",
			in: "region,n\nNorth,57\nSouth,*\nEast,<10\nTotal,120\n", want: []string{}},
		{name: "totals column; two suppressed cells in a row give nothing away",
			in:   "group,a_n,b_n,c_n,total\nx,*,<10,25,40\ny,12,15,c,50\n",
			want: []string{`row 2 ("y"), column "c_n": suppressed, but recoverable by subtraction from the total in column "total"`}},
		{name: "suppressed total gives nothing away",
			in: "group,a_n,b_n,total\nx,20,[c],x\n", want: []string{}},
		{name: "a cell alone in its row and its column is one finding",
			in:   ",a,b,All\nr1,20,*,50\nr2,15,40,55\nAll,35,70,105\n",
			want: []string{`row 1 ("r1"), column "b": suppressed, but recoverable by subtraction from the total in column "All" and from the total in row 3 ("All")`}},
		{name: "TSV with CRLF",
			in: "sex\tn\r\nFemale\t4\r\nMale\t50\r\n", comma: '\t',
			want: []string{`row 1 ("Female"), column "n": count 4 is below the threshold of 10`}},
		{name: "BOM and a quoted header",
			in:   "\ufeff\"n\",label\n3,a\n",
			want: []string{`row 1, column "n": count 3 is below the threshold of 10`}},
		{name: "quoted labels and ragged rows",
			in:   "\"sex, age\",n\n\"Female, 65+\",3\nMale\n\"Male, 16-64\",12,extra\n",
			want: []string{`row 1 ("Female, 65+"), column "n": count 3 is below the threshold of 10`}},
		{name: "malformed: a quote left open",
			in: "region,n\nNorth,5\n\"South,3\nEast,4\n",
			want: []string{
				`row 1 ("North"), column "n": count 5 is below the threshold of 10`,
				`not analysed beyond line 2: a quoted field opened on line 3 is not closed`,
			}},
		{name: "a closed multi-line quote at the end is not malformed",
			in:   "n,note\n5,\"two\nlines\"",
			want: []string{`row 1, column "n": count 5 is below the threshold of 10`}},
		{name: "custom count columns",
			in: "people,n\n3,4\n", settings: egress.SDCSettings{CountColumns: []string{"^people$"}},
			want: []string{`row 1, column "people": count 3 is below the threshold of 10`}},
		{name: "blocking severity passes through",
			in: "region,n\nNorth,3\nSouth,*\nTotal,60\n", settings: egress.SDCSettings{Blocking: true}, wantSev: egress.SeverityBlocking,
			want: []string{
				`row 2 ("South"), column "n": suppressed, but recoverable by subtraction from the total in row 3 ("Total")`,
				`row 1 ("North"), column "n": count 3 is below the threshold of 10`,
			}},
		{name: "header only", in: "n,label\n", want: []string{}},
		{name: "empty", in: "", want: []string{}},
		{name: "labels and headers are quoted, control characters escaped",
			in:   "\"a\nb\",\"x\tn\"\n\"ev\til\",2\n",
			want: []string{`row 1 ("ev\til"), column "x\tn": count 2 is below the threshold of 10`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			comma := tc.comma
			if comma == 0 {
				comma = ','
			}
			got, err := Table(strings.NewReader(tc.in), comma, settings(t, tc.settings))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(messages(got), tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(messages(got), "\n"), strings.Join(tc.want, "\n"))
			}
			wantSev := tc.wantSev
			if wantSev == "" {
				wantSev = egress.SeverityWarning
			}
			for _, f := range got {
				if f.Check != egress.CheckSDC {
					t.Errorf("%v: check %q, want %q", f, f.Check, egress.CheckSDC)
				}
				if f.Severity != wantSev && !(f.Severity == egress.SeverityInfo && strings.HasPrefix(f.Message, "not analysed")) {
					t.Errorf("%v: severity %s, want %s", f, f.Severity, wantSev)
				}
			}
		})
	}
}

func TestTableCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("label,a_n,b_n,c_n,total\n")
	for i := range 40 { // each row: a recoverable cell, a small count, a zero
		fmt.Fprintf(&b, "r%d,*,3,0,50\n", i)
	}
	got, err := Table(strings.NewReader(b.String()), ',', settings(t, egress.SDCSettings{}))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range got {
		switch {
		case strings.Contains(f.Message, "recoverable"):
			kinds["recoverable"]++
		case strings.Contains(f.Message, "threshold"):
			kinds["threshold"]++
		case strings.Contains(f.Message, "zero"):
			kinds["zero"]++
		}
	}
	want := map[string]int{"recoverable": maxPerKind + 1, "threshold": maxPerKind + 1, "zero": maxPerKind + 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("findings per kind %v, want %v", kinds, want)
	}
	for _, s := range []string{
		"and 25 more suppressed cells recoverable by subtraction from a total",
		"and 25 more cells below the threshold of 10",
		"and 25 more zero cells",
	} {
		if !slicesContains(messages(got), s) {
			t.Errorf("no finding %q in %q", s, messages(got))
		}
	}
	if len(got) > egress.MaxFindingsPerFile {
		t.Errorf("%d findings, more than egress.MaxFindingsPerFile", len(got))
	}
}

func slicesContains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// countingReader counts what was read of it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTableBounds(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "a record too long",
			in: "region,n\nNorth,3\n\"" + strings.Repeat("x", maxRecordBytes+10_000) + "\",4\nSouth,2\n",
			want: []string{
				`row 1 ("North"), column "n": count 3 is below the threshold of 10`,
				fmt.Sprintf("not analysed beyond line 2: %v", errRecordTooLong),
			}},
		{name: "too many columns",
			in: "label," + strings.Repeat("x,", maxColumns) + "n\nr,3\n",
			want: []string{
				`row 1 ("r"), column "x": count 3 is below the threshold of 10`,
				fmt.Sprintf("columns beyond %d not analysed", maxColumns),
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: strings.NewReader(tc.in)}
			got, err := Table(cr, ',', settings(t, egress.SDCSettings{CountColumns: []string{"^(n|x)$"}}))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(messages(got), tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(messages(got), "\n"), strings.Join(tc.want, "\n"))
			}
			if cr.n != len(tc.in) {
				t.Errorf("read %d bytes of %d: the read is shared, Table must read to the end", cr.n, len(tc.in))
			}
		})
	}
}

func TestTableReadsToTheEnd(t *testing.T) {
	// Not a table of counts: Table stops analysing at row 2, but reads on.
	in := ",a\nr1,3\nr2,hello\n" + strings.Repeat("r,1\n", 100_000)
	cr := &countingReader{r: strings.NewReader(in)}
	got, err := Table(cr, ',', settings(t, egress.SDCSettings{}))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no findings", got, err)
	}
	if cr.n != len(in) {
		t.Errorf("read %d bytes of %d", cr.n, len(in))
	}
}

type failingReader struct{ after io.Reader }

var errDisk = errors.New("disk on fire")

func (f failingReader) Read(p []byte) (int, error) {
	if n, err := f.after.Read(p); err != io.EOF {
		return n, err
	}
	return 0, errDisk
}

func TestTableErrors(t *testing.T) {
	s := settings(t, egress.SDCSettings{})
	for _, in := range []string{"", "n\n3\n", "n\n\"3"} {
		if _, err := Table(failingReader{strings.NewReader(in)}, ',', s); !errors.Is(err, errDisk) {
			t.Errorf("%q then a failing reader: error %v, want %v", in, err, errDisk)
		}
	}
	if _, err := Table(strings.NewReader("n\n3\n"), '"', s); err == nil || !strings.Contains(err.Error(), "not a field separator") {
		t.Errorf("comma '\"': error %v, want one saying it is not a field separator", err)
	}
}

func TestParseACRO(t *testing.T) {
	f, err := os.Open("testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseACRO(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []ACROOutput{
		{UID: " crosstab_age_by_region", Status: "review", Type: "table", Method: "crosstab",
			Summary:   "review; threshold: 1 cells suppressed; p-ratio: 1 cells suppressed; nk-rule: 1 cells suppressed; ",
			Exception: "Suppression automatically applied where needed",
			Comments:  []string{"suppression leaves the margins as they were"},
			Files:     []string{"crosstab_age_by_region_0.csv"}},
		{UID: "output_2", Status: "fail", Type: "table", Method: "pivot_table",
			Summary: "fail; threshold: 2 cells may need suppressing; ",
			Files:   []string{"output_2_0.csv"}},
		{UID: "output_3", Status: "review", Type: "custom", Summary: "review",
			Exception: "rates, not counts: no cell describes fewer than 10 people",
			Comments:  []string{"the code that produced these outputs", "a figure of the regional rates"},
			Files:     []string{"analysis.R", "figure_1.png"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%#v\nwant\n%#v", got, want)
	}
}

func TestParseACROBounds(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	comments := `"` + strings.Repeat(`c", "`, 30) + `c"`
	in := `{"results": {"k": {"summary": "` + long + `", "exception": "` + long + `", "comments": [` + comments + `],
		"files": [{"name": " "}, {"name": "a.csv"}, "b.csv"]}}}`
	got, err := ParseACRO(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d outputs, want 1", len(got))
	}
	o := got[0]
	if o.UID != "k" {
		t.Errorf("UID %q, want the key %q when uid is missing", o.UID, "k")
	}
	if len(o.Summary) > maxACROText || len(o.Exception) > maxACROText || !strings.HasSuffix(o.Summary, "…") {
		t.Errorf("summary of %d bytes, exception of %d: want them cut to %d", len(o.Summary), len(o.Exception), maxACROText)
	}
	if len(o.Comments) != maxACROComment+1 || o.Comments[maxACROComment] != "and 11 more comments" {
		t.Errorf("comments %q, want %d and a count of the rest", o.Comments, maxACROComment)
	}
	if !reflect.DeepEqual(o.Files, []string{"a.csv", "b.csv"}) {
		t.Errorf("files %q, want the named ones, objects or strings", o.Files)
	}
}

func TestParseACROBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   io.Reader
		want string
	}{
		{"not JSON", strings.NewReader("status: pass"), "results.json: not JSON"},
		{"an array", strings.NewReader("[]"), "results.json: not a JSON object"},
		{"no results", strings.NewReader(`{"version": "0.4.12"}`), `results.json: no "results" object`},
		{"results an array", strings.NewReader(`{"results": []}`), "results.json: results is not an object"},
		{"results null", strings.NewReader(`{"results": null}`), "results.json: results is not an object"},
		{"output a number", strings.NewReader(`{"results": {"out": 3}}`), `results.json: output "out" is not an object`},
		{"status a number", strings.NewReader(`{"results": {"out": {"status": 3}}}`), `results.json: output "out": json: cannot unmarshal number`},
		{"a file a number", strings.NewReader(`{"results": {"out": {"files": [3]}}}`), `results.json: output "out": json: cannot unmarshal number`},
		{"trailing data", strings.NewReader(`{"results": {}} {}`), "results.json: not JSON"},
		{"too large", io.MultiReader(strings.NewReader(`{"results": {}}`), bytes.NewReader(make([]byte, maxACROBytes))), "results.json: larger than 8 MiB"},
		{"failing reader", failingReader{strings.NewReader(`{"results": `)}, errDisk.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseACRO(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
}

func FuzzTable(f *testing.F) {
	for _, seed := range []string{
		"sex,n\nFemale,3\nMale,0\n",
		",a,b,All\nr1,20,*,50\nr2,15,40,55\nAll,35,70,105\n",
		"recommend,x,y,All\nparents,,,\nr,12.0,,40.0\nAll,27.0,,75.0\n",
		"sex,F,M\nage,young,old\nr,3,\"4\n",
		"region,n\nNorth,5\n\"South,3\n",
		"\ufeffn\tlabel\r\n1\tx\r\n",
	} {
		f.Add([]byte(seed), seed[0]%2 == 0)
	}
	s := settings(f, egress.SDCSettings{})
	f.Fuzz(func(t *testing.T, in []byte, tsv bool) {
		comma := ','
		if tsv {
			comma = '\t'
		}
		cr := &countingReader{r: bytes.NewReader(in)}
		got, err := Table(cr, comma, s)
		if err != nil {
			t.Fatalf("error from an in-memory reader: %v", err)
		}
		if cr.n != len(in) {
			t.Errorf("read %d bytes of %d", cr.n, len(in))
		}
		if len(got) > egress.MaxFindingsPerFile {
			t.Errorf("%d findings", len(got))
		}
		for _, fd := range got {
			if len(fd.Message) > egress.MaxFindingMessage || fd.Check != egress.CheckSDC {
				t.Errorf("finding %v", fd)
			}
		}
	})
}

func BenchmarkTable100KiB(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(",a,b,c,d,e,f,g,h,All\n")
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "row%d,%d,%d,%d,%d,%d,%d,*,%d,%d\n", i, i%50, i%7+10, i, i*3, i%20, 100, i%90, i*10)
	}
	in := sb.String()
	s := settings(b, egress.SDCSettings{})
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Table(strings.NewReader(in), ',', s); err != nil {
			b.Fatal(err)
		}
	}
}
