package testenv

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tre-egress/egress/local/servers"
)

var dynamoShared struct {
	once   sync.Once
	server *servers.DynamoDBServer
	err    error
}

// DynamoDB returns a client for a DynamoDB Local shared by every test of the
// test binary, starting it on first use. Tests must create uniquely named
// tables. The server lives until the test binary exits.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	dynamoShared.once.Do(func() {
		dynamoShared.server, dynamoShared.err = servers.StartDynamoDB(context.Background())
	})
	if dynamoShared.err != nil {
		t.Fatalf("DynamoDB Local is not available (run `make tools` to install it; java must be on PATH): %v", dynamoShared.err)
	}
	return dynamoShared.server.Client()
}
