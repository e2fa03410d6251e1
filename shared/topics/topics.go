// Package topics publishes notices on Amazon SNS topics: how each approval
// stage's reviewers are told of new work, through the subscriptions admins
// manage on the stage's topic. In the local stack the same client talks to
// topics that write each message to the outbox.
package topics

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/shared/egress"
)

// SNS is the part of the SNS client used here.
type SNS interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Publisher publishes notices.
type Publisher struct{ api SNS }

// New returns a Publisher over api.
func New(api SNS) *Publisher { return &Publisher{api: api} }

// Publish publishes n on its topic. The subject becomes the e-mail subject
// of e-mail subscriptions; SNS refuses one of 100 characters or more.
func (p *Publisher) Publish(ctx context.Context, n egress.Notice) error {
	if n.Topic == "" || n.Text == "" {
		return errors.New("publish notice: a topic and a message are required")
	}
	in := &sns.PublishInput{TopicArn: aws.String(n.Topic), Message: aws.String(n.Text)}
	if n.Subject != "" {
		in.Subject = aws.String(n.Subject)
	}
	if _, err := p.api.Publish(ctx, in); err != nil {
		return fmt.Errorf("publish %q on %s: %w", n.Subject, n.Topic, err)
	}
	return nil
}
