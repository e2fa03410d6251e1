package requests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// The audit chain (egress.ChainHash) on the requests item: the hash and
// number of the request's newest chained event. Every event write is one
// transaction that puts the event and moves these two on from the values
// it read, so a request's events form one line even with concurrent
// writers. A request stored before the chain has neither; its chain
// starts at its next event.
const (
	attrAuditHead   = "audit_head"
	attrAuditLength = "audit_length"
	attrImported    = "audit_imported"
	// maxChainAttempts bounds the retries of a write whose read head was
	// moved by another event (a preview, a download) before it landed.
	maxChainAttempts = 10
)

// chainHead is a request's audit head as stored; Length 0 is a request
// with no chained event yet.
type chainHead struct {
	Hash   string `dynamodbav:"audit_head"`
	Length int64  `dynamodbav:"audit_length"`
	// Of the request, for the events AddEvent and AddEventOnce write.
	Workspace string `dynamodbav:"workspace_id"`
	Project   string `dynamodbav:"project_id"`
	Version   int64  `dynamodbav:"version"`
	// Imported is how many events Import set out to write; only such a
	// request can be continued by a later Import.
	Imported int64 `dynamodbav:"audit_imported"`
}

func headOf(item map[string]types.AttributeValue) (chainHead, error) {
	var h chainHead
	if err := attributevalue.UnmarshalMap(item, &h); err != nil {
		return chainHead{}, fmt.Errorf("decode audit head: %w", err)
	}
	return h, nil
}

// readHead reads the audit head of request id, consistently; a missing
// request is ENOTFOUND.
func (s *Table) readHead(ctx context.Context, id string) (chainHead, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.table),
		Key:                  requestKey(id),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("#id, #head, #len, #ws, #proj, #version, #imported"),
		ExpressionAttributeNames: map[string]string{
			"#id": AttrRequestID, "#head": attrAuditHead, "#len": attrAuditLength, "#imported": attrImported,
			"#ws": AttrWorkspace, "#proj": "project_id", "#version": attrVersion,
		},
	})
	if err != nil {
		return chainHead{}, fmt.Errorf("read audit head of request %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return chainHead{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
	}
	return headOf(out.Item)
}

// advance adds to names and values what moves the head from h to e (the
// event chained after h), and returns the SET clause and the condition
// that the head is still h.
func (h chainHead) advance(e egress.Event, names map[string]string, values map[string]types.AttributeValue) (set, cond string) {
	names["#ahead"], names["#alen"] = attrAuditHead, attrAuditLength
	values[":nhead"] = &types.AttributeValueMemberS{Value: e.Hash}
	values[":nlen"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Sequence, 10)}
	set = "#ahead = :nhead, #alen = :nlen"
	if h.Length == 0 {
		return set, "attribute_not_exists(#alen)"
	}
	values[":ohead"] = &types.AttributeValueMemberS{Value: h.Hash}
	values[":olen"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(h.Length, 10)}
	return set, "#alen = :olen AND #ahead = :ohead"
}

// errEventExists is an appended event whose key is already taken.
var errEventExists = errors.New("event key exists")

// appendEvent writes ev, keyed seq, as the next link of its request's
// chain, moving the head in the same transaction. h is the head the caller
// read, or nil to read it. A head moved meanwhile is read from the failed
// condition and the write retried, up to maxChainAttempts. Workspace and
// project are the request's. A taken key is errEventExists.
func (s *Table) appendEvent(ctx context.Context, ev egress.Event, seq string, h *chainHead) error {
	for attempt := range maxChainAttempts {
		if h == nil {
			read, err := s.readHead(ctx, ev.RequestID)
			if err != nil {
				return err
			}
			h = &read
		}
		ev.Workspace, ev.Project = h.Workspace, h.Project
		e := egress.Link(h.Hash, h.Length+1, ev)
		put, err := s.putEvent(e, seq)
		if err != nil {
			return err
		}
		names := map[string]string{"#id": AttrRequestID}
		values := map[string]types.AttributeValue{}
		set, cond := h.advance(e, names, values)
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                           aws.String(s.table),
				Key:                                 requestKey(ev.RequestID),
				UpdateExpression:                    aws.String("SET " + set),
				ConditionExpression:                 aws.String("attribute_exists(#id) AND " + cond),
				ExpressionAttributeNames:            names,
				ExpressionAttributeValues:           values,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Put: put},
		}})
		switch {
		case err == nil:
			return nil
		case reason(err, 1) == "ConditionalCheckFailed":
			return errEventExists
		case reason(err, 0) == "ConditionalCheckFailed":
			old := cancelledItem(err, 0)
			if len(old) == 0 {
				return egress.Errorf(egress.ENOTFOUND, "request %s not found", ev.RequestID)
			}
			moved, err := headOf(old)
			if err != nil {
				return err
			}
			h = &moved
		case isConflict(err):
			h = nil
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return egress.Errorf(egress.ECONFLICT, "the audit trail of request %s is busy; retry", ev.RequestID)
}

// isConflict reports whether err is a transaction that lost to another
// on the same item, which a retry may win.
func isConflict(err error) bool {
	var busy *types.TransactionConflictException
	return reason(err, 0) == "TransactionConflict" || reason(err, 1) == "TransactionConflict" || errors.As(err, &busy)
}

// backoff waits a random time growing with attempt, so writers that
// collided do not collide again in step.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(5*time.Millisecond) << min(attempt, 5)))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// AuditTrail returns one page of request id's audit trail, in stored
// order, at most limit events (0: egress.DefaultListLimit, at most
// egress.MaxListLimit), with the head and length the request records,
// read before the page. A missing request is ENOTFOUND.
func (s *Table) AuditTrail(ctx context.Context, id string, limit int, token string) (egress.AuditPage, error) {
	if id == "" {
		return egress.AuditPage{}, egress.Errorf(egress.EINVALID, "request id is required")
	}
	limit, err := egress.ListLimit(limit, egress.DefaultListLimit)
	if err != nil {
		return egress.AuditPage{}, err
	}
	start, err := decodeEventsToken(token, id)
	if err != nil {
		return egress.AuditPage{}, err
	}
	h, err := s.readHead(ctx, id)
	if err != nil {
		return egress.AuditPage{}, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.events),
		KeyConditionExpression:    aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrRequestID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return egress.AuditPage{}, fmt.Errorf("audit trail of request %s: %w", id, err)
	}
	page := egress.AuditPage{Events: make([]egress.Event, 0, len(out.Items)), Head: h.Hash, Length: h.Length}
	var recs []eventRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return egress.AuditPage{}, fmt.Errorf("audit trail of request %s: %w", id, err)
	}
	for _, rec := range recs {
		e, err := rec.event()
		if err != nil {
			return egress.AuditPage{}, err
		}
		page.Events = append(page.Events, e)
	}
	if page.NextToken, err = encodeToken(out.LastEvaluatedKey); err != nil {
		return egress.AuditPage{}, fmt.Errorf("audit trail of request %s: %w", id, err)
	}
	return page, nil
}

// decodeEventsToken reverses encodeToken for an events page of request
// id, refusing a token of another request or listing.
func decodeEventsToken(token, id string) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 2 || m[AttrEventSeq] == "" {
		return nil, invalid
	}
	if m[AttrRequestID] != id {
		return nil, egress.Errorf(egress.EINVALID, "next token belongs to another request's audit trail, not %s", id)
	}
	return map[string]types.AttributeValue{
		AttrRequestID: &types.AttributeValueMemberS{Value: id},
		AttrEventSeq:  &types.AttributeValueMemberS{Value: m[AttrEventSeq]},
	}, nil
}

// maxTransactItems is DynamoDB's limit on the writes of one transaction.
const maxTransactItems = 100

// importSeq is the events sort key of the i-th (from 1) imported event:
// before any event the request's later versions produce.
func importSeq(i int) string { return fmt.Sprintf("%s#import#%010d", versionSeq(0), i) }

// Import stores r, at its given status and version 1, with events as its
// audit trail chained from the first, unless the request exists: then
// imported is false and nothing is written (a second run of a migration
// changes nothing). Events' request, workspace and project are r's;
// their chain fields are computed here. A transaction holds at most 100
// writes, so the request and its first 99 events are one transaction and
// further events follow in transactions of 100, in order; an import
// interrupted between them is continued by the next call with the same
// events (the request records how many it was importing, and its head
// matches a prefix of them).
func (s *Table) Import(ctx context.Context, r egress.Request, events []egress.Event) (imported bool, err error) {
	switch {
	case r.ID == "":
		return false, egress.Errorf(egress.EINVALID, "request id is required")
	case !r.Status.Valid():
		return false, egress.Errorf(egress.EINVALID, "request %s: unknown status %q", r.ID, r.Status)
	case r.RequestedAt.IsZero():
		return false, egress.Errorf(egress.EINVALID, "request %s: requested time is required", r.ID)
	}
	chain := make([]egress.Event, len(events))
	prev := ""
	for i, e := range events {
		switch {
		case e.RequestID != "" && e.RequestID != r.ID:
			return false, egress.Errorf(egress.EINVALID, "request %s: event %d belongs to request %s", r.ID, i+1, e.RequestID)
		case e.Kind == "":
			return false, egress.Errorf(egress.EINVALID, "request %s: event %d: kind is required", r.ID, i+1)
		}
		e.RequestID, e.Workspace, e.Project = r.ID, r.WorkspaceID, r.ProjectID
		chain[i] = egress.Link(prev, int64(i)+1, e)
		prev = chain[i].Hash
	}
	r.Version = 1
	item, err := attributevalue.MarshalMap(toRecord(r))
	if err != nil {
		return false, fmt.Errorf("import request %s: %w", r.ID, err)
	}
	first := min(len(chain), maxTransactItems-1)
	if first > 0 {
		item[attrAuditHead] = &types.AttributeValueMemberS{Value: chain[first-1].Hash}
		item[attrAuditLength] = &types.AttributeValueMemberN{Value: strconv.Itoa(first)}
		item[attrImported] = &types.AttributeValueMemberN{Value: strconv.Itoa(len(chain))}
	}
	tx := []types.TransactWriteItem{{Put: &types.Put{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": AttrRequestID},
	}}}
	puts, err := s.importPuts(chain, 0, first)
	if err != nil {
		return false, fmt.Errorf("import request %s: %w", r.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(tx, puts...)})
	done := first
	switch {
	case reason(err, 0) == "ConditionalCheckFailed":
		// Present: continue an interrupted import of these events, or
		// leave a complete or different one alone.
		h, err := s.readHead(ctx, r.ID)
		if err != nil {
			return false, err
		}
		if h.Imported != int64(len(chain)) || h.Length == 0 || h.Length >= h.Imported || chain[h.Length-1].Hash != h.Hash {
			return false, nil
		}
		done = int(h.Length)
	case isConflict(err):
		return false, egress.Errorf(egress.ECONFLICT, "request %s is being imported concurrently; retry", r.ID)
	case err != nil:
		return false, fmt.Errorf("import request %s: %w", r.ID, err)
	}
	for done < len(chain) {
		n := min(len(chain)-done, maxTransactItems-1)
		names, values := map[string]string{"#id": AttrRequestID}, map[string]types.AttributeValue{}
		set, cond := chainHead{Hash: chain[done-1].Hash, Length: int64(done)}.advance(chain[done+n-1], names, values)
		puts, err := s.importPuts(chain, done, done+n)
		if err != nil {
			return false, fmt.Errorf("import request %s: %w", r.ID, err)
		}
		tx := append([]types.TransactWriteItem{{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       requestKey(r.ID),
			UpdateExpression:          aws.String("SET " + set),
			ConditionExpression:       aws.String("attribute_exists(#id) AND " + cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}}}, puts...)
		if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx}); err != nil {
			if reason(err, 0) != "" {
				return false, egress.Errorf(egress.ECONFLICT, "import request %s: events %d to %d: the request changed while importing; run the import again", r.ID, done+1, done+n)
			}
			return false, fmt.Errorf("import request %s: events %d to %d: %w", r.ID, done+1, done+n, err)
		}
		done += n
	}
	return true, nil
}

// importPuts are the writes of chain[from:to], keyed by importSeq.
func (s *Table) importPuts(chain []egress.Event, from, to int) ([]types.TransactWriteItem, error) {
	var tx []types.TransactWriteItem
	for i := from; i < to; i++ {
		put, err := s.putEvent(chain[i], importSeq(i+1))
		if err != nil {
			return nil, err
		}
		tx = append(tx, types.TransactWriteItem{Put: put})
	}
	return tx, nil
}
