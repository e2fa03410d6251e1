package stack

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// sampleValues returns cdk.json's Sample environment with overrides; nil
// values delete the key.
func sampleValues(t *testing.T, overrides map[string]any) map[string]any {
	t.Helper()
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	v := environment(ctx, "Sample", nil)
	for k, o := range overrides {
		if o == nil {
			delete(v, k)
		} else {
			v[k] = o
		}
	}
	return v
}

func TestParseConfigSample(t *testing.T) {
	c, err := ParseConfig("Sample", sampleValues(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Env: "Sample", Prefix: "egress",
		ReviewerRoles:            []string{"InformationGovernance", "TREAdmin"},
		SWBEgressStoreBucketARN:  "arn:aws:s3:::swb-sample-egress-store",
		SWBNotificationTopicARN:  "arn:aws:sns:eu-west-2:111111111111:swb-sample-EgressTopic",
		SWBNotificationBucketARN: "arn:aws:s3:::swb-sample-egress-notification",
		SWBKeyARN:                "arn:aws:kms:eu-west-2:111111111111:key/11111111-2222-3333-4444-555555555555",
		SWBStoreTable:            "arn:aws:dynamodb:eu-west-2:111111111111:table/swb-sample-EgressStore",
		DatalakeBucketARN:        "arn:aws:s3:::tre-sample-datalake",
		DatalakeKeyARN:           "arn:aws:kms:eu-west-2:222222222222:key/66666666-7777-8888-9999-000000000000",
		CognitoDomain:            "tre-sample-reviewers",
		MaxDownloads:             3,
		DownloadExpirySeconds:    300,
		AdminEmail:               "tre-admin@example.org",
		ResourceTags:             map[string]string{"ProjectName": "TRESample", "ProjectCode": "NA", "Owner": "NA"},
		ReviewerEmails:           map[string][]string{"InformationGovernance": {"ig-reviewers@example.org"}, "TREAdmin": {"rit-reviewers@example.org"}},
		SenderEmail:              "tre-admin@example.org",
		CreateSESIdentity:        true,
		LogRetentionDays:         365,
		VerifyReleaseDays:        7,
		StageTimeoutDays:         10,
		Checks:                   egress.CheckSettings{}.WithDefaults(),
		WebConsole:               ConsoleBeside,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Sample:\n got %+v\nwant %+v", c, want)
	}
	if got := c.StackName(); got != "egress-Sample" {
		t.Errorf("StackName = %q", got)
	}
	if got := c.CognitoDomainPrefix(); got != "egress-tre-sample-reviewers" {
		t.Errorf("CognitoDomainPrefix = %q", got)
	}
}

// The Prod entry ships with placeholders: synthesizing it before they are
// filled in fails and names every key to fill in.
func TestParseConfigProdPlaceholders(t *testing.T) {
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseConfig("Prod", environment(ctx, "Prod", nil))
	if err == nil {
		t.Fatal("Prod with placeholders accepted")
	}
	for _, k := range []string{"swb_egress_store_arn", "swb_egress_notification_topic", "swb_egress_notification_bucket_arn",
		"swb_egress_notification_bucket_kms_arn", "swb_egress_store_db_table", "datalake_target_bucket_arn",
		"datalake_target_bucket_kms_arn", "cognito_userpool_domain", "tre_admin_email_address"} {
		if !strings.Contains(err.Error(), "\n"+k+": ") && !strings.Contains(err.Error(), ": "+k+": ") {
			t.Errorf("error does not name %s:\n%v", k, err)
		}
	}
}

func TestParseConfigBooleans(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want bool
	}{
		{true, true}, {"true", true}, {"True", true}, {"TRUE", true},
		{false, false}, {"false", false}, {"False", false}, {"", false}, {nil, false},
	} {
		c, err := ParseConfig("Sample", sampleValues(t, map[string]any{"enable_single_approval": tc.in, "use_s3_access_points": tc.in}))
		if tc.in == nil {
			c, err = ParseConfig("Sample", sampleValues(t, map[string]any{"enable_single_approval": nil, "use_s3_access_points": nil}))
		}
		if err != nil {
			t.Errorf("%#v: %v", tc.in, err)
			continue
		}
		if c.SingleApproval != tc.want || c.UseS3AccessPoints != tc.want {
			t.Errorf("%#v: single approval %v, access points %v, want %v", tc.in, c.SingleApproval, c.UseS3AccessPoints, tc.want)
		}
	}
}

func TestParseConfigNumbersAsStrings(t *testing.T) {
	c, err := ParseConfig("Sample", sampleValues(t, map[string]any{
		"max_downloads_allowed": "5", "download_expiry_seconds": 600.0, "max_request_age_days": " 30 ",
		"revoke_retention_days": "90",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxDownloads != 5 || c.DownloadExpirySeconds != 600 || c.MaxRequestAgeDays != 30 || c.RevokeRetentionDays != 90 {
		t.Fatalf("got %d %d %d %d", c.MaxDownloads, c.DownloadExpirySeconds, c.MaxRequestAgeDays, c.RevokeRetentionDays)
	}
}

func TestParseConfigOptions(t *testing.T) {
	c, err := ParseConfig("Full", sampleValues(t, fullOptions))
	if err != nil {
		t.Fatal(err)
	}
	want := CustomDomain{Enabled: true, DomainName: "egress.tre.example.org", HostedZoneName: "tre.example.org",
		HostedZoneID: "Z0123456789ABCDEFGHIJ", CertARN: "arn:aws:acm:us-east-1:444444444444:certificate/0a1b2c3d-9999-aaaa-bbbb-cccccccccccc"}
	if c.CustomDomain != want {
		t.Errorf("custom_domain = %+v", c.CustomDomain)
	}
	idp := CustomIDP{Enabled: true, Name: "TREIdP", MetadataURL: "https://idp.example.org/saml/metadata.xml", GroupsAttribute: DefaultGroupsAttribute}
	if c.CustomIDP != idp {
		t.Errorf("custom_idp = %+v", c.CustomIDP)
	}
	if c.EFSMountPath != "/mnt/egress" || !c.SingleApproval || !c.UseS3AccessPoints || c.IGWorkspacesAccount != "333333333333" ||
		c.Prefix != "full" || c.StackName() != "full-Full" || c.SWBAccount() != "111111111111" {
		t.Errorf("options = %+v", c)
	}
}

// Every bad value fails with a message naming its key.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key   string // the key the message must name
		value any    // nil deletes the key
	}{
		{"egress_reviewer_roles", nil},
		{"egress_reviewer_roles", []any{}},
		{"egress_reviewer_roles", []any{"A", "B", "C"}},
		{"egress_reviewer_roles", []any{"IG", "IG"}},
		{"egress_reviewer_roles", []any{"Information Governance"}},
		{"egress_reviewer_roles", 3.0},
		{"swb_egress_store_arn", nil},
		{"swb_egress_store_arn", "swb-sample-egress-store"},
		{"swb_egress_store_arn", "arn:aws:s3:::Bad_Bucket"},
		{"swb_egress_notification_topic", "arn:aws:sqs:eu-west-2:111111111111:queue"},
		{"swb_egress_notification_bucket_arn", ""},
		{"swb_egress_notification_bucket_kms_arn", "arn:aws:kms:eu-west-2:111111111111:alias/egress"},
		{"swb_egress_store_db_table", "arn:aws:dynamodb:eu-west-2:111:table/t"},
		{"datalake_target_bucket_arn", "arn:aws:s3:::x"},
		{"datalake_target_bucket_kms_arn", nil},
		{"efs_mount_path", "/tmp/egress"},
		{"cognito_userpool_domain", "Upper"},
		{"cognito_userpool_domain", "my-cognito-login"},
		{"cognito_userpool_domain", "amazonian"},
		{"cognito_userpool_domain", strings.Repeat("a", 43)},
		{"max_downloads_allowed", "three"},
		{"max_downloads_allowed", 0.0},
		{"max_downloads_allowed", 2.5},
		{"download_expiry_seconds", "3601"}, // download links live at most an hour
		{"download_expiry_seconds", 604800.0},
		{"tre_admin_email_address", "TRE Admin <admin@example.org>"},
		{"tre_admin_email_address", "not-an-address"},
		{"enable_single_approval", "yes"},
		{"enable_single_approval", 1.0},
		{"ig_workspaces_account", "12345"},
		{"ig_workspaces_account", 12345678901.0}, // a JSON number loses leading zeros
		{"use_s3_access_points", "maybe"},
		{"max_request_age_days", -1.0},
		{"revoke_retention_days", -1.0},
		{"revoke_retention_days", "3651"},
		{"verify_release_days", "0"},
		{"global_web_acl_arn", "arn:aws:wafv2:eu-west-2:444444444444:regional/webacl/egress/0a1b"},
		{"regional_web_acl_arn", "arn:aws:wafv2:us-east-1:444444444444:global/webacl/egress/0a1b"},
		{"custom_domain.cert_arn", map[string]any{"is_enabled": "True", "domain_name": "egress.example.org", "hosted_zone_name": "example.org",
			"hosted_zone_id": "Z123", "cert_arn": "arn:aws:acm:eu-west-2:444444444444:certificate/0a1b"}},
		{"custom_domain.domain_name", map[string]any{"is_enabled": true, "domain_name": "egress.other.org", "hosted_zone_name": "example.org",
			"hosted_zone_id": "Z123", "cert_arn": "arn:aws:acm:us-east-1:444444444444:certificate/0a1b"}},
		{"custom_domain.hosted_zone_id", map[string]any{"is_enabled": true, "domain_name": "egress.example.org", "hosted_zone_name": "example.org",
			"cert_arn": "arn:aws:acm:us-east-1:444444444444:certificate/0a1b"}},
		{"custom_domain.is_enabled", map[string]any{"is_enabled": "on"}},
		{"custom_domain.domain", map[string]any{"is_enabled": false, "domain": "x"}},
		{"custom_domain", "egress.example.org"},
		{"custom_idp.metadata_url", map[string]any{"is_enabled": true, "name": "IdP", "metadata_url": "http://idp.example.org/metadata"}},
		{"custom_idp.name", map[string]any{"is_enabled": "true", "name": "", "metadata_url": "https://idp.example.org/metadata"}},
		{"resource_tags.aws:owner", map[string]any{"aws:owner": "x"}},
		{"reviewer_email_addresses.Nobody", map[string]any{"Nobody": []any{"a@example.org"}}},
		{"reviewer_email_addresses.TREAdmin", map[string]any{"TREAdmin": []any{"not an address"}}},
		{"stack_name_prefix", "Egress_Prod"},
		{"log_retention_days", "100"},
		{"researcher_group", "TREAdmin"}, // a reviewer group
		{"researcher_group", "Research Staff"},
		{"max_download_allowed", "3"}, // unknown key: a typo
		{"checks", "guardduty"},
		{"checks", map[string]any{"malware": map[string]any{"engine": "guardduty", "timeout": 30.0}}}, // a typo
		{"checks", map[string]any{"max_files": "10"}},                                                 // numbers are numbers here
		{"checks", map[string]any{"blocked_extensions": []any{"EXE"}}},
		{"checks", map[string]any{"allowed_extensions": []any{strings.Repeat(".abcdefgh", 200)}}}, // too long for Lambda's environment
		{"checks.malware", map[string]any{"malware": map[string]any{"engine": "clamd"}}},          // TestParseConfigChecksErrors has the messages
		{"event_bus_targets", []any{"arn:aws:sns:eu-west-2:666666666666:tre-operations"}},
		{"event_bus_targets", []any{"arn:aws:events:eu-west-2:666666666666:rule/tre"}},
		{"event_bus_targets", "arn:aws:events:eu-west-2:6666:event-bus/tre"},
		{"event_bus_targets", []any{"arn:aws:events:eu-west-2:666666666666:event-bus/a", "arn:aws:events:eu-west-2:666666666666:event-bus/a"}},
		{"event_bus_targets", []any{42.0}},
		{"web_console", "both"},
		{"web_console", true},
		{"web_console", []any{"beside"}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			key := tc.key
			override := map[string]any{key: tc.value}
			if root, _, nested := strings.Cut(key, "."); nested {
				override = map[string]any{root: tc.value}
			}
			if tc.value == nil {
				override = map[string]any{key: nil}
			}
			_, err := ParseConfig("Sample", sampleValues(t, override))
			if err == nil {
				t.Fatalf("%s = %#v accepted", key, tc.value)
			}
			if !strings.Contains(err.Error(), key+": ") && !strings.Contains(err.Error(), key+".") && !strings.Contains(err.Error(), key+"[") {
				t.Fatalf("%s = %#v: error does not name the key: %v", key, tc.value, err)
			}
		})
	}
}

func TestParseConfigWebConsole(t *testing.T) {
	for _, tt := range []struct {
		in   any // nil: absent
		want string
	}{
		{nil, ConsoleBeside}, {"", ConsoleBeside}, {"beside", ConsoleBeside}, {"Instead", ConsoleInstead},
		{" off ", ConsoleOff}, {"OFF", ConsoleOff},
	} {
		c, err := ParseConfig("Sample", sampleValues(t, map[string]any{"web_console": tt.in}))
		if err != nil || c.WebConsole != tt.want {
			t.Errorf("web_console %#v: %q, %v; want %q", tt.in, c.WebConsole, err, tt.want)
		}
	}
	_, err := ParseConfig("Sample", sampleValues(t, map[string]any{"web_console": "both"}))
	if want := `web_console: want "beside", "instead" or "off", got "both"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("web_console both: %v, want %q", err, want)
	}
}

func TestParseConfigChecks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		checks any // nil: absent
		want   func(egress.CheckSettings) bool
	}{
		{"absent: the defaults, GuardDuty", nil, func(c egress.CheckSettings) bool {
			return reflect.DeepEqual(c, egress.CheckSettings{}.WithDefaults()) && c.Malware.Engine == egress.EngineGuardDuty
		}},
		{"empty object: the defaults", map[string]any{}, func(c egress.CheckSettings) bool {
			return reflect.DeepEqual(c, egress.CheckSettings{}.WithDefaults())
		}},
		{"set values kept, defaults filled in", map[string]any{
			"malware": map[string]any{"engine": "none"}, "max_files": 500.0, "blocked_extensions": []any{},
			"sdc": map[string]any{"threshold": 5.0, "zeros_disclosive": false},
		}, func(c egress.CheckSettings) bool {
			return c.Malware.Engine == egress.EngineNone && c.Malware.TimeoutMinutes == 30 && c.MaxFiles == 500 &&
				c.BlockedExtensions != nil && len(c.BlockedExtensions) == 0 && c.SDC.Threshold == 5 && !*c.SDC.ZerosDisclosive &&
				c.Archives == egress.ArchivesList && c.MaxTotalBytes == egress.MaxReleaseBytes
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("Sample", sampleValues(t, map[string]any{"checks": tt.checks}))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c.Checks) {
				t.Fatalf("checks %+v", c.Checks)
			}
		})
	}
}

// Bad check settings fail synthesis with the message naming the field.
func TestParseConfigChecksErrors(t *testing.T) {
	for _, tt := range []struct {
		checks map[string]any
		want   string
	}{
		{map[string]any{"malware": map[string]any{"engine": "clamd"}}, `checks.malware.engine "clamd": want "guardduty", "clamav" or "none"`},
		{map[string]any{"malware": map[string]any{"engine": "clamav"}}, `checks.malware.clamd_address is required with engine "clamav"`},
		{map[string]any{"malware": map[string]any{"timeout_minutes": -1.0}}, "checks.malware max_scan_bytes and timeout_minutes must not be negative"},
		{map[string]any{"malware": map[string]any{"engine": "guardduty", "timeout": 30.0}}, `checks: want a JSON object of check settings: unknown field "timeout"`},
		{map[string]any{"max_total_bytes": -1.0}, "checks.max_total_bytes -1 is negative"},
		{map[string]any{"max_file_bytes": 1e12}, "checks.max_file_bytes 1000000000000: must be between 1 and"},
		{map[string]any{"archives": "unpack"}, `checks.archives "unpack": want "list" or "refuse"`},
		{map[string]any{"blocked_extensions": []any{"EXE"}}, `checks: checks extension "EXE": want a lower-case extension with its dot`},
		{map[string]any{"sdc": map[string]any{"count_columns": []any{"(n"}}}, `checks.sdc.count_columns "(n": error parsing regexp`},
		{map[string]any{"max_files": "10"}, "checks: want a JSON object of check settings: cannot unmarshal string"},
		{map[string]any{"allowed_extensions": []any{strings.Repeat(".abcdefgh", 200)}}, "more than the 2048 a Lambda environment variable may take"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseConfig("Sample", sampleValues(t, map[string]any{"checks": tt.checks}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("checks %v: error %v, want one containing %q", tt.checks, err, tt.want)
			}
		})
	}
}
