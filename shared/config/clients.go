package config

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Clients are the AWS clients the functions use.
type Clients struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SFN      *sfn.Client
	SES      *sesv2.Client
}

// LoadClients builds clients from the Lambda environment. Endpoints can be
// overridden with the SDK's own AWS_ENDPOINT_URL[_<SERVICE>] variables (sam
// local, the embedded stack).
func LoadClients(ctx context.Context, c Config) (Clients, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Clients{}, fmt.Errorf("load AWS config: %w", err)
	}
	return NewClients(cfg, c.S3PathStyle), nil
}

// NewClients builds every client from one aws.Config.
func NewClients(cfg aws.Config, s3PathStyle bool) Clients {
	return Clients{
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = s3PathStyle
		}),
		DynamoDB: dynamodb.NewFromConfig(cfg),
		SFN:      sfn.NewFromConfig(cfg),
		SES:      sesv2.NewFromConfig(cfg),
	}
}
