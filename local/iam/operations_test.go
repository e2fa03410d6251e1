package iam

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// cognitoListUsersInGroupInput has the shape of the Cognito client's
// input, which this module does not depend on.
type cognitoListUsersInGroupInput struct {
	UserPoolId *string
	GroupName  *string
}

func TestRequests(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	a.TaskToken = func(token string) (string, error) {
		if token == "tok" {
			return stateMachineARN, nil
		}
		return "", errors.New("unknown token")
	}
	const (
		staging = "arn:aws:s3:::egress-staging"
		store   = "arn:aws:s3:::swb-egress-store"
	)
	put := func(table string) dbtypes.TransactWriteItem {
		return dbtypes.TransactWriteItem{Put: &dbtypes.Put{TableName: aws.String(table)}}
	}
	tests := []struct {
		service, op string
		input       any
		want        []Request
	}{
		{"DynamoDB", "GetItem", &dynamodb.GetItemInput{TableName: aws.String("egress-requests")},
			[]Request{{Action: "dynamodb:GetItem", Resource: requestsTableARN}}},
		{"DynamoDB", "PutItem", &dynamodb.PutItemInput{TableName: aws.String(requestsTableARN)}, // a table ARN as the name
			[]Request{{Action: "dynamodb:PutItem", Resource: requestsTableARN}}},
		{"DynamoDB", "UpdateItem", &dynamodb.UpdateItemInput{TableName: aws.String("swb-egress-store")},
			[]Request{{Action: "dynamodb:UpdateItem", Resource: swbTableARN}}},
		{"DynamoDB", "DeleteItem", &dynamodb.DeleteItemInput{TableName: aws.String("egress-requests")},
			[]Request{{Action: "dynamodb:DeleteItem", Resource: requestsTableARN}}},
		{"DynamoDB", "Query", &dynamodb.QueryInput{TableName: aws.String("egress-requests"), IndexName: aws.String("by-status")},
			[]Request{{Action: "dynamodb:Query", Resource: requestsTableARN + "/index/by-status"}}},
		{"DynamoDB", "Query", &dynamodb.QueryInput{TableName: aws.String("egress-request-events")},
			[]Request{{Action: "dynamodb:Query", Resource: eventsTableARN}}},
		{"DynamoDB", "Scan", &dynamodb.ScanInput{TableName: aws.String("egress-requests")},
			[]Request{{Action: "dynamodb:Scan", Resource: requestsTableARN}}},
		{"DynamoDB", "DescribeTable", &dynamodb.DescribeTableInput{TableName: aws.String("egress-requests")},
			[]Request{{Action: "dynamodb:DescribeTable", Resource: requestsTableARN}}},
		{"DynamoDB", "TransactWriteItems", &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{
			{Update: &dbtypes.Update{TableName: aws.String("egress-requests")}},
			put("egress-request-events"),
			put("egress-request-events"),
			{Delete: &dbtypes.Delete{TableName: aws.String("egress-requests")}},
			{ConditionCheck: &dbtypes.ConditionCheck{TableName: aws.String("swb-egress-store")}},
		}}, []Request{
			{Action: "dynamodb:UpdateItem", Resource: requestsTableARN},
			{Action: "dynamodb:PutItem", Resource: eventsTableARN},
			{Action: "dynamodb:DeleteItem", Resource: requestsTableARN},
			{Action: "dynamodb:ConditionCheckItem", Resource: swbTableARN},
		}},
		{"DynamoDB", "TransactGetItems", &dynamodb.TransactGetItemsInput{TransactItems: []dbtypes.TransactGetItem{
			{Get: &dbtypes.Get{TableName: aws.String("egress-requests")}},
		}}, []Request{{Action: "dynamodb:GetItem", Resource: requestsTableARN}}},
		{"DynamoDB", "BatchWriteItem", &dynamodb.BatchWriteItemInput{RequestItems: map[string][]dbtypes.WriteRequest{
			"egress-requests": nil, "egress-request-events": nil,
		}}, []Request{
			{Action: "dynamodb:BatchWriteItem", Resource: eventsTableARN},
			{Action: "dynamodb:BatchWriteItem", Resource: requestsTableARN},
		}},
		{"DynamoDB", "BatchGetItem", &dynamodb.BatchGetItemInput{RequestItems: map[string]dbtypes.KeysAndAttributes{"egress-requests": {}}},
			[]Request{{Action: "dynamodb:BatchGetItem", Resource: requestsTableARN}}},

		{"SFN", "StartExecution", &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN)},
			[]Request{{Action: "states:StartExecution", Resource: stateMachineARN}}},
		{"SFN", "SendTaskSuccess", &sfn.SendTaskSuccessInput{TaskToken: aws.String("tok")},
			[]Request{{Action: "states:SendTaskSuccess", Resource: stateMachineARN}}},
		{"SFN", "SendTaskFailure", &sfn.SendTaskFailureInput{TaskToken: aws.String("tok")},
			[]Request{{Action: "states:SendTaskFailure", Resource: stateMachineARN}}},
		{"SFN", "SendTaskHeartbeat", &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("tok")},
			[]Request{{Action: "states:SendTaskHeartbeat", Resource: stateMachineARN}}},
		{"SFN", "DescribeExecution", &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:000000000000:execution:egress:r1")},
			[]Request{{Action: "states:DescribeExecution", Resource: "arn:aws:states:us-east-1:000000000000:execution:egress:r1"}}},
		{"SFN", "GetExecutionHistory", &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:000000000000:execution:egress:r1")},
			[]Request{{Action: "states:GetExecutionHistory", Resource: "arn:aws:states:us-east-1:000000000000:execution:egress:r1"}}},

		{"SESv2", "SendEmail", &sesv2.SendEmailInput{FromEmailAddress: aws.String("TRE <tre-admin@example.org>"), ConfigurationSetName: aws.String("egress-mail")},
			[]Request{
				{Action: "ses:SendEmail", Resource: senderIdentity, Keys: Keys{"ses:FromAddress": "tre-admin@example.org", "ses:ApiVersion": "2"}},
				{Action: "ses:SendEmail", Resource: configSetARN, Keys: Keys{"ses:FromAddress": "tre-admin@example.org", "ses:ApiVersion": "2"}},
			}},
		{"SNS", "Publish", &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:t")},
			[]Request{{Action: "sns:Publish", Resource: "arn:aws:sns:us-east-1:000000000000:t"}}},
		{"Cognito Identity Provider", "ListUsersInGroup", &cognitoListUsersInGroupInput{UserPoolId: aws.String("us-east-1_pool")},
			[]Request{{Action: "cognito-idp:ListUsersInGroup", Resource: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_pool"}}},

		{"S3", "GetObject", &s3.GetObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("r/a b.txt")},
			[]Request{{Action: "s3:GetObject", Resource: staging + "/r/a b.txt"}}},
		{"S3", "GetObject", &s3.GetObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), VersionId: aws.String("v")},
			[]Request{{Action: "s3:GetObjectVersion", Resource: staging + "/k"}}},
		{"S3", "HeadObject", &s3.HeadObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), VersionId: aws.String("v")},
			[]Request{{Action: "s3:GetObjectVersion", Resource: staging + "/k"}}},
		{"S3", "PutObject", &s3.PutObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), Tagging: aws.String("a=b")},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}, {Action: "s3:PutObjectTagging", Resource: staging + "/k"}}},
		{"S3", "CopyObject", &s3.CopyObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("r/k+1"),
			CopySource: aws.String("swb-egress-store/ws/k%2B1?versionId=v1")},
			[]Request{
				{Action: "s3:PutObject", Resource: staging + "/r/k+1", Server: true},
				{Action: "s3:GetObjectVersion", Resource: store + "/ws/k+1"},
				{Action: "s3:GetObjectVersionTagging", Resource: store + "/ws/k+1"},
				{Action: "s3:PutObjectTagging", Resource: staging + "/r/k+1"},
			}},
		{"S3", "CopyObject", &s3.CopyObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"),
			CopySource: aws.String("swb-egress-store/k"), TaggingDirective: s3types.TaggingDirectiveReplace},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}, {Action: "s3:GetObject", Resource: store + "/k", Server: true}}},
		{"S3", "UploadPartCopy", &s3.UploadPartCopyInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"),
			CopySource: aws.String("swb-egress-store/k?versionId=v1")},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}, {Action: "s3:GetObjectVersion", Resource: store + "/k"}}},
		{"S3", "CreateMultipartUpload", &s3.CreateMultipartUploadInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}}},
		{"S3", "UploadPart", &s3.UploadPartInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}}},
		{"S3", "CompleteMultipartUpload", &s3.CompleteMultipartUploadInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:PutObject", Resource: staging + "/k", Server: true}}},
		{"S3", "AbortMultipartUpload", &s3.AbortMultipartUploadInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:AbortMultipartUpload", Resource: staging + "/k", Server: true}}},
		{"S3", "DeleteObject", &s3.DeleteObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), VersionId: aws.String("v")},
			[]Request{{Action: "s3:DeleteObject", Resource: staging + "/k", Server: true}, {Action: "s3:DeleteObjectVersion", Resource: staging + "/k"}}},
		{"S3", "DeleteObjects", &s3.DeleteObjectsInput{Bucket: aws.String("egress-staging"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{
			{Key: aws.String("a"), VersionId: aws.String("v")}, {Key: aws.String("b")},
		}}}, []Request{{Action: "s3:DeleteObject", Resource: staging + "/a"}, {Action: "s3:DeleteObjectVersion", Resource: staging + "/a"},
			{Action: "s3:DeleteObject", Resource: staging + "/b"}}},
		{"S3", "ListObjectVersions", &s3.ListObjectVersionsInput{Bucket: aws.String("egress-datalake"), Prefix: aws.String("approved_egress/r1")},
			[]Request{{Action: "s3:ListBucketVersions", Resource: "arn:aws:s3:::egress-datalake", Keys: Keys{"s3:prefix": "approved_egress/r1"}}}},
		{"S3", "ListObjectsV2", &s3.ListObjectsV2Input{Bucket: aws.String("egress-datalake")},
			[]Request{{Action: "s3:ListBucket", Resource: "arn:aws:s3:::egress-datalake", Server: true}}},
		{"S3", "GetObjectTagging", &s3.GetObjectTaggingInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), VersionId: aws.String("v")},
			[]Request{{Action: "s3:GetObjectVersionTagging", Resource: staging + "/k"}}},
		// The malware checks read GuardDuty's tag of a staged version; GuardDuty (or
		// a test playing it) sets it on that version.
		{"S3", "GetObjectTagging", &s3.GetObjectTaggingInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:GetObjectTagging", Resource: staging + "/k", Server: true}}},
		{"S3", "PutObjectTagging", &s3.PutObjectTaggingInput{Bucket: aws.String("egress-staging"), Key: aws.String("k"), VersionId: aws.String("v")},
			[]Request{{Action: "s3:PutObjectVersionTagging", Resource: staging + "/k"}}},
		{"S3", "PutObjectTagging", &s3.PutObjectTaggingInput{Bucket: aws.String("egress-staging"), Key: aws.String("k")},
			[]Request{{Action: "s3:PutObjectTagging", Resource: staging + "/k", Server: true}}},
	}
	for _, tt := range tests {
		got, err := a.Requests(tt.service, tt.op, tt.input)
		if err != nil {
			t.Errorf("%s %s: %v", tt.service, tt.op, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s:\n got  %+v\n want %+v", tt.service, tt.op, got, tt.want)
		}
	}
}

func TestRequestsRefuseWhatTheyCannotMap(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	tests := []struct {
		service, op string
		input       any
		want        string
	}{
		{"DynamoDB", "ListTables", &dynamodb.ListTablesInput{}, "operation ListTables not mapped to IAM"},
		{"DynamoDB", "ExecuteStatement", &dynamodb.ExecuteStatementInput{}, "operation ExecuteStatement not mapped to IAM"},
		{"SFN", "ListStateMachines", &sfn.ListStateMachinesInput{}, "operation ListStateMachines not mapped to IAM"},
		{"S3", "CreateBucket", &s3.CreateBucketInput{Bucket: aws.String("b")}, "operation CreateBucket not mapped to IAM"},
		{"SNS", "Subscribe", &sns.SubscribeInput{}, "operation Subscribe not mapped to IAM"},
		{"Cognito Identity Provider", "AdminDeleteUser", &cognitoListUsersInGroupInput{UserPoolId: aws.String("p")}, "operation AdminDeleteUser not mapped to IAM"},
		{"STS", "GetCallerIdentity", nil, "service STS: not mapped to IAM"},
	}
	for _, tt := range tests {
		_, err := a.Requests(tt.service, tt.op, tt.input)
		if !errors.Is(err, ErrNotMapped) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: got %v, want %q", tt.service, tt.op, err, tt.want)
		}
	}
	// Inputs missing what the authorisation is about are refused too.
	for _, in := range []struct {
		service, op string
		input       any
	}{
		{"DynamoDB", "GetItem", &dynamodb.GetItemInput{}},
		{"SFN", "SendTaskSuccess", &sfn.SendTaskSuccessInput{TaskToken: aws.String("tok")}}, // no TaskToken resolver
		{"SESv2", "SendEmail", &sesv2.SendEmailInput{}},
		{"S3", "CopyObject", &s3.CopyObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), CopySource: aws.String("arn:aws:s3:r:1:accesspoint/ap/object/k")}},
		{"Cognito Identity Provider", "AdminGetUser", &cognitoListUsersInGroupInput{}},
	} {
		if rs, err := a.Requests(in.service, in.op, in.input); err == nil {
			t.Errorf("%s %s %s: mapped to %v", in.service, in.op, fmt.Sprint(in.input), rs)
		}
	}
}

func TestStateMachineOfExecution(t *testing.T) {
	got, err := StateMachineOfExecution("arn:aws:states:us-east-1:000000000000:execution:egress:r1")
	if err != nil || got != stateMachineARN {
		t.Errorf("got %q, %v; want %s", got, err, stateMachineARN)
	}
	for _, bad := range []string{stateMachineARN, "arn:aws:states:us-east-1:000000000000:execution:egress", "execution:egress:r1"} {
		if got, err := StateMachineOfExecution(bad); err == nil {
			t.Errorf("%q: got %q", bad, got)
		}
	}
}
