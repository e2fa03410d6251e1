package stack

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
)

// EnvEFSMountPath tells the release function where its EFS scratch space
// is mounted; unset, it streams the zip without local storage.
const EnvEFSMountPath = config.EnvEFSMountPath

// function is one deployed functions/<name> with its own role.
type function struct {
	fn   awslambda.Function
	role awsiam.Role
}

// functions creates every function of the table with the environment
// variables its row reads (those the deployment gives a value) and nothing
// else; permissions are added by grants.
func (b *builder) functions() {
	cfg := b.cfg
	reviewerEmails, _ := json.Marshal(cfg.ReviewerEmails)
	if cfg.ReviewerEmails == nil {
		reviewerEmails = []byte("{}")
	}
	// Topic ARNs are tokens inside the JSON text; CloudFormation joins
	// them in.
	topics := map[string]string{}
	for _, t := range b.noticeTopics {
		topics[t.group] = *t.topic.TopicArn()
	}
	reviewerTopics, _ := json.Marshal(topics)
	values := map[string]string{
		config.EnvRequestsTable:       *b.requests.TableName(),
		config.EnvEventsTable:         *b.events.TableName(),
		config.EnvReviewerGroups:      strings.Join(cfg.ReviewerRoles, ","),
		config.EnvSingleApproval:      strconv.FormatBool(cfg.SingleApproval),
		config.EnvStageTimeout:        strconv.Itoa(cfg.StageTimeoutDays * 24 * 3600),
		config.EnvFromEmail:           cfg.SenderEmail,
		config.EnvAdminEmail:          cfg.AdminEmail,
		config.EnvSESConfigurationSet: *b.configSet.ConfigurationSetName(),
		config.EnvWebAppURL:           *b.linkURL(),
		config.EnvReviewerEmails:      string(reviewerEmails),
		config.EnvReviewerTopics:      string(reviewerTopics),
		config.EnvSWBStoreTable:       cfg.SWBStoreTable,
		config.EnvStagingBucket:       *b.staging.BucketName(),
		config.EnvDatalakeBucket:      bucketName(cfg.DatalakeBucketARN),
		// Messages may name only SWB's buckets.
		config.EnvSWBListBucket:       bucketName(cfg.SWBNotificationBucketARN),
		config.EnvMaxDownloads:        strconv.Itoa(cfg.MaxDownloads),
		config.EnvDownloadExpiry:      strconv.Itoa(cfg.DownloadExpirySeconds),
		config.EnvMaxRequestAgeDays:   strconv.Itoa(cfg.MaxRequestAgeDays),
		config.EnvRevokeRetentionDays: strconv.Itoa(cfg.RevokeRetentionDays),
		config.EnvNoticesTopic:        *b.notices.TopicArn(),
		config.EnvStackName:           cfg.StackName(), // the metrics' Stack dimension
		config.EnvEventBus:            *b.bus.EventBusName(),
		config.EnvVerifyReleaseDays:   strconv.Itoa(cfg.VerifyReleaseDays),
		// config.EnvStateMachineArn is added by workflow, once the state
		// machine exists, and config.EnvUserPoolID by auth, once the pool
		// does.
	}
	// With access points the store is reached through per-workspace
	// aliases, so only the list bucket is pinned.
	if !cfg.UseS3AccessPoints {
		values[config.EnvSWBStoreBucket] = bucketName(cfg.SWBEgressStoreBucketARN)
	}
	if len(cfg.ApprovalStages) > 0 {
		stages, _ := json.Marshal(cfg.ApprovalStages) // strings and ints cannot fail
		values[config.EnvApprovalStages] = string(stages)
	}
	if cfg.EFSMountPath != "" {
		values[EnvEFSMountPath] = cfg.EFSMountPath
	}
	if cfg.ResearcherGroup != "" {
		values[config.EnvResearcherGroup] = cfg.ResearcherGroup
	}
	checks, _ := json.Marshal(cfg.Checks) // strings, numbers and lists cannot fail
	values[config.EnvChecks] = string(checks)
	for _, fn := range functions.All() {
		env := map[string]string{}
		for _, k := range fn.Env() {
			if v, ok := values[k]; ok {
				env[k] = v
			}
		}
		b.newFunction(fn, env)
	}
}

func (b *builder) newFunction(fn functions.Function, vars map[string]string) *function {
	name := fn.Name
	env := map[string]*string{}
	for k, v := range vars {
		env[k] = jsii.String(v)
	}
	role := awsiam.NewRole(b.stack, jsii.String(fn.ID+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("egress " + name + " function"),
	})
	logs := awslogs.NewLogGroup(b.stack, jsii.String(fn.ID+"Logs"), &awslogs.LogGroupProps{
		Retention:     b.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logs.GrantWrite(role)
	props := &awslambda.FunctionProps{
		Description:           jsii.String(fn.Description),
		Code:                  b.props.Code(name),
		Handler:               jsii.String("bootstrap"),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		MemorySize:            jsii.Number(fn.MemoryMB),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(fn.Timeout.Seconds())),
		Role:                  role,
		Environment:           &env,
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
	}
	switch name {
	case "start-workflow":
		props.DeadLetterQueue = b.intakeDLQ
	case "execution-ended":
		props.DeadLetterQueue = b.endedDLQ
	}
	if name == "copy-to-datalake" && b.scratch != nil {
		props.Vpc = b.vpc
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{b.releaseGroup}
		props.Filesystem = awslambda.FileSystem_FromEfsAccessPoint(b.scratch, jsii.String(b.cfg.EFSMountPath))
		// Lambda creates the function's network interfaces with its role;
		// the EC2 actions involved cannot be scoped to resources.
		role.AddToPolicy(allow([]string{
			"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
		}, jsii.String("*")))
	}
	f := &function{fn: awslambda.NewFunction(b.stack, jsii.String(fn.ID), props), role: role}
	// The package is already the built bootstrap: sam build copies it
	// instead of trying to build it (samconfig.toml).
	f.fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("SkipBuild"), true)
	b.fns[name] = f
	return f
}
