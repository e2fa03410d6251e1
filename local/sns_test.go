package local

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
)

const testTopic = "arn:aws:sns:eu-west-2:123456789012:egress"

// snsClient serves topic and returns an SDK client for it that does not
// retry, so each Publish is one request.
func snsClient(t *testing.T, topic *SNSTopic) *sns.Client {
	t.Helper()
	srv := httptest.NewServer(topic)
	t.Cleanup(srv.Close)
	return sns.NewFromConfig(aws.Config{
		Region:           "eu-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider("local", "localsecret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

func TestSNSPublishLimits(t *testing.T) {
	attr := func(value string) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String(value)}}
	}
	const attrOverhead = len("kind") + len("String")
	tests := []struct {
		name    string
		in      sns.PublishInput
		refused string // the error message, if SNS refuses the message
	}{
		{name: "message at the limit", in: sns.PublishInput{Message: aws.String(strings.Repeat("m", 262144))}},
		{name: "message over the limit", in: sns.PublishInput{Message: aws.String(strings.Repeat("m", 262145))},
			refused: "Invalid parameter: Message too long"},
		{name: "message and attributes at the limit",
			in: sns.PublishInput{Message: aws.String(strings.Repeat("m", 262144-attrOverhead-1)), MessageAttributes: attr("v")}},
		{name: "message and attributes over the limit",
			in:      sns.PublishInput{Message: aws.String(strings.Repeat("m", 262144-attrOverhead)), MessageAttributes: attr("v")},
			refused: "Invalid parameter: Message too long"},
		{name: "multi-byte message counted in bytes", in: sns.PublishInput{Message: aws.String(strings.Repeat("é", 131073))},
			refused: "Invalid parameter: Message too long"},
		{name: "subject of 99 characters", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 99))}},
		{name: "subject of 100 characters", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 100))},
			refused: "Invalid parameter: Subject"},
		{name: "subject in UTF-8", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String("Données prêtes – " + strings.Repeat("é", 80))}},
		{name: "subject with a line break", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String("a\nb")},
			refused: "Invalid parameter: Subject"},
		{name: "subject with a tab", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String("a\tb")},
			refused: "Invalid parameter: Subject"},
		{name: "empty subject", in: sns.PublishInput{Message: aws.String("m"), Subject: aws.String("")},
			refused: "Invalid parameter: Subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var delivered []events.SNSEvent
			client := snsClient(t, &SNSTopic{Arn: testTopic, Now: time.Now,
				Deliver: func(_ context.Context, ev events.SNSEvent) error {
					delivered = append(delivered, ev)
					return nil
				}})
			in := tc.in
			in.TopicArn = aws.String(testTopic)
			_, err := client.Publish(context.Background(), &in)
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("Publish: %v", err)
				}
				if len(delivered) != 1 || delivered[0].Records[0].SNS.Message != *in.Message ||
					delivered[0].Records[0].SNS.Subject != aws.ToString(in.Subject) {
					t.Errorf("delivered %d events, want the message once", len(delivered))
				}
				return
			}
			var invalid *types.InvalidParameterException
			if !errors.As(err, &invalid) || invalid.ErrorMessage() != tc.refused {
				t.Fatalf("Publish error = %v, want InvalidParameter %q", err, tc.refused)
			}
			if len(delivered) != 0 {
				t.Errorf("a refused message was delivered %d times", len(delivered))
			}
		})
	}
}

func TestSNSDuplicateDeliveries(t *testing.T) {
	const n = 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		mu      sync.Mutex
		ids     []string
		arrived = make(chan struct{}, n)
		all     = make(chan struct{})
	)
	client := snsClient(t, &SNSTopic{Arn: testTopic, Now: time.Now, Deliveries: n,
		Deliver: func(ctx context.Context, ev events.SNSEvent) error {
			mu.Lock()
			ids = append(ids, ev.Records[0].SNS.MessageID)
			mu.Unlock()
			arrived <- struct{}{}
			// Every delivery waits for all of them: only concurrent
			// deliveries get past this.
			select {
			case <-all:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}})
	go func() {
		for range n {
			select {
			case <-arrived:
			case <-ctx.Done():
				return
			}
		}
		close(all)
	}()
	out, err := client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(testTopic), Message: aws.String("m")})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if len(ids) != n {
		t.Fatalf("delivered %d times, want %d", len(ids), n)
	}
	for _, id := range ids {
		if id != aws.ToString(out.MessageId) {
			t.Errorf("delivery has message id %q, want %q for every copy", id, aws.ToString(out.MessageId))
		}
	}
}

func TestSNSDuplicateDeliveryFailing(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
	)
	client := snsClient(t, &SNSTopic{Arn: testTopic, Now: time.Now, Deliveries: 2,
		Deliver: func(context.Context, events.SNSEvent) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return errors.New("intake failed")
			}
			return nil
		}})
	_, err := client.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(testTopic), Message: aws.String("m")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalError" || !strings.Contains(apiErr.ErrorMessage(), "intake failed") {
		t.Fatalf("Publish error = %v, want InternalError naming the failed delivery", err)
	}
	if calls != 2 {
		t.Errorf("delivered %d times, want 2", calls)
	}
}

// TestSNSTopicsRoute: one endpoint serves several topics, each Publish
// delivered to the topic it names; an unknown topic is NotFound.
func TestSNSTopicsRoute(t *testing.T) {
	got := map[string][]string{}
	var mu sync.Mutex
	topic := func(arn string) *SNSTopic {
		return &SNSTopic{Arn: arn, Now: time.Now, Deliver: func(_ context.Context, ev events.SNSEvent) error {
			mu.Lock()
			defer mu.Unlock()
			got[arn] = append(got[arn], ev.Records[0].SNS.Subject+"|"+ev.Records[0].SNS.Message)
			return nil
		}}
	}
	const other = testTopic + "-reviewers"
	srv := httptest.NewServer(SNSTopics{topic(testTopic), topic(other)})
	t.Cleanup(srv.Close)
	client := sns.NewFromConfig(aws.Config{
		Region: "eu-west-2", Credentials: credentials.NewStaticCredentialsProvider("local", "localsecret", ""),
		BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
	})
	for _, arn := range []string{testTopic, other, other} {
		if _, err := client.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String("s"), Message: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got[testTopic]) != 1 || len(got[other]) != 2 || got[other][0] != "s|"+other {
		t.Fatalf("delivered %v", got)
	}
	_, err := client.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(testTopic + "-nope"), Message: aws.String("m")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NotFound" {
		t.Fatalf("unknown topic: %v", err)
	}
}
