// Package sdc is statistical disclosure control on tabular outputs: it
// reads CSV/TSV tables for small and zero frequency cells and for totals
// that give a suppressed cell away, and it reads the results.json that
// ACRO/SACRO write beside a researcher's outputs.
package sdc

import (
	"io"
	"regexp"

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
	panic("TODO")
}

// Table reads a CSV (comma ',') or TSV ('\t') table from r to its end and
// returns its disclosure findings, each naming the row and column.
func Table(r io.Reader, comma rune, s Settings) ([]egress.Finding, error) {
	panic("TODO")
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

// ParseACRO reads an ACRO/SACRO results.json.
func ParseACRO(r io.Reader) ([]ACROOutput, error) {
	panic("TODO")
}
