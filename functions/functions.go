// Package functions is the one table of egress's Lambda functions: what
// each functions/<name> is called, how it is sized, what it reads from its
// environment, which AWS services it calls, which handler it runs and which
// state machine placeholder holds its ARN. The mains, the local stack, the
// state machine substitutions, the CDK app and the tests all read it.
//
// It imports only the standard library and shared/config's variable names,
// so anything may read it without linking the AWS SDK.
package functions

import (
	"slices"
	"time"

	"github.com/tre-egress/egress/shared/config"
)

// Service is an AWS service a function calls.
type Service string

// The services the functions call. A function builds a client only for the
// services its row lists.
const (
	S3            Service = "S3"
	DynamoDB      Service = "DynamoDB"
	StepFunctions Service = "StepFunctions"
	SES           Service = "SES"
	SNS           Service = "SNS"
	Cognito       Service = "Cognito" // Cognito user pools (cognito-idp)
	EventBridge   Service = "EventBridge"
)

// Function is one row of the table.
type Function struct {
	Name        string // the folder functions/<Name>
	ID          string // CloudFormation logical id of the function (and prefix of its role and log group)
	Description string
	MemoryMB    int
	// GoMemoryLimitMB, when set, is the Go runtime's soft memory limit
	// the function's main sets (lambdamain.SetMemoryLimit); 0 takes 85%
	// of the function's memory.
	GoMemoryLimitMB int
	Timeout         time.Duration
	// Required are the environment variables the function refuses to start
	// without; Optional the others it reads.
	Required []string
	Optional []string
	Services []Service
	// Handler names the workflow.Handlers method a workflow function runs;
	// empty for the functions wired otherwise (the API, the Cognito trigger).
	Handler string
	// Placeholder is the ${...} of statemachine/egress.asl.json that holds
	// the function's ARN; empty for functions that are not task states.
	Placeholder string
	// Schedule is how often an EventBridge schedule rule runs the
	// function (and the local stack's clock, when asked); 0 for functions
	// that are not scheduled.
	Schedule time.Duration
}

// Env lists every environment variable the function reads: the required
// ones, then the optional ones.
func (f Function) Env() []string { return slices.Concat(f.Required, f.Optional) }

// Reads reports whether the function reads environment variable name.
func (f Function) Reads(name string) bool { return slices.Contains(f.Env(), name) }

// Uses reports whether the function calls service s.
func (f Function) Uses(s Service) bool { return slices.Contains(f.Services, s) }

// Variables shared by rows.
var (
	tables = []string{config.EnvRequestsTable, config.EnvEventsTable}
	// Every function that reads the approval chain stores requests, and
	// so writes metrics, whose Stack dimension STACK_NAME gives.
	approval = []string{config.EnvReviewerGroups, config.EnvSingleApproval, config.EnvApprovalStages, config.EnvStackName}
	mail     = []string{config.EnvFromEmail, config.EnvAdminEmail, config.EnvSESConfigurationSet, config.EnvWebAppURL}
	// swbBuckets pin the buckets an SWB message may name.
	swbBuckets = []string{config.EnvSWBStoreBucket, config.EnvSWBListBucket}
)

// table is in deployment order: the CDK app creates the functions, and
// adds their permissions, in this order.
var table = []Function{
	{
		Name: "start-workflow", ID: "StartWorkflow",
		Description: "SWB SNS intake: creates the request, checks the SWB store is free, starts the workflow",
		MemoryMB:    256, Timeout: time.Minute,
		Required: slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStateMachineArn}),
		Optional: slices.Concat(approval, mail, swbBuckets, []string{config.EnvStageTimeout, config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3, StepFunctions, SES},
		Handler:  "Intake",
	},
	{
		Name: "copy-to-staging", ID: "CopyToStaging",
		Description: "Locks the SWB store and copies the submitted object versions to the staging bucket",
		MemoryMB:    1024, Timeout: 15 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStagingBucket}),
		Optional: slices.Concat(approval, swbBuckets, []string{config.EnvCopyConcurrency, config.EnvMultipartThreshold, config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "CopyToStaging", Placeholder: "CopyToStagingFunctionArn",
	},
	{
		Name: "check-files", ID: "CheckFiles",
		Description: "Automated checks of the staged files before review: file policy, content types, malware scan, disclosure control",
		MemoryMB:    1024, Timeout: 15 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvStagingBucket}),
		Optional: slices.Concat(approval, []string{config.EnvChecks, config.EnvCopyConcurrency, config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "CheckFiles", Placeholder: "CheckFilesFunctionArn",
	},
	{
		Name: "store-task-token", ID: "StoreTaskToken",
		Description: "Records the stage's task token and tells its reviewers",
		MemoryMB:    256, Timeout: time.Minute,
		// The notice's file types are on the request (set at staging), so
		// it reads no manifest and links no S3 client.
		Required: tables,
		Optional: slices.Concat(approval, mail, []string{config.EnvReviewerEmails, config.EnvReviewerTopics,
			config.EnvUserPoolID}),
		Services: []Service{DynamoDB, SES, SNS, Cognito},
		Handler:  "StoreTaskToken", Placeholder: "StoreTaskTokenFunctionArn",
	},
	{
		Name: "copy-to-datalake", ID: "CopyToDatalake",
		Description: "Releases the approved files as one zip into the datalake",
		MemoryMB:    2048, Timeout: 15 * time.Minute,
		// The zip holds two 16 MiB parts, the blocks being deflated and
		// what is read ahead, about 55 MiB live: a limit just above makes
		// the collector run before garbage piles up, so its peak memory is
		// the same for a 256 MiB zip and a 2 GiB one (README, Performance).
		GoMemoryLimitMB: 72,
		Required:        slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStagingBucket, config.EnvDatalakeBucket}),
		Optional:        slices.Concat(approval, []string{config.EnvEFSMountPath, config.EnvS3PathStyle}),
		Services:        []Service{DynamoDB, S3},
		Handler:         "Release", Placeholder: "CopyToDatalakeFunctionArn",
	},
	{
		Name: "handle-rejection", ID: "HandleRejection",
		Description: "Deletes a rejected request's staged copies and unlocks the SWB store",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStagingBucket}),
		Optional: slices.Concat(approval, []string{config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "HandleRejection", Placeholder: "HandleRejectionFunctionArn",
	},
	{
		Name: "handle-failure", ID: "HandleFailure",
		Description: "Marks a request FAILED or EXPIRED, removes partial output, unlocks the SWB store",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStagingBucket, config.EnvDatalakeBucket}),
		Optional: slices.Concat(approval, []string{config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "HandleFailure", Placeholder: "HandleFailureFunctionArn",
	},
	{
		Name: "execution-ended", ID: "ExecutionEnded",
		Description: "EventBridge target: cleans up after an execution that ended FAILED, ABORTED or TIMED_OUT outside the failure path",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvSWBStoreTable, config.EnvStagingBucket, config.EnvDatalakeBucket}),
		Optional: slices.Concat(approval, mail, []string{config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3, SES},
		Handler:  "ExecutionEnded",
	},
	{
		Name: "notify", ID: "Notify",
		Description: "E-mails the outcome of a request, and a revocation published on the notices topic",
		MemoryMB:    256, Timeout: time.Minute,
		Required: slices.Concat(tables, []string{config.EnvFromEmail}),
		// A cancellation or revocation is also published on the stage's
		// reviewer topic and e-mailed to the group's members.
		Optional: slices.Concat(approval, mail[1:], []string{config.EnvReviewerEmails, config.EnvReviewerTopics, config.EnvUserPoolID}),
		Services: []Service{DynamoDB, SES, SNS, Cognito},
		Handler:  "Notify", Placeholder: "NotifyFunctionArn",
	},
	{
		Name: "send-reminders", ID: "SendReminders",
		Description: "Scheduled: reminds each stage's reviewers of requests awaiting them past reminder_after_hours",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: tables,
		Optional: slices.Concat(approval, mail, []string{config.EnvReviewerEmails, config.EnvReviewerTopics,
			config.EnvUserPoolID}),
		Services: []Service{DynamoDB, SES, SNS, Cognito},
		Handler:  "SendReminders", Schedule: 15 * time.Minute,
	},
	{
		Name: "purge-revoked", ID: "PurgeRevoked",
		Description: "Scheduled: removes revoked zips whose revoke_retention_days passed, and retries removals that failed",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvDatalakeBucket}),
		Optional: slices.Concat(approval, []string{config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "PurgeRevoked", Schedule: 30 * time.Minute,
	},
	{
		Name: "publish-events", ID: "PublishEvents",
		Description: "Audit events table stream target: publishes every status change of a request on the stack's EventBridge bus",
		MemoryMB:    256, Timeout: time.Minute,
		// It reads the stream Lambda hands it, not the tables.
		Required: []string{config.EnvEventBus},
		Services: []Service{EventBridge},
		Handler:  "PublishEvents",
	},
	{
		Name: "check-stuck", ID: "CheckStuck",
		Description: "Scheduled: finds requests stuck after an outage (unreminded, execution not running, decision undelivered) and counts them as metrics",
		MemoryMB:    256, Timeout: 5 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvStateMachineArn}),
		Optional: approval,
		Services: []Service{DynamoDB, StepFunctions},
		Handler:  "CheckStuck", Schedule: 15 * time.Minute,
	},
	{
		Name: "verify-releases", ID: "VerifyReleases",
		Description: "Scheduled: reads the zips released in the last verify_release_days back and checks them against what was approved",
		MemoryMB:    512, Timeout: 15 * time.Minute,
		Required: slices.Concat(tables, []string{config.EnvStagingBucket, config.EnvDatalakeBucket}),
		Optional: slices.Concat(approval, []string{config.EnvVerifyReleaseDays, config.EnvS3PathStyle}),
		Services: []Service{DynamoDB, S3},
		Handler:  "VerifyReleases", Schedule: 24 * time.Hour,
	},
	{
		Name: "egress-api", ID: "EgressApi",
		Description: "AppSync direct Lambda resolver of the reviewers' GraphQL API",
		MemoryMB:    512, Timeout: 30 * time.Second,
		Required: slices.Concat(tables, []string{config.EnvStagingBucket, config.EnvDatalakeBucket}),
		Optional: slices.Concat(approval, []string{config.EnvStateMachineArn, config.EnvMaxDownloads,
			config.EnvDownloadExpiry, config.EnvMaxRequestAgeDays, config.EnvS3PathStyle,
			config.EnvRevokeRetentionDays, config.EnvNoticesTopic, config.EnvResearcherGroup,
			// retryRequest unlocks the SWB store of a request it settles.
			config.EnvSWBStoreTable}),
		// SNS: a revocation is published on the notices topic, which
		// notify is subscribed to; the API sends no e-mail itself.
		Services: []Service{DynamoDB, S3, StepFunctions, SNS},
	},
	{
		Name: "pre-token-generation", ID: "PreTokenGeneration",
		Description: "Cognito pre-token-generation trigger",
		MemoryMB:    256, Timeout: 5 * time.Second,
		Optional: []string{config.EnvReviewerGroups},
	},
}

// All returns the table, in deployment order.
func All() []Function {
	out := make([]Function, len(table))
	for i, f := range table {
		out[i] = f.clone()
	}
	return out
}

// Names returns the functions' names, in deployment order.
func Names() []string {
	names := make([]string, len(table))
	for i, f := range table {
		names[i] = f.Name
	}
	return names
}

// Lookup returns the row of function name.
func Lookup(name string) (Function, bool) {
	i := slices.IndexFunc(table, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return table[i].clone(), true
}

// clone copies a row, so callers cannot change the table through its slices.
func (f Function) clone() Function {
	f.Required = slices.Clone(f.Required)
	f.Optional = slices.Clone(f.Optional)
	f.Services = slices.Clone(f.Services)
	return f
}
