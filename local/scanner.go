package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tre-egress/egress/local/clamav"
	"github.com/tre-egress/egress/shared/egress"
)

// Scanner says which malware engine the stack's checks use, and how.
func (s *Stack) Scanner() string { return s.scanner }

// startScanner settles the checks' settings: the options' (or the
// defaults), with ClamAV on a clamd of the stack's own unless they name
// another engine or a clamd address. Without clamd installed the engine
// is none, and the reason, with how to install clamd, goes on every file.
func (s *Stack) startScanner(ctx context.Context) error {
	if s.opts.Checks != nil {
		s.checks = *s.opts.Checks
	}
	m := &s.checks.Malware
	if m.Engine == "" {
		m.Engine = egress.EngineClamAV
	}
	if m.Engine != egress.EngineClamAV || m.ClamdAddress != "" {
		s.scanner = m.Engine + " " + m.ClamdAddress
		return nil
	}
	var d *clamav.Daemon
	err := fmt.Errorf("clamav: %w", clamav.ErrNotInstalled)
	if !s.opts.WithoutClamd {
		d, err = clamav.StartWith(ctx, filepath.Join(s.Dir, "clamav"), s.opts.Logger, clamav.Options{
			OwnSignaturesOnly: s.opts.ClamdOwnSignaturesOnly, MaxScanBytes: m.MaxScanBytes})
	}
	switch {
	case errors.Is(err, clamav.ErrNotInstalled):
		m.Engine = egress.EngineNone
		s.notScanned = err.Error()
		s.scanner = "none: " + err.Error()
		s.opts.Logger.Warn("files will not be scanned for malware", "reason", err.Error())
		return nil
	case err != nil:
		return fmt.Errorf("start clamd: %w", err)
	}
	s.closers = append(s.closers, d.Stop)
	s.scanner = fmt.Sprintf("ClamAV, clamd at %s with %s", d.Address(), strings.Join(d.Databases(), ", "))
	m.ClamdAddress = d.Address()
	m.MaxScanBytes = d.MaxScanBytes()
	return nil
}
