package guardduty

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/testenv"
)

// minioUser is an S3 client of the shared MinIO as a new user allowed
// actions on bucket's objects (none: refused everything).
func minioUser(t *testing.T, root *s3.Client, name, bucket string, actions ...string) *s3.Client {
	t.Helper()
	ctx := context.Background()
	creds, err := root.Options().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var policy []byte
	if len(actions) > 0 {
		policy, _ = json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": actions, "Resource": []string{"arn:aws:s3:::" + bucket + "/*"},
		}}})
	}
	u, err := iam.CreateMinIOUser(ctx, aws.ToString(root.Options().BaseEndpoint), creds.AccessKeyID, creds.SecretAccessKey, name, policy)
	if err != nil {
		t.Fatal(err)
	}
	return s3.New(root.Options(), func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, "")
	})
}

func putVersion(t *testing.T, c *s3.Client, bucket, key, body string) egress.ObjectVersion {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	return egress.ObjectVersion{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId)}
}

// tag sets the tags of one version as GuardDuty does: PutObjectTagging
// with the version id, replacing the version's tag set.
func tag(t *testing.T, c *s3.Client, obj egress.ObjectVersion, tags map[string]string) {
	t.Helper()
	var set []types.Tag
	for k, v := range tags {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := c.PutObjectTagging(context.Background(), &s3.PutObjectTaggingInput{
		Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key), VersionId: aws.String(obj.VersionID),
		Tagging: &types.Tagging{TagSet: set},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestScanVerdicts(t *testing.T) {
	root := testenv.S3(t)
	bucket := testenv.NewBucket(t, root, true)
	// The scanner reads with what check-files is granted; root plays
	// GuardDuty, whose own role tags the objects in AWS.
	sc := Scanner{S3: minioUser(t, root, "gd-scan-"+bucket, bucket, "s3:GetObjectTagging", "s3:GetObjectVersionTagging")}
	if sc.Engine() != "GuardDuty" || sc.ReadsBody() {
		t.Fatalf("Engine %q, ReadsBody %v: want GuardDuty, false", sc.Engine(), sc.ReadsBody())
	}

	tests := []struct {
		name     string
		tags     map[string]string // nil: GuardDuty has not tagged it yet
		pending  bool
		severity egress.Severity // "" for clean
		message  string          // part of the finding's message
	}{
		{"not yet scanned", nil, true, "", ""},
		{"another tag only", map[string]string{"classification": "safe"}, true, "", ""},
		{"clean", map[string]string{StatusTag: NoThreatsFound}, false, "", ""},
		{"clean among other tags", map[string]string{"classification": "safe", StatusTag: NoThreatsFound}, false, "", ""},
		{"threats", map[string]string{StatusTag: ThreatsFound}, false, egress.SeverityBlocking, "GuardDuty Malware Protection found threats"},
		{"unsupported", map[string]string{StatusTag: Unsupported}, false, egress.SeverityWarning, "UNSUPPORTED: too large, or an unsupported archive or encryption): not scanned"},
		{"access denied", map[string]string{StatusTag: AccessDenied}, false, egress.SeverityWarning, "ACCESS_DENIED"},
		{"failed", map[string]string{StatusTag: Failed}, false, egress.SeverityWarning, "FAILED"},
		{"unknown status", map[string]string{StatusTag: "SKIPPED"}, false, egress.SeverityWarning, `unknown scan status "SKIPPED": not scanned`},
		{"lower case is not clean", map[string]string{StatusTag: "no_threats_found"}, false, egress.SeverityWarning, "unknown scan status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := putVersion(t, root, bucket, "ws/r1/"+strings.ReplaceAll(tt.name, " ", "_")+".csv", "a,b\n1,2\n")
			if tt.tags != nil {
				tag(t, root, obj, tt.tags)
			}
			v, err := sc.Scan(context.Background(), obj, 8, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Pending != tt.pending {
				t.Fatalf("Pending = %v, want %v (%+v)", v.Pending, tt.pending, v)
			}
			if tt.severity == "" {
				if len(v.Findings) != 0 {
					t.Fatalf("findings %v, want none", v.Findings)
				}
				return
			}
			if len(v.Findings) != 1 {
				t.Fatalf("findings %v, want one", v.Findings)
			}
			f := v.Findings[0]
			if f.Check != egress.CheckMalware || f.Severity != tt.severity || !strings.Contains(f.Message, tt.message) {
				t.Fatalf("finding %v, want %s %s containing %q", f, tt.severity, egress.CheckMalware, tt.message)
			}
		})
	}
}

// The verdict is the staged version's: a version written after it, and
// its tag, change nothing, and the staged version's own tag counts even
// when a later version has none.
func TestScanReadsTheStagedVersion(t *testing.T) {
	root := testenv.S3(t)
	bucket := testenv.NewBucket(t, root, true)
	sc := Scanner{S3: root}
	ctx := context.Background()

	staged := putVersion(t, root, bucket, "ws/r1/out.csv", "staged")
	later := putVersion(t, root, bucket, "ws/r1/out.csv", "later")
	tag(t, root, later, map[string]string{StatusTag: NoThreatsFound})
	if v, err := sc.Scan(ctx, staged, 6, nil); err != nil || !v.Pending {
		t.Fatalf("staged version untagged, later one clean: got %+v, %v; want pending", v, err)
	}

	tag(t, root, staged, map[string]string{StatusTag: ThreatsFound})
	v, err := sc.Scan(ctx, staged, 6, nil)
	if err != nil || !egress.Blocking(v.Findings) {
		t.Fatalf("staged version THREATS_FOUND: got %+v, %v; want a blocking finding", v, err)
	}
	if v, err := sc.Scan(ctx, later, 5, nil); err != nil || v.Pending || len(v.Findings) != 0 {
		t.Fatalf("later version clean: got %+v, %v", v, err)
	}
	third := putVersion(t, root, bucket, "ws/r1/out.csv", "third")
	if v, err := sc.Scan(ctx, third, 5, nil); err != nil || !v.Pending {
		t.Fatalf("latest version untagged: got %+v, %v; want pending", v, err)
	}
}

// Errors mean GuardDuty's answer could not be read: they name the object
// and version, never its contents, and are not verdicts.
func TestScanErrors(t *testing.T) {
	root := testenv.S3(t)
	bucket := testenv.NewBucket(t, root, true)
	obj := putVersion(t, root, bucket, "ws/r1/secret.csv", "do-not-leak")
	tag(t, root, obj, map[string]string{StatusTag: NoThreatsFound})

	tests := []struct {
		name string
		sc   Scanner
		obj  egress.ObjectVersion
		want []string
	}{
		{"no permission", Scanner{S3: minioUser(t, root, "gd-denied-"+bucket, bucket)}, obj,
			[]string{"s3://" + bucket + "/ws/r1/secret.csv", "version " + obj.VersionID, "AccessDenied"}},
		{"no such version", Scanner{S3: root}, egress.ObjectVersion{Bucket: bucket, Key: obj.Key, VersionID: "00000000-0000-0000-0000-000000000000"},
			[]string{"s3://" + bucket + "/ws/r1/secret.csv", "version 00000000-0000-0000-0000-000000000000"}},
		{"no version id", Scanner{S3: root}, egress.ObjectVersion{Bucket: bucket, Key: obj.Key},
			[]string{"s3://" + bucket + "/ws/r1/secret.csv", "no version id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.sc.Scan(context.Background(), tt.obj, 11, nil)
			if err == nil {
				t.Fatalf("no error; verdict %+v", v)
			}
			if v.Pending || len(v.Findings) > 0 {
				t.Errorf("verdict %+v returned with the error", v)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "do-not-leak") {
				t.Errorf("error %q holds the object's contents", err)
			}
		})
	}
}

func TestNotScannedInTime(t *testing.T) {
	for _, tt := range []struct {
		minutes int
		want    string
	}{
		{30, "GuardDuty gave no verdict within 30 minutes: not scanned"},
		{5, "GuardDuty gave no verdict within 5 minutes: not scanned"},
	} {
		f := NotScannedInTime(tt.minutes)
		if f.Check != egress.CheckMalware || f.Severity != egress.SeverityWarning || f.Message != tt.want {
			t.Errorf("NotScannedInTime(%d) = %v, want WARNING malware %q", tt.minutes, f, tt.want)
		}
	}
}

var _ checks.Scanner = Scanner{}

// Copies to staging drop the tag Scan trusts, so a submitter cannot set
// the verdict on the original: they must name the same tag.
func TestCopiesDropTheStatusTag(t *testing.T) {
	if objects.ScanStatusTag != StatusTag {
		t.Fatalf("objects drops %q from copies, GuardDuty writes %q", objects.ScanStatusTag, StatusTag)
	}
}
