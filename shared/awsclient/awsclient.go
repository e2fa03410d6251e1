// Package awsclient builds the AWS SDK configuration of a Lambda function
// from the variables the Lambda runtime sets, and nothing else.
//
// It replaces config.LoadDefaultConfig, whose credential chain links the
// STS, SSO, SSO OIDC and Sign-in clients, the instance metadata client and
// the shared config file parser, and whose package initialisation alone
// cost every function about 1.5 ms of cold start. A function in Lambda
// gets its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_SESSION_TOKEN, and its region in AWS_REGION; sam local sets the
// same variables.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// The variables read, as the SDK names them.
const (
	EnvRegion                   = "AWS_REGION"
	EnvDefaultRegion            = "AWS_DEFAULT_REGION"
	EnvAccessKeyID              = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey          = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken             = "AWS_SESSION_TOKEN"
	EnvAccountID                = "AWS_ACCOUNT_ID"
	EnvEndpointURL              = "AWS_ENDPOINT_URL" // AWS_ENDPOINT_URL_<SERVICE> overrides it per service
	EnvIgnoreConfiguredEndpoint = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// Load is FromEnv over the process environment.
func Load() (aws.Config, error) { return FromEnv(os.Getenv) }

// FromEnv builds the configuration every client of a function shares:
//
//   - the region from AWS_REGION, else AWS_DEFAULT_REGION;
//   - static credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN (AWS_ACCOUNT_ID too, if set, as the SDK reads it);
//   - the endpoint from AWS_ENDPOINT_URL, and per service from
//     AWS_ENDPOINT_URL_<SERVICE> (the SDK's service id in upper case,
//     spaces as underscores: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SESV2),
//     both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true;
//   - the SDK's default retryer, HTTP client and defaults mode, and the
//     warnings the SDK logs written to stderr, as LoadDefaultConfig does.
//
// A missing region or credential is an error naming the variable, so a
// function fails at init rather than on its first call.
func FromEnv(getenv func(string) string) (aws.Config, error) {
	var missing []string
	region := getenv(EnvRegion)
	if region == "" {
		region = getenv(EnvDefaultRegion)
	}
	if region == "" {
		missing = append(missing, EnvRegion)
	}
	creds := aws.Credentials{
		AccessKeyID:     getenv(EnvAccessKeyID),
		SecretAccessKey: getenv(EnvSecretAccessKey),
		SessionToken:    getenv(EnvSessionToken),
		AccountID:       getenv(EnvAccountID),
		// The name LoadDefaultConfig gives credentials from the environment.
		Source: "EnvConfigCredentials",
	}
	if creds.AccessKeyID == "" {
		missing = append(missing, EnvAccessKeyID)
	}
	if creds.SecretAccessKey == "" {
		missing = append(missing, EnvSecretAccessKey)
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("load AWS config: missing environment variable(s): %s", strings.Join(missing, ", "))
	}
	env := endpoints{getenv: getenv}
	ignore, err := env.ignored()
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.StaticCredentialsProvider{
			Value: creds, Source: []aws.CredentialSource{aws.CredentialSourceEnvVars},
		}),
		Logger:       logging.NewStandardLogger(os.Stderr),
		DefaultsMode: aws.DefaultsModeLegacy,
		// The service clients ask these for AWS_ENDPOINT_URL_<SERVICE>.
		ConfigSources: []any{env},
	}
	if url := getenv(EnvEndpointURL); url != "" && !ignore {
		cfg.BaseEndpoint = aws.String(url)
	}
	return cfg, nil
}

// endpoints answers the service clients' questions about configured
// endpoints: the methods are those of the SDK's internal configsources
// interfaces, which each client looks for in aws.Config.ConfigSources.
type endpoints struct{ getenv func(string) string }

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SERVICE> for the
// service with SDK id sdkID.
func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	url := e.getenv(ServiceEndpointVar(sdkID))
	return url, url != "", nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e endpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	v, err := e.ignored()
	return v, err == nil && e.getenv(EnvIgnoreConfiguredEndpoint) != "", err
}

// ignored parses AWS_IGNORE_CONFIGURED_ENDPOINT_URLS as the SDK does:
// true or false in any case, empty for false.
func (e endpoints) ignored() (bool, error) {
	switch v := e.getenv(EnvIgnoreConfiguredEndpoint); {
	case v == "", strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	default:
		return false, errors.New(EnvIgnoreConfiguredEndpoint + "=" + v + ": want true or false")
	}
}

// ServiceEndpointVar is the variable that overrides the endpoint of the
// service with SDK id sdkID ("DynamoDB", "SESv2", "Cognito Identity Provider").
func ServiceEndpointVar(sdkID string) string {
	return EnvEndpointURL + "_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_")
}
