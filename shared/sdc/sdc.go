// Package sdc is statistical disclosure control on tabular outputs: it
// reads CSV/TSV tables for small and zero frequency cells and for totals
// that give a suppressed cell away, and it reads the results.json that
// ACRO/SACRO write beside a researcher's outputs.
package sdc

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
)

// Settings are egress.SDCSettings, compiled.
type Settings struct {
	Threshold       int
	ZerosDisclosive bool
	CountColumns    []*regexp.Regexp
	Severity        egress.Severity // of every finding: SeverityWarning, or SeverityBlocking when configured
}

// NewSettings compiles s (with its defaults applied).
func NewSettings(s egress.SDCSettings) (Settings, error) {
	s = egress.CheckSettings{SDC: s}.WithDefaults().SDC
	if s.Threshold < 0 {
		return Settings{}, fmt.Errorf("sdc threshold %d is negative", s.Threshold)
	}
	out := Settings{Threshold: s.Threshold, ZerosDisclosive: *s.ZerosDisclosive, Severity: egress.SeverityWarning}
	if s.Blocking {
		out.Severity = egress.SeverityBlocking
	}
	for _, p := range s.CountColumns {
		re, err := regexp.Compile(p)
		if err != nil {
			return Settings{}, fmt.Errorf("sdc count column pattern %q: %w", p, err)
		}
		out.CountColumns = append(out.CountColumns, re)
	}
	return out, nil
}

// Bounds that keep a table's analysis small in memory and in findings,
// whatever the file holds.
const (
	// maxRecordBytes bounds one CSV record: encoding/csv would otherwise
	// hold a record of any length in memory.
	maxRecordBytes = 1 << 20
	// maxColumns bounds the columns analysed (and the per-column state
	// the totals check keeps); further columns get an INFO finding.
	maxColumns = 10_000
	// maxPerKind findings of one kind are listed, the rest summed up in
	// one: 3 kinds × (15 + 1) + 2 INFO findings fit in
	// egress.MaxFindingsPerFile, so no caller's bound cuts a summary off.
	maxPerKind = 15
	// maxName bounds a row label or column header in a message.
	maxName = 80
	// maxHeaderRows bounds the extra header rows of a cross-tabulation
	// (pandas writes one per level of a MultiIndex).
	maxHeaderRows = 3
)

// isTotal tells the label of a totals row or the header of a totals
// column; ACRO (pandas' margins) writes "All".
func isTotal(name string) bool {
	name = strings.TrimSpace(name)
	if len(name) > len("grand total") {
		return false
	}
	switch strings.ToLower(name) {
	case "all", "total", "totals", "grand total":
		return true
	}
	return false
}

var (
	// suppressedMarker is what statistical offices and ACRO write in
	// place of a suppressed count (an empty cell is one too).
	suppressedMarker = regexp.MustCompile(`(?i)^(\*+|<=?\s*\d+|c|\[c\]|x|\[x\]|suppressed|\.\.|-|–|—|nan|na)$`)
	countValue       = regexp.MustCompile(`^(\d+|\d{1,3}(,\d{3})+)(\.0*)?$`)
	numberValue      = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)
	errRecordTooLong = fmt.Errorf("a record longer than %d bytes", maxRecordBytes)
)

// cellKind is what a cell of a count column holds.
type cellKind int

const (
	cellMissing cellKind = iota // beyond the end of a ragged row
	cellEmpty                   // empty: suppressed
	cellMarker                  // a suppression marker
	cellCount                   // a non-negative integer
	cellNumber                  // another number: not a count, but it adds up
	cellText                    // anything else
)

func (k cellKind) suppressed() bool { return k == cellEmpty || k == cellMarker }
func (k cellKind) numeric() bool    { return k == cellCount || k == cellNumber }

// classify says what cell holds and, for a count, its value (saturated at
// the largest int64: only small counts matter).
func classify(cell string) (cellKind, int64) {
	c := strings.TrimSpace(cell)
	if n, ok := digits(c); ok { // the usual cell, without a regexp
		return cellCount, n
	}
	switch c {
	case "":
		return cellEmpty, 0
	case "*", "c", "x", "-", "..": // the usual markers, without a regexp
		return cellMarker, 0
	}
	switch {
	case countValue.MatchString(c):
		digits, _, _ := strings.Cut(strings.ReplaceAll(c, ",", ""), ".")
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			n = 1<<63 - 1
		}
		return cellCount, n
	case suppressedMarker.MatchString(c):
		return cellMarker, 0
	case numberValue.MatchString(c):
		return cellNumber, 0
	}
	return cellText, 0
}

// digits parses a plain non-negative integer, saturating at the largest
// int64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-9)/10 {
			n = 1<<63 - 1
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// column is the totals check's state for one count column.
type column struct {
	count       bool // holds frequencies
	total       bool // a totals column
	name        string
	totalSeen   bool // a totals row has a number in this column
	broken      bool // a cell that is neither a number nor suppressed: no subtraction
	nSuppressed int  // in rows other than totals rows, counted up to 2
	// The first suppressed cell, the one a single suppression gives away.
	row        int
	label      string
	rowFlagged bool // already recoverable from its row's total
}

// recovered is a suppressed cell that a total gives away.
type recovered struct {
	row, col      int
	label, column string
	fromColumn    string // the totals column of its row, when that gives it away
	fromRow       int    // the totals row of its column, when that gives it away
	fromRowLabel  string
}

func (r recovered) message() string {
	var via []string
	if r.fromColumn != "" {
		via = append(via, fmt.Sprintf("the total in column %s", r.fromColumn))
	}
	if r.fromRow > 0 {
		via = append(via, fmt.Sprintf("the total in %s", rowName(r.fromRow, r.fromRowLabel)))
	}
	return fmt.Sprintf("%s, column %s: suppressed, but recoverable by subtraction from %s",
		rowName(r.row, r.label), r.column, strings.Join(via, " and from "))
}

// capped lists up to maxPerKind findings of one kind and counts the rest.
type capped struct {
	list []egress.Finding
	more int
}

func (c *capped) full() bool { return len(c.list) == maxPerKind }

func (c *capped) add(f egress.Finding) {
	if len(c.list) < maxPerKind {
		c.list = append(c.list, f)
	} else {
		c.more++
	}
}

// table is one table's analysis, row by row: it holds the header and a
// small state per column, never the rows, so memory does not grow with
// the table's length.
type table struct {
	s        Settings
	crosstab bool // no header matched: columns 2..n are counts if every cell is one
	cols     []column
	headers  [][]string // the header rows, for the names of crosstab columns
	data     bool       // a crosstab's data rows have begun
	row      int        // data rows read: the number of the current one
	ints     bool       // a count was seen
	// notCounts: a crosstab candidate held something other than counts.
	notCounts bool
	// The first totals row, which gives away a column's single
	// suppressed cell.
	totalRow   int
	totalLabel string
	// labels is the number of leading columns that label a row.
	labels int
	kinds  []cellKind // the current row's, reused
	vals   []int64

	recovered  []recovered // up to maxPerKind
	moreRec    int
	below      capped
	zeros      capped
	info       []egress.Finding
	wideColumn bool
}

// Table reads a CSV (comma ',') or TSV ('\t') table from r to its end and
// returns its disclosure findings, each naming the row and column.
//
// Columns whose header matches one of s.CountColumns hold counts; when
// none matches, the table is taken for a cross-tabulation (row labels,
// then a count per category, as ACRO writes them) if every other cell
// is a count, a suppressed cell or empty, and otherwise it has no counts.
// Data rows are numbered from 1, after the first (header) record. A
// malformed table gets the findings of the rows before the fault and an
// INFO finding; only a failing r is an error.
func Table(r io.Reader, comma rune, s Settings) ([]egress.Finding, error) {
	if s.Severity == "" {
		s.Severity = egress.SeverityWarning
	}
	if comma == 0 || comma == '"' || comma == '\r' || comma == '\n' || !utf8.ValidRune(comma) || comma == utf8.RuneError {
		_, _ = io.Copy(io.Discard, r) // read to the end all the same, as promised
		return nil, fmt.Errorf("sdc: %q is not a field separator", comma)
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	lr := &recordLimit{r: br}
	cr := csv.NewReader(lr)
	lr.csv = cr
	cr.Comma = comma
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1

	t := &table{s: s}
	// Each record is analysed once the next one is read: the last one
	// may turn out to be an unclosed quote that swallowed the table's end.
	var prev []string
	prevLine := 0 // where prev starts
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			if prev != nil && unclosedQuote(prev, lr.last) {
				t.info = append(t.info, t.infof("not analysed beyond line %d: a quoted field opened on line %d is not closed", prevLine-1, prevLine))
			} else if prev != nil {
				t.add(prev)
			}
			break
		}
		if err != nil {
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
			case errors.Is(err, errRecordTooLong):
			default:
				return nil, fmt.Errorf("sdc: reading the table: %w", err)
			}
			if prev != nil && !t.add(prev) {
				break
			}
			line := prevLine // where the last record analysed starts
			if pe != nil {
				line, err = pe.StartLine-1, pe.Err
			}
			t.info = append(t.info, t.infof("not analysed beyond line %d: %v", max(line, 0), err))
			break
		}
		if prev != nil && !t.add(prev) {
			break // not a table of counts: nothing more to find
		}
		prev = rec
		prevLine, _ = cr.FieldPos(0)
	}
	// The caller may share this read with others (scanning, hashing):
	// read to the end whatever the table held.
	lr.off = true
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("sdc: reading the table: %w", err)
	}
	return t.findings(), nil
}

func (t *table) infof(format string, a ...any) egress.Finding {
	return egress.Finding{Check: egress.CheckSDC, Severity: egress.SeverityInfo, Message: fmt.Sprintf(format, a...)}
}

// add takes the next record; it reports false when the table turns out
// to hold no counts.
func (t *table) add(rec []string) bool {
	if t.cols == nil {
		t.header(rec)
		return true
	}
	return t.record(rec)
}

// unclosedQuote tells a record that ends in a quoted field left open:
// with LazyQuotes, encoding/csv takes the rest of the input into that
// field, up to the final newline, where a closed field would end with
// its quote.
func unclosedQuote(rec []string, last byte) bool {
	f := rec[len(rec)-1]
	return strings.Contains(f, "\n") && last != '"'
}

// header takes the first record: which columns hold counts, which are
// totals.
func (t *table) header(rec []string) {
	n := t.width(len(rec))
	t.cols = make([]column, n)
	matched := false
	for i := range n {
		h := strings.TrimSpace(rec[i])
		t.cols[i].name = h
		for _, re := range t.s.CountColumns {
			if re.MatchString(h) {
				t.cols[i].count = true
				matched = true
				break
			}
		}
	}
	for t.labels < n && !t.cols[t.labels].count {
		t.labels++
	}
	if !matched && n >= 2 {
		t.crosstab = true
		t.labels = 1
		t.headers = [][]string{cloneStrings(rec[:n])}
		for i := 1; i < n; i++ {
			t.cols[i].count = true
		}
	}
	for i := range t.cols {
		t.cols[i].total = t.cols[i].count && isTotal(t.cols[i].name)
	}
}

// width bounds the columns analysed.
func (t *table) width(n int) int {
	if n > maxColumns {
		if !t.wideColumn {
			t.wideColumn = true
			t.info = append(t.info, t.infof("columns beyond %d not analysed", maxColumns))
		}
		return maxColumns
	}
	return n
}

// record takes one data record; it reports false when the table turns out
// to hold no counts.
func (t *table) record(rec []string) bool {
	t.row++
	n := t.width(len(rec))
	if n > len(t.cols) { // a ragged row longer than the header: its extra cells have no column
		n = len(t.cols)
	}
	if t.kinds == nil {
		t.kinds, t.vals = make([]cellKind, len(t.cols)), make([]int64, len(t.cols))
	}
	kinds, vals := t.kinds, t.vals
	anyCount, anyText, allEmpty := t.classify(rec[:n], kinds, vals)
	if t.crosstab && !t.data {
		switch {
		case anyCount:
			t.data = true
			if t.labelColumns(rec[:n]) {
				anyCount, anyText, allEmpty = t.classify(rec[:n], kinds, vals)
			}
		case allEmpty: // pandas' row naming the index
		case anyText && len(t.headers) <= maxHeaderRows: // another level of the columns' names
			t.headers = append(t.headers, cloneStrings(rec[:n]))
			return true
		case !anyText:
			t.data = true // suppressed cells only
		}
		if t.data {
			t.nameCrosstabColumns()
		}
	}
	if t.crosstab && anyText {
		t.notCounts = true
		return false
	}
	if allEmpty {
		return true // a blank or label row, not a row of suppressed cells
	}
	if anyCount {
		t.ints = true
	}
	label := t.label(rec[:n])
	t.cells(label, kinds, vals)
	t.totals(label, kinds)
	return true
}

// classify classifies the count cells of rec into kinds and vals and
// says whether the row has a count, a cell that is not one (and not
// suppressed), and whether all its count cells are empty.
func (t *table) classify(rec []string, kinds []cellKind, vals []int64) (anyCount, anyText, allEmpty bool) {
	clear(kinds)
	clear(vals)
	allEmpty = true
	for i := range t.cols {
		if !t.cols[i].count {
			continue
		}
		if i < len(rec) {
			kinds[i], vals[i] = classify(rec[i])
		}
		switch kinds[i] {
		case cellCount:
			anyCount = true
		case cellNumber, cellText:
			anyText = true
		}
		if kinds[i] != cellEmpty && kinds[i] != cellMissing {
			allEmpty = false
		}
	}
	return anyCount, anyText, allEmpty
}

// labelColumns takes a crosstab's first data row: the text cells that
// follow its first column are labels too (pandas writes a column per
// level of a MultiIndex), leaving at least one count column. It reports
// whether it found any.
func (t *table) labelColumns(rec []string) bool {
	found := false
	for j := t.labels; j < len(rec) && j < len(t.cols)-1; j++ {
		if k, _ := classify(rec[j]); k != cellText {
			break
		}
		t.cols[j].count = false
		t.labels++
		found = true
	}
	return found
}

// label is a row's label: its leading columns that are not counts, the
// categories the row stands for.
func (t *table) label(rec []string) string {
	var parts []string
	for _, c := range rec[:min(t.labels, len(rec))] {
		if c = strings.TrimSpace(c); c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, ", ")
}

// nameCrosstabColumns names each column by its header rows' names.
func (t *table) nameCrosstabColumns() {
	for i := range t.cols {
		var parts []string
		for _, h := range t.headers {
			if i < len(h) && strings.TrimSpace(h[i]) != "" {
				parts = append(parts, strings.TrimSpace(h[i]))
			}
		}
		t.cols[i].name = strings.Join(parts, " / ")
		t.cols[i].total = t.cols[i].count && len(parts) > 0 && isTotal(parts[len(parts)-1])
	}
	t.headers = nil
}

// cells finds small and zero counts.
func (t *table) cells(label string, kinds []cellKind, vals []int64) {
	for i, k := range kinds {
		if k != cellCount {
			continue
		}
		switch v := vals[i]; {
		case v == 0 && t.s.ZerosDisclosive && t.zeros.full():
			t.zeros.more++
		case v > 0 && v < int64(t.s.Threshold) && t.below.full():
			t.below.more++
		case v == 0 && t.s.ZerosDisclosive:
			t.zeros.add(t.finding("%s, column %s: zero count: disclosive (a structural or empty category tells that nobody has this attribute)",
				rowName(t.row, label), t.colName(i)))
		case v > 0 && v < int64(t.s.Threshold):
			t.below.add(t.finding("%s, column %s: count %d is below the threshold of %d", rowName(t.row, label), t.colName(i), v, t.s.Threshold))
		}
	}
}

// totals checks the row's own total and keeps each column's state for
// the check on totals rows at the end.
func (t *table) totals(label string, kinds []cellKind) {
	totalRow := isTotal(label)
	// The row: a number in a totals column and exactly one suppressed
	// cell among numbers in the others.
	rowTotal, broken, nSupp, supp := false, false, 0, -1
	for i, k := range kinds {
		c := &t.cols[i]
		if !c.count {
			continue
		}
		if c.total {
			rowTotal = rowTotal || k.numeric()
			continue
		}
		switch {
		case k.suppressed():
			nSupp++
			supp = i
		case !k.numeric():
			broken = true
		}
	}
	rowFlag := -1
	if rowTotal && !broken && nSupp == 1 {
		rowFlag = supp
		if len(t.recovered) < maxPerKind {
			total := ""
			for i := range t.cols {
				if t.cols[i].total && kinds[i].numeric() {
					total = t.colName(i)
					break
				}
			}
			t.recovered = append(t.recovered, recovered{row: t.row, col: supp, label: strings.Clone(bounded(label, maxName)), column: t.colName(supp), fromColumn: total})
		} else {
			t.moreRec++
		}
	}
	// The columns: their totals rows come at the end or the start.
	for i, k := range kinds {
		c := &t.cols[i]
		if !c.count {
			continue
		}
		switch {
		case totalRow:
			c.totalSeen = c.totalSeen || k.numeric()
		case k.suppressed():
			if c.nSuppressed == 0 {
				c.row, c.label, c.rowFlagged = t.row, strings.Clone(bounded(label, maxName)), i == rowFlag
			}
			c.nSuppressed = min(c.nSuppressed+1, 2)
		case !k.numeric():
			c.broken = true
		}
	}
	if totalRow && t.totalRow == 0 {
		t.totalRow, t.totalLabel = t.row, strings.Clone(bounded(label, maxName))
	}
}

func (t *table) finding(format string, a ...any) egress.Finding {
	return egress.Finding{Check: egress.CheckSDC, Severity: t.s.Severity, Message: fmt.Sprintf(format, a...)}
}

// findings finishes the column totals check and lists what was found:
// recoverable cells, small counts, zeros, then notes on the analysis.
func (t *table) findings() []egress.Finding {
	if t.crosstab && (!t.ints || t.notCounts) {
		return t.info
	}
	if t.totalRow > 0 {
		for i := range t.cols {
			c := &t.cols[i]
			if !c.count || !c.totalSeen || c.broken || c.nSuppressed != 1 {
				continue
			}
			if c.rowFlagged { // the same cell: one finding naming both totals
				for j := range t.recovered {
					if t.recovered[j].row == c.row && t.recovered[j].col == i {
						t.recovered[j].fromRow, t.recovered[j].fromRowLabel = t.totalRow, t.totalLabel
					}
				}
				continue
			}
			if len(t.recovered) < maxPerKind {
				t.recovered = append(t.recovered, recovered{row: c.row, col: i, label: c.label, column: t.colName(i), fromRow: t.totalRow, fromRowLabel: t.totalLabel})
			} else {
				t.moreRec++
			}
		}
	}
	sort.SliceStable(t.recovered, func(a, b int) bool { return t.recovered[a].row < t.recovered[b].row })
	var out []egress.Finding
	for _, r := range t.recovered {
		out = append(out, t.finding("%s", r.message()))
	}
	if t.moreRec > 0 {
		out = append(out, t.finding("and %d more suppressed cells recoverable by subtraction from a total", t.moreRec))
	}
	out = append(out, t.below.list...)
	if t.below.more > 0 {
		out = append(out, t.finding("and %d more cells below the threshold of %d", t.below.more, t.s.Threshold))
	}
	out = append(out, t.zeros.list...)
	if t.zeros.more > 0 {
		out = append(out, t.finding("and %d more zero cells", t.zeros.more))
	}
	out = append(out, t.info...)
	for i := range out {
		out[i].Message = bounded(out[i].Message, egress.MaxFindingMessage)
	}
	return out
}

// rowName names a data row by its number and label.
func rowName(row int, label string) string {
	if label = strings.TrimSpace(label); label == "" {
		return fmt.Sprintf("row %d", row)
	}
	return fmt.Sprintf("row %d (%q)", row, bounded(label, maxName))
}

// colName names a column by its header, or by its number when the header
// is empty.
func (t *table) colName(i int) string {
	if t.cols[i].name == "" {
		return strconv.Itoa(i + 1)
	}
	return strconv.Quote(bounded(t.cols[i].name, maxName))
}

// bounded truncates s to n bytes on a rune boundary.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-len("…")], "") + "…"
}

func cloneStrings(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.Clone(v)
	}
	return out
}

// recordLimit fails a read once csv has consumed more than maxRecordBytes
// beyond the end of its last record, bounding the memory one record takes.
type recordLimit struct {
	r    io.Reader
	csv  *csv.Reader
	n    int64
	off  bool
	last byte // the last byte read that is not white space
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if !l.off && l.n-l.csv.InputOffset() > maxRecordBytes {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if i := bytes.LastIndexFunc(p[:n], func(r rune) bool { return !unicode.IsSpace(r) }); i >= 0 {
		l.last = p[i]
	}
	return n, err
}

// ACROOutput is one output of an ACRO/SACRO results.json.
type ACROOutput struct {
	UID       string   `json:"uid"`
	Status    string   `json:"status"` // pass, fail or review
	Type      string   `json:"type"`
	Method    string   `json:"method,omitempty"`
	Summary   string   `json:"summary"`
	Exception string   `json:"exception,omitempty"` // the researcher's reason for an exception
	Comments  []string `json:"comments,omitempty"`
	Files     []string `json:"files"` // file names, relative to results.json's folder
}

// Bounds on a results.json: it is the researcher's file, shown to
// reviewers and stored with the request's files.
const (
	maxACROBytes   = 8 << 20 // a larger results.json is refused
	maxACROText    = 500     // bytes of a summary, an exception or a comment
	maxACROName    = 1024    // bytes of a file name, S3's limit on a key
	maxACROComment = 20      // comments of one output
)

// acroResult is one output as ACRO writes it; what is not needed is left
// out (the per-cell "sdc" detail, "outcome", "command", "timestamp").
type acroResult struct {
	UID        string `json:"uid"`
	Status     string `json:"status"`
	Type       string `json:"type"`
	Properties struct {
		Method string `json:"method"`
	} `json:"properties"`
	Files     []acroFile `json:"files"`
	Summary   string     `json:"summary"`
	Comments  []string   `json:"comments"`
	Exception string     `json:"exception"`
}

// acroFile is a file of an output: {"name": ..., "sdc": ...}, or only its
// name.
type acroFile struct{ Name string }

func (f *acroFile) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		return json.Unmarshal(t, &f.Name)
	}
	var v struct {
		Name string `json:"name"`
	}
	err := json.Unmarshal(b, &v)
	f.Name = v.Name
	return err
}

// ParseACRO reads an ACRO/SACRO results.json: its outputs, sorted by UID.
func ParseACRO(r io.Reader) ([]ACROOutput, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxACROBytes+1))
	if err != nil {
		return nil, fmt.Errorf("results.json: reading: %w", err)
	}
	if len(b) > maxACROBytes {
		return nil, fmt.Errorf("results.json: larger than %d MiB", maxACROBytes>>20)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, errors.New("results.json: not a JSON object")
		}
		return nil, fmt.Errorf("results.json: not JSON: %v", err)
	}
	raw, ok := doc["results"]
	if !ok {
		return nil, errors.New(`results.json: no "results" object`)
	}
	var results map[string]json.RawMessage
	if err := json.Unmarshal(raw, &results); err != nil || results == nil {
		return nil, errors.New("results.json: results is not an object")
	}
	type keyed struct {
		key string
		ACROOutput
	}
	out := make([]keyed, 0, len(results))
	for key, raw := range results {
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
			return nil, fmt.Errorf("results.json: output %q is not an object", bounded(key, maxName))
		}
		var res acroResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, fmt.Errorf("results.json: output %q: %v", bounded(key, maxName), err)
		}
		o := ACROOutput{
			UID:       res.UID,
			Status:    bounded(res.Status, maxName),
			Type:      bounded(res.Type, maxName),
			Method:    bounded(res.Properties.Method, maxName),
			Summary:   bounded(res.Summary, maxACROText),
			Exception: bounded(res.Exception, maxACROText),
		}
		if o.UID == "" {
			o.UID = key
		}
		o.UID = bounded(o.UID, maxACROName)
		for _, c := range res.Comments {
			if len(o.Comments) == maxACROComment {
				o.Comments = append(o.Comments, fmt.Sprintf("and %d more comments", len(res.Comments)-maxACROComment))
				break
			}
			o.Comments = append(o.Comments, bounded(c, maxACROText))
		}
		for _, f := range res.Files {
			if name := strings.TrimSpace(f.Name); name != "" {
				o.Files = append(o.Files, bounded(name, maxACROName))
			}
		}
		out = append(out, keyed{key, o})
	}
	// Map order is random; the key breaks ties between equal UIDs.
	sort.Slice(out, func(i, j int) bool {
		if out[i].UID != out[j].UID {
			return out[i].UID < out[j].UID
		}
		return out[i].key < out[j].key
	})
	outputs := make([]ACROOutput, len(out))
	for i, o := range out {
		outputs[i] = o.ACROOutput
	}
	return outputs, nil
}
