// Package awsclient loads the AWS SDK configuration and builds the S3
// client the way every function that calls AWS does. The other services'
// clients need no options: the wiring packages build them with their
// NewFromConfig, only for the services a function's row lists.
package awsclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Load reads the SDK configuration from the Lambda environment. Endpoints
// can be overridden with the SDK's own AWS_ENDPOINT_URL[_<SERVICE>]
// variables (sam local, the embedded stack).
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// S3 builds an S3 client; pathStyle puts the bucket in the path, as local
// S3-compatible servers want (config.EnvS3PathStyle).
func S3(cfg aws.Config, pathStyle bool) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
}
