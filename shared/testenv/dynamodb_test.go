package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestDynamoDBShared(t *testing.T) {
	a, b := DynamoDB(t), DynamoDB(t)
	if a.Options().BaseEndpoint == nil || *a.Options().BaseEndpoint != *b.Options().BaseEndpoint {
		t.Fatalf("DynamoDB returned clients for different servers: %v and %v", a.Options().BaseEndpoint, b.Options().BaseEndpoint)
	}
	if _, err := a.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables on the shared server: %v", err)
	}
}
