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

// statusFrom lists, for each status the workflow sets, the statuses it may
// be set from. Each includes the target itself so a retried step succeeds.
var statusFrom = map[StoreStatus][]StoreStatus{
	StoreProcessing: {StoreCreated, StorePending, StoreProcessing},
	StoreProcessed:  {StoreProcessing, StoreProcessed},
	// PROCESSED too: a release whose last steps fail is rolled back (the
	// zip deleted), and the store must not claim it was released.
	StorePending: {StoreCreated, StorePending, StoreProcessing, StoreProcessed},
}

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

// SetStatus moves store storeID to status to, and stamps updatedAt. It
// never creates a store row and never touches a TERMINATED store. A store
// that is missing is ENOTFOUND; one whose status does not allow the move is
// ECONFLICT, naming the status it is in. Setting the status a store already
// has succeeds.
func (t *StoreTable) SetStatus(ctx context.Context, storeID string, to StoreStatus) error {
	from, ok := statusFrom[to]
	if !ok {
		return egress.Errorf(egress.EINVALID, "the workflow never sets an egress store to %q", to)
	}
	return t.set(ctx, storeID, to, from)
}

// Lock moves a store that has no egress in flight (CREATED or PENDING) to
// PROCESSING for a new request. Unlike SetStatus it refuses a store that is
// already PROCESSING: that lock belongs to another request, and two
// requests in flight would unlock each other's store.
func (t *StoreTable) Lock(ctx context.Context, storeID string) error {
	return t.set(ctx, storeID, StoreProcessing, []StoreStatus{StoreCreated, StorePending})
}

func (t *StoreTable) set(ctx context.Context, storeID string, to StoreStatus, from []StoreStatus) error {
	if storeID == "" {
		return egress.Errorf(egress.EINVALID, "egress store id is required")
	}
	names := map[string]string{"#id": statusAttrID, "#status": statusAttrStatus, "#updatedAt": statusAttrUpdatedAt}
	values := map[string]types.AttributeValue{
		":to":  &types.AttributeValueMemberS{Value: string(to)},
		":now": &types.AttributeValueMemberS{Value: t.now().UTC().Format(statusTimeLayout)},
	}
	in := make([]string, len(from))
	for i, s := range from {
		v := ":from" + strconv.Itoa(i)
		in[i] = v
		values[v] = &types.AttributeValueMemberS{Value: string(s)}
	}
	// The conditions are evaluated in the same atomic write: a store SWB
	// terminates meanwhile is refused, never resurrected.
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.table),
		Key:                       map[string]types.AttributeValue{statusAttrID: &types.AttributeValueMemberS{Value: storeID}},
		UpdateExpression:          aws.String("SET #status = :to, #updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#id) AND #status IN (" + strings.Join(in, ", ") + ")"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		// The item as the condition saw it explains the refusal without a
		// second read that might see a later state.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return statusRefused(storeID, to, failed.Item)
	}
	if err != nil {
		return fmt.Errorf("set egress store %s to %s: %w", storeID, to, err)
	}
	return nil
}

// statusRefused explains a refused SetStatus from the item as it was.
func statusRefused(storeID string, to StoreStatus, old map[string]types.AttributeValue) error {
	if len(old) == 0 {
		return egress.Errorf(egress.ENOTFOUND, "egress store %s not found", storeID)
	}
	var item struct {
		Status StoreStatus `dynamodbav:"status"`
	}
	if err := attributevalue.UnmarshalMap(old, &item); err != nil || item.Status == "" {
		return egress.Errorf(egress.ECONFLICT, "egress store %s has no readable status; not setting it to %s", storeID, to)
	}
	if item.Status == StoreTerminated {
		return egress.Errorf(egress.ECONFLICT, "egress store %s is TERMINATED; not setting it to %s", storeID, to)
	}
	return egress.Errorf(egress.ECONFLICT, "egress store %s is %s; cannot set it to %s", storeID, item.Status, to)
}
