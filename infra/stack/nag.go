package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/tre-egress/egress/functions"
)

// Check applies the cdk-nag AwsSolutions rules to every stack in scope:
// an unsuppressed finding is a synthesis error.
func Check(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// exception is one accepted cdk-nag finding: the rule, the findings it
// covers (nil: all of the rule's on the resource) and why it is accepted.
type exception struct {
	rule      string
	appliesTo []string // exact finding ids, or /regexp/ for generated logical ids
	reason    string
}

// accept records exceptions on c and the resources below it.
func accept(c constructs.IConstruct, exceptions ...exception) {
	var s []*cdknag.NagPackSuppression
	for _, e := range exceptions {
		ns := &cdknag.NagPackSuppression{Id: jsii.String(e.rule), Reason: jsii.String(e.reason)}
		if e.appliesTo != nil {
			var to []any
			for _, a := range e.appliesTo {
				if strings.HasPrefix(a, "/") {
					to = append(to, &cdknag.RegexAppliesTo{Regex: jsii.String(a)})
				} else {
					to = append(to, jsii.String(a))
				}
			}
			ns.AppliesTo = &to
		}
		s = append(s, ns)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}

// Reasons shared by several roles.
const (
	reasonXRay = "Resource * only in the statement CDK adds for active tracing: xray:PutTraceSegments and " +
		"xray:PutTelemetryRecords support no resource-level permissions."
	reasonStagingObjects = "Staged objects live under <workspace>/<request>/ and manifests/, keys known only at run time; " +
		"the bucket is this deployment's own and holds nothing else."
	reasonReleased = "The release writes approved_egress/<workspace>/<request>/egress_data.zip, ids known only at run time; " +
		"the grant stops at the approved_egress/ prefix of the datalake bucket."
	reasonNotification = "SWB writes each request's object list to <store id>/<store name>-ver<N>.json in its notification bucket; " +
		"the key comes with each message, and only GetObject is granted."
	reasonSWBStore = "The copy reads exactly the keys and versions each request's object list names, anywhere in the SWB " +
		"egress store (<workspace id>/...); only reads of those versions and their tags are granted."
	reasonAccessPoints = "With use_s3_access_points SWB serves each workspace's egress store through an access point it " +
		"creates at run time in its account; the grant is limited to that account and region."
)

// suppress records, next to the resources, why each remaining AwsSolutions
// finding is accepted.
func (b *builder) suppress() {
	staging := "/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/\\*$/"
	released := "Resource::" + b.cfg.DatalakeBucketARN + "/approved_egress/*"
	notification := "Resource::" + b.cfg.SWBNotificationBucketARN + "/*"
	accessPoints := "/^Resource::arn:(<AWS::Partition>|aws[a-z-]*):s3:" + arnRegion(b.cfg.SWBNotificationTopicARN) + ":" + b.cfg.SWBAccount() + ":accesspoint\\/\\*(\\/object\\/\\*)?$/"
	xray := exception{"AwsSolutions-IAM5", []string{"Resource::*"}, reasonXRay}

	for _, fn := range functions.All() {
		if fn.Name == "publish-events" {
			// CDK merges the event source's ListStreams into the same statement.
			accept(b.fns[fn.Name].role, exception{"AwsSolutions-IAM5", []string{"Resource::*"}, reasonXRay +
				" dynamodb:ListStreams, which Lambda calls for the function's DynamoDB stream event source, takes no resource either."})
			continue
		}
		accept(b.fns[fn.Name].role, xray)
	}
	accept(b.fns["start-workflow"].role, exception{"AwsSolutions-IAM5", []string{notification}, reasonNotification})
	accept(b.fns["copy-to-staging"].role,
		exception{"AwsSolutions-IAM5", []string{notification}, reasonNotification},
		exception{"AwsSolutions-IAM5", []string{"Resource::" + b.cfg.SWBEgressStoreBucketARN + "/*"}, reasonSWBStore},
		exception{"AwsSolutions-IAM5", []string{staging}, reasonStagingObjects},
		exception{"AwsSolutions-IAM5", []string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/copies\\/\\*$/"},
			"Staging that takes several invocations keeps the files copied so far at copies/<workspace>/<request>/checkpoint.json, ids known " +
				"only at run time, deleted once the manifest is written; only GetObject is granted under copies/ (PutObject is the staging grant)."},
	)
	if b.cfg.UseS3AccessPoints {
		accept(b.fns["copy-to-staging"].role, exception{"AwsSolutions-IAM5", []string{accessPoints}, reasonAccessPoints})
	}
	for _, name := range []string{"copy-to-datalake", "handle-rejection", "handle-failure", "execution-ended"} {
		accept(b.fns[name].role, exception{"AwsSolutions-IAM5", []string{staging}, reasonStagingObjects})
	}
	for _, name := range []string{"copy-to-datalake", "handle-failure", "execution-ended", "egress-api", "purge-revoked"} {
		accept(b.fns[name].role, exception{"AwsSolutions-IAM5", []string{released}, reasonReleased})
	}
	accept(b.fns["egress-api"].role, exception{"AwsSolutions-IAM5",
		[]string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/manifests\\/\\*$/"},
		"The API reads the manifest of the request asked about, manifests/<workspace>/<request>.json; only GetObject under manifests/ is granted."})
	accept(b.fns["egress-api"].role, exception{"AwsSolutions-IAM5", []string{staging},
		"A preview reads and links the staged version of the file asked about, <workspace>/<request>/<path>; only " +
			"s3:GetObjectVersion is granted, so nothing staged is readable without the version id the manifest records."})
	accept(b.fns["check-files"].role,
		exception{"AwsSolutions-IAM5", []string{staging},
			"The checks read each staged version of the request checked, <workspace>/<request>/<path>, by the version id its manifest " +
				"records (and GuardDuty's verdict, the version's tag); only s3:GetObjectVersion and s3:GetObjectVersionTagging are granted there."},
		exception{"AwsSolutions-IAM5", []string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/(manifests|checks)\\/\\*$/"},
			"The checks rewrite the manifest of the request checked with its findings (manifests/<workspace>/<request>.json) and keep their " +
				"progress beside it (checks/<workspace>/<request>.json), deleted when done."})
	accept(b.fns["copy-to-datalake"].role, exception{"AwsSolutions-IAM5",
		[]string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/releases\\/\\*$/"},
		"A release written over several invocations keeps its checkpoint at releases/<workspace>/<request>/checkpoint, ids known only " +
			"at run time, deleted once the release is recorded; only PutObject is granted under releases/."})
	accept(b.fns["store-task-token"].role, exception{"AwsSolutions-IAM5",
		[]string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/manifests\\/\\*$/"},
		"The reviewers' notice lists the file types of the request awaiting them, from its manifest, manifests/<workspace>/<request>.json; only GetObject under manifests/ is granted."})
	for _, name := range []string{"check-stuck", "egress-api"} {
		accept(b.fns[name].role, exception{"AwsSolutions-IAM5",
			[]string{"/^Resource::arn:(<AWS::Partition>|aws[a-z-]*):states:.+:execution:<Workflow[0-9A-F]{8}\\.Name>:\\*$/"},
			"The stuck-request check and retryRequest read the status of a request's execution, named after the request; only " +
				"states:DescribeExecution on the workflow's own executions is granted."})
	}
	accept(b.fns["verify-releases"].role,
		exception{"AwsSolutions-IAM5", []string{released}, "The scheduled verification reads back each recent release, " +
			"approved_egress/<workspace>/<request>/egress_data.zip; only s3:GetObject is granted there."},
		exception{"AwsSolutions-IAM5", []string{"/^Resource::<StagingBucket[0-9A-F]{8}\\.Arn>\\/(manifests|verify-releases)\\/\\*$/"},
			"The scheduled verification reads the manifest each release is checked against (manifests/<workspace>/<request>.json, " +
				"GetObject only) and keeps its place between runs in verify-releases/progress.json."})
	if b.scratch != nil {
		accept(b.fns["copy-to-datalake"].role, exception{"AwsSolutions-IAM5", []string{"Resource::*"},
			"Resource * also for the VPC network-interface actions Lambda performs with the function's role " +
				"(ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface, ...), which EC2 cannot scope, " +
				"and for CDK's elasticfilesystem:ClientMount grant, limited by its elasticfilesystem:AccessPointArn condition."})
	}

	accept(b.workflowSM.Role(), exception{"AwsSolutions-IAM5", []string{"Resource::*"},
		"Resource * only in the statements CDK adds for execution logging (logs:CreateLogDelivery and the other log-delivery " +
			"actions) and X-Ray tracing, which support no resource-level permissions; lambda:InvokeFunction names each function."})
	accept(b.apiSource.Node().FindChild(jsii.String("ServiceRole")),
		exception{"AwsSolutions-IAM5", []string{"/^Resource::<EgressApi[0-9A-F]{8}\\.Arn>:\\*$/"},
			"CDK's Lambda data-source grant adds the function's qualified ARNs (<arn>:*); AppSync invokes the unqualified egress-api function only."})
	accept(b.graphql.Node().DefaultChild(),
		exception{"AwsSolutions-ASC3", nil,
			"Field-level ERROR logging is on, but verbose content is excluded: it would log resolver arguments and request " +
				"headers, which carry workflow task tokens and Cognito tokens that must never be logged."},
	)
	if b.malwareRole != nil {
		accept(b.malwareRole,
			exception{"AwsSolutions-IAM5", []string{staging},
				"GuardDuty Malware Protection scans and tags every new object version of the staging bucket, keys known only at run time; " +
					"the role reaches this bucket's objects only, with the read and tagging actions GuardDuty documents."},
			exception{"AwsSolutions-IAM5", []string{"/^Resource::arn:(<AWS::Partition>|aws[a-z-]*):events:.+:rule\\/" + malwareRulePrefix + "\\*$/"},
				"GuardDuty names the EventBridge managed rule it creates for the bucket " + malwareRulePrefix + "<suffix of its choosing>; " +
					"changing a rule also needs events:ManagedBy " + malwarePlanService + ", so only GuardDuty's own managed rules can be changed."})
	}
	accept(b.accessLogs.Node().DefaultChild(), exception{"AwsSolutions-S1", nil,
		"This bucket is the destination of the staging bucket's server access logs; logging it to itself would loop."})
	accept(b.intakeDLQ.Node().DefaultChild(), exception{"AwsSolutions-SQS3", nil,
		"This queue is itself the dead-letter queue of the SWB SNS subscription and of start-workflow's asynchronous invocations."})
	accept(b.endedDLQ.Node().DefaultChild(), exception{"AwsSolutions-SQS3", nil,
		"This queue is itself the dead-letter queue of the execution-ended rule's target and of the function's asynchronous invocations."})
}
