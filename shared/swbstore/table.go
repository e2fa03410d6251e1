// Package swbstore keeps SWB's egress store table (contract 2,
// swb_egress_store_db_table) in step with the workflow: it locks a store for
// the request in flight and releases the lock, with conditional writes.
package swbstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
)

// Attributes of SWB's egress store table, named as SWB names them.
const (
	statusAttrID        = "id"
	statusAttrStatus    = "status"
	statusAttrUpdatedAt = "updatedAt"
)

// statusTimeLayout is what SWB (JavaScript's toISOString) writes.
const statusTimeLayout = "2006-01-02T15:04:05.000Z"

// statusFrom lists, for each status the workflow sets when it releases its
// lock, the statuses it may be set from. Each includes the target itself so
// a retried step succeeds.
var statusFrom = map[swb.StoreStatus][]swb.StoreStatus{
	swb.StoreProcessed: {swb.StoreProcessing, swb.StoreProcessed},
	swb.StorePending:   {swb.StoreCreated, swb.StorePending, swb.StoreProcessing},
}

// statusAttrOwner records which egress request holds a store's PROCESSING
// lock, so a retried or replayed intake recognises its own lock and a
// request never unlocks a store another request locked. SWB ignores it.
const statusAttrOwner = "egressRequestId"

// DB is the part of the DynamoDB client Table uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Table sets the status of stores in SWB's egress store table
// (swb_egress_store_db_table).
type Table struct {
	db    DB
	table string
	now   func() time.Time
}

// New returns a Table over the named table.
func New(db DB, table string) *Table {
	return &Table{db: db, table: table, now: time.Now}
}

// Lock moves a store with no egress in flight (CREATED or PENDING) to
// PROCESSING on behalf of request requestID, and stamps updatedAt. Locking
// again for the same request succeeds (retries, replays); a store locked by
// another request, released, terminated or missing is refused: ECONFLICT
// naming its status, or ENOTFOUND.
func (t *Table) Lock(ctx context.Context, storeID, requestID string) error {
	if requestID == "" {
		return egress.Errorf(egress.EINVALID, "egress request id is required to lock a store")
	}
	return t.set(ctx, storeID, requestID, swb.StoreProcessing,
		"#status IN (:created, :pending) OR (#status = :to AND #owner = :owner)",
		map[string]types.AttributeValue{
			":created": &types.AttributeValueMemberS{Value: string(swb.StoreCreated)},
			":pending": &types.AttributeValueMemberS{Value: string(swb.StorePending)},
		}, "SET #owner = :owner")
}

// CheckLock returns the error Lock would return now, reading the store
// (consistently) without writing it: intake refuses a busy store before it
// starts an execution, and the execution's first task takes the lock. Only
// Lock's conditional write decides; a store taken in between is refused
// there.
func (t *Table) CheckLock(ctx context.Context, storeID, requestID string) error {
	switch {
	case requestID == "":
		return egress.Errorf(egress.EINVALID, "egress request id is required to lock a store")
	case storeID == "":
		return egress.Errorf(egress.EINVALID, "egress store id is required")
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.table),
		Key:            map[string]types.AttributeValue{statusAttrID: &types.AttributeValueMemberS{Value: storeID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("read egress store %s: %w", storeID, err)
	}
	if len(out.Item) == 0 {
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	}
	var item struct {
		Status swb.StoreStatus `dynamodbav:"status"`
		Owner  string          `dynamodbav:"egressRequestId"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &item); err == nil {
		switch {
		case item.Status == swb.StoreCreated, item.Status == swb.StorePending,
			item.Status == swb.StoreProcessing && item.Owner == requestID:
			return nil
		}
	}
	return statusRefused(storeID, requestID, swb.StoreProcessing, out.Item)
}

// SetStatus releases request requestID's lock on store storeID, moving it to
// PROCESSED (released) or PENDING (rejected or failed), and stamps
// updatedAt. It never creates a store row, never touches a TERMINATED store
// and never unlocks a store another request locked: those are ECONFLICT,
// naming the status; a missing store is ENOTFOUND. Setting the status a
// store already has succeeds, so retried steps do.
func (t *Table) SetStatus(ctx context.Context, storeID, requestID string, to swb.StoreStatus) error {
	from, ok := statusFrom[to]
	if !ok {
		return egress.Errorf(egress.EINVALID, "the workflow never sets an egress store to %q", to)
	}
	values := map[string]types.AttributeValue{}
	in := make([]string, len(from))
	for i, s := range from {
		v := ":from" + strconv.Itoa(i)
		in[i] = v
		values[v] = &types.AttributeValueMemberS{Value: string(s)}
	}
	// A store without an owner was locked before owners were recorded, or
	// by SWB itself; it is ours to unlock.
	cond := "#status IN (" + strings.Join(in, ", ") + ") AND (attribute_not_exists(#owner) OR #owner = :owner)"
	return t.set(ctx, storeID, requestID, to, cond, values, "")
}

func (t *Table) set(ctx context.Context, storeID, requestID string, to swb.StoreStatus, cond string, values map[string]types.AttributeValue, extraSet string) error {
	if storeID == "" {
		return egress.Errorf(egress.EINVALID, "egress store id is required")
	}
	names := map[string]string{"#id": statusAttrID, "#status": statusAttrStatus, "#updatedAt": statusAttrUpdatedAt, "#owner": statusAttrOwner}
	values[":to"] = &types.AttributeValueMemberS{Value: string(to)}
	values[":now"] = &types.AttributeValueMemberS{Value: t.now().UTC().Format(statusTimeLayout)}
	values[":owner"] = &types.AttributeValueMemberS{Value: requestID}
	update := "SET #status = :to, #updatedAt = :now"
	if extraSet != "" {
		update += ", " + strings.TrimPrefix(extraSet, "SET ")
	}
	// The conditions are evaluated in the same atomic write: a store SWB
	// terminates meanwhile is refused, never resurrected.
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.table),
		Key:                       map[string]types.AttributeValue{statusAttrID: &types.AttributeValueMemberS{Value: storeID}},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(#id) AND (" + cond + ")"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		// The item as the condition saw it explains the refusal without a
		// second read that might see a later state.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return statusRefused(storeID, requestID, to, failed.Item)
	}
	if err != nil {
		return fmt.Errorf("set egress store %s to %s: %w", storeID, to, err)
	}
	return nil
}

// statusRefused explains a refused SetStatus from the item as it was.
func statusRefused(storeID, requestID string, to swb.StoreStatus, old map[string]types.AttributeValue) error {
	if len(old) == 0 {
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	}
	var item struct {
		Status swb.StoreStatus `dynamodbav:"status"`
		Owner  string          `dynamodbav:"egressRequestId"`
	}
	if err := attributevalue.UnmarshalMap(old, &item); err != nil || item.Status == "" {
		return egress.Errorf(egress.ECONFLICT, "egress store %s has no readable status; not setting it to %s", storeID, to)
	}
	if item.Status == swb.StoreTerminated {
		return egress.Errorf(egress.ECONFLICT, "egress store %s is TERMINATED; not setting it to %s", storeID, to)
	}
	if item.Status == swb.StoreProcessing && item.Owner != "" && item.Owner != requestID {
		return egress.Errorf(egress.ECONFLICT, "egress store %s is PROCESSING for another egress request (%s)", storeID, item.Owner)
	}
	return egress.Errorf(egress.ECONFLICT, "egress store %s is %s; cannot set it to %s", storeID, item.Status, to)
}
