package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr []string
	}{
		{"defaults", nil, func(t *testing.T, c Config) {
			if c.StageTimeout != 10*24*time.Hour || c.MaxDownloads != 3 || c.DownloadExpiry != 5*time.Minute || c.SingleApproval || c.ResearcherGroup != "" {
				t.Fatalf("defaults: %+v", c)
			}
			if ch, _ := c.Chain(); len(ch.Stages) != 2 {
				t.Fatal("default chain is two stages")
			}
		}, nil},
		{"True and single approval", map[string]string{EnvSingleApproval: "True", EnvReviewerGroups: "IG, RIT"}, func(t *testing.T, c Config) {
			ch, _ := c.Chain()
			if !c.SingleApproval || ch.String() != "IG(IG)" {
				t.Fatalf("chain %s", ch)
			}
		}, nil},
		{"reviewer emails", map[string]string{EnvReviewerEmails: `{"InformationGovernance":["ig@example.org"]}`}, func(t *testing.T, c Config) {
			if c.ReviewerEmails["InformationGovernance"][0] != "ig@example.org" {
				t.Fatal(c.ReviewerEmails)
			}
		}, nil},
		{"reviewer topics and user pool", map[string]string{
			EnvReviewerTopics: `{"InformationGovernance":"arn:aws:sns:eu-west-2:123456789012:ig"}`,
			EnvUserPoolID:     "eu-west-2_AbC123",
		}, func(t *testing.T, c Config) {
			if c.ReviewerTopics["InformationGovernance"] != "arn:aws:sns:eu-west-2:123456789012:ig" || c.UserPoolID != "eu-west-2_AbC123" {
				t.Fatalf("topics %v, pool %q", c.ReviewerTopics, c.UserPoolID)
			}
		}, nil},
		{"reviewer topic that is not a topic", map[string]string{
			EnvReviewerTopics: `{"InformationGovernance":"arn:aws:sqs:eu-west-2:123456789012:ig","TREAdmin":""}`,
		}, nil, []string{
			`REVIEWER_TOPICS: group "InformationGovernance": "arn:aws:sqs:eu-west-2:123456789012:ig" is not an SNS topic ARN`,
			`REVIEWER_TOPICS: group "TREAdmin": "" is not an SNS topic ARN`,
		}},
		{"every bad value named", map[string]string{
			EnvSingleApproval: "maybe", EnvStageTimeout: "soon", EnvMaxDownloads: "0",
			EnvReviewerEmails: "[", EnvReviewerGroups: "a,a", EnvReviewerTopics: "[",
		}, nil, []string{
			"REVIEWER_TOPICS: want JSON",
			`SINGLE_APPROVAL: want true or false, got "maybe"`,
			`STAGE_TIMEOUT_SECONDS: want a whole number, got "soon"`,
			"MAX_DOWNLOADS: want at least 1, got 0",
			"REVIEWER_EMAILS: want JSON",
			`REVIEWER_GROUPS: ValidationError: egress_reviewer_roles[1]: group "a" appears twice`,
		}},
		{"stages must time out before the execution", map[string]string{EnvStageTimeout: "864000", EnvReviewerGroups: "a,b"}, func(t *testing.T, c Config) {}, nil},
		{"download links of an hour", map[string]string{EnvDownloadExpiry: "3600"}, func(t *testing.T, c Config) {
			if c.DownloadExpiry != time.Hour {
				t.Fatalf("download expiry %s", c.DownloadExpiry)
			}
		}, nil},
		{"download links beyond an hour", map[string]string{EnvDownloadExpiry: "3601"}, nil, []string{
			"DOWNLOAD_EXPIRY_SECONDS: download links live at most 3600 seconds, got 3601",
		}},
		{"revocation settings", map[string]string{EnvRevokeRetentionDays: "90", EnvNoticesTopic: "arn:aws:sns:eu-west-2:123456789012:notices"}, func(t *testing.T, c Config) {
			if c.RevokeRetentionDays != 90 || c.NoticesTopic != "arn:aws:sns:eu-west-2:123456789012:notices" {
				t.Fatalf("retention %d, notices topic %q", c.RevokeRetentionDays, c.NoticesTopic)
			}
		}, nil},
		{"bad revocation settings", map[string]string{EnvRevokeRetentionDays: "3651", EnvNoticesTopic: "notices"}, nil, []string{
			"REVOKE_RETENTION_DAYS: at most 3650 days, got 3651",
			`NOTICES_TOPIC_ARN: "notices" is not an SNS topic ARN`,
		}},
		{"researcher group", map[string]string{EnvResearcherGroup: " Researcher "}, func(t *testing.T, c Config) {
			if c.ResearcherGroup != "Researcher" {
				t.Fatalf("researcher group %q", c.ResearcherGroup)
			}
		}, nil},
		{"researcher group that reviews", map[string]string{EnvResearcherGroup: "TREAdmin"}, nil, []string{
			`RESEARCHER_GROUP: "TREAdmin" is a reviewer group; researchers need a group of their own`,
		}},
		{"checks unset take the defaults", nil, func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c.Checks, egress.CheckSettings{}.WithDefaults()) || c.Checks.Malware.Engine != egress.EngineGuardDuty {
				t.Fatalf("checks %+v", c.Checks)
			}
		}, nil},
		{"checks", map[string]string{EnvChecks: `{"malware":{"engine":"clamav","clamd_address":"127.0.0.1:3310"},"max_files":10}`}, func(t *testing.T, c Config) {
			if c.Checks.Malware.Engine != egress.EngineClamAV || c.Checks.Malware.ClamdAddress != "127.0.0.1:3310" || c.Checks.MaxFiles != 10 ||
				c.Checks.Malware.TimeoutMinutes != 30 {
				t.Fatalf("checks %+v", c.Checks)
			}
		}, nil},
		{"bad checks", map[string]string{EnvChecks: `{"malware":{"engine":"clamd"}}`}, nil, []string{
			`CHECKS: checks.malware.engine "clamd": want "guardduty", "clamav" or "none"`,
		}},
		{"stage timeout too long", map[string]string{EnvStageTimeout: "1209600"}, nil, []string{
			"STAGE_TIMEOUT_SECONDS: 2 stages of 336h0m0s exceed the workflow's 504h0m0s limit",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("want error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestRequire(t *testing.T) {
	err := Require(env(map[string]string{"A": "x", "B": " "}), "A", "B", "C")
	if err == nil || err.Error() != "missing required environment variable(s): B, C" {
		t.Fatalf("err = %v", err)
	}
	if Require(env(map[string]string{"A": "x"}), "A") != nil {
		t.Fatal("present variable refused")
	}
}

func TestBool(t *testing.T) {
	for s, want := range map[string]bool{"true": true, "True": true, "TRUE": true, "1": true, "false": false, "False": false, "": true} {
		got, err := Bool(s, true)
		if err != nil || got != want {
			t.Errorf("Bool(%q) = %v, %v", s, got, err)
		}
	}
}

func TestParseChecks(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		check   func(t *testing.T, cs egress.CheckSettings)
		wantErr string
	}{
		{"empty is the defaults", " ", func(t *testing.T, cs egress.CheckSettings) {
			if !reflect.DeepEqual(cs, egress.CheckSettings{}.WithDefaults()) {
				t.Fatalf("%+v", cs)
			}
		}, ""},
		{"set fields kept, others defaulted", `{"archives":"refuse","blocked_extensions":[],"sdc":{"threshold":5,"blocking":true},"malware":{"engine":"none"}}`,
			func(t *testing.T, cs egress.CheckSettings) {
				if cs.Archives != egress.ArchivesRefuse || cs.BlockedExtensions == nil || len(cs.BlockedExtensions) != 0 ||
					cs.SDC.Threshold != 5 || !cs.SDC.Blocking || cs.Malware.Engine != egress.EngineNone || cs.MaxFiles != 100_000 {
					t.Fatalf("%+v", cs)
				}
			}, ""},
		{"unknown field", `{"malware":{"engine":"guardduty","timeout":5}}`, nil, `unknown field "timeout"`},
		{"wrong type", `{"max_files":"10"}`, nil, "max_files"},
		{"a scan timeout over a day", `{"malware":{"timeout_minutes":1441}}`, nil, "timeout_minutes 1441: at most 1440"},
		{"a file staging cannot hash in time", `{"max_file_bytes":60397977601}`, nil, "what staging reads back to hash a file within its 900 s limit"},
		{"not an object", `["guardduty"]`, nil, "want a JSON object of check settings"},
		{"two objects", `{} {}`, nil, "got more"},
		{"out of range", `{"max_total_bytes":-1,"archives":"zip"}`, nil, `checks.max_total_bytes -1`},
		{"clamav without clamd", `{"malware":{"engine":"clamav"}}`, nil, "checks.malware.clamd_address is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseChecks(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cs)
		})
	}
}
