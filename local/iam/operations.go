package iam

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Request is one authorisation an API operation needs: AWS checks each
// action on each resource an operation touches.
type Request struct {
	Action   string
	Resource string
	Keys     Keys
	// Server is set for S3 requests MinIO authorises as AWS does, given
	// the function's own MinIO user.
	Server bool
}

// Service ids of the SDK clients (each client package's ServiceID).
const (
	serviceDynamoDB = "DynamoDB"
	serviceSFN      = "SFN"
	serviceSESv2    = "SESv2"
	serviceSNS      = "SNS"
	serviceS3       = "S3"
	serviceCognito  = "Cognito Identity Provider"
	serviceStreams  = "DynamoDB Streams"
	serviceEvents   = "EventBridge"
)

// ErrNotMapped is wrapped by the error for an operation Check cannot map
// to IAM actions; such calls are refused.
var ErrNotMapped = errors.New("not mapped to IAM")

// Requests returns the authorisations AWS makes for one SDK operation of a
// service (the client's ServiceID), given its typed input.
func (a *Authorizer) Requests(service, operation string, input any) ([]Request, error) {
	var (
		out []Request
		err error
	)
	switch service {
	case serviceDynamoDB:
		out, err = a.dynamoDB(operation, input)
	case serviceSFN:
		out, err = a.stepFunctions(operation, input)
	case serviceSESv2:
		out, err = a.ses(operation, input)
	case serviceSNS:
		out, err = a.sns(operation, input)
	case serviceS3:
		out, err = a.s3(operation, input)
	case serviceCognito:
		out, err = a.cognito(operation, input)
	case serviceStreams:
		out, err = a.streams(operation, input)
	case serviceEvents:
		out, err = a.events(operation, input)
	default:
		return nil, fmt.Errorf("iam: service %s: %w", service, ErrNotMapped)
	}
	if err != nil {
		return nil, fmt.Errorf("iam: %s %s: %w", service, operation, err)
	}
	return dedupe(out), nil
}

// dedupe drops repeated requests (a transaction's items on one table).
func dedupe(rs []Request) []Request {
	var out []Request
	for _, r := range rs {
		if !slices.ContainsFunc(out, func(o Request) bool {
			return o.Action == r.Action && o.Resource == r.Resource && maps.Equal(o.Keys, r.Keys)
		}) {
			out = append(out, r)
		}
	}
	return out
}

func notMapped(operation string) error {
	return fmt.Errorf("operation %s %w", operation, ErrNotMapped)
}

func (a *Authorizer) arn(service, rest string) string {
	r := a.policies.Resolver
	return "arn:" + r.partition() + ":" + service + ":" + r.Region + ":" + r.Account + ":" + rest
}

func required(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", fmt.Errorf("no %s", field)
	}
	return *v, nil
}

// --- DynamoDB

func (a *Authorizer) table(name *string) (string, error) {
	n, err := required("TableName", name)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(n, "arn:") {
		return n, nil
	}
	return a.arn("dynamodb", "table/"+n), nil
}

func (a *Authorizer) index(table, index *string) (string, error) {
	t, err := a.table(table)
	if err != nil || index == nil {
		return t, err
	}
	return t + "/index/" + *index, nil
}

func (a *Authorizer) dynamoDB(op string, input any) ([]Request, error) {
	one := func(action string, name *string) ([]Request, error) {
		t, err := a.table(name)
		if err != nil {
			return nil, err
		}
		return []Request{{Action: "dynamodb:" + action, Resource: t}}, nil
	}
	switch in := input.(type) {
	case *dynamodb.GetItemInput:
		return one("GetItem", in.TableName)
	case *dynamodb.PutItemInput:
		return one("PutItem", in.TableName)
	case *dynamodb.UpdateItemInput:
		return one("UpdateItem", in.TableName)
	case *dynamodb.DeleteItemInput:
		return one("DeleteItem", in.TableName)
	case *dynamodb.DescribeTableInput:
		return one("DescribeTable", in.TableName)
	case *dynamodb.QueryInput:
		r, err := a.index(in.TableName, in.IndexName)
		return []Request{{Action: "dynamodb:Query", Resource: r}}, err
	case *dynamodb.ScanInput:
		r, err := a.index(in.TableName, in.IndexName)
		return []Request{{Action: "dynamodb:Scan", Resource: r}}, err
	case *dynamodb.TransactWriteItemsInput:
		// A transaction needs each item's own action on its table.
		var out []Request
		for i, it := range in.TransactItems {
			action, name, err := transactWriteItem(it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			r, err := one(action, name)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, r...)
		}
		return out, nil
	case *dynamodb.TransactGetItemsInput:
		var out []Request
		for i, it := range in.TransactItems {
			if it.Get == nil {
				return nil, fmt.Errorf("item %d: no Get", i)
			}
			r, err := one("GetItem", it.Get.TableName)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, r...)
		}
		return out, nil
	case *dynamodb.BatchGetItemInput:
		return a.batch("BatchGetItem", sortedKeys(in.RequestItems))
	case *dynamodb.BatchWriteItemInput:
		return a.batch("BatchWriteItem", sortedKeys(in.RequestItems))
	}
	return nil, notMapped(op)
}

func transactWriteItem(it dbtypes.TransactWriteItem) (action string, table *string, err error) {
	switch {
	case it.Put != nil:
		return "PutItem", it.Put.TableName, nil
	case it.Update != nil:
		return "UpdateItem", it.Update.TableName, nil
	case it.Delete != nil:
		return "DeleteItem", it.Delete.TableName, nil
	case it.ConditionCheck != nil:
		return "ConditionCheckItem", it.ConditionCheck.TableName, nil
	}
	return "", nil, errors.New("no Put, Update, Delete or ConditionCheck")
}

func (a *Authorizer) batch(action string, tables []string) ([]Request, error) {
	if len(tables) == 0 {
		return nil, errors.New("no RequestItems")
	}
	var out []Request
	for _, t := range tables {
		r, err := a.table(&t)
		if err != nil {
			return nil, err
		}
		out = append(out, Request{Action: "dynamodb:" + action, Resource: r})
	}
	return out, nil
}

// --- Step Functions

func (a *Authorizer) stepFunctions(op string, input any) ([]Request, error) {
	on := func(action string, arn *string, field string) ([]Request, error) {
		r, err := required(field, arn)
		return []Request{{Action: "states:" + action, Resource: r}}, err
	}
	// The callback actions are authorised against the state machine whose
	// execution issued the token: that is what CDK's grantTaskResponse
	// grants, and what the template grants egress-api.
	byToken := func(action string, token *string) ([]Request, error) {
		t, err := required("TaskToken", token)
		if err != nil {
			return nil, err
		}
		if a.TaskToken == nil {
			return nil, errors.New("task tokens cannot be traced to a state machine: set Authorizer.TaskToken")
		}
		sm, err := a.TaskToken(t)
		if err != nil {
			return nil, fmt.Errorf("task token: %w", err)
		}
		return []Request{{Action: "states:" + action, Resource: sm}}, nil
	}
	switch in := input.(type) {
	case *sfn.StartExecutionInput:
		return on("StartExecution", in.StateMachineArn, "StateMachineArn")
	case *sfn.StartSyncExecutionInput:
		return on("StartSyncExecution", in.StateMachineArn, "StateMachineArn")
	case *sfn.DescribeStateMachineInput:
		return on("DescribeStateMachine", in.StateMachineArn, "StateMachineArn")
	case *sfn.ListExecutionsInput:
		return on("ListExecutions", in.StateMachineArn, "StateMachineArn")
	case *sfn.DescribeExecutionInput:
		return on("DescribeExecution", in.ExecutionArn, "ExecutionArn")
	case *sfn.GetExecutionHistoryInput:
		return on("GetExecutionHistory", in.ExecutionArn, "ExecutionArn")
	case *sfn.StopExecutionInput:
		return on("StopExecution", in.ExecutionArn, "ExecutionArn")
	case *sfn.SendTaskSuccessInput:
		return byToken("SendTaskSuccess", in.TaskToken)
	case *sfn.SendTaskFailureInput:
		return byToken("SendTaskFailure", in.TaskToken)
	case *sfn.SendTaskHeartbeatInput:
		return byToken("SendTaskHeartbeat", in.TaskToken)
	}
	return nil, notMapped(op)
}

// --- SES v2

func (a *Authorizer) ses(op string, input any) ([]Request, error) {
	in, ok := input.(*sesv2.SendEmailInput)
	if !ok {
		return nil, notMapped(op)
	}
	from, err := required("FromEmailAddress", in.FromEmailAddress)
	if err != nil {
		return nil, err
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("FromEmailAddress %q: %w", from, err)
	}
	keys := Keys{"ses:FromAddress": addr.Address, "ses:ApiVersion": "2"}
	// SES authorises the sending identity: the sender's address (the
	// template verifies the address itself) unless the caller names one.
	identity := a.arn("ses", "identity/"+addr.Address)
	if in.FromEmailAddressIdentityArn != nil {
		identity = *in.FromEmailAddressIdentityArn
	}
	out := []Request{{Action: "ses:SendEmail", Resource: identity, Keys: keys}}
	if in.ConfigurationSetName != nil {
		out = append(out, Request{Action: "ses:SendEmail", Resource: a.arn("ses", "configuration-set/"+*in.ConfigurationSetName), Keys: keys})
	}
	return out, nil
}

// --- SNS

func (a *Authorizer) sns(op string, input any) ([]Request, error) {
	switch in := input.(type) {
	case *sns.PublishInput:
		if in.PhoneNumber != nil {
			return nil, errors.New("SMS publishing is not mapped")
		}
		topic := in.TopicArn
		if topic == nil {
			topic = in.TargetArn
		}
		r, err := required("TopicArn", topic)
		return []Request{{Action: "sns:Publish", Resource: r}}, err
	case *sns.PublishBatchInput:
		r, err := required("TopicArn", in.TopicArn)
		return []Request{{Action: "sns:Publish", Resource: r}}, err
	}
	return nil, notMapped(op)
}

// --- DynamoDB Streams (what Lambda's event source calls with the
// function's role)

// stream is the ARN of a stream, in this account and region: DynamoDB
// Local names its streams' region "ddblocal".
func (a *Authorizer) stream(arn *string) (string, error) {
	s, err := required("StreamArn", arn)
	if err != nil {
		return "", err
	}
	_, rest, ok := strings.Cut(s, ":table/")
	if !ok || !strings.Contains(rest, "/stream/") {
		return "", fmt.Errorf("StreamArn %q is not a table's stream", s)
	}
	return a.arn("dynamodb", "table/"+rest), nil
}

func (a *Authorizer) streams(op string, input any) ([]Request, error) {
	one := func(action string, arn *string) ([]Request, error) {
		r, err := a.stream(arn)
		return []Request{{Action: "dynamodb:" + action, Resource: r}}, err
	}
	switch in := input.(type) {
	case *dynamodbstreams.ListStreamsInput:
		// ListStreams takes no resource.
		return []Request{{Action: "dynamodb:ListStreams", Resource: "*"}}, nil
	case *dynamodbstreams.DescribeStreamInput:
		return one("DescribeStream", in.StreamArn)
	case *dynamodbstreams.GetShardIteratorInput:
		return one("GetShardIterator", in.StreamArn)
	case *dynamodbstreams.GetRecordsInput:
		// The iterator names its stream; the local stack's iterators
		// carry its ARN in the clear (as DynamoDB Local's do).
		return one("GetRecords", streamOfIterator(in.ShardIterator))
	}
	return nil, notMapped(op)
}

// streamOfIterator is the stream ARN a DynamoDB Local shard iterator
// starts with ("<stream arn>|<...>"), or nil.
func streamOfIterator(it *string) *string {
	if it == nil {
		return nil
	}
	arn, _, ok := strings.Cut(*it, "|")
	if !ok {
		return nil
	}
	return &arn
}

// --- EventBridge

func (a *Authorizer) events(op string, input any) ([]Request, error) {
	switch in := input.(type) {
	case *eventbridge.PutEventsInput:
		// Each entry is authorised on its bus; no name is the default bus.
		var out []Request
		for i, e := range in.Entries {
			bus := "default"
			if e.EventBusName != nil && *e.EventBusName != "" {
				bus = *e.EventBusName
			}
			if !strings.HasPrefix(bus, "arn:") {
				bus = a.arn("events", "event-bus/"+bus)
			}
			if e.Source == nil || e.DetailType == nil || e.Detail == nil {
				return nil, fmt.Errorf("entry %d: Source, DetailType and Detail are required", i)
			}
			out = append(out, Request{Action: "events:PutEvents", Resource: bus})
		}
		return out, nil
	}
	return nil, notMapped(op)
}

// --- Cognito user pools

// cognitoOperations are the user-pool operations Check maps: each takes a
// UserPoolId and is authorised as cognito-idp:<operation> on the pool.
var cognitoOperations = []string{
	"AdminGetUser", "ListUsersInGroup", "ListUsers", "AdminListGroupsForUser",
	"DescribeUserPool", "ListGroups", "GetGroup",
}

// cognito reads UserPoolId by reflection: the functions' Cognito client is
// not a dependency of this package.
func (a *Authorizer) cognito(op string, input any) ([]Request, error) {
	if !slices.Contains(cognitoOperations, op) {
		return nil, notMapped(op)
	}
	v := reflect.ValueOf(input)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var id *string
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("UserPoolId"); f.IsValid() && f.Type() == reflect.TypeFor[*string]() {
			id, _ = f.Interface().(*string)
		}
	}
	pool, err := required("UserPoolId", id)
	if err != nil {
		return nil, err
	}
	return []Request{{Action: "cognito-idp:" + op, Resource: a.arn("cognito-idp", "userpool/"+pool)}}, nil
}

// --- S3

func (a *Authorizer) s3Object(bucket, key *string) (string, error) {
	b, err := required("Bucket", bucket)
	if err != nil {
		return "", err
	}
	k, err := required("Key", key)
	if err != nil {
		return "", err
	}
	return a.s3Bucket(b) + "/" + k, nil
}

func (a *Authorizer) s3Bucket(bucket string) string {
	return "arn:" + a.policies.Resolver.partition() + ":s3:::" + bucket
}

// versioned picks the action for a request on a specific version. MinIO
// checks only the unversioned action, so the versioned one is checked in
// process.
func versioned(plain, version string, versionID *string) (string, bool) {
	if versionID != nil && *versionID != "" {
		return version, false
	}
	return plain, true
}

func (a *Authorizer) s3(op string, input any) ([]Request, error) {
	object := func(bucket, key *string, action string, server bool) ([]Request, error) {
		r, err := a.s3Object(bucket, key)
		return []Request{{Action: action, Resource: r, Server: server}}, err
	}
	bucket := func(b *string, action, prefix string, server bool) ([]Request, error) {
		name, err := required("Bucket", b)
		if err != nil {
			return nil, err
		}
		r := Request{Action: action, Resource: a.s3Bucket(name), Server: server}
		if prefix != "" {
			r.Keys = Keys{"s3:prefix": prefix}
		}
		return []Request{r}, nil
	}
	// Tags set on a new object need s3:PutObjectTagging, which MinIO does
	// not check.
	withTags := func(rs []Request, err error, tagging *string) ([]Request, error) {
		if err != nil || tagging == nil || *tagging == "" {
			return rs, err
		}
		return append(rs, Request{Action: "s3:PutObjectTagging", Resource: rs[0].Resource}), nil
	}
	switch in := input.(type) {
	case *s3.GetObjectInput:
		// MinIO lets s3:GetObjectVersion read the latest version as well;
		// AWS wants s3:GetObject without a version id: checked here.
		action, _ := versioned("s3:GetObject", "s3:GetObjectVersion", in.VersionId)
		return object(in.Bucket, in.Key, action, false)
	case *s3.HeadObjectInput:
		action, _ := versioned("s3:GetObject", "s3:GetObjectVersion", in.VersionId)
		return object(in.Bucket, in.Key, action, false)
	case *s3.GetObjectTaggingInput:
		action, server := versioned("s3:GetObjectTagging", "s3:GetObjectVersionTagging", in.VersionId)
		return object(in.Bucket, in.Key, action, server)
	case *s3.PutObjectTaggingInput:
		action, server := versioned("s3:PutObjectTagging", "s3:PutObjectVersionTagging", in.VersionId)
		return object(in.Bucket, in.Key, action, server)
	case *s3.PutObjectInput:
		rs, err := object(in.Bucket, in.Key, "s3:PutObject", true)
		return withTags(rs, err, in.Tagging)
	case *s3.CreateMultipartUploadInput:
		rs, err := object(in.Bucket, in.Key, "s3:PutObject", true)
		return withTags(rs, err, in.Tagging)
	case *s3.UploadPartInput:
		return object(in.Bucket, in.Key, "s3:PutObject", true)
	case *s3.CompleteMultipartUploadInput:
		return object(in.Bucket, in.Key, "s3:PutObject", true)
	case *s3.AbortMultipartUploadInput:
		return object(in.Bucket, in.Key, "s3:AbortMultipartUpload", true)
	case *s3.ListPartsInput:
		return object(in.Bucket, in.Key, "s3:ListMultipartUploadParts", true)
	case *s3.CopyObjectInput:
		// The tags are copied unless replaced (COPY is the default): AWS then
		// needs the tagging actions on both objects if the source has tags.
		// They are required here whatever the source's tags.
		copyTags := in.TaggingDirective != s3types.TaggingDirectiveReplace
		rs, err := a.copyRequests(in.Bucket, in.Key, in.CopySource, copyTags)
		if !copyTags {
			return withTags(rs, err, in.Tagging)
		}
		return rs, err
	case *s3.UploadPartCopyInput:
		return a.copyRequests(in.Bucket, in.Key, in.CopySource, false)
	case *s3.DeleteObjectInput:
		return a.deleteRequests(in.Bucket, in.Key, in.VersionId, true)
	case *s3.DeleteObjectsInput:
		if in.Delete == nil || len(in.Delete.Objects) == 0 {
			return nil, errors.New("no objects to delete")
		}
		var out []Request
		for _, o := range in.Delete.Objects {
			// The server refuses keys one by one in a successful response,
			// which Check cannot name: every key is checked in process.
			rs, err := a.deleteRequests(in.Bucket, o.Key, o.VersionId, false)
			if err != nil {
				return nil, err
			}
			out = append(out, rs...)
		}
		return out, nil
	case *s3.ListObjectsV2Input:
		return bucket(in.Bucket, "s3:ListBucket", deref(in.Prefix), true)
	case *s3.ListObjectsInput:
		return bucket(in.Bucket, "s3:ListBucket", deref(in.Prefix), true)
	case *s3.ListObjectVersionsInput:
		// MinIO also accepts s3:ListBucket for it; AWS does not.
		return bucket(in.Bucket, "s3:ListBucketVersions", deref(in.Prefix), false)
	case *s3.ListMultipartUploadsInput:
		return bucket(in.Bucket, "s3:ListBucketMultipartUploads", deref(in.Prefix), true)
	case *s3.HeadBucketInput:
		return bucket(in.Bucket, "s3:ListBucket", "", true)
	}
	return nil, notMapped(op)
}

// deleteRequests are the requests of deleting an object: AWS always needs
// s3:DeleteObject, and s3:DeleteObjectVersion as well to delete a version,
// which MinIO does not check. server says whether the S3 server's refusal
// of s3:DeleteObject can be named.
func (a *Authorizer) deleteRequests(bucket, key, versionID *string, server bool) ([]Request, error) {
	r, err := a.s3Object(bucket, key)
	if err != nil {
		return nil, err
	}
	out := []Request{{Action: "s3:DeleteObject", Resource: r, Server: server}}
	if versionID != nil && *versionID != "" {
		out = append(out, Request{Action: "s3:DeleteObjectVersion", Resource: r})
	}
	return out, nil
}

// copyRequests are the requests of a copy: write the destination, read the
// source (its version if named) and, with copyTags, their tagging actions.
func (a *Authorizer) copyRequests(dstBucket, dstKey, copySource *string, copyTags bool) ([]Request, error) {
	dst, err := a.s3Object(dstBucket, dstKey)
	if err != nil {
		return nil, err
	}
	srcBucket, srcKey, version, err := parseCopySource(copySource)
	if err != nil {
		return nil, err
	}
	src := a.s3Bucket(srcBucket) + "/" + srcKey
	read, server := versioned("s3:GetObject", "s3:GetObjectVersion", &version)
	out := []Request{
		{Action: "s3:PutObject", Resource: dst, Server: true},
		{Action: read, Resource: src, Server: server},
	}
	if copyTags {
		readTags, _ := versioned("s3:GetObjectTagging", "s3:GetObjectVersionTagging", &version)
		out = append(out,
			Request{Action: readTags, Resource: src},
			Request{Action: "s3:PutObjectTagging", Resource: dst})
	}
	return out, nil
}

// parseCopySource returns the bucket, key and version of a CopySource,
// "bucket/key?versionId=v" with the key URL-encoded.
func parseCopySource(v *string) (bucket, key, version string, err error) {
	src, err := required("CopySource", v)
	if err != nil {
		return "", "", "", err
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(src, "/"), "?")
	if strings.HasPrefix(path, "arn:") {
		return "", "", "", fmt.Errorf("CopySource %q: access point sources are not mapped", src)
	}
	path, err = url.PathUnescape(path)
	if err != nil {
		return "", "", "", fmt.Errorf("CopySource %q: %w", src, err)
	}
	bucket, key, ok := strings.Cut(path, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", fmt.Errorf("CopySource %q is not bucket/key", src)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", "", fmt.Errorf("CopySource %q: %w", src, err)
	}
	return bucket, key, q.Get("versionId"), nil
}

// missingObjectBucket returns the bucket whose s3:ListBucket permission
// decides how S3 answers operation input when the object it reads does not
// exist: 404 with the permission, 403 AccessDenied without. For a copy it
// is the source's bucket. ok is false for any other operation.
func missingObjectBucket(input any) (bucket string, ok bool) {
	var b *string
	switch in := input.(type) {
	case *s3.GetObjectInput:
		b = in.Bucket
	case *s3.HeadObjectInput:
		b = in.Bucket
	case *s3.GetObjectTaggingInput:
		b = in.Bucket
	case *s3.CopyObjectInput:
		src, _, _, err := parseCopySource(in.CopySource)
		return src, err == nil
	case *s3.UploadPartCopyInput:
		src, _, _, err := parseCopySource(in.CopySource)
		return src, err == nil
	default:
		return "", false
	}
	return deref(b), deref(b) != ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// StateMachineOfExecution returns the ARN of an execution's state machine
// ("arn:aws:states:r:a:execution:egress:r1" → "arn:aws:states:r:a:stateMachine:egress"),
// for Authorizer.TaskToken.
func StateMachineOfExecution(executionARN string) (string, error) {
	parts := strings.Split(executionARN, ":")
	if len(parts) != 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "execution" {
		return "", fmt.Errorf("iam: %q is not a state machine execution ARN", executionARN)
	}
	return strings.Join(append(parts[:5:5], "stateMachine", parts[6]), ":"), nil
}
