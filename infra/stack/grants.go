package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/requests"
)

// grants gives each function the actions on the resources its handler
// calls, written out: CDK's grant helpers add wildcard actions
// (s3:GetObject*, kms:ReEncrypt*) the functions never use.
func (b *builder) grants() {
	var (
		requestsTable = b.requests.TableArn()
		byStatus      = jsii.String(*b.requests.TableArn() + "/index/" + requests.IndexStatus)
		byWorkspace   = jsii.String(*b.requests.TableArn() + "/index/" + requests.IndexWorkspace)
		byRequester   = jsii.String(*b.requests.TableArn() + "/index/" + requests.IndexRequester)
		events        = b.events.TableArn()
	)
	// Every store write is a transaction of the request write and its
	// audit event (shared/requests), so writers need both tables. Only
	// intake creates requests (a transaction's Put, authorised as PutItem);
	// the others change them with a transaction's Update (UpdateItem).
	// Listing queries the indexes, never the base table: by-status for
	// reviewers' lists, by-workspace for a workspace's requests,
	// by-requester for a researcher's own.
	for _, fn := range functions.All() {
		if !fn.Uses(functions.DynamoDB) {
			continue
		}
		name := fn.Name
		r := b.fns[name].role
		switch name {
		case "handle-rejection", "notify":
			r.AddToPolicy(allow([]string{"dynamodb:GetItem"}, requestsTable))
		case "egress-api":
			r.AddToPolicy(allow([]string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, requestsTable))
			r.AddToPolicy(allow([]string{"dynamodb:Query"}, byStatus, byWorkspace, byRequester, events))
			r.AddToPolicy(allow([]string{"dynamodb:PutItem"}, events))
		case "start-workflow":
			r.AddToPolicy(allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, requestsTable))
			r.AddToPolicy(allow([]string{"dynamodb:PutItem"}, events))
			// A resubmission is linked to its store's returned request.
			r.AddToPolicy(allow([]string{"dynamodb:Query"}, byWorkspace))
		case "check-stuck", "verify-releases":
			// Only list the in-flight (or released) statuses: no writes.
			r.AddToPolicy(allow([]string{"dynamodb:Query"}, byStatus))
		case "send-reminders", "purge-revoked":
			// Lists the awaiting statuses, then counts each reminder.
			r.AddToPolicy(allow([]string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, requestsTable))
			r.AddToPolicy(allow([]string{"dynamodb:Query"}, byStatus))
			r.AddToPolicy(allow([]string{"dynamodb:PutItem"}, events))
		default:
			r.AddToPolicy(allow([]string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, requestsTable))
			r.AddToPolicy(allow([]string{"dynamodb:PutItem"}, events))
		}
		b.tableKey(r, name != "handle-rejection" && name != "notify" && name != "check-stuck" && name != "verify-releases")
	}

	// SWB's egress store table: intake only reads it (is the store free?);
	// the others lock or unlock it.
	for _, fn := range functions.All() {
		if !fn.Reads(config.EnvSWBStoreTable) {
			continue
		}
		action := "dynamodb:UpdateItem"
		if fn.Name == "start-workflow" {
			action = "dynamodb:GetItem"
		}
		b.fns[fn.Name].role.AddToPolicy(allow([]string{action}, jsii.String(b.swbTableARN())))
	}
	// publish-events puts the status changes on the stack's bus; Lambda
	// reads the stream for it with the grants of its event source.
	b.fns["publish-events"].role.AddToPolicy(allow([]string{"events:PutEvents"}, b.bus.EventBusArn()))

	sm := b.workflowSM.StateMachineArn()
	b.fns["start-workflow"].role.AddToPolicy(allow([]string{"states:StartExecution"}, sm))
	// A decision resumes the workflow with SendTaskSuccess only: a
	// rejection is an output the definition branches on, not a failure.
	b.fns["egress-api"].role.AddToPolicy(allow([]string{"states:SendTaskSuccess"}, sm))

	// check-stuck reads the status of each in-flight request's execution.
	// retryRequest reads it too, before it settles a request.
	for _, name := range []string{"check-stuck", "egress-api"} {
		b.fns[name].role.AddToPolicy(allow([]string{"states:DescribeExecution"}, b.executionsARN()))
	}

	// The SWB object list: read by intake (to check it) and by staging.
	notification := b.cfg.SWBNotificationBucketARN
	for _, name := range []string{"start-workflow", "copy-to-staging"} {
		r := b.fns[name].role
		r.AddToPolicy(allow([]string{"s3:GetObject"}, jsii.String(notification+"/*")))
		// ListBucket makes a missing object a 404, not a 403, so a deleted
		// list is reported as not found rather than as a permission error.
		r.AddToPolicy(allow([]string{"s3:ListBucket"}, jsii.String(notification)))
		b.swbKey(r)
	}

	// Staging copies exactly the submitted versions, without their tags
	// (REPLACE with none: no tagging action on either side): the object
	// list must name a version for every key (swb.ReleasePaths), so every
	// HeadObject and copy source names one, which S3 authorises as
	// GetObjectVersion, through an access point as well. S3 computes a
	// single copy's SHA-256 as it copies (no extra action); a multipart
	// copy's is read back from the version the copy made in the
	// (versioned) staging bucket.
	swbStore := b.cfg.SWBEgressStoreBucketARN
	storeObjects := []*string{jsii.String(swbStore + "/*")}
	storeBuckets := []*string{jsii.String(swbStore)}
	if b.cfg.UseS3AccessPoints {
		ap := "arn:" + b.partition() + ":s3:" + arnRegion(b.cfg.SWBNotificationTopicARN) + ":" + b.cfg.SWBAccount() + ":accesspoint/*"
		storeObjects = append(storeObjects, jsii.String(ap+"/object/*"))
		storeBuckets = append(storeBuckets, jsii.String(ap))
	}
	cp := b.fns["copy-to-staging"].role
	cp.AddToPolicy(allow([]string{"s3:GetObjectVersion"}, storeObjects...))
	cp.AddToPolicy(allow([]string{"s3:ListBucket"}, storeBuckets...))
	stagingObjects := b.staging.ArnForObjects(jsii.String("*"))
	cp.AddToPolicy(allow([]string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObjectVersion"}, stagingObjects))
	// Copies that take more than one invocation keep the files copied so
	// far under copies/ in staging (read back with GetObject, deleted with
	// DeletePrefix's grants below); ListBucket makes the first
	// invocation's missing checkpoint a 404, not a 403.
	cp.AddToPolicy(allow([]string{"s3:GetObject"}, b.staging.ArnForObjects(jsii.String("copies/*"))))
	cp.AddToPolicy(allow([]string{"s3:ListBucket"}, b.staging.BucketArn()))
	b.stagingKey(cp, true)

	// The checks read the manifest and each staged version (ranged GETs
	// naming the version), keep their progress under checks/ and write the
	// findings into the manifest. ListBucket makes the first call's missing
	// progress object a 404, not a 403. GuardDuty's verdicts are tags of
	// the staged versions.
	chk := b.fns["check-files"].role
	manifests := b.staging.ArnForObjects(jsii.String("manifests/*"))
	progress := b.staging.ArnForObjects(jsii.String("checks/*"))
	chk.AddToPolicy(allow([]string{"s3:GetObject", "s3:PutObject"}, manifests, progress))
	chk.AddToPolicy(allow([]string{"s3:GetObjectVersion"}, stagingObjects))
	chk.AddToPolicy(allow([]string{"s3:ListBucket"}, b.staging.BucketArn()))
	chk.AddToPolicy(allowIf([]string{"s3:ListBucketVersions"}, map[string]any{
		"StringLike": map[string]any{"s3:prefix": "checks/*"},
	}, b.staging.BucketArn()))
	chk.AddToPolicy(allow([]string{"s3:ListBucketMultipartUploads"}, b.staging.BucketArn()))
	// Its progress is written with one PutObject, so there is no upload
	// to abort.
	chk.AddToPolicy(allow([]string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, progress))
	if b.cfg.Checks.WithDefaults().Malware.Engine == egress.EngineGuardDuty {
		chk.AddToPolicy(allow([]string{"s3:GetObjectVersionTagging"}, stagingObjects))
	}
	b.stagingKey(chk, true)

	// Release reads the staged versions and writes the zip under
	// approved_egress/ in the datalake; it then deletes the staged copies.
	datalake := b.cfg.DatalakeBucketARN
	released := jsii.String(datalake + "/approved_egress/*")
	rel := b.fns["copy-to-datalake"].role
	rel.AddToPolicy(allow([]string{"s3:GetObject", "s3:GetObjectVersion"}, stagingObjects))
	rel.AddToPolicy(allow([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, released))
	// A zip written over several invocations keeps its checkpoint (the
	// upload's parts, the entries so far, the bytes of the next part)
	// under releases/ in the staging bucket; it reads it back with the
	// GetObject above and deletes it with DeletePrefix's grants below.
	rel.AddToPolicy(allow([]string{"s3:PutObject"}, b.staging.ArnForObjects(jsii.String("releases/*"))))
	// ListBucket makes a staged version that vanished a 404, so the failure
	// names the missing file instead of an AccessDenied (and makes the
	// first invocation's missing checkpoint a 404).
	rel.AddToPolicy(allow([]string{"s3:ListBucket"}, b.staging.BucketArn()))
	b.stagingKey(rel, true)
	b.datalakeKey(rel, true)

	// objects.DeletePrefix lists a prefix's versions and unfinished
	// multipart uploads, deletes every version (DeleteObjects with version
	// ids) and aborts every upload. Release and rejection delete the staged
	// copies; the failure path also removes a partial release. Staging
	// deletes what it copied for a request that ended meanwhile (a stopped
	// execution does not stop its running task).
	// retryRequest (egress-api) does the failure path's clean-up of a
	// request whose execution ended without it.
	for _, name := range []string{"copy-to-staging", "copy-to-datalake", "handle-rejection", "handle-failure", "execution-ended", "egress-api"} {
		r := b.fns[name].role
		r.AddToPolicy(allow([]string{"s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}, b.staging.BucketArn()))
		r.AddToPolicy(allow([]string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}, stagingObjects))
	}
	// The failure path (HandleFailure, and execution-ended for executions
	// that ended outside it) removes a partial, unrecorded release, and so
	// does the release itself for a request that ended while it zipped.
	for _, name := range []string{"copy-to-datalake", "handle-failure", "execution-ended", "egress-api"} {
		r := b.fns[name].role
		r.AddToPolicy(allowIf([]string{"s3:ListBucketVersions"}, map[string]any{
			"StringLike": map[string]any{"s3:prefix": "approved_egress/*"},
		}, jsii.String(datalake)))
		// ListBucketMultipartUploads has no s3:prefix condition key, so it
		// cannot stop at approved_egress/: it shows the keys of unfinished
		// uploads, never data, and the aborts stop at the prefix.
		r.AddToPolicy(allow([]string{"s3:ListBucketMultipartUploads"}, jsii.String(datalake)))
		r.AddToPolicy(allow([]string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}, released))
	}

	// The API reads manifests for a request's file list and presigns
	// downloads of released zips with its own credentials. A preview reads
	// the head of a staged version and presigns a GET of it: both name the
	// version, which S3 authorises as s3:GetObjectVersion alone, so the
	// staged data is never readable unversioned.
	api := b.fns["egress-api"].role
	api.AddToPolicy(allow([]string{"s3:GetObject"}, b.staging.ArnForObjects(jsii.String("manifests/*"))))
	api.AddToPolicy(allow([]string{"s3:GetObjectVersion"}, stagingObjects))
	api.AddToPolicy(allow([]string{"s3:GetObject"}, released))
	// A revocation deletes the zip's versions (revoke_retention_days 0:
	// ListObjectVersions on the key, DeleteObject with a version id) or
	// hides it behind a delete marker (DeleteObject without one): the
	// datalake grants of the failure path's loop above, which the API has
	// for retryRequest, cover it; granting them twice would hide a removal.
	b.stagingKey(api, false)
	b.datalakeKey(api, false)
	// The hourly purge finishes what revocations left: the same removal.
	purge := b.fns["purge-revoked"].role
	purge.AddToPolicy(allowIf([]string{"s3:ListBucketVersions"}, map[string]any{
		"StringLike": map[string]any{"s3:prefix": "approved_egress/*"},
	}, jsii.String(datalake)))
	purge.AddToPolicy(allow([]string{"s3:DeleteObject", "s3:DeleteObjectVersion"}, released))
	b.datalakeKey(purge, false)

	// The scheduled verification reads back recent releases (HeadObject
	// and ranged GETs of the zip, authorised as GetObject) and the staging
	// manifests they are checked against, and keeps its place between runs
	// under verify-releases/ (ListBucket makes the first run's missing
	// progress a 404, not a 403).
	ver := b.fns["verify-releases"].role
	verifyProgress := b.staging.ArnForObjects(jsii.String("verify-releases/*"))
	ver.AddToPolicy(allow([]string{"s3:GetObject"}, released, b.staging.ArnForObjects(jsii.String("manifests/*"))))
	ver.AddToPolicy(allow([]string{"s3:GetObject", "s3:PutObject"}, verifyProgress))
	ver.AddToPolicy(allow([]string{"s3:ListBucket"}, b.staging.BucketArn()))
	b.stagingKey(ver, true)
	b.datalakeKey(ver, false)

	for _, fn := range functions.All() {
		if fn.Uses(functions.SES) {
			b.fns[fn.Name].role.AddToPolicy(b.sendEmail())
		}
	}

	// The notice is published on the stage's topic: exactly the reviewer
	// topics, whose key SNS uses on the publisher's behalf.
	var topics []*string
	for _, t := range b.noticeTopics {
		topics = append(topics, t.topic.TopicArn())
	}
	for _, fn := range functions.All() {
		if !fn.Uses(functions.SNS) {
			continue
		}
		r := b.fns[fn.Name].role
		published := topics
		// The API publishes only its notices to the notify function.
		if fn.Name == "egress-api" {
			published = []*string{b.notices.TopicArn()}
		}
		r.AddToPolicy(allow([]string{"sns:Publish"}, published...))
		r.AddToPolicy(allowIf([]string{"kms:Decrypt", "kms:GenerateDataKey"}, map[string]any{
			"StringEquals": map[string]any{"kms:ViaService": "sns." + b.region() + ".amazonaws.com"},
		}, b.stateKey.KeyArn()))
	}
}

// executionsARN matches the executions of the workflow's state machine.
func (b *builder) executionsARN() *string {
	return awscdk.Arn_Format(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("execution"),
		ResourceName: jsii.String(*b.workflowSM.StateMachineName() + ":*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}, b.stack)
}

// directoryGrants lets the functions that e-mail a group's members list
// them in the user pool, once the pool exists.
func (b *builder) directoryGrants() {
	for _, fn := range functions.All() {
		if fn.Uses(functions.Cognito) {
			b.fns[fn.Name].role.AddToPolicy(allow([]string{"cognito-idp:ListUsersInGroup"}, b.pool.UserPoolArn()))
		}
	}
}

// viaS3 limits a key grant to use by S3, in the key's region, on the
// caller's behalf.
func viaS3(region string) map[string]any {
	return map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + region + ".amazonaws.com"}}
}

// arnRegion is the region field of an ARN.
func arnRegion(arn string) string { return strings.Split(arn, ":")[3] }

func kmsActions(write bool) []string {
	if write {
		// Multipart uploads need Decrypt as well as GenerateDataKey.
		return []string{"kms:Decrypt", "kms:GenerateDataKey"}
	}
	return []string{"kms:Decrypt"}
}

func (b *builder) stagingKey(r awsiam.Role, write bool) {
	r.AddToPolicy(allowIf(kmsActions(write), viaS3(b.region()), b.dataKey.KeyArn()))
}

func (b *builder) datalakeKey(r awsiam.Role, write bool) {
	r.AddToPolicy(allowIf(kmsActions(write), viaS3(arnRegion(b.cfg.DatalakeKeyARN)), jsii.String(b.cfg.DatalakeKeyARN)))
}

func (b *builder) swbKey(r awsiam.Role) {
	r.AddToPolicy(allowIf(kmsActions(false), viaS3(arnRegion(b.cfg.SWBKeyARN)), jsii.String(b.cfg.SWBKeyARN)))
}

// tableKey lets DynamoDB use the tables' key for the caller.
func (b *builder) tableKey(r awsiam.Role, write bool) {
	actions := []string{"kms:Decrypt", "kms:DescribeKey"}
	if write {
		actions = append(actions, "kms:Encrypt", "kms:GenerateDataKey")
	}
	r.AddToPolicy(allowIf(actions, map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": "dynamodb." + b.region() + ".amazonaws.com"},
	}, b.stateKey.KeyArn()))
}

// swbTableARN is the SWB egress store table's ARN: as given, or in this
// account when given by name.
func (b *builder) swbTableARN() string {
	if strings.HasPrefix(b.cfg.SWBStoreTable, "arn:") {
		return b.cfg.SWBStoreTable
	}
	return "arn:" + b.partition() + ":dynamodb:" + b.region() + ":" + b.account() + ":table/" + b.cfg.SWBStoreTable
}

// sendEmail allows SES SendEmail from the sender, through the stack's
// configuration set. The sender may be verified as an address or through
// its domain.
func (b *builder) sendEmail() awsiam.PolicyStatement {
	identity := "arn:" + b.partition() + ":ses:" + b.region() + ":" + b.account() + ":identity/"
	domain := b.cfg.SenderEmail[strings.LastIndex(b.cfg.SenderEmail, "@")+1:]
	return allowIf([]string{"ses:SendEmail"}, map[string]any{
		"StringEquals": map[string]any{"ses:FromAddress": b.cfg.SenderEmail},
	},
		jsii.String(identity+b.cfg.SenderEmail),
		jsii.String(identity+domain),
		jsii.String("arn:"+b.partition()+":ses:"+b.region()+":"+b.account()+":configuration-set/"+*b.configSet.ConfigurationSetName()),
	)
}
