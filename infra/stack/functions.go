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

// spec is how a function is sized.
type spec struct {
	id          string
	description string
	memoryMB    float64
	timeoutSec  float64
}

var specs = map[string]spec{
	"start-workflow":       {"StartWorkflow", "SWB SNS intake: creates the request, locks the SWB store, starts the workflow", 256, 60},
	"copy-to-staging":      {"CopyToStaging", "Copies the submitted object versions to the staging bucket", 1024, 900},
	"store-task-token":     {"StoreTaskToken", "Records the stage's task token and tells its reviewers", 256, 60},
	"copy-to-datalake":     {"CopyToDatalake", "Releases the approved files as one zip into the datalake", 2048, 900},
	"handle-rejection":     {"HandleRejection", "Deletes a rejected request's staged copies and unlocks the SWB store", 256, 300},
	"handle-failure":       {"HandleFailure", "Marks a request FAILED or EXPIRED, removes partial output, unlocks the SWB store", 256, 300},
	"notify":               {"Notify", "E-mails the outcome of a request", 256, 60},
	"egress-api":           {"EgressApi", "AppSync direct Lambda resolver of the reviewers' GraphQL API", 512, 30},
	"pre-token-generation": {"PreTokenGeneration", "Cognito pre-token-generation trigger", 256, 5},
}

// functions creates every function with the environment and permissions it
// uses, and nothing else.
func (b *builder) functions() {
	cfg := b.cfg
	common := map[string]string{
		config.EnvRequestsTable:  *b.requests.TableName(),
		config.EnvEventsTable:    *b.events.TableName(),
		config.EnvReviewerGroups: strings.Join(cfg.ReviewerRoles, ","),
		config.EnvSingleApproval: strconv.FormatBool(cfg.SingleApproval),
	}
	mail := map[string]string{
		config.EnvFromEmail:           cfg.SenderEmail,
		config.EnvAdminEmail:          cfg.AdminEmail,
		config.EnvSESConfigurationSet: *b.configSet.ConfigurationSetName(),
		config.EnvWebAppURL:           *b.webURL,
	}
	reviewerEmails, _ := json.Marshal(cfg.ReviewerEmails)
	if cfg.ReviewerEmails == nil {
		reviewerEmails = []byte("{}")
	}
	swbTable := map[string]string{config.EnvSWBStoreTable: cfg.SWBStoreTable}
	staging := map[string]string{config.EnvStagingBucket: *b.staging.BucketName()}
	datalake := map[string]string{config.EnvDatalakeBucket: bucketName(cfg.DatalakeBucketARN)}

	// Messages may name only SWB's buckets; with access points the store is
	// reached through per-workspace aliases, so only the list bucket is pinned.
	swbBuckets := map[string]string{config.EnvSWBListBucket: bucketName(cfg.SWBNotificationBucketARN)}
	if !cfg.UseS3AccessPoints {
		swbBuckets[config.EnvSWBStoreBucket] = bucketName(cfg.SWBEgressStoreBucketARN)
	}
	b.newFunction("start-workflow", common, swbTable, mail, swbBuckets)
	b.newFunction("copy-to-staging", common, staging, swbBuckets)
	b.newFunction("store-task-token", common, mail, map[string]string{config.EnvReviewerEmails: string(reviewerEmails)})
	release := map[string]string{}
	if cfg.EFSMountPath != "" {
		release[EnvEFSMountPath] = cfg.EFSMountPath
	}
	b.newFunction("copy-to-datalake", common, swbTable, staging, datalake, release)
	b.newFunction("handle-rejection", common, swbTable, staging)
	b.newFunction("handle-failure", common, swbTable, staging, datalake)
	b.newFunction("notify", common, mail)
	b.newFunction("egress-api", common, staging, datalake, map[string]string{
		config.EnvMaxDownloads:      strconv.Itoa(cfg.MaxDownloads),
		config.EnvDownloadExpiry:    strconv.Itoa(cfg.DownloadExpirySeconds),
		config.EnvMaxRequestAgeDays: strconv.Itoa(cfg.MaxRequestAgeDays),
	})
	b.newFunction("pre-token-generation", map[string]string{config.EnvReviewerGroups: common[config.EnvReviewerGroups]})
}

func (b *builder) newFunction(name string, envs ...map[string]string) *function {
	sp := specs[name]
	env := map[string]*string{}
	for _, e := range envs {
		for k, v := range e {
			env[k] = jsii.String(v)
		}
	}
	role := awsiam.NewRole(b.stack, jsii.String(sp.id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("egress " + name + " function"),
	})
	logs := awslogs.NewLogGroup(b.stack, jsii.String(sp.id+"Logs"), &awslogs.LogGroupProps{
		Retention:     b.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logs.GrantWrite(role)
	props := &awslambda.FunctionProps{
		Description:           jsii.String(sp.description),
		Code:                  b.props.Code(name),
		Handler:               jsii.String("bootstrap"),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		MemorySize:            jsii.Number(sp.memoryMB),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(sp.timeoutSec)),
		Role:                  role,
		Environment:           &env,
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
	}
	if name == "start-workflow" {
		props.DeadLetterQueue = b.intakeDLQ
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
	f := &function{fn: awslambda.NewFunction(b.stack, jsii.String(sp.id), props), role: role}
	// The package is already the built bootstrap: sam build copies it
	// instead of trying to build it (samconfig.toml).
	f.fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("SkipBuild"), true)
	b.fns[name] = f
	return f
}
