package awsclient

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// lambda is what the Lambda runtime sets for a function.
var lambda = map[string]string{
	"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-2",
	"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
}

// with returns lambda changed by kv: key, value, ...; an empty value unsets.
func with(kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range lambda {
		env[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(env, kv[i])
		} else {
			env[kv[i]] = kv[i+1]
		}
	}
	return env
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		region   string
		creds    aws.Credentials
		endpoint string // aws.Config.BaseEndpoint; "" for none
		wantErr  string
	}{
		{name: "Lambda", env: lambda, region: "eu-west-2",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}},
		{name: "AWS_DEFAULT_REGION alone", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", "us-east-1"), region: "us-east-1",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}},
		{name: "AWS_REGION first", env: with("AWS_DEFAULT_REGION", "us-east-1"), region: "eu-west-2",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}},
		{name: "long-term keys and an account", env: with("AWS_SESSION_TOKEN", "", "AWS_ACCOUNT_ID", "123456789012"), region: "eu-west-2",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", AccountID: "123456789012"}},
		{name: "an endpoint (sam local, the embedded stack)", env: with("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), region: "eu-west-2",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}, endpoint: "http://127.0.0.1:4566"},
		{name: "endpoints ignored", env: with("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"), region: "eu-west-2",
			creds: aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}},
		{name: "no region", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", ""), wantErr: "missing environment variable(s): AWS_REGION"},
		{name: "no credentials", env: with("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", ""),
			wantErr: "missing environment variable(s): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"},
		{name: "no secret", env: with("AWS_SECRET_ACCESS_KEY", ""), wantErr: "missing environment variable(s): AWS_SECRET_ACCESS_KEY"},
		{name: "nothing", env: map[string]string{}, wantErr: "AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"},
		{name: "a bad switch", env: with("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "yes"), wantErr: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=yes: want true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.region {
				t.Errorf("region %q, want %q", cfg.Region, tt.region)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != tt.creds.AccessKeyID || creds.SecretAccessKey != tt.creds.SecretAccessKey ||
				creds.SessionToken != tt.creds.SessionToken || creds.AccountID != tt.creds.AccountID || creds.CanExpire {
				t.Errorf("credentials %+v, want %+v", creds, tt.creds)
			}
			if got := aws.ToString(cfg.BaseEndpoint); got != tt.endpoint {
				t.Errorf("endpoint %q, want %q", got, tt.endpoint)
			}
		})
	}
}

func TestServiceEndpointVar(t *testing.T) {
	for id, want := range map[string]string{
		"S3": "AWS_ENDPOINT_URL_S3", "DynamoDB": "AWS_ENDPOINT_URL_DYNAMODB", "SESv2": "AWS_ENDPOINT_URL_SESV2",
		"SFN": "AWS_ENDPOINT_URL_SFN", "Cognito Identity Provider": "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
	} {
		if got := ServiceEndpointVar(id); got != want {
			t.Errorf("ServiceEndpointVar(%q) = %q, want %q", id, got, want)
		}
	}
}

// The clients built from Load resolve what they resolved from the SDK's
// LoadDefaultConfig in the Lambda environment: region, credentials and
// endpoints, global and per service.
func TestLoadAsLoadDefaultConfig(t *testing.T) {
	const local, ddb, ses = "http://127.0.0.1:4566", "http://127.0.0.1:8000", "http://127.0.0.1:9000"
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"Lambda", lambda},
		{"one endpoint", with("AWS_ENDPOINT_URL", local)},
		{"one endpoint, DynamoDB's and SES's own", with("AWS_ENDPOINT_URL", local, "AWS_ENDPOINT_URL_DYNAMODB", ddb, "AWS_ENDPOINT_URL_SESV2", ses)},
		{"DynamoDB's own only", with("AWS_ENDPOINT_URL_DYNAMODB", ddb)},
		{"endpoints ignored", with("AWS_ENDPOINT_URL", local, "AWS_ENDPOINT_URL_DYNAMODB", ddb, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")},
		{"an account id", with("AWS_ACCOUNT_ID", "123456789012")},
	}
	vars := []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SFN",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_DEFAULTS_MODE"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range vars {
				t.Setenv(k, tt.env[k])
			}
			// No shared config files: Lambda has none.
			dir := t.TempDir()
			t.Setenv("HOME", dir)
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
			ours, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			sdk, err := awsconfig.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ours.DefaultsMode != sdk.DefaultsMode || ours.RetryMode != sdk.RetryMode || ours.RetryMaxAttempts != sdk.RetryMaxAttempts {
				t.Errorf("defaults %q/%q/%d, LoadDefaultConfig's %q/%q/%d", ours.DefaultsMode, ours.RetryMode, ours.RetryMaxAttempts,
					sdk.DefaultsMode, sdk.RetryMode, sdk.RetryMaxAttempts)
			}
			type resolved struct {
				region, endpoint string
				creds            aws.Credentials
			}
			clients := map[string]func(aws.Config) (string, *string, aws.CredentialsProvider){
				"S3": func(c aws.Config) (string, *string, aws.CredentialsProvider) {
					o := s3.NewFromConfig(c).Options()
					return o.Region, o.BaseEndpoint, o.Credentials
				},
				"DynamoDB": func(c aws.Config) (string, *string, aws.CredentialsProvider) {
					o := dynamodb.NewFromConfig(c).Options()
					return o.Region, o.BaseEndpoint, o.Credentials
				},
				"SFN": func(c aws.Config) (string, *string, aws.CredentialsProvider) {
					o := sfn.NewFromConfig(c).Options()
					return o.Region, o.BaseEndpoint, o.Credentials
				},
				"SESv2": func(c aws.Config) (string, *string, aws.CredentialsProvider) {
					o := sesv2.NewFromConfig(c).Options()
					return o.Region, o.BaseEndpoint, o.Credentials
				},
			}
			for name, client := range clients {
				resolve := func(c aws.Config) resolved {
					region, endpoint, provider := client(c)
					creds, err := provider.Retrieve(context.Background())
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					return resolved{region, aws.ToString(endpoint), creds}
				}
				got, want := resolve(ours), resolve(sdk)
				if got != want {
					t.Errorf("%s: resolved %+v; from LoadDefaultConfig %+v", name, got, want)
				}
			}
		})
	}
}
