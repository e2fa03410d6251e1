package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Submission is a workspace egress store submitted the way SWB submits one.
type Submission struct {
	RequestID   string            `json:"egress_request_id"`
	WorkspaceID string            `json:"workspace_id"`
	Message     string            `json:"-"`
	Files       map[string][]byte `json:"-"` // relative path -> content, as uploaded
}

// SWB is the part of Service Workbench the local stack plays: it owns the
// egress store bucket, the notification bucket and the store table.
type SWB struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	Now      func() time.Time
}

// Submit uploads the tree at dir as a new workspace's egress store
// (versioned, with folder markers as the SWB console creates them), writes
// the object list with every version, records the store as PENDING and
// returns the SNS message SWB would publish.
func (w SWB) Submit(ctx context.Context, dir, requester string) (Submission, error) {
	return w.submit(ctx, dir, requester, uuid(), 1)
}

// Resubmit submits the tree at dir again from the egress store of
// workspace, as version ver of its object list: what SWB sends after a
// request was returned for changes.
func (w SWB) Resubmit(ctx context.Context, workspace, dir, requester string, ver int) (Submission, error) {
	return w.submit(ctx, dir, requester, workspace, ver)
}

func (w SWB) submit(ctx context.Context, dir, requester, workspace string, ver int) (Submission, error) {
	now := w.Now().UTC()
	sub := Submission{RequestID: uuid(), WorkspaceID: workspace, Files: map[string][]byte{}}
	prefix := sub.WorkspaceID + "/"
	type object struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
		VersionId    string
		Owner        map[string]string
	}
	var list []object
	put := func(key string, body []byte) error {
		out, err := w.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(SWBStoreBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
		list = append(list, object{Key: key, LastModified: now.Format("2006-01-02T15:04:05.000Z"), ETag: aws.ToString(out.ETag),
			Size: int64(len(body)), StorageClass: "STANDARD", VersionId: aws.ToString(out.VersionId), Owner: map[string]string{"DisplayName": "swb", "ID": "local"}})
		return nil
	}
	if err := put(prefix, nil); err != nil {
		return sub, err
	}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return put(prefix+rel+"/", nil)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return sub, fmt.Errorf("read store %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return sub, fmt.Errorf("store %s has no files", dir)
	}
	sort.Strings(paths)
	for _, rel := range paths {
		body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return sub, err
		}
		if err := put(prefix+rel, body); err != nil {
			return sub, err
		}
		sub.Files[rel] = body
	}
	storeName := "local-results"
	listKey := fmt.Sprintf("%s/%s-ver%d.json", sub.WorkspaceID, storeName, ver)
	listJSON, _ := json.Marshal(map[string]any{"objects": list})
	if _, err := w.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(NotificationBucket), Key: aws.String(listKey), Body: bytes.NewReader(listJSON)}); err != nil {
		return sub, fmt.Errorf("write object list: %w", err)
	}
	if _, err := w.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(SWBStoreTable), Item: map[string]dbtypes.AttributeValue{
		"id":        &dbtypes.AttributeValueMemberS{Value: sub.WorkspaceID},
		"status":    &dbtypes.AttributeValueMemberS{Value: "PENDING"},
		"name":      &dbtypes.AttributeValueMemberS{Value: storeName},
		"updatedAt": &dbtypes.AttributeValueMemberS{Value: now.Format(time.RFC3339)},
	}}); err != nil {
		return sub, fmt.Errorf("record SWB store: %w", err)
	}
	user := SWBUserID(requester)
	msg, _ := json.Marshal(map[string]any{
		"id": sub.RequestID, "egress_store_id": sub.WorkspaceID, "egress_store_name": storeName,
		"workspace_id": sub.WorkspaceID, "project_id": "Project-Local",
		"created_at": now.Format("2006-01-02T15:04:05.000Z"), "created_by": user, "created_by_email": requester,
		"updated_at": now.Format("2006-01-02T15:04:05.000Z"), "updated_by": user, "updated_by_email": requester,
		"s3_bucketname": SWBStoreBucket, "s3_bucketpath": prefix, "status": "PENDING", "ver": ver,
		"egress_store_object_list_location": "arn:aws:s3:::" + NotificationBucket + "/" + listKey,
	})
	sub.Message = string(msg)
	return sub, nil
}

// SWBUserID is the SWB user id the local SWB gives the user with e-mail
// address email: what Submit sends as created_by.
func SWBUserID(email string) string { return "u-" + strings.SplitN(email, "@", 2)[0] }

// StoreStatus reads an SWB egress store's status.
func (w SWB) StoreStatus(ctx context.Context, storeID string) (string, error) {
	out, err := w.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(SWBStoreTable), ConsistentRead: aws.Bool(true),
		Key: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: storeID}}})
	if err != nil {
		return "", fmt.Errorf("read SWB store %s: %w", storeID, err)
	}
	if s, ok := out.Item["status"].(*dbtypes.AttributeValueMemberS); ok {
		return s.Value, nil
	}
	return "", fmt.Errorf("SWB store %s has no status", storeID)
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// WriteFiles writes files (a slash-separated path relative to dir ->
// content) under dir, making folders as needed: a store for Submit.
func WriteFiles[T string | []byte](dir string, files map[string]T) error {
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
