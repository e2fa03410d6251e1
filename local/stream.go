package local

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tre-egress/egress/shared/app"
)

// streamBatchSize is the event source's BatchSize (infra/stack/events.go).
const streamBatchSize = 100

// streamPollInterval is how often the stack polls the audit events
// table's stream while it runs, as Lambda's event source does (several
// times a second per shard); tests pump it themselves (Stack.Events).
const streamPollInterval = 500 * time.Millisecond

// eventSource is Lambda's DynamoDB event source mapping of publish-events:
// it reads the events table's stream from DynamoDB Local, with the
// function's role as Lambda does, hands publish-events each batch through
// the handler path every function runs, and retries from the record the
// function reports (ReportBatchItemFailures).
type eventSource struct {
	streams *dynamodbstreams.Client // acting as publish-events

	mu        sync.Mutex // one pump at a time, as one batch per shard
	streamArn string
	shards    map[string]shardPosition // shard id -> where to read it from next
}

// shardPosition is where the next pump reads a shard from. It keeps a
// sequence number, not an iterator: an iterator kept between pumps goes
// stale (DynamoDB Local answers an open shard's iterator past its newest
// record with TrimmedDataAccessException, AWS expires them after 15
// minutes), and one that fails every pump would stop events for good.
type shardPosition struct {
	seq  string // "" before any record: from the shard's oldest
	at   bool   // read from seq itself (a record to retry), else after it
	done bool   // a closed shard read to its end
}

// iterator asks for an iterator at p.
func (p shardPosition) iterator(streamArn string, shard *string) *dynamodbstreams.GetShardIteratorInput {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(streamArn), ShardId: shard, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon}
	switch {
	case p.seq != "" && p.at:
		in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAtSequenceNumber, aws.String(p.seq)
	case p.seq != "":
		in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAfterSequenceNumber, aws.String(p.seq)
	}
	return in
}

// streamEvent is the Lambda event of stream records.
func streamEvent(streamArn string, recs []stypes.Record) events.DynamoDBEvent {
	var ev events.DynamoDBEvent
	for _, r := range recs {
		d := r.Dynamodb
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{
			AWSRegion: Region, EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
			EventSource: "aws:dynamodb", EventVersion: "1.1", EventSourceArn: streamArn,
			Change: events.DynamoDBStreamRecord{
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: aws.ToTime(d.ApproximateCreationDateTime)},
				Keys:                        toLambdaMap(d.Keys),
				NewImage:                    toLambdaMap(d.NewImage),
				OldImage:                    toLambdaMap(d.OldImage),
				SequenceNumber:              aws.ToString(d.SequenceNumber),
				SizeBytes:                   aws.ToInt64(d.SizeBytes),
				StreamViewType:              string(d.StreamViewType),
			},
		})
	}
	return ev
}

func toLambdaMap(m map[string]stypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = toLambda(v)
	}
	return out
}

func toLambda(v stypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *stypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *stypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *stypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *stypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *stypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *stypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *stypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *stypes.AttributeValueMemberL:
		var l []events.DynamoDBAttributeValue
		for _, e := range v.Value {
			l = append(l, toLambda(e))
		}
		return events.NewListAttribute(l)
	case *stypes.AttributeValueMemberM:
		return events.NewMapAttribute(toLambdaMap(v.Value))
	}
	return events.NewNullAttribute()
}

// pumpEvents hands publish-events every record of the events table's
// stream not yet handed over, shard by shard in the order DynamoDB
// describes them (a parent before its children), until each shard has
// nothing more. When publish-events reports a record to retry from, or
// fails, the shard is read again from that record on the next pump, and
// the error says so.
func (s *Stack) pumpEvents(ctx context.Context) error {
	src := s.eventSource
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.streamArn == "" {
		out, err := src.streams.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String(EventsTable)})
		if err != nil {
			return fmt.Errorf("list the streams of %s: %w", EventsTable, err)
		}
		if len(out.Streams) == 0 {
			return fmt.Errorf("table %s has no stream", EventsTable)
		}
		src.streamArn = aws.ToString(out.Streams[0].StreamArn)
	}
	var shards []stypes.Shard
	for start := (*string)(nil); ; {
		out, err := src.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(src.streamArn), ExclusiveStartShardId: start})
		if err != nil {
			return fmt.Errorf("describe stream %s: %w", src.streamArn, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			break
		}
	}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		pos := src.shards[id]
		if pos.done {
			continue
		}
		out, err := src.streams.GetShardIterator(ctx, pos.iterator(src.streamArn, sh.ShardId))
		if err != nil {
			return fmt.Errorf("shard %s: %w", id, err)
		}
		for it := out.ShardIterator; it != nil; {
			out, err := src.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(streamBatchSize)})
			if err != nil {
				return fmt.Errorf("shard %s: %w", id, err)
			}
			if len(out.Records) == 0 {
				// No next iterator: a closed shard, read to its end.
				pos.done = out.NextShardIterator == nil
				src.shards[id] = pos
				break
			}
			retry, err := s.invokePublishEvents(ctx, src.streamArn, out.Records)
			if err != nil || retry != "" {
				// Lambda reads the shard again from there.
				from := retry
				if from == "" {
					from = aws.ToString(out.Records[0].Dynamodb.SequenceNumber)
				}
				src.shards[id] = shardPosition{seq: from, at: true}
				if err != nil {
					return fmt.Errorf("publish-events failed; the stream is read again from record %s: %w", from, err)
				}
				return fmt.Errorf("publish-events reported record %s failed; the stream is read again from it", from)
			}
			pos = shardPosition{seq: aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)}
			src.shards[id] = pos
			it = out.NextShardIterator
		}
	}
	return nil
}

// invokePublishEvents runs publish-events on records and returns the
// sequence number it asks to retry from, if any.
func (s *Stack) invokePublishEvents(ctx context.Context, streamArn string, recs []stypes.Record) (string, error) {
	t, ok := s.tasks["publish-events"]
	if !ok {
		return "", errors.New("no publish-events function")
	}
	h, err := app.HandlerByName(t.handlers, t.fn)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(streamEvent(streamArn, recs))
	if err != nil {
		return "", err
	}
	var out []byte
	if err := s.metered(t.fn.Name, func() (err error) { out, err = h.Invoke(ctx, payload); return err }); err != nil {
		return "", err
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return "", fmt.Errorf("publish-events answered %s: %w", out, err)
	}
	if len(resp.BatchItemFailures) == 0 {
		return "", nil
	}
	// Lambda retries from the lowest sequence number reported.
	seqs := make([]string, len(resp.BatchItemFailures))
	for i, f := range resp.BatchItemFailures {
		seqs[i] = f.ItemIdentifier
	}
	// Sequence numbers are decimal strings of any length.
	slices.SortFunc(seqs, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b)) })
	return seqs[0], nil
}

// Events returns every event published on the stack's bus so far, after
// handing publish-events what the audit trail's stream holds now: what
// the deployed stack would have published once Lambda caught up.
func (s *Stack) Events(ctx context.Context) ([]BusEvent, error) {
	if err := s.pumpEvents(ctx); err != nil {
		return s.Bus.Events(), err
	}
	return s.Bus.Events(), nil
}

// pollEvents pumps the stream every streamPollInterval until stop is
// closed, so `make run` publishes as things happen.
func (s *Stack) pollEvents(stop <-chan struct{}) {
	t := time.NewTicker(streamPollInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := s.pumpEvents(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("events not published yet", "error", err)
			}
		}
	}
}
