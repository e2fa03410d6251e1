package topics

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/shared/egress"
)

type recordingSNS struct {
	in  []*sns.PublishInput
	err error
}

func (r *recordingSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	r.in = append(r.in, in)
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, r.err
}

const topic = "arn:aws:sns:eu-west-2:123456789012:egress-ig"

func TestPublish(t *testing.T) {
	tests := []struct {
		name    string
		n       egress.Notice
		apiErr  error
		wantErr string
	}{
		{"notice", egress.Notice{Topic: topic, Subject: "Egress request r-1 awaits the IG decision", Text: "Request: r-1"}, nil, ""},
		{"without subject", egress.Notice{Topic: topic, Text: "Request: r-1"}, nil, ""},
		{"no topic", egress.Notice{Text: "Request: r-1"}, nil, "a topic and a message are required"},
		{"no message", egress.Notice{Topic: topic}, nil, "a topic and a message are required"},
		{"refused", egress.Notice{Topic: topic, Subject: "s", Text: "t"}, errors.New("AuthorizationError"), `publish "s" on ` + topic + ": AuthorizationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &recordingSNS{err: tt.apiErr}
			err := New(api).Publish(context.Background(), tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in := api.in[0]
			if aws.ToString(in.TopicArn) != tt.n.Topic || aws.ToString(in.Message) != tt.n.Text ||
				(tt.n.Subject == "") != (in.Subject == nil) || aws.ToString(in.Subject) != tt.n.Subject {
				t.Fatalf("published %+v for %+v", in, tt.n)
			}
		})
	}
}
