// Package guardduty is the checks.Scanner of GuardDuty Malware Protection
// for S3. The CDK app puts a protection plan on the staging bucket with
// tagging on: GuardDuty scans every new object version where it lies and
// tags that version with GuardDutyMalwareScanStatus. Scan reads the tag of
// the staged version; nothing is read or sent from this side.
package guardduty

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
)

// StatusTag is the object tag GuardDuty writes its scan result to.
const StatusTag = "GuardDutyMalwareScanStatus"

// The values GuardDuty writes to StatusTag.
const (
	NoThreatsFound = "NO_THREATS_FOUND"
	ThreatsFound   = "THREATS_FOUND"
	Unsupported    = "UNSUPPORTED"
	AccessDenied   = "ACCESS_DENIED"
	Failed         = "FAILED"
)

// Engine names GuardDuty in findings.
const Engine = "GuardDuty"

// TagReader is the S3 call Scan makes (*s3.Client).
type TagReader interface {
	GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingInput, opts ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
}

// Scanner reads GuardDuty's verdicts from the staged versions' tags. Its
// role needs s3:GetObjectVersionTagging on the staged objects.
type Scanner struct {
	S3 TagReader
}

var _ checks.Scanner = Scanner{}

func (Scanner) Engine() string { return Engine }

// ReadsBody is false: GuardDuty reads the object itself.
func (Scanner) ReadsBody() bool { return false }

// Scan returns GuardDuty's verdict on the staged version obj: Pending
// until the tag is there, clean for NO_THREATS_FOUND, a blocking finding
// for THREATS_FOUND and a warning for anything else. obj.VersionID is
// required: the tag of a later version of the key says nothing of this one.
// body is ignored.
func (s Scanner) Scan(ctx context.Context, obj egress.ObjectVersion, size int64, body io.Reader) (checks.Verdict, error) {
	if obj.VersionID == "" {
		return checks.Verdict{}, fmt.Errorf("guardduty: s3://%s/%s: no version id; the staged version must be named", obj.Bucket, obj.Key)
	}
	out, err := s.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{
		Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key), VersionId: aws.String(obj.VersionID),
	})
	if err != nil {
		return checks.Verdict{}, fmt.Errorf("guardduty: read the %s tag of s3://%s/%s version %s: %w", StatusTag, obj.Bucket, obj.Key, obj.VersionID, err)
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) == StatusTag {
			return verdict(aws.ToString(t.Value)), nil
		}
	}
	return checks.Verdict{Pending: true}, nil
}

// verdict is what a StatusTag value means for the request.
func verdict(status string) checks.Verdict {
	warn := func(msg string) checks.Verdict {
		return checks.Verdict{Findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityWarning, Message: msg}}}
	}
	switch status {
	case NoThreatsFound:
		return checks.Verdict{}
	case ThreatsFound:
		return checks.Verdict{Findings: []egress.Finding{{Check: egress.CheckMalware, Severity: egress.SeverityBlocking,
			Message: "GuardDuty Malware Protection found threats"}}}
	case Unsupported:
		return warn("GuardDuty cannot scan this file (" + Unsupported + ": too large, or an unsupported archive or encryption): not scanned")
	case AccessDenied:
		return warn("GuardDuty could not read this file (" + AccessDenied + ": its role lacks access to the object or its key): not scanned")
	case Failed:
		return warn("GuardDuty failed to scan this file (" + Failed + ": an error on GuardDuty's side): not scanned")
	}
	return warn(fmt.Sprintf("GuardDuty gave an unknown scan status %q: not scanned", status))
}

// NotScannedInTime is the finding for a file GuardDuty had not tagged
// when the wait of minutes (MalwareSettings.TimeoutMinutes) ran out.
func NotScannedInTime(minutes int) egress.Finding {
	return egress.Finding{Check: egress.CheckMalware, Severity: egress.SeverityWarning,
		Message: fmt.Sprintf("GuardDuty gave no verdict within %d minutes: not scanned", minutes)}
}
