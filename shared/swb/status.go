package swb

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
)

// StoreStatus is the status of an SWB egress store, attribute "status" of
// SWB's egress store table (contract 2).
type StoreStatus string

const (
	StoreCreated    StoreStatus = "CREATED"
	StorePending    StoreStatus = "PENDING"    // open for the researcher; no egress in flight
	StoreProcessing StoreStatus = "PROCESSING" // locked by an egress in flight; SWB won't terminate the workspace
	StoreProcessed  StoreStatus = "PROCESSED"  // released
	StoreTerminated StoreStatus = "TERMINATED" // SWB's; never touched by the workflow
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
var statusFrom = map[StoreStatus][]StoreStatus{
	StoreProcessed: {StoreProcessing, StoreProcessed},
	StorePending:   {StoreCreated, StorePending, StoreProcessing},
}

// statusAttrOwner records which egress request holds a store's PROCESSING
// lock, so a retried or replayed intake recognises its own lock and a
// request never unlocks a store another request locked. SWB ignores it.
const statusAttrOwner = "egressRequestId"

// statusDB is the part of the DynamoDB client StoreTable uses.
type statusDB interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// StoreTable sets the status of stores in SWB's egress store table
// (swb_egress_store_db_table).
type StoreTable struct {
	db    statusDB
	table string
	now   func() time.Time
}

// NewStoreTable returns a StoreTable over the named table.
func NewStoreTable(db statusDB, table string) *StoreTable {
	return &StoreTable{db: db, table: table, now: time.Now}
}

// Lock moves a store with no egress in flight (CREATED or PENDING) to
// PROCESSING on behalf of request requestID, and stamps updatedAt. Locking
// again for the same request succeeds (retries, replays); a store locked by
// another request, released, terminated or missing is refused: ECONFLICT
// naming its status, or ENOTFOUND.
func (t *StoreTable) Lock(ctx context.Context, storeID, requestID string) error {
	if requestID == "" {
		return egress.Errorf(egress.EINVALID, "egress request id is required to lock a store")
	}
	return t.set(ctx, storeID, requestID, StoreProcessing,
		"#status IN (:created, :pending) OR (#status = :to AND #owner = :owner)",
		map[string]types.AttributeValue{
			":created": &types.AttributeValueMemberS{Value: string(StoreCreated)},
			":pending": &types.AttributeValueMemberS{Value: string(StorePending)},
		}, "SET #owner = :owner")
}

// SetStatus releases request requestID's lock on store storeID, moving it to
// PROCESSED (released) or PENDING (rejected or failed), and stamps
// updatedAt. It never creates a store row, never touches a TERMINATED store
// and never unlocks a store another request locked: those are ECONFLICT,
// naming the status; a missing store is ENOTFOUND. Setting the status a
// store already has succeeds, so retried steps do.
func (t *StoreTable) SetStatus(ctx context.Context, storeID, requestID string, to StoreStatus) error {
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

func (t *StoreTable) set(ctx context.Context, storeID, requestID string, to StoreStatus, cond string, values map[string]types.AttributeValue, extraSet string) error {
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
func statusRefused(storeID, requestID string, to StoreStatus, old map[string]types.AttributeValue) error {
	if len(old) == 0 {
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	}
	var item struct {
		Status StoreStatus `dynamodbav:"status"`
		Owner  string      `dynamodbav:"egressRequestId"`
	}
	if err := attributevalue.UnmarshalMap(old, &item); err != nil || item.Status == "" {
		return egress.Errorf(egress.ECONFLICT, "egress store %s has no readable status; not setting it to %s", storeID, to)
	}
	if item.Status == StoreTerminated {
		return egress.Errorf(egress.ECONFLICT, "egress store %s is TERMINATED; not setting it to %s", storeID, to)
	}
	if item.Status == StoreProcessing && item.Owner != "" && item.Owner != requestID {
		return egress.Errorf(egress.ECONFLICT, "egress store %s is PROCESSING for another egress request (%s)", storeID, item.Owner)
	}
	return egress.Errorf(egress.ECONFLICT, "egress store %s is %s; cannot set it to %s", storeID, item.Status, to)
}
