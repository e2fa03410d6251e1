package iam

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// fakeService answers every request with body and counts the requests
// that reached it.
type fakeService struct {
	*httptest.Server
	hits atomic.Int64
}

func newFakeService(t *testing.T, contentType, body string) *fakeService {
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		w.Header().Set("Content-Type", contentType)
		w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

var testCredentials = credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")

func dynamoDBAs(t *testing.T, a *Authorizer, function string) (*dynamodb.Client, *fakeService) {
	f := newFakeService(t, "application/x-amz-json-1.0", "{}")
	return dynamodb.New(dynamodb.Options{
		Region:       localRegion,
		BaseEndpoint: aws.String(f.URL),
		Credentials:  testCredentials,
		APIOptions:   []func(*middleware.Stack) error{Check(a, function)},
	}), f
}

func TestCheckDynamoDB(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	db, server := dynamoDBAs(t, a, "CopyToStaging")
	ctx := context.Background()
	key := map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "r1"}}
	item := func(table string) dbtypes.TransactWriteItem {
		return dbtypes.TransactWriteItem{Put: &dbtypes.Put{TableName: aws.String(table), Item: key}}
	}

	tests := []struct {
		name    string
		call    func() error
		refused string // the action and resource named, "" if allowed
	}{
		{"GetItem", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("egress-requests"), Key: key})
			return err
		}, ""},
		{"transaction on both tables", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{
				{Update: &dbtypes.Update{TableName: aws.String("egress-requests"), Key: key, UpdateExpression: aws.String("SET a = :a")}},
				item("egress-request-events"),
			}})
			return err
		}, ""},
		{"DeleteItem", func() error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("egress-requests"), Key: key})
			return err
		}, "dynamodb:DeleteItem on resource: " + requestsTableARN},
		{"transaction touching SWB's table", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []dbtypes.TransactWriteItem{
				item("egress-request-events"),
				{Delete: &dbtypes.Delete{TableName: aws.String("swb-egress-store"), Key: key}},
			}})
			return err
		}, "dynamodb:DeleteItem on resource: " + swbTableARN},
		{"index query", func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("egress-requests"), IndexName: aws.String("by-status")})
			return err
		}, "dynamodb:Query on resource: " + requestsTableARN + "/index/by-status"},
	}
	for _, tt := range tests {
		before := server.hits.Load()
		err := tt.call()
		reached := server.hits.Load() > before
		if tt.refused == "" {
			if err != nil || !reached {
				t.Errorf("%s: err %v, reached the service %v; want allowed", tt.name, err, reached)
			}
			continue
		}
		if reached {
			t.Errorf("%s: a refused call reached the service", tt.name)
		}
		var denied *AccessDeniedError
		var api smithy.APIError
		if !errors.As(err, &denied) || !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
			t.Errorf("%s: got %v, want an AccessDeniedException", tt.name, err)
			continue
		}
		for _, want := range []string{"assumed-role/copy-to-staging-role/copy-to-staging", tt.refused} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not name %q", tt.name, err, want)
			}
		}
	}

	// An operation without a mapping is refused, never let through.
	before := server.hits.Load()
	_, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	if !errors.Is(err, ErrNotMapped) || !strings.Contains(err.Error(), "operation ListTables not mapped to IAM") {
		t.Errorf("ListTables: got %v, want a not-mapped error", err)
	}
	if server.hits.Load() != before {
		t.Error("ListTables reached the service")
	}

	// The allowed calls used their grants.
	used := a.Used()
	for _, want := range []Grant{
		{Function: "CopyToStaging", Policy: "CopyToStagingRoleDefaultPolicy70435870", Statement: 2, Action: "dynamodb:GetItem", Resource: requestsTableARN},
		{Function: "CopyToStaging", Policy: "CopyToStagingRoleDefaultPolicy70435870", Statement: 2, Action: "dynamodb:UpdateItem", Resource: requestsTableARN},
		{Function: "CopyToStaging", Policy: "CopyToStagingRoleDefaultPolicy70435870", Statement: 3, Action: "dynamodb:PutItem", Resource: eventsTableARN},
	} {
		if !slices.Contains(used, want) {
			t.Errorf("%v not recorded as used; used: %v", want, used)
		}
	}
	if len(used) != 3 {
		t.Errorf("used %v, want 3 grants", used)
	}
}

func TestCheckStepFunctionsSESAndSNS(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	a.TaskToken = func(token string) (string, error) {
		if token != "tok" {
			return "", errors.New("no such token")
		}
		return stateMachineARN, nil
	}
	ctx := context.Background()
	sfnServer := newFakeService(t, "application/x-amz-json-1.0", "{}")
	states := func(function string) *sfn.Client {
		return sfn.New(sfn.Options{Region: localRegion, BaseEndpoint: aws.String(sfnServer.URL), Credentials: testCredentials,
			APIOptions: []func(*middleware.Stack) error{Check(a, function)}})
	}
	sesServer := newFakeService(t, "application/json", `{"MessageId":"m"}`)
	mail := func(function string) *sesv2.Client {
		return sesv2.New(sesv2.Options{Region: localRegion, BaseEndpoint: aws.String(sesServer.URL), Credentials: testCredentials,
			APIOptions: []func(*middleware.Stack) error{Check(a, function)}})
	}
	email := func(from string) *sesv2.SendEmailInput {
		return &sesv2.SendEmailInput{
			FromEmailAddress:     aws.String(from),
			ConfigurationSetName: aws.String("egress-mail"),
			Destination:          &sestypes.Destination{ToAddresses: []string{"r@example.org"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}},
		}
	}
	snsServer := newFakeService(t, "text/xml", "")
	topic := sns.New(sns.Options{Region: localRegion, BaseEndpoint: aws.String(snsServer.URL), Credentials: testCredentials,
		APIOptions: []func(*middleware.Stack) error{Check(a, "Notify")}})

	tests := []struct {
		name    string
		server  *fakeService
		call    func() error
		refused string
	}{
		{"egress-api completes a task", sfnServer, func() error {
			_, err := states("EgressApi").SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("tok"), Output: aws.String("{}")})
			return err
		}, ""},
		{"egress-api cannot start executions", sfnServer, func() error {
			_, err := states("EgressApi").StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN)})
			return err
		}, "states:StartExecution on resource: " + stateMachineARN},
		{"notify cannot complete a task", sfnServer, func() error {
			_, err := states("Notify").SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("tok")})
			return err
		}, "states:SendTaskFailure on resource: " + stateMachineARN},
		{"notify sends as the sender", sesServer, func() error {
			_, err := mail("Notify").SendEmail(ctx, email("tre-admin@example.org"))
			return err
		}, ""},
		{"notify cannot send as another address", sesServer, func() error {
			_, err := mail("Notify").SendEmail(ctx, email("egress@example.org"))
			return err
		}, "ses:SendEmail on resource: arn:aws:ses:us-east-1:000000000000:identity/egress@example.org"},
		{"egress-api sends no e-mail", sesServer, func() error {
			_, err := mail("EgressApi").SendEmail(ctx, email("tre-admin@example.org"))
			return err
		}, "ses:SendEmail on resource: " + senderIdentity},
		{"notify publishes to no topic", snsServer, func() error {
			_, err := topic.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:t"), Message: aws.String("m")})
			return err
		}, "sns:Publish on resource: arn:aws:sns:us-east-1:000000000000:t"},
	}
	for _, tt := range tests {
		before := tt.server.hits.Load()
		err := tt.call()
		reached := tt.server.hits.Load() > before
		if tt.refused == "" {
			if err != nil || !reached {
				t.Errorf("%s: err %v, reached %v; want allowed", tt.name, err, reached)
			}
			continue
		}
		var denied *AccessDeniedError
		if reached || !errors.As(err, &denied) || !strings.Contains(err.Error(), tt.refused) {
			t.Errorf("%s: reached %v, err %v; want refused naming %q", tt.name, reached, err, tt.refused)
		}
	}
	var api smithy.APIError
	_, err := topic.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:t"), Message: aws.String("m")})
	if !errors.As(err, &api) || api.ErrorCode() != "AuthorizationError" {
		t.Errorf("SNS refusal code: %v, want AuthorizationError", err)
	}
}

// S3All checks in process what S3Gaps leaves to the server.
func TestCheckS3Modes(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	server := newFakeService(t, "application/xml", "")
	client := s3.New(s3.Options{Region: localRegion, BaseEndpoint: aws.String(server.URL), UsePathStyle: true, Credentials: testCredentials,
		APIOptions: []func(*middleware.Stack) error{Check(a, "HandleRejection")}})
	ctx := context.Background()
	write := func() error {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("r1/k"), Body: strings.NewReader("x")})
		return err
	}
	if err := write(); err != nil || server.hits.Load() != 1 {
		t.Errorf("S3Gaps: err %v, %d requests; want the write left to the server", err, server.hits.Load())
	}
	a.S3 = S3All
	var denied *AccessDeniedError
	if err := write(); !errors.As(err, &denied) || denied.Action != "s3:PutObject" || server.hits.Load() != 1 {
		t.Errorf("S3All: err %v, %d requests; want s3:PutObject refused in process", err, server.hits.Load())
	}
	// A read of the latest version is always checked here: MinIO lets
	// s3:GetObjectVersion read it too, AWS wants s3:GetObject.
	a.S3 = S3Gaps
	_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("egress-staging"), Key: aws.String("r1/k")})
	if !errors.As(err, &denied) || denied.Action != "s3:GetObject" || server.hits.Load() != 1 {
		t.Errorf("S3Gaps read: err %v, %d requests; want s3:GetObject refused in process", err, server.hits.Load())
	}
}

func TestCheckUnknownFunction(t *testing.T) {
	a := NewAuthorizer(loadSample(t))
	db, server := dynamoDBAs(t, a, "copy-to-staging") // a name, not the construct id
	_, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("egress-requests")})
	if err == nil || !strings.Contains(err.Error(), `no function "copy-to-staging"`) || server.hits.Load() != 0 {
		t.Errorf("got %v, %d requests; want every call refused", err, server.hits.Load())
	}
}
