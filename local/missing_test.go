package local

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/shared/egress"
)

// A read of an object that does not exist is "not found" to a role that
// may s3:ListBucket the bucket and AccessDenied to one that may not, as in
// AWS: intake refuses a message whose object list is missing, and staging
// fails on an object list or a listed version deleted after submission.
// Removing the grant turns each "not found" into the AccessDenied naming
// s3:ListBucket on the bucket.
func TestMissingObjects(t *testing.T) {
	scenarios := []struct {
		name     string
		function string // the function whose s3:ListBucket on bucket decides
		bucket   string
		// run submits a store, makes an object missing and returns what
		// the outcome says: the admin's e-mail or the failure cause.
		run func(t *testing.T, s *Stack) string
	}{
		{"object list missing at intake", "start-workflow", NotificationBucket, listMissingAtIntake},
		{"object list deleted before staging", "copy-to-staging", NotificationBucket, listDeletedBeforeStaging},
		{"listed version deleted", "copy-to-staging", SWBStoreBucket, versionDeleted},
	}
	// One stack for all: StartWorkflow's grant names the notification
	// bucket, CopyToStaging's (one statement) both buckets.
	without, logs := startWithoutLogged(t, []string{"StartWorkflow", "CopyToStaging"}, "s3:ListBucket", "arn:aws:s3:::swb-sample-egress-")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			got := sc.run(t, stack(t, false))
			if want := "not found in bucket " + sc.bucket; !strings.Contains(got, want) || strings.Contains(got, "not authorized") {
				t.Errorf("with s3:ListBucket: %q\ndoes not say %q", got, want)
			}

			got = sc.run(t, without)
			if strings.Contains(got, "not found") {
				t.Errorf("without s3:ListBucket the outcome still says not found: %q", got)
			}
			// Intake tells the admin only "internal error"; its log names
			// the refusal.
			got += logs.String()
			want := "User: arn:aws:sts::000000000000:assumed-role/" + sc.function + "-role/" + sc.function +
				" is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::" + sc.bucket
			if !strings.Contains(got, want) {
				t.Errorf("without s3:ListBucket: %q\ndoes not contain %q", got, want)
			}
		})
	}
}

// submitted uploads the sample store and returns its message, unpublished,
// and the key of its object list.
func submitted(t *testing.T, s *Stack) (Submission, string) {
	t.Helper()
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB, Now: clock.Now}
	sub, err := swb.Submit(ctx(t), "testdata/sample-store", researcher)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		List string `json:"egress_store_object_list_location"`
	}
	if err := json.Unmarshal([]byte(sub.Message), &msg); err != nil {
		t.Fatal(err)
	}
	return sub, strings.TrimPrefix(msg.List, "arn:aws:s3:::"+NotificationBucket+"/")
}

func deleteObject(t *testing.T, s *Stack, bucket, key, version string) {
	t.Helper()
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	if _, err := s.Clients.S3.DeleteObject(ctx(t), in); err != nil {
		t.Fatalf("delete %s/%s: %v", bucket, key, err)
	}
}

// listMissingAtIntake publishes a message whose object list does not
// exist: intake creates nothing, leaves the store unlocked and tells the
// admin why.
func listMissingAtIntake(t *testing.T, s *Stack) string {
	sub, listKey := submitted(t, s)
	deleteObject(t, s, NotificationBucket, listKey, "")
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Requests.Get(ctx(t), sub.RequestID); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Fatalf("a message without its object list created a request: %v", err)
	}
	swb := SWB{S3: s.Clients.S3, DynamoDB: s.Clients.DynamoDB}
	if st, err := swb.StoreStatus(ctx(t), sub.WorkspaceID); err != nil || st != "PENDING" {
		t.Fatalf("SWB store %q, %v; want PENDING", st, err)
	}
	i := slices.IndexFunc(s.Outbox.Sent(), func(m Mail) bool {
		return m.To[0] == AdminEmail && m.Subject == "Refused egress request "+sub.RequestID
	})
	if i < 0 {
		t.Fatal("the TRE admin was not told of the refusal")
	}
	return s.Outbox.Sent()[i].Text
}

// listDeletedBeforeStaging deletes the object list after intake read it,
// just before copy-to-staging runs: the request fails.
func listDeletedBeforeStaging(t *testing.T, s *Stack) string {
	sub, listKey := submitted(t, s)
	var once sync.Once
	c := ctx(t)
	s.SetFail(func(function string, _ json.RawMessage) error {
		if function == "copy-to-staging" {
			once.Do(func() {
				// Not t.Fatal: this runs on the engine's goroutine.
				_, err := s.Clients.S3.DeleteObject(c, &s3.DeleteObjectInput{Bucket: aws.String(NotificationBucket), Key: aws.String(listKey)})
				if err != nil {
					t.Errorf("delete the object list: %v", err)
				}
			})
		}
		return nil
	})
	defer s.SetFail(nil)
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return finished(t, s, sub, egress.StatusFailed).FailureCause
}

// versionDeleted deletes one listed version for good before submitting:
// staging it fails the request.
func versionDeleted(t *testing.T, s *Stack) string {
	sub, _ := submitted(t, s)
	key := sub.WorkspaceID + "/" + slices.Sorted(maps.Keys(sub.Files))[0]
	out, err := s.Clients.S3.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(SWBStoreBucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			deleteObject(t, s, SWBStoreBucket, key, aws.ToString(v.VersionId))
			deleted++
		}
	}
	if deleted != 1 {
		t.Fatalf("deleted %d versions of %s, want 1", deleted, key)
	}
	if err := s.Publish(ctx(t), sub.Message); err != nil {
		t.Fatal(err)
	}
	return finished(t, s, sub, egress.StatusFailed).FailureCause
}
