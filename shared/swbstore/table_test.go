package swbstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/testenv"
)

var statusTableSeq atomic.Int64

// statusTestTable creates a table shaped like SWB's egress store table.
func statusTestTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	db := testenv.DynamoDB(t)
	name := fmt.Sprintf("swb-egress-store-%d", statusTableSeq.Add(1))
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	return db, name
}

// statusStoreItem is a store row as SWB writes it; status "" leaves the
// attribute out.
func statusStoreItem(t *testing.T, id string, status swb.StoreStatus) map[string]types.AttributeValue {
	t.Helper()
	row := map[string]any{
		"id": id, "workspaceId": id, "createdAt": "2026-11-01T08:00:00.000Z",
		"updatedAt": "2026-11-01T08:00:00.000Z", "rev": 3,
	}
	if status != "" {
		row["status"] = string(status)
	}
	item, err := attributevalue.MarshalMap(row)
	if err != nil {
		t.Fatal(err)
	}
	return item
}

func statusGetItem(t *testing.T, db *dynamodb.Client, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func TestTableSetStatus(t *testing.T) {
	ctx := context.Background()
	db, table := statusTestTable(t)
	st := swbstore.New(db, table)
	const (
		ok        = ""
		conflict  = egress.ECONFLICT
		notFound  = egress.ENOTFOUND
		missingID = "(missing)"
	)
	tests := []struct {
		from swb.StoreStatus // missingID: no row
		to   swb.StoreStatus
		want string
	}{
		{swb.StorePending, swb.StoreProcessing, ok},
		{swb.StoreCreated, swb.StoreProcessing, ok},
		{swb.StoreProcessing, swb.StoreProcessing, conflict}, // locked by no recorded request (see TestTableOwnership)
		{swb.StoreProcessed, swb.StoreProcessing, conflict},
		{swb.StoreTerminated, swb.StoreProcessing, conflict},
		{missingID, swb.StoreProcessing, notFound},
		{"", swb.StoreProcessing, conflict}, // row without a status

		{swb.StoreProcessing, swb.StoreProcessed, ok},
		{swb.StoreProcessed, swb.StoreProcessed, ok}, // retried release
		{swb.StorePending, swb.StoreProcessed, conflict},
		{swb.StoreCreated, swb.StoreProcessed, conflict},
		{swb.StoreTerminated, swb.StoreProcessed, conflict},
		{missingID, swb.StoreProcessed, notFound},

		{swb.StoreProcessing, swb.StorePending, ok},
		{swb.StorePending, swb.StorePending, ok}, // retried unlock
		{swb.StoreCreated, swb.StorePending, ok},
		{swb.StoreProcessed, swb.StorePending, conflict},
		{swb.StoreTerminated, swb.StorePending, conflict},
		{missingID, swb.StorePending, notFound},
	}
	for i, tt := range tests {
		from := cmp.Or(string(tt.from), "(no status)")
		t.Run(from+" to "+string(tt.to), func(t *testing.T) {
			id := fmt.Sprintf("store-%d", i)
			var before map[string]types.AttributeValue
			if tt.from != missingID {
				before = statusStoreItem(t, id, tt.from)
				if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: before}); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now().UTC().Truncate(time.Millisecond)
			var err error
			if tt.to == swb.StoreProcessing {
				err = st.Lock(ctx, id, "req-1")
			} else {
				err = st.SetStatus(ctx, id, "req-1", tt.to)
			}
			end := time.Now().UTC()
			after := statusGetItem(t, db, table, id)

			if tt.want != ok {
				var e *egress.Error
				if !errors.As(err, &e) || e.Code != tt.want {
					t.Fatalf("SetStatus = %v, want code %s", err, tt.want)
				}
				if tt.want == conflict && tt.from != "" && !strings.Contains(e.Message, string(tt.from)) {
					t.Errorf("message %q does not name the current status %s", e.Message, tt.from)
				}
				if !reflect.DeepEqual(after, before) {
					t.Errorf("refused SetStatus changed the row:\n got %v\nwant %v", after, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetStatus: %v", err)
			}
			var got struct {
				Status    string `dynamodbav:"status"`
				UpdatedAt string `dynamodbav:"updatedAt"`
				CreatedAt string `dynamodbav:"createdAt"`
				Rev       int    `dynamodbav:"rev"`
			}
			if err := attributevalue.UnmarshalMap(after, &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != string(tt.to) {
				t.Errorf("status = %q, want %q", got.Status, tt.to)
			}
			at, err := time.Parse("2006-01-02T15:04:05.000Z", got.UpdatedAt)
			if err != nil || at.Before(start) || at.After(end) {
				t.Errorf("updatedAt = %q (%v), want an ISO time in [%v, %v]", got.UpdatedAt, err, start, end)
			}
			added := 0
			if tt.to == swb.StoreProcessing {
				added = 1 // the lock's owner
			}
			if got.CreatedAt != "2026-11-01T08:00:00.000Z" || got.Rev != 3 || len(after) != len(before)+added {
				t.Errorf("other attributes changed: %v", after)
			}
		})
	}
}

func TestTableSetStatusInvalid(t *testing.T) {
	ctx := context.Background()
	db, table := statusTestTable(t)
	st := swbstore.New(db, table)
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: statusStoreItem(t, "store-1", swb.StorePending)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		to   swb.StoreStatus
	}{
		{"set CREATED", "store-1", swb.StoreCreated},
		{"set TERMINATED", "store-1", swb.StoreTerminated},
		{"unknown status", "store-1", "DONE"},
		{"no status", "store-1", ""},
		{"no store id", "", swb.StoreProcessing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.SetStatus(ctx, tt.id, "req-1", tt.to)
			if egress.ErrorCode(err) != egress.EINVALID {
				t.Fatalf("SetStatus = %v, want %s", err, egress.EINVALID)
			}
			var got struct {
				Status string `dynamodbav:"status"`
			}
			if err := attributevalue.UnmarshalMap(statusGetItem(t, db, table, "store-1"), &got); err != nil {
				t.Fatal(err)
			}
			if got.Status != string(swb.StorePending) {
				t.Errorf("status = %q after a refused SetStatus, want PENDING", got.Status)
			}
		})
	}
}

func TestTableLock(t *testing.T) {
	db, table := statusTestTable(t)
	st := swbstore.New(db, table)
	ctx := context.Background()
	tests := []struct {
		from swb.StoreStatus
		want string // "" = locked
	}{
		{swb.StorePending, ""},
		{swb.StoreCreated, ""},
		{swb.StoreProcessing, egress.ECONFLICT}, // locked, and not by req-1
		{swb.StoreProcessed, egress.ECONFLICT},
		{swb.StoreTerminated, egress.ECONFLICT},
	}
	for i, tt := range tests {
		t.Run(string(tt.from), func(t *testing.T) {
			id := fmt.Sprintf("lock-%d", i)
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: statusStoreItem(t, id, tt.from)}); err != nil {
				t.Fatal(err)
			}
			err := st.Lock(ctx, id, "req-1")
			if egress.ErrorCode(err) != cmp.Or(tt.want, "") && !(tt.want == "" && err == nil) {
				t.Fatalf("Lock = %v, want %q", err, tt.want)
			}
			var got struct {
				Status string `dynamodbav:"status"`
			}
			attributevalue.UnmarshalMap(statusGetItem(t, db, table, id), &got)
			want := string(tt.from)
			if tt.want == "" {
				want = string(swb.StoreProcessing)
			}
			if got.Status != want {
				t.Fatalf("status %s, want %s", got.Status, want)
			}
		})
	}
	if err := st.Lock(ctx, "missing", "req-1"); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Fatalf("missing store: %v", err)
	}
}

// TestTableCheckLock: CheckLock answers what Lock would, and writes nothing.
func TestTableCheckLock(t *testing.T) {
	db, table := statusTestTable(t)
	st := swbstore.New(db, table)
	ctx := context.Background()
	tests := []struct {
		name  string
		from  swb.StoreStatus
		owner string
		want  string // "" = Lock would take it
	}{
		{"pending", swb.StorePending, "", ""},
		{"created", swb.StoreCreated, "", ""},
		{"pending, last locked by another", swb.StorePending, "req-0", ""},
		{"locked by this request", swb.StoreProcessing, "req-1", ""},
		{"locked by another request", swb.StoreProcessing, "req-0", egress.ECONFLICT},
		{"locked by SWB", swb.StoreProcessing, "", egress.ECONFLICT},
		{"released", swb.StoreProcessed, "req-0", egress.ECONFLICT},
		{"terminated", swb.StoreTerminated, "", egress.ECONFLICT},
		{"no status", "", "", egress.ECONFLICT},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("check-%d", i)
			item := statusStoreItem(t, id, tt.from)
			if tt.owner != "" {
				item["egressRequestId"] = &types.AttributeValueMemberS{Value: tt.owner}
			}
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				t.Fatal(err)
			}
			err := st.CheckLock(ctx, id, "req-1")
			if got := egress.ErrorCode(err); got != tt.want {
				t.Fatalf("CheckLock = %v, want code %q", err, tt.want)
			}
			if after := statusGetItem(t, db, table, id); !reflect.DeepEqual(after, item) {
				t.Fatalf("CheckLock changed the store: %v", after)
			}
			// Lock agrees.
			if got := egress.ErrorCode(st.Lock(ctx, id, "req-1")); got != tt.want {
				t.Fatalf("Lock code %q, CheckLock said %q", got, tt.want)
			}
		})
	}
	if err := st.CheckLock(ctx, "missing", "req-1"); egress.ErrorCode(err) != egress.ENOTFOUND {
		t.Fatalf("missing store: %v", err)
	}
	if err := st.CheckLock(ctx, "check-0", ""); egress.ErrorCode(err) != egress.EINVALID {
		t.Fatalf("no request id: %v", err)
	}
}

// TestTableOwnership: a lock belongs to the request that took it. The
// same request may lock again (retries, replays); another request can
// neither lock nor unlock the store until the owner releases it.
func TestTableOwnership(t *testing.T) {
	db, table := statusTestTable(t)
	st := swbstore.New(db, table)
	ctx := context.Background()
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: statusStoreItem(t, "own", swb.StorePending)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"A locks", func() error { return st.Lock(ctx, "own", "A") }, ""},
		{"A locks again", func() error { return st.Lock(ctx, "own", "A") }, ""},
		{"B cannot lock", func() error { return st.Lock(ctx, "own", "B") }, egress.ECONFLICT},
		{"B cannot unlock", func() error { return st.SetStatus(ctx, "own", "B", swb.StorePending) }, egress.ECONFLICT},
		{"B cannot release", func() error { return st.SetStatus(ctx, "own", "B", swb.StoreProcessed) }, egress.ECONFLICT},
		{"A unlocks", func() error { return st.SetStatus(ctx, "own", "A", swb.StorePending) }, ""},
		{"B locks", func() error { return st.Lock(ctx, "own", "B") }, ""},
		{"late retry of A's unlock is refused", func() error { return st.SetStatus(ctx, "own", "A", swb.StorePending) }, egress.ECONFLICT},
		{"B releases", func() error { return st.SetStatus(ctx, "own", "B", swb.StoreProcessed) }, ""},
		{"B releases again", func() error { return st.SetStatus(ctx, "own", "B", swb.StoreProcessed) }, ""},
	}
	for _, s := range steps {
		err := s.do()
		if (s.want == "" && err != nil) || (s.want != "" && egress.ErrorCode(err) != s.want) {
			t.Fatalf("%s: %v, want %q", s.name, err, s.want)
		}
	}
	var got struct {
		Status string `dynamodbav:"status"`
		Owner  string `dynamodbav:"egressRequestId"`
	}
	attributevalue.UnmarshalMap(statusGetItem(t, db, table, "own"), &got)
	if got.Status != "PROCESSED" || got.Owner != "B" {
		t.Fatalf("store %+v", got)
	}
}
