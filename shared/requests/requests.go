package requests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// DynamoDB is the part of the DynamoDB client Requests uses. It has no Scan:
// every read is by key or through an index.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Table stores egress requests and appends their audit events.
type Table struct {
	db     DynamoDB
	table  string
	events string
	now    func() time.Time
	// Observer, when set, is told of every request Create and Update
	// stored, with its audit event: every status change passes here, so
	// the requests-by-status metric is counted in this one place.
	Observer Observer
}

// Observer is told of stored changes (metrics.Emitter).
type Observer interface {
	StatusChanged(ctx context.Context, r egress.Request, ev egress.Event)
}

func (s *Table) observe(ctx context.Context, r egress.Request, ev egress.Event) {
	if s.Observer != nil {
		s.Observer.StatusChanged(ctx, r, ev)
	}
}

// NewTable returns a Table over the requests table and events table.
func NewTable(db DynamoDB, table, eventsTable string) *Table {
	return &Table{db: db, table: table, events: eventsTable, now: time.Now}
}

// Create stores r at version 1 with a CREATED audit event, unless a request
// with its id exists: a replayed intake message is then a no-op and created
// is false. Times are stored to the millisecond.
func (s *Table) Create(ctx context.Context, r egress.Request) (created bool, err error) {
	switch {
	case r.ID == "":
		return false, egress.Errorf(egress.EINVALID, "request id is required")
	case !r.Status.Valid():
		return false, egress.Errorf(egress.EINVALID, "request %s: unknown status %q", r.ID, r.Status)
	case r.RequestedAt.IsZero():
		return false, egress.Errorf(egress.EINVALID, "request %s: requested time is required", r.ID)
	}
	r.Version = 1
	item, err := attributevalue.MarshalMap(toRecord(r))
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	at := r.UpdatedAt
	if at.IsZero() {
		at = r.RequestedAt
	}
	actor := r.RequestedByEmail
	if actor == "" {
		actor = r.RequestedBy
	}
	ev := egress.Link("", 1, egress.Event{RequestID: r.ID, Workspace: r.WorkspaceID, Project: r.ProjectID, At: at, Kind: egress.EventCreated, Actor: actor, To: r.Status})
	item[attrAuditHead] = &types.AttributeValueMemberS{Value: ev.Hash}
	item[attrAuditLength] = &types.AttributeValueMemberN{Value: "1"}
	evPut, err := s.putEvent(ev, versionSeq(r.Version))
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#id)"),
			ExpressionAttributeNames: map[string]string{"#id": AttrRequestID},
		}},
		{Put: evPut},
	}})
	if reason(err, 0) == "ConditionalCheckFailed" {
		return false, nil
	}
	if reason(err, 0) == "TransactionConflict" {
		return false, egress.Errorf(egress.ECONFLICT, "request %s is being created concurrently; retry", r.ID)
	}
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	s.observe(ctx, r, ev)
	return true, nil
}

// Get returns the request with the given id, read consistently, or an
// ENOTFOUND error.
func (s *Table) Get(ctx context.Context, id string) (egress.Request, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            requestKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return egress.Request{}, fmt.Errorf("get request %s: %w", id, err)
	}
	if len(out.Item) == 0 {
		return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
	}
	return decodeRequest(out.Item)
}

// Update stores r if the stored version is still r.Version, and appends ev
// to the audit trail in the same transaction. The stored request, at version
// r.Version+1, is returned. A request changed since it was read is an
// ECONFLICT error; the caller reloads and decides again.
//
// download_count is not written: IncrementDownloads owns it, and a stale
// copy here must not undo a counted download. The returned DownloadCount is
// the caller's.
func (s *Table) Update(ctx context.Context, r egress.Request, ev egress.Event) (egress.Request, error) {
	switch {
	case r.ID == "":
		return egress.Request{}, egress.Errorf(egress.EINVALID, "request id is required")
	case r.Version < 1:
		return egress.Request{}, egress.Errorf(egress.EINVALID, "request %s: version %d was never stored", r.ID, r.Version)
	case !r.Status.Valid():
		return egress.Request{}, egress.Errorf(egress.EINVALID, "request %s: unknown status %q", r.ID, r.Status)
	case ev.RequestID != "" && ev.RequestID != r.ID:
		return egress.Request{}, egress.Errorf(egress.EINVALID, "event for request %s cannot be stored with request %s", ev.RequestID, r.ID)
	case ev.Kind == "":
		return egress.Request{}, egress.Errorf(egress.EINVALID, "request %s: event kind is required", r.ID)
	}
	ev.RequestID, ev.Workspace, ev.Project = r.ID, r.WorkspaceID, r.ProjectID
	next := r
	next.Version = r.Version + 1
	item, err := attributevalue.MarshalMap(toRecord(next))
	if err != nil {
		return egress.Request{}, fmt.Errorf("update request %s: %w", r.ID, err)
	}
	delete(item, AttrRequestID)
	delete(item, attrDownloadCount)

	// SET every other attribute, in a fixed order so requests are
	// reproducible in logs and tests.
	names := map[string]string{"#version": attrVersion}
	values := map[string]types.AttributeValue{":expected": &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Version, 10)}}
	expr := "SET "
	for i, attr := range slices.Sorted(maps.Keys(item)) {
		n, v := "#a"+strconv.Itoa(i), ":a"+strconv.Itoa(i)
		if i > 0 {
			expr += ", "
		}
		expr += n + " = " + v
		names[n], values[v] = attr, item[attr]
	}
	// The event is chained after the head as read just now; a preview or
	// download moving it before the write leaves the version as it was,
	// so the head alone is read again and the write retried.
	h, err := s.readHead(ctx, r.ID)
	if err != nil {
		return egress.Request{}, err
	}
	for attempt := 0; ; attempt++ {
		if attempt == maxChainAttempts {
			return egress.Request{}, egress.Errorf(egress.ECONFLICT, "request %s is being changed concurrently; reload and retry", r.ID)
		}
		e := egress.Link(h.Hash, h.Length+1, ev)
		evPut, err := s.putEvent(e, versionSeq(next.Version))
		if err != nil {
			return egress.Request{}, fmt.Errorf("update request %s: %w", r.ID, err)
		}
		names, values := maps.Clone(names), maps.Clone(values)
		set, cond := h.advance(e, names, values)
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                           aws.String(s.table),
				Key:                                 requestKey(r.ID),
				UpdateExpression:                    aws.String(expr + ", " + set),
				ConditionExpression:                 aws.String("#version = :expected AND " + cond),
				ExpressionAttributeNames:            names,
				ExpressionAttributeValues:           values,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Put: evPut},
		}})
		if reason(err, 0) == "ConditionalCheckFailed" {
			old := cancelledItem(err, 0)
			if len(old) == 0 {
				return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", r.ID)
			}
			moved, err := headOf(old)
			if err != nil {
				return egress.Request{}, err
			}
			if moved.Version != r.Version {
				return egress.Request{}, egress.Errorf(egress.ECONFLICT,
					"request %s was changed by someone else (stored version %d, update based on version %d); reload and retry",
					r.ID, moved.Version, r.Version)
			}
			h = moved
			continue
		}
		if isConflict(err) {
			// Another transaction held the item: the conditions decide
			// again on a fresh head.
			if err := backoff(ctx, attempt); err != nil {
				return egress.Request{}, err
			}
			if h, err = s.readHead(ctx, r.ID); err != nil {
				return egress.Request{}, err
			}
			continue
		}
		if err != nil {
			return egress.Request{}, fmt.Errorf("update request %s to version %d: %w", r.ID, next.Version, err)
		}
		break
	}
	s.observe(ctx, next, ev)
	return next, nil
}

// IncrementDownloads counts one download of the released request id by
// actor and returns the new count. Once limit downloads are counted it
// refuses with ELIMIT; a request that is not released, or was revoked, is
// ECONFLICT, a missing one ENOTFOUND. The revoked check is in the condition,
// so a download that read the request before a revocation was stored cannot
// be counted (and get a link) after it.
func (s *Table) IncrementDownloads(ctx context.Context, id string, limit int, actor string) (count int, err error) {
	if limit < 1 {
		return 0, egress.Errorf(egress.EINVALID, "download limit must be at least 1, got %d", limit)
	}
	// One conditional ADD is the whole check-and-count, so concurrent
	// callers cannot both take the last download.
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              requestKey(id),
		UpdateExpression: aws.String("ADD #count :one"),
		ConditionExpression: aws.String("attribute_exists(#id) AND size(#zip) > :zero AND #status <> :revoked" +
			" AND (attribute_not_exists(#count) OR #count < :limit)"),
		ExpressionAttributeNames: map[string]string{"#id": AttrRequestID, "#zip": attrZipKey, "#count": attrDownloadCount, "#status": AttrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":revoked": &types.AttributeValueMemberS{Value: string(egress.StatusRevoked)},
			":one":     &types.AttributeValueMemberN{Value: "1"},
			":zero":    &types.AttributeValueMemberN{Value: "0"},
			":limit":   &types.AttributeValueMemberN{Value: strconv.Itoa(limit)},
		},
		ReturnValues: types.ReturnValueAllNew,
		// The item as the failed condition saw it says which rule refused,
		// without a second read that could see a later state.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if len(failed.Item) == 0 {
			return 0, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
		}
		old, err := decodeRequest(failed.Item)
		if err != nil {
			return 0, err
		}
		if old.Status == egress.StatusRevoked {
			return 0, egress.Errorf(egress.ECONFLICT, "request %s was revoked; it can no longer be downloaded", id)
		}
		if !old.Released() {
			return 0, egress.Errorf(egress.ECONFLICT, "request %s is not released (status %s)", id, old.Status)
		}
		return 0, egress.Errorf(egress.ELIMIT, "download limit of %d reached", limit)
	}
	var busy *types.TransactionConflictException // an Update's transaction holds the item
	if errors.As(err, &busy) {
		return 0, egress.Errorf(egress.ECONFLICT, "request %s is being changed concurrently; retry", id)
	}
	if err != nil {
		return 0, fmt.Errorf("count download of request %s: %w", id, err)
	}
	r, err := decodeRequest(out.Attributes)
	if err != nil {
		return 0, err
	}

	// The event is a separate transaction after the counter: the counter
	// alone enforces the limit, and a transaction could not return the new
	// count that the event's key and the caller need. If this write fails
	// the download stays counted but the error stops the caller handing
	// out a link, so the failure errs towards fewer downloads, never more.
	h, err := headOf(out.Attributes)
	if err != nil {
		return 0, fmt.Errorf("count download of request %s: %w", id, err)
	}
	ev := egress.Event{
		RequestID: id, At: s.now().UTC(), Kind: egress.EventDownload, Actor: actor,
		From: r.Status, To: r.Status, Reason: fmt.Sprintf("download %d of %d", r.DownloadCount, limit),
	}
	if err := s.appendEvent(ctx, ev, downloadSeq(r.Version, r.DownloadCount), &h); err != nil {
		return 0, fmt.Errorf("record download %d of request %s: %w", r.DownloadCount, id, err)
	}
	return r.DownloadCount, nil
}

// AddEventOnce appends ev to the audit trail of request ev.RequestID
// without changing the request: the record of something that happened
// outside it, such as its execution starting. The event is placed after
// the one that produced version after, and is written once: an event of
// the same kind already placed there is kept and added is false, so
// replayed and concurrent callers record it once between them.
func (s *Table) AddEventOnce(ctx context.Context, ev egress.Event, after int64) (added bool, err error) {
	switch {
	case ev.RequestID == "":
		return false, egress.Errorf(egress.EINVALID, "request id is required")
	case ev.Kind == "":
		return false, egress.Errorf(egress.EINVALID, "request %s: event kind is required", ev.RequestID)
	case after < 1:
		return false, egress.Errorf(egress.EINVALID, "request %s: version %d was never stored", ev.RequestID, after)
	}
	err = s.appendEvent(ctx, ev, onceSeq(after, ev.Kind), nil)
	switch {
	case errors.Is(err, errEventExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("record %s of request %s: %w", ev.Kind, ev.RequestID, err)
	}
	return true, nil
}

// AddEvent appends ev, something that may happen any number of times
// without changing the request (a preview), to the audit trail of request
// ev.RequestID, after the event that produced version after (the version
// the caller read) and in time order among its kind there. Each call
// writes its own event; a time of zero is now.
func (s *Table) AddEvent(ctx context.Context, ev egress.Event, after int64) error {
	switch {
	case ev.RequestID == "":
		return egress.Errorf(egress.EINVALID, "request id is required")
	case ev.Kind == "":
		return egress.Errorf(egress.EINVALID, "request %s: event kind is required", ev.RequestID)
	case after < 1:
		return egress.Errorf(egress.EINVALID, "request %s: version %d was never stored", ev.RequestID, after)
	}
	if ev.At.IsZero() {
		ev.At = s.now().UTC()
	}
	var random [8]byte
	rand.Read(random[:]) // never fails (crypto/rand)
	// A taken key only happens if 64 random bits ever collide: history
	// is then kept and the caller told, never overwritten.
	if err := s.appendEvent(ctx, ev, repeatSeq(after, ev.Kind, ev.At, hex.EncodeToString(random[:])), nil); err != nil {
		return fmt.Errorf("record %s of request %s: %w", ev.Kind, ev.RequestID, err)
	}
	return nil
}

// Events returns the audit trail of request id, oldest first.
func (s *Table) Events(ctx context.Context, id string) ([]egress.Event, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.events),
		KeyConditionExpression:    aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": AttrRequestID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead:            aws.Bool(true),
	})
	var events []egress.Event
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("events of request %s: %w", id, err)
		}
		var recs []eventRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, fmt.Errorf("events of request %s: %w", id, err)
		}
		for _, rec := range recs {
			e, err := rec.event()
			if err != nil {
				return nil, err
			}
			events = append(events, e)
		}
	}
	return events, nil
}

// putEvent is the write of one audit event; the condition makes a
// duplicate key an error rather than an overwrite of history.
func (s *Table) putEvent(e egress.Event, seq string) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(toEventRecord(e, seq))
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", e.Kind, err)
	}
	return &types.Put{
		TableName:                aws.String(s.events),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#seq)"),
		ExpressionAttributeNames: map[string]string{"#seq": AttrEventSeq},
	}, nil
}

func requestKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrRequestID: &types.AttributeValueMemberS{Value: id}}
}

// reason returns the cancellation code of transaction item i ("None",
// "ConditionalCheckFailed", "TransactionConflict", ...), or "" when err is
// not a cancelled transaction.
func reason(err error, i int) string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || i >= len(tc.CancellationReasons) {
		return ""
	}
	return aws.ToString(tc.CancellationReasons[i].Code)
}

// cancelledItem returns the item transaction item i's condition saw, when
// it asked for it with ReturnValuesOnConditionCheckFailure.
func cancelledItem(err error, i int) map[string]types.AttributeValue {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || i >= len(tc.CancellationReasons) {
		return nil
	}
	return tc.CancellationReasons[i].Item
}
