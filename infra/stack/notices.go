package stack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/shared/egress"
)

// reviewerTopic is the notice topic of one approval stage's group.
type reviewerTopic struct {
	group string
	topic awssns.Topic
}

// reviewerTopics creates one topic per approval stage, as the original
// add-on did: store-task-token publishes there when a request awaits the
// stage's group. Admins subscribe the reviewers' addresses (the stack
// adds none). Encrypted with the state key, SSL only.
func (b *builder) reviewerTopics() {
	chain, err := egress.NewChain(b.cfg.ReviewerRoles, b.cfg.SingleApproval)
	if len(b.cfg.ApprovalStages) > 0 {
		chain, err = egress.NewChainFromSpecs(b.cfg.ApprovalStages)
	}
	if err != nil {
		panic(err) // ParseConfig checked egress_reviewer_roles and approval_stages
	}
	for i, st := range chain.Stages {
		name := "egress " + b.cfg.StackName() + " " + st.Group + " reviewers"
		if len(name) > 100 { // SNS's limit, and the e-mails' sender name
			name = name[:100]
		}
		b.noticeTopics = append(b.noticeTopics, reviewerTopic{group: st.Group, topic: awssns.NewTopic(b.stack, jsii.String("ReviewerTopic"+strconv.Itoa(i)), &awssns.TopicProps{
			DisplayName: jsii.String(name),
			MasterKey:   b.stateKey,
			EnforceSSL:  jsii.Bool(true),
		})})
	}
}

// noticesTopic creates the internal topic on which egress-api asks the
// notify function to tell people of something it did (a revocation), so
// the API needs no e-mail or user pool client. No one else subscribes.
func (b *builder) noticesTopic() {
	b.notices = awssns.NewTopic(b.stack, jsii.String("NoticesTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("egress " + b.cfg.StackName() + " notices"),
		MasterKey:   b.stateKey,
		EnforceSSL:  jsii.Bool(true),
	})
}

// noticesSubscription delivers the notices topic to the notify function,
// whose handler takes SNS's envelope.
func (b *builder) noticesSubscription() {
	b.notices.AddSubscription(awssnssubscriptions.NewLambdaSubscription(b.fns["notify"].fn, nil))
}
