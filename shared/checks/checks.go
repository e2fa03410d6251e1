// Package checks holds the automated output checks that run on a request's
// staged files before any reviewer sees them: the file policy (extensions,
// the type sniffed from the bytes, sizes, counts, archives), malware
// scanning behind the Scanner port, and statistical disclosure control on
// tables (package sdc). It speaks the domain's types and imports no AWS
// package; the workflow's CheckFiles step drives it.
package checks

import (
	"context"
	"io"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/sdc"
)

// Scanner scans one staged object for malware. Two engines implement it:
// clamd over INSTREAM (shared/clamd), which reads the bytes the checker
// streams to it, and GuardDuty Malware Protection for S3
// (shared/guardduty), which scans the object where it lies and reports
// through the object's tags.
type Scanner interface {
	// Engine names the engine in findings ("ClamAV", "GuardDuty").
	Engine() string
	// ReadsBody reports whether Scan needs the object's bytes. When it does
	// not, Scan is called before anything is read, with a nil body.
	ReadsBody() bool
	// Scan returns the verdict on obj, size bytes long. body, when
	// ReadsBody, streams obj's bytes once; Scan must read it to the end or
	// return an error. An error means the engine could not be asked (it is
	// retried); an engine's refusal to scan a file is a finding instead.
	Scan(ctx context.Context, obj egress.ObjectVersion, size int64, body io.Reader) (Verdict, error)
}

// Verdict is a scanner's answer on one object.
type Verdict struct {
	// Pending: the engine has not finished with the object yet; ask again
	// later. Findings are then empty.
	Pending bool
	// Findings are empty for a clean object. A threat is a
	// SeverityBlocking finding naming the engine and the signature;
	// anything else that is not a clean verdict is a SeverityWarning.
	Findings []egress.Finding
}

// Objects reads staged objects (objects.Client).
type Objects interface {
	// OpenRange streams length bytes of obj from offset; length < 0 reads
	// to the end.
	OpenRange(ctx context.Context, obj egress.ObjectVersion, offset, length int64) (io.ReadCloser, error)
}

// FileResult is what the checks found in one file.
type FileResult struct {
	Findings []egress.Finding
	// ContentType is the type sniffed from the first bytes (mimetype's
	// name, with a charset for text); empty for an empty file.
	ContentType string
	// Pending: the scanner is not done with the file. Nothing was read
	// and Findings are empty; check the file again later.
	Pending bool
	// ACRO, for an ACRO/SACRO results.json, is what it says of each
	// output; ApplyACRO puts it on the files it names.
	ACRO []sdc.ACROOutput
}
