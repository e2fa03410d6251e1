package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/shared/testenv"
)

// minio is the MinIO server of this test binary, started on first use.
var minio struct {
	once   sync.Once
	server *servers.S3Server
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if minio.server != nil {
		minio.server.Close()
		os.RemoveAll(minio.dir)
	}
	os.Exit(code)
}

func minioServer(t *testing.T) *servers.S3Server {
	t.Helper()
	minio.once.Do(func() {
		if minio.dir, minio.err = os.MkdirTemp("", "egress-iam-minio-"); minio.err == nil {
			minio.server, minio.err = servers.StartS3(context.Background(), minio.dir)
		}
	})
	if minio.err != nil {
		t.Fatalf("MinIO unavailable (run `make tools`): %v", minio.err)
	}
	return minio.server
}

// clientAs is an S3 client of the MinIO server with a user's keys and the
// given API options.
func clientAs(srv *servers.S3Server, u MinIOUser, opts ...func(*middleware.Stack) error) *s3.Client {
	return s3.New(s3.Options{
		Region:                     srv.Region,
		BaseEndpoint:               aws.String(srv.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		APIOptions:                 opts,
	})
}

func createUser(t *testing.T, srv *servers.S3Server, name string, policy []byte) MinIOUser {
	t.Helper()
	u, err := CreateMinIOUser(context.Background(), srv.Endpoint, srv.AccessKey, srv.SecretKey, name, policy)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func put(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data " + key)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return aws.ToString(out.VersionId)
}

func get(c *s3.Client, bucket, key, version string) error {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		return err
	}
	defer out.Body.Close()
	_, err = io.Copy(io.Discard, out.Body)
	return err
}

// serverDenied reports whether err is the S3 server's own AccessDenied.
func serverDenied(err error) bool {
	var api smithy.APIError
	var ours *AccessDeniedError
	if errors.As(err, &ours) && ours.Server == nil {
		return false // refused in process, never sent
	}
	return errors.As(err, &api) && api.ErrorCode() == "AccessDenied"
}

func policy(statements ...string) []byte {
	return []byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`)
}

func TestMinIOUserIsRefusedByTheServer(t *testing.T) {
	srv := minioServer(t)
	root := srv.Client()
	bucket := testenv.NewBucket(t, root, false)
	put(t, root, bucket, "a/x")
	put(t, root, bucket, "b/x")

	doc := policy(fmt.Sprintf(`{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/a/*"]}`, bucket))
	createUser(t, srv, "reader", doc)
	// Creating it again resets its key and keeps its policy.
	reader := clientAs(srv, createUser(t, srv, "reader", doc))

	if err := get(reader, bucket, "a/x", ""); err != nil {
		t.Errorf("read a/x: %v", err)
	}
	if err := get(reader, bucket, "b/x", ""); !serverDenied(err) {
		t.Errorf("read b/x: got %v, want MinIO's AccessDenied", err)
	}
	_, err := reader.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/y"), Body: strings.NewReader("y")})
	if !serverDenied(err) {
		t.Errorf("put a/y: got %v, want MinIO's AccessDenied", err)
	}

	nobody := clientAs(srv, createUser(t, srv, "nobody", nil))
	if err := get(nobody, bucket, "a/x", ""); !serverDenied(err) {
		t.Errorf("a user without a policy read a/x: %v", err)
	}
}

// MinIO is laxer than AWS on versioned requests; Check refuses those in
// process. If MinIO starts enforcing one of these, the package doc's table
// needs updating.
func TestMinIOGapsAreCheckedInProcess(t *testing.T) {
	srv := minioServer(t)
	root := srv.Client()
	bucket := testenv.NewBucket(t, root, true)
	version := put(t, root, bucket, "k")

	tmpl := templateWith(t, []any{
		map[string]any{"Effect": "Allow", "Action": []any{"s3:GetObject", "s3:DeleteObject", "s3:PutObject"},
			"Resource": map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Fn::GetAtt": []any{"Bucket", "Arn"}}, "/*"}}}},
		map[string]any{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": map[string]any{"Fn::GetAtt": []any{"Bucket", "Arn"}}},
	})
	var raw map[string]any
	json.Unmarshal(tmpl, &raw)
	raw["Resources"].(map[string]any)["Bucket"] = map[string]any{"Type": "AWS::S3::Bucket", "Properties": map[string]any{}}
	tmpl, _ = json.Marshal(raw)
	p, err := Load(tmpl, Resolver{Region: localRegion, Account: localAccount, Names: map[string]string{"Bucket": bucket}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := p.Functions["Fn"].S3Policy()
	if err != nil {
		t.Fatal(err)
	}
	user := createUser(t, srv, "gaps", doc)
	lax := clientAs(srv, user)
	checked := clientAs(srv, user, Check(NewAuthorizer(p), "Fn"))
	ctx := context.Background()

	calls := []struct {
		name    string
		call    func(*s3.Client) error
		missing string // the action AWS would require
	}{
		{"read a version", func(c *s3.Client) error { return get(c, bucket, "k", version) }, "s3:GetObjectVersion"},
		{"list versions", func(c *s3.Client) error {
			_, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
			return err
		}, "s3:ListBucketVersions"},
		{"copy with tags", func(c *s3.Client) error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/k")})
			return err
		}, "s3:GetObjectTagging"},
		{"put with tags", func(c *s3.Client) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("tagged"), Body: strings.NewReader("t"), Tagging: aws.String("a=b")})
			return err
		}, "s3:PutObjectTagging"},
		{"delete a version", func(c *s3.Client) error {
			v := put(t, root, bucket, "doomed")
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doomed"), VersionId: aws.String(v)})
			return err
		}, "s3:DeleteObjectVersion"},
	}
	for _, tt := range calls {
		if err := tt.call(lax); err != nil {
			t.Errorf("%s: MinIO now refuses it (%v): update the package doc and the S3 mapping's Server flags", tt.name, err)
		}
		err := tt.call(checked)
		var denied *AccessDeniedError
		if !errors.As(err, &denied) || denied.Server != nil || denied.Action != tt.missing {
			t.Errorf("%s: got %v, want an in-process refusal of %s", tt.name, err, tt.missing)
		}
	}
}

// The Sample template's S3 grants, through per-function MinIO users and
// Check, the way the local stack runs them.
func TestSampleTemplateThroughMinIO(t *testing.T) {
	srv := minioServer(t)
	root := srv.Client()
	store := testenv.NewBucket(t, root, true)
	staging := testenv.NewBucket(t, root, true)
	datalake := testenv.NewBucket(t, root, true)
	r := localResolver()
	r.Names["StagingBucket"] = staging
	r.Rewrite["arn:aws:s3:::swb-sample-egress-store"] = "arn:aws:s3:::" + store
	r.Rewrite["arn:aws:s3:::tre-sample-datalake"] = "arn:aws:s3:::" + datalake
	p, err := LoadFile(sampleTemplate, r)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthorizer(p)
	as := func(function string) *s3.Client {
		doc, dropped, err := p.Functions[function].S3Policy()
		if err != nil || len(dropped) > 0 {
			t.Fatalf("%s: S3 policy: %v, dropped %v", function, err, dropped)
		}
		return clientAs(srv, createUser(t, srv, "sample-"+strings.ToLower(function), doc), Check(a, function))
	}
	ctx := context.Background()
	version := put(t, root, store, "ws/a b+c.txt")
	if _, err := root.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(store), Key: aws.String("ws/a b+c.txt"), VersionId: aws.String(version),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("classification"), Value: aws.String("safe")}}}}); err != nil {
		t.Fatal(err)
	}
	put(t, root, datalake, "approved_egress/r1.zip")

	copyToStaging, handleRejection, handleFailure := as("CopyToStaging"), as("HandleRejection"), as("HandleFailure")

	// copy-to-staging copies the submitted version without its tags.
	_, err = copyToStaging.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(staging), Key: aws.String("r1/a b+c.txt"),
		CopySource: aws.String(store + "/ws/a%20b%2Bc.txt?versionId=" + version), TaggingDirective: s3types.TaggingDirectiveReplace})
	if err != nil {
		t.Fatalf("copy to staging: %v", err)
	}
	tags, err := root.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(staging), Key: aws.String("r1/a b+c.txt")})
	if err != nil || len(tags.TagSet) != 0 {
		t.Errorf("staged copy's tags: %v, %v", tags, err)
	}
	// Copying the tags as well needs tagging actions it is not granted.
	_, err = copyToStaging.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(staging), Key: aws.String("r1/tagged.txt"),
		CopySource: aws.String(store + "/ws/a%20b%2Bc.txt?versionId=" + version)})
	if denied := (*AccessDeniedError)(nil); !errors.As(err, &denied) || denied.Action != "s3:GetObjectVersionTagging" {
		t.Errorf("copy with the source's tags: got %v, want s3:GetObjectVersionTagging refused", err)
	}

	// What the roles do not grant, the server refuses, and the error names
	// the function's role, the action and the resource.
	refusals := []struct {
		name     string
		call     func() error
		action   string
		resource string
	}{
		{"copy-to-staging writes the datalake", func() error {
			_, err := copyToStaging.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(datalake), Key: aws.String("approved_egress/x"), Body: strings.NewReader("x")})
			return err
		}, "s3:PutObject", "arn:aws:s3:::" + datalake + "/approved_egress/x"},
	}
	for _, tt := range refusals {
		err := tt.call()
		var denied *AccessDeniedError
		if !serverDenied(err) || !errors.As(err, &denied) || denied.Action != tt.action || denied.Resource != tt.resource ||
			!strings.Contains(err.Error(), "assumed-role/") {
			t.Errorf("%s: got %v, want MinIO's refusal naming %s on %s", tt.name, err, tt.action, tt.resource)
		}
	}

	// MinIO would let copy-to-staging's s3:GetObjectVersion read a staged
	// copy's latest version; AWS wants s3:GetObject, which it lacks there.
	var denied *AccessDeniedError
	if err := get(copyToStaging, staging, "r1/a b+c.txt", ""); !errors.As(err, &denied) || denied.Action != "s3:GetObject" {
		t.Errorf("copy-to-staging reads the latest staged version: got %v, want s3:GetObject refused", err)
	}

	// handle-failure lists the datalake's versions under approved_egress/ only.
	if _, err := handleFailure.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(datalake), Prefix: aws.String("approved_egress/r1")}); err != nil {
		t.Errorf("list approved_egress/: %v", err)
	}
	_, err = handleFailure.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(datalake), Prefix: aws.String("other/")})
	if !errors.As(err, &denied) || denied.Action != "s3:ListBucketVersions" {
		t.Errorf("list other/: got %v, want s3:ListBucketVersions refused", err)
	}
	// handle-rejection deletes staged versions.
	list, err := handleRejection.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(staging), Prefix: aws.String("r1/")})
	if err != nil || len(list.Versions) != 1 {
		t.Fatalf("list staged versions: %v, %v", list, err)
	}
	_, err = handleRejection.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(staging), Delete: &s3types.Delete{
		Objects: []s3types.ObjectIdentifier{{Key: list.Versions[0].Key, VersionId: list.Versions[0].VersionId}}}})
	if err != nil {
		t.Errorf("delete staged version: %v", err)
	}

	// The S3 grants exercised here are recorded.
	used := map[string]bool{}
	for _, g := range a.Used() {
		used[g.Function+" "+g.Action] = true
	}
	for _, want := range []string{
		"CopyToStaging s3:PutObject", "CopyToStaging s3:GetObjectVersion", "HandleFailure s3:ListBucketVersions", "HandleRejection s3:ListBucketVersions",
		"HandleRejection s3:DeleteObjectVersion",
	} {
		if !used[want] {
			t.Errorf("%s not recorded as used", want)
		}
	}
}

func TestS3Policy(t *testing.T) {
	p := loadSample(t)
	doc, dropped, err := p.Functions["HandleFailure"].S3Policy()
	if err != nil || len(dropped) != 0 {
		t.Fatal(err, dropped)
	}
	var got struct {
		Statement []struct {
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string][]string
		}
	}
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	want := `[{Allow [s3:ListBucketMultipartUploads s3:ListBucketVersions] [arn:aws:s3:::egress-staging] map[]} ` +
		`{Allow [s3:AbortMultipartUpload s3:DeleteObject s3:DeleteObjectVersion] [arn:aws:s3:::egress-datalake/approved_egress/* arn:aws:s3:::egress-staging/*] map[]} ` +
		`{Allow [s3:ListBucketVersions] [arn:aws:s3:::egress-datalake] map[StringLike:map[s3:prefix:[approved_egress/*]]]} ` +
		`{Allow [s3:ListBucketMultipartUploads] [arn:aws:s3:::egress-datalake] map[]}]`
	if s := fmt.Sprint(got.Statement); s != want {
		t.Errorf("HandleFailure's S3 policy:\n got  %s\n want %s", s, want)
	}

	// A role without S3 statements gets no policy at all.
	if doc, _, err := p.Functions["Notify"].S3Policy(); doc != nil || err != nil {
		t.Errorf("Notify: %s, %v", doc, err)
	}

	// The full template's access point grants cannot be expressed.
	full, err := LoadFile(fullTemplate, localResolver())
	if err != nil {
		t.Fatal(err)
	}
	_, dropped, err = full.Functions["CopyToStaging"].S3Policy()
	if err != nil || len(dropped) != 2 || !strings.Contains(dropped[0], "accesspoint/*") {
		t.Errorf("dropped %v, %v; want the two access point resources", dropped, err)
	}
}
