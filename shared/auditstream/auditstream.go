// Package auditstream decodes the stream of the audit events table
// (shared/requests) for publish-events, without linking the DynamoDB
// client: a stream-fed function calls no table.
package auditstream

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
)

// Record is an audit event as the events table stores it: the attributes
// of shared/requests' event record, which
// TestStreamRecordMatchesEventRecord keeps in step.
type Record struct {
	RequestID string `dynamodbav:"egress_request_id"`
	Seq       string `dynamodbav:"seq"`
	Workspace string `dynamodbav:"workspace_id,omitempty"`
	Project   string `dynamodbav:"project_id,omitempty"`
	At        string `dynamodbav:"at"`
	Kind      string `dynamodbav:"kind"`
	Actor     string `dynamodbav:"actor"`
	From      string `dynamodbav:"from_status"`
	To        string `dynamodbav:"to_status"`
	Stage     string `dynamodbav:"stage"`
	Reason    string `dynamodbav:"reason"`
	// The audit chain (egress.ChainHash); absent on events stored before it.
	Sequence     int64  `dynamodbav:"sequence,omitempty"`
	PreviousHash string `dynamodbav:"previous_hash,omitempty"`
	Hash         string `dynamodbav:"hash,omitempty"`
}

// AuditStream decodes the events table's stream records (NEW_IMAGE) into
// audit events, through the same record type the table reads them with.
type AuditStream struct{}

// Event decodes a stream record's new image: the audit event and its sort
// key (its position in the request's trail).
func (AuditStream) Event(image map[string]events.DynamoDBAttributeValue) (egress.Event, string, error) {
	item := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := fromStream(v)
		if err != nil {
			return egress.Event{}, "", fmt.Errorf("stream image attribute %s: %w", k, err)
		}
		item[k] = av
	}
	var rec Record
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return egress.Event{}, "", fmt.Errorf("stream image: %w", err)
	}
	if rec.RequestID == "" || rec.Seq == "" {
		return egress.Event{RequestID: rec.RequestID}, "", errors.New("stream image has no egress_request_id or seq: not an audit event")
	}
	at, err := time.Parse(egress.TimeLayout, rec.At)
	if err != nil {
		return egress.Event{RequestID: rec.RequestID}, rec.Seq, fmt.Errorf("event %s/%s: at: %w", rec.RequestID, rec.Seq, err)
	}
	return egress.Event{
		RequestID: rec.RequestID, Workspace: rec.Workspace, Project: rec.Project, At: at, Kind: rec.Kind, Actor: rec.Actor,
		From: egress.Status(rec.From), To: egress.Status(rec.To), Stage: rec.Stage, Reason: rec.Reason,
		Sequence: rec.Sequence, PreviousHash: rec.PreviousHash, Hash: rec.Hash,
	}, rec.Seq, nil
}

// ImportMark is in the sort key of every event requests.Table.Import
// writes (TestImportSeqIsMarked keeps them in step).
const ImportMark = "#import#"

// Imported reports whether the event at seq was written by
// requests.Table.Import: history of a migrated request.
func (AuditStream) Imported(seq string) bool { return strings.Contains(seq, ImportMark) }

// fromStream converts a Lambda stream event's attribute value into the
// SDK's.
func fromStream(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		var out []types.AttributeValue
		for i, e := range v.List() {
			av, err := fromStream(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, av)
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		out := map[string]types.AttributeValue{}
		for k, e := range v.Map() {
			av, err := fromStream(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown data type %d", v.DataType())
}
