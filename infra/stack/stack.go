package stack

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/shared/api"
)

// Props are what New needs: the configuration and the functions' code.
type Props struct {
	Config Config
	// Code returns the deployment package of functions/<name>: a directory
	// holding its bootstrap executable.
	Code func(function string) awslambda.Code
}

// New adds the stack of one deployment, named Config.StackName(), to scope.
func New(scope constructs.Construct, p Props) (awscdk.Stack, error) {
	switch {
	case p.Code == nil:
		return nil, errors.New("stack: Props.Code is required")
	case p.Config.Env == "" || p.Config.Prefix == "":
		return nil, errors.New("stack: Props.Config must come from ParseConfig")
	}
	// The schema's group directives name this deployment's groups.
	schema := api.SchemaFor(p.Config.ReviewerRoles, nil, p.Config.ResearcherGroup)
	fields, err := resolverFields(schema)
	if err != nil {
		return nil, fmt.Errorf("stack: GraphQL schema: %w", err)
	}

	cfg := p.Config
	props := &awscdk.StackProps{
		Description:        jsii.String(fmt.Sprintf("Egress (airlock) workflow for a Trusted Research Environment: %s", cfg.Env)),
		AnalyticsReporting: jsii.Bool(false),
	}
	if cfg.Account != "" || cfg.Region != "" {
		props.Env = &awscdk.Environment{Account: optional(cfg.Account), Region: optional(cfg.Region)}
	}
	st := awscdk.NewStack(scope, jsii.String(cfg.StackName()), props)
	if cfg.Account != "" && cfg.Region != "" {
		// A pinned stack would look its availability zones up (for the
		// efs_mount_path VPC), which needs credentials at synth; the
		// answer is given instead, as cdk.context.json would.
		st.Node().SetContext(jsii.String("availability-zones:account="+cfg.Account+":region="+cfg.Region),
			jsii.Strings(cfg.Region+"a", cfg.Region+"b"))
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.ResourceTags)) {
		awscdk.Tags_Of(st).Add(jsii.String(k), jsii.String(cfg.ResourceTags[k]), nil)
	}

	b := &builder{stack: st, cfg: cfg, props: p, fns: map[string]*function{}}
	b.keys()
	b.storage()
	b.malwareProtection()
	b.mail()
	b.web()
	b.network()
	b.deadLetters()
	b.reviewerTopics()
	b.noticesTopic()
	b.eventBus()
	b.functions()
	b.workflow()
	b.grants()
	b.intake()
	b.noticesSubscription()
	b.executionEnded()
	b.publishEvents()
	b.schedules()
	b.auth()
	b.directoryGrants()
	if err := b.api(schema, fields); err != nil {
		return nil, err
	}
	b.webHeaders()
	b.alarms()
	b.dashboard()
	b.outputs()
	b.suppress()
	return st, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}

// allow is an Allow statement of explicit actions on explicit resources.
func allow(actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// allowIf is allow with a condition block.
func allowIf(actions []string, conditions map[string]any, resources ...*string) awsiam.PolicyStatement {
	s := allow(actions, resources...)
	s.AddConditions(&conditions)
	return s
}

// bucketName is the name in an arn:aws:s3:::<name> ARN.
func bucketName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// retentions are CloudWatch's retention periods, as logRetentionDays.
var retentions = []awslogs.RetentionDays{
	awslogs.RetentionDays_ONE_DAY, awslogs.RetentionDays_THREE_DAYS, awslogs.RetentionDays_FIVE_DAYS,
	awslogs.RetentionDays_ONE_WEEK, awslogs.RetentionDays_TWO_WEEKS, awslogs.RetentionDays_ONE_MONTH,
	awslogs.RetentionDays_TWO_MONTHS, awslogs.RetentionDays_THREE_MONTHS, awslogs.RetentionDays_FOUR_MONTHS,
	awslogs.RetentionDays_FIVE_MONTHS, awslogs.RetentionDays_SIX_MONTHS, awslogs.RetentionDays_ONE_YEAR,
	awslogs.RetentionDays_THIRTEEN_MONTHS, awslogs.RetentionDays_EIGHTEEN_MONTHS, awslogs.RetentionDays_TWO_YEARS,
	awslogs.RetentionDays_THREE_YEARS, awslogs.RetentionDays_FIVE_YEARS, awslogs.RetentionDays_SIX_YEARS,
	awslogs.RetentionDays_SEVEN_YEARS, awslogs.RetentionDays_EIGHT_YEARS, awslogs.RetentionDays_NINE_YEARS,
	awslogs.RetentionDays_TEN_YEARS,
}

func (b *builder) logRetention() awslogs.RetentionDays {
	return retentions[slices.Index(logRetentionDays, b.cfg.LogRetentionDays)]
}

// region is the stack's region (a token in an environment-agnostic stack).
func (b *builder) region() string { return *b.stack.Region() }

func (b *builder) account() string { return *b.stack.Account() }

func (b *builder) partition() string { return *b.stack.Partition() }
