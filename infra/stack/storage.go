package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsamplify"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsappsync"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/shared/requests"
)

// builder holds the resources of one stack while New wires them together.
type builder struct {
	stack awscdk.Stack
	cfg   Config
	props Props

	dataKey  awskms.Key // staging bucket
	stateKey awskms.Key // tables, the alarm and reviewer topics

	requests, events awsdynamodb.Table
	staging          awss3.Bucket
	accessLogs       awss3.Bucket
	malwareRole      awsiam.Role // GuardDuty Malware Protection's; nil unless checks scan with GuardDuty

	configSet awsses.ConfigurationSet

	amplifyApp    awsamplify.CfnApp
	amplifyBranch awsamplify.CfnBranch
	webURL        *string
	consoleBranch awsamplify.CfnBranch // nil with web_console off
	consoleURL    *string              // nil with web_console off
	webScopes     []string             // the web client's OAuth scopes

	vpc          awsec2.Vpc
	scratch      awsefs.AccessPoint
	releaseGroup awsec2.SecurityGroup

	fns        map[string]*function
	workflowSM awsstepfunctions.StateMachine
	intakeDLQ  awssqs.Queue
	endedDLQ   awssqs.Queue
	endedRule  awsevents.Rule
	bus        awsevents.EventBus // the status changes of requests (publish-events)

	pool       awscognito.UserPool
	poolClient awscognito.UserPoolClient
	cliClient  awscognito.UserPoolClient
	poolDomain awscognito.UserPoolDomain
	graphql    awsappsync.GraphqlApi
	apiSource  awsappsync.LambdaDataSource

	alarmTopic   awssns.Topic
	noticeTopics []reviewerTopic // one per approval stage, in stage order
	notices      awssns.Topic    // internal: the API's notices to the notify function
}

// keys creates the customer-managed keys, rotated yearly.
func (b *builder) keys() {
	b.dataKey = awskms.NewKey(b.stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String("egress " + b.cfg.StackName() + ": staging bucket"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	b.stateKey = awskms.NewKey(b.stack, jsii.String("StateKey"), &awskms.KeyProps{
		Description:       jsii.String("egress " + b.cfg.StackName() + ": requests and events tables, alarm and reviewer topics"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// CloudWatch publishes alarms to the encrypted topic, so it must be
	// able to use the key.
	b.stateKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": b.stack.Account()}},
	}), nil)
}

// storage creates the tables (keys and index as shared/store declares
// them) and the staging bucket with its access-log bucket.
func (b *builder) storage() {
	str := awsdynamodb.AttributeType_STRING
	tableProps := func(sort *awsdynamodb.Attribute) *awsdynamodb.TableProps {
		return &awsdynamodb.TableProps{
			PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(requests.AttrRequestID), Type: str},
			SortKey:                          sort,
			BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
			Encryption:                       awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
			EncryptionKey:                    b.stateKey,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
			DeletionProtection:               jsii.Bool(true),
			RemovalPolicy:                    awscdk.RemovalPolicy_RETAIN,
		}
	}
	b.requests = awsdynamodb.NewTable(b.stack, jsii.String("RequestsTable"), tableProps(nil))
	// by-status, by-workspace, by-requester: each newest first by
	// requested_key. CloudFormation adds one index to an existing table
	// per update, so a deployment made before the last two were added
	// needs them added one deployment at a time (README, "Upgrading").
	for _, ix := range requests.Indexes {
		b.requests.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(ix.PartitionKey), Type: str},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(requests.AttrListKey), Type: str},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	eventsProps := tableProps(&awsdynamodb.Attribute{Name: jsii.String(requests.AttrEventSeq), Type: str})
	// The stream feeds publish-events: every status change is published
	// from the audit event written in its transaction.
	eventsProps.Stream = awsdynamodb.StreamViewType_NEW_IMAGE
	b.events = awsdynamodb.NewTable(b.stack, jsii.String("EventsTable"), eventsProps)

	// S3 server access logging cannot write to an SSE-KMS bucket, so the
	// log bucket uses S3-managed keys.
	b.accessLogs = awss3.NewBucket(b.stack, jsii.String("AccessLogsBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-access-logs"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(365)),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	b.staging = awss3.NewBucket(b.stack, jsii.String("StagingBucket"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_KMS,
		EncryptionKey:          b.dataKey,
		BucketKeyEnabled:       jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: b.accessLogs,
		ServerAccessLogsPrefix: jsii.String("staging/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("clean-up"),
			// The workflow deletes every version it stages; these catch
			// what a crashed step leaves behind.
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
		}, {
			Id: jsii.String("checks-progress"),
			// CheckFiles deletes its progress when it finishes; a request
			// that failed meanwhile leaves it, holding findings that quote
			// the files. No execution outlives 21 days.
			Prefix:     jsii.String("checks/"),
			Expiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
	})
	if acct := b.cfg.IGWorkspacesAccount; acct != "" {
		b.shareStaging(acct)
	}
}

// shareStaging lets the IG lead's review workspaces in account acct read
// staged data: the bucket and key policies delegate to that account, whose
// own IAM policies then decide which workspace roles may read.
func (b *builder) shareStaging(acct string) {
	principal := awsiam.NewAccountPrincipal(jsii.String(acct))
	b.staging.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{principal},
		Actions:    jsii.Strings("s3:ListBucket", "s3:ListBucketVersions"),
		Resources:  &[]*string{b.staging.BucketArn()},
	}))
	b.staging.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{principal},
		Actions:    jsii.Strings("s3:GetObject", "s3:GetObjectVersion"),
		Resources:  &[]*string{b.staging.ArnForObjects(jsii.String("*"))},
	}))
	via := viaS3(b.region())
	b.dataKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{principal},
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &via,
	}), nil)
}

// mail creates the SES configuration set and, unless another deployment
// in the account verified it already, the sender identity.
func (b *builder) mail() {
	b.configSet = awsses.NewConfigurationSet(b.stack, jsii.String("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		ReputationMetrics:  jsii.Bool(true),
		SendingEnabled:     jsii.Bool(true),
		TlsPolicy:          awsses.ConfigurationSetTlsPolicy_REQUIRE,
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	if b.cfg.CreateSESIdentity {
		awsses.NewEmailIdentity(b.stack, jsii.String("SenderIdentity"), &awsses.EmailIdentityProps{
			Identity:         awsses.Identity_Email(jsii.String(b.cfg.SenderEmail)),
			ConfigurationSet: b.configSet,
		})
	}
}
