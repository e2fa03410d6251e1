// Package store keeps egress requests and their audit trail in DynamoDB.
//
// Two tables, both pay-per-request. The infrastructure (CDK) must declare
// exactly these keys and index, using the constants below:
//
// Requests table (one item per request):
//
//	partition key  egress_request_id  S
//	partition key     egress_request_id  S
//	GSI by-status     partition egress_status S, sort requested_key S, projection ALL
//	GSI by-workspace  partition workspace_id  S, sort requested_key S, projection ALL
//	GSI by-requester  partition requested_by  S, sort requested_key S, projection ALL
//
// requested_key is "<requested_dt>#<egress_request_id>", so each index lists
// its partition (a status, a workspace, a submitter's SWB user id) newest
// first with ties broken by id, and pages never skip or repeat an item. An
// empty workspace_id or requested_by is not stored (an index key cannot be
// empty), so such a request is in no workspace's or submitter's listing. Other attributes carry the frontend's GraphQL field names
// (requested_dt, updated_dt, task_token, ig reviews as "reviews", ...);
// timestamps are fixed-width UTC strings "2006-01-02T15:04:05.000Z" so they
// sort as text; download_count is a Number changed only by an atomic ADD;
// version is a Number incremented by every update and checked by it.
//
// Events table (append-only audit trail):
//
//	partition key  egress_request_id  S
//	sort key       seq                S
//	stream         NEW_IMAGE (publish-events puts the status changes on the event bus)
//
// seq is the zero-padded request version the event produced
// ("00000000000000000002"), or for downloads, which change no version,
// "<version>#download#<zero-padded count>", or for the events written once
// without changing the request (AddEventOnce), "<version>#<kind>", or
// for repeated ones (AddEvent) "<version>#<kind>#<at>#<random>", or for
// imported history (Import) "<version 0>#import#<zero-padded index>", so a
// Query returns events oldest first. Each event also carries its place in
// the request's hash chain (sequence, previous_hash, hash: audit.go), whose
// head the request item keeps in audit_head and audit_length.
package requests

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key attributes and index names shared with the infrastructure.
const (
	AttrRequestID = "egress_request_id" // requests: partition key; events: partition key
	AttrStatus    = "egress_status"     // by-status index partition key
	AttrListKey   = "requested_key"     // every index's sort key: "<requested_dt>#<id>"
	AttrEventSeq  = "seq"               // events: sort key
	IndexStatus   = "by-status"
	// AttrWorkspace partitions by-workspace: a workspace's requests (SWB's
	// egress store id equals the workspace id).
	AttrWorkspace  = "workspace_id"
	IndexWorkspace = "by-workspace"
	// AttrRequestedBy partitions by-requester: a submitter's requests, by
	// SWB user id.
	AttrRequestedBy = "requested_by"
	IndexRequester  = "by-requester"
)

// Indexes are the requests table's global secondary indexes: name and
// partition key; the sort key of each is AttrListKey, the projection ALL.
var Indexes = []struct{ Name, PartitionKey string }{
	{IndexStatus, AttrStatus},
	{IndexWorkspace, AttrWorkspace},
	{IndexRequester, AttrRequestedBy},
}

// Other attributes named in expressions.
const (
	attrVersion       = "version"
	attrDownloadCount = "download_count"
	attrZipKey        = "zip_key"
)

// TableCreator is the part of the DynamoDB client CreateTables uses.
type TableCreator interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// CreateTables creates the requests and events tables unless they exist and
// waits until both are active. In AWS the CDK stack creates them; tests and
// the local stack use this.
func CreateTables(ctx context.Context, db TableCreator, requestsTable, eventsTable string) error {
	str := types.ScalarAttributeTypeS
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(AttrRequestID), AttributeType: str},
		{AttributeName: aws.String(AttrListKey), AttributeType: str},
	}
	var indexes []types.GlobalSecondaryIndex
	for _, ix := range Indexes {
		attrs = append(attrs, types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: str})
		indexes = append(indexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrListKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	tables := []*dynamodb.CreateTableInput{
		{
			TableName:              aws.String(requestsTable),
			BillingMode:            types.BillingModePayPerRequest,
			AttributeDefinitions:   attrs,
			KeySchema:              []types.KeySchemaElement{{AttributeName: aws.String(AttrRequestID), KeyType: types.KeyTypeHash}},
			GlobalSecondaryIndexes: indexes,
		},
		{
			TableName:   aws.String(eventsTable),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(AttrRequestID), AttributeType: str},
				{AttributeName: aws.String(AttrEventSeq), AttributeType: str},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrRequestID), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrEventSeq), KeyType: types.KeyTypeRange},
			},
			// publish-events reads it (README, "Events").
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
		},
	}
	for _, in := range tables {
		_, err := db.CreateTable(ctx, in)
		var exists *types.ResourceInUseException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("create table %s: %w", *in.TableName, err)
		}
		w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = time.Second })
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 5*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s: %w", *in.TableName, err)
		}
	}
	return nil
}
