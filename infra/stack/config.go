// Package stack is the egress CDK stack: every AWS resource of one
// deployment, built from the deployment parameters of infra/cdk.json
// (contract 4 of DESIGN.md), with least-privilege roles and the cdk-nag
// AwsSolutions checks.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
)

// Config is one deployment's parameters, validated.
type Config struct {
	Env    string // the cdk.json context entry the values came from
	Prefix string // stack_name_prefix: the stack is "<prefix>-<env>"

	ReviewerRoles            []string // egress_reviewer_roles, in stage order
	SWBEgressStoreBucketARN  string   // swb_egress_store_arn
	SWBNotificationTopicARN  string   // swb_egress_notification_topic
	SWBNotificationBucketARN string   // swb_egress_notification_bucket_arn
	SWBKeyARN                string   // swb_egress_notification_bucket_kms_arn (egress store and notification buckets)
	SWBStoreTable            string   // swb_egress_store_db_table: a table name or ARN
	DatalakeBucketARN        string   // datalake_target_bucket_arn
	DatalakeKeyARN           string   // datalake_target_bucket_kms_arn
	EFSMountPath             string   // efs_mount_path: "" streams the zip without EFS
	CognitoDomain            string   // cognito_userpool_domain
	MaxDownloads             int      // max_downloads_allowed
	DownloadExpirySeconds    int      // download_expiry_seconds
	AdminEmail               string   // tre_admin_email_address
	SingleApproval           bool     // enable_single_approval
	IGWorkspacesAccount      string   // ig_workspaces_account: account whose IG workspaces may read staged data; "" for none
	UseS3AccessPoints        bool     // use_s3_access_points: SWB serves the egress store through S3 access points
	MaxRequestAgeDays        int      // max_request_age_days (0 lists all)
	RevokeRetentionDays      int      // revoke_retention_days: keep a revoked zip's versions, hidden (0 deletes them)
	VerifyReleaseDays        int      // verify_release_days: verify-releases re-reads the releases of that many days (default 7)
	GlobalWebACLARN          string   // global_web_acl_arn: WAF for the web app
	RegionalWebACLARN        string   // regional_web_acl_arn: WAF for AppSync and Cognito
	CustomDomain             CustomDomain
	CustomIDP                CustomIDP
	ResourceTags             map[string]string

	// Optional additions to contract 4.
	// ApprovalStages is approval_stages: the chain, any length; empty
	// means egress_reviewer_roles with enable_single_approval. When set,
	// ReviewerRoles holds its groups in stage order.
	ApprovalStages    []egress.StageSpec
	StageTimeoutDays  int                 // stage_timeout_days: a stage awaiting longer ends EXPIRED
	ReviewerEmails    map[string][]string // reviewer_email_addresses: group → addresses told of new work
	SenderEmail       string              // sender_email_address, default tre_admin_email_address
	CreateSESIdentity bool                // create_ses_identity, default true; false when another deployment verified it
	LogRetentionDays  int                 // log_retention_days, default 365
	ResearcherGroup   string              // researcher_group: Cognito group whose members read their own requests; "" for none
	Account, Region   string              // account, region: pin the stack's environment (else env-agnostic)
	// Checks is checks: the automated checks before review, every default
	// filled in. Functions read it as config.EnvChecks.
	Checks egress.CheckSettings
	// EventBusTargets is event_bus_targets: EventBridge buses, in other
	// accounts, that receive every event of the stack's bus (source
	// egress). Each bus's policy must let this account put events.
	EventBusTargets []string
	// WebConsole is web_console: where the reviewer console is hosted,
	// ConsoleBeside (default), ConsoleInstead or ConsoleOff.
	WebConsole string
}

// Values of web_console.
const (
	// ConsoleBeside hosts the console on an Amplify branch of its own
	// (console.<app domain>, or console.<custom domain>) beside the
	// original frontend's; e-mail links open the console.
	ConsoleBeside = "beside"
	// ConsoleInstead publishes the console to the original frontend's
	// branch and URL.
	ConsoleInstead = "instead"
	// ConsoleOff hosts the original frontend only.
	ConsoleOff = "off"
)

// CustomDomain is custom_domain: the web app at DomainName and the Cognito
// hosted UI at auth.<DomainName>, both with the us-east-1 certificate CertARN.
type CustomDomain struct {
	Enabled        bool
	DomainName     string
	CertARN        string
	HostedZoneID   string
	HostedZoneName string
}

// CustomIDP is custom_idp: a SAML identity provider for the user pool.
type CustomIDP struct {
	Enabled         bool
	Name            string
	MetadataURL     string
	GroupsAttribute string // groups_attribute: the SAML attribute listing the user's groups
}

// DefaultGroupsAttribute is the SAML attribute Entra ID (Azure AD) and
// ADFS send group names in.
const DefaultGroupsAttribute = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"

// DefaultPrefix is the stack name prefix when none is given.
const DefaultPrefix = "egress"

// StackName is the CloudFormation stack name, unique per prefix and env.
func (c Config) StackName() string { return c.Prefix + "-" + c.Env }

// SWBAccount is the account of SWB's resources: the notification topic's.
func (c Config) SWBAccount() string { return strings.Split(c.SWBNotificationTopicARN, ":")[4] }

// Keys of a cdk.json environment. Contract 4 names first, then additions.
var (
	requiredKeys = []string{
		"egress_reviewer_roles", "swb_egress_store_arn", "swb_egress_notification_topic",
		"swb_egress_notification_bucket_arn", "swb_egress_notification_bucket_kms_arn",
		"swb_egress_store_db_table", "datalake_target_bucket_arn", "datalake_target_bucket_kms_arn",
		"cognito_userpool_domain", "max_downloads_allowed", "download_expiry_seconds",
		"tre_admin_email_address",
	}
	optionalKeys = []string{
		"enable_single_approval", "ig_workspaces_account", "use_s3_access_points",
		"max_request_age_days", "efs_mount_path", "global_web_acl_arn", "regional_web_acl_arn", "custom_domain",
		"custom_idp", "resource_tags",
		"stack_name_prefix", "reviewer_email_addresses", "sender_email_address",
		"create_ses_identity", "log_retention_days", "account", "region",
		"approval_stages", "stage_timeout_days", "revoke_retention_days", "verify_release_days", "researcher_group",
		"checks", "event_bus_targets", "web_console",
	}
)

// ParseConfig validates the parameters of environment env (the value of the
// cdk.json context entry env, as JSON decodes it). Every problem is
// reported, each naming its key.
func ParseConfig(env string, values map[string]any) (Config, error) {
	p := contextParser{values: values}
	c := Config{Env: env}
	if !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,31}$`).MatchString(env) {
		p.fail("env", "want letters and digits starting with a letter, got %q", env)
	}
	known := append(slices.Clone(requiredKeys), optionalKeys...)
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(known, k) {
			p.fail(k, "unknown parameter (a typo?); known: %s", strings.Join(known, ", "))
		}
	}
	for _, k := range requiredKeys {
		if _, ok := values[k]; !ok {
			p.fail(k, "missing")
		}
	}

	c.Prefix = p.str("stack_name_prefix", DefaultPrefix, `^[a-z][a-z0-9-]{0,19}$`, "lower-case letters, digits and hyphens, starting with a letter, at most 20")
	c.ReviewerRoles = p.list("egress_reviewer_roles")
	for i, g := range c.ReviewerRoles {
		// Cognito group names allow no white space; a comma would split
		// the REVIEWER_GROUPS variable.
		if g == "" || strings.ContainsAny(g, ", \t\n") || len(g) > 128 {
			p.fail("egress_reviewer_roles", "group %d: want a Cognito group name without spaces or commas, got %q", i, g)
		}
	}
	if _, err := egress.NewChain(c.ReviewerRoles, false); err != nil && values["egress_reviewer_roles"] != nil {
		p.errs = append(p.errs, errors.New(egress.ErrorMessage(err))) // names the key itself
	}

	c.ApprovalStages = p.stages("approval_stages")
	if len(c.ApprovalStages) > 0 {
		c.ReviewerRoles = nil
		for _, st := range c.ApprovalStages {
			c.ReviewerRoles = append(c.ReviewerRoles, st.Group)
		}
	}

	c.SWBEgressStoreBucketARN = p.bucketARN("swb_egress_store_arn")
	c.SWBNotificationBucketARN = p.bucketARN("swb_egress_notification_bucket_arn")
	c.DatalakeBucketARN = p.bucketARN("datalake_target_bucket_arn")
	c.SWBNotificationTopicARN = p.arn("swb_egress_notification_topic", `^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$`, "an SNS topic ARN")
	c.SWBKeyARN = p.arn("swb_egress_notification_bucket_kms_arn", keyARN, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
	c.DatalakeKeyARN = p.arn("datalake_target_bucket_kms_arn", keyARN, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
	c.SWBStoreTable = p.str("swb_egress_store_db_table", "",
		`^([A-Za-z0-9_.-]{3,255}|arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255})$`, "a DynamoDB table name or table ARN")
	c.EFSMountPath = p.str("efs_mount_path", "", `^(/mnt/[A-Za-z0-9._-]+)?$`, `empty, or a path "/mnt/<name>" (Lambda mounts file systems under /mnt)`)
	// At most 42, so "<prefix>-<domain>" stays within Cognito's 63.
	c.CognitoDomain = p.str("cognito_userpool_domain", "", `^[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?$`, "lower-case letters, digits and hyphens, at most 42")
	c.MaxDownloads = p.integer("max_downloads_allowed", 0, 1, 1000)
	c.DownloadExpirySeconds = p.integer("download_expiry_seconds", 0, 1, int(config.MaxDownloadExpiry/time.Second))
	c.MaxRequestAgeDays = p.integer("max_request_age_days", 0, 0, 36500)
	c.RevokeRetentionDays = p.integer("revoke_retention_days", 0, 0, egress.MaxRetentionDays)
	c.VerifyReleaseDays = p.integer("verify_release_days", config.DefaultVerifyReleaseDays, 1, 90)
	c.LogRetentionDays = p.integer("log_retention_days", 365, 1, 3653)
	if !slices.Contains(logRetentionDays, c.LogRetentionDays) {
		p.fail("log_retention_days", "want one of CloudWatch's retention periods %v, got %d", logRetentionDays, c.LogRetentionDays)
	}
	c.AdminEmail = p.email("tre_admin_email_address", "")
	c.SenderEmail = p.email("sender_email_address", c.AdminEmail)
	c.SingleApproval = p.boolean("enable_single_approval", false)
	stages := len(c.ReviewerRoles)
	if c.SingleApproval && len(c.ApprovalStages) == 0 {
		stages = 1
	}
	// Every stage must be able to time out, and be cleaned up, within the
	// workflow's 21 days less a day for copying and release.
	maxDays := int((config.ExecutionTimeout-24*time.Hour)/(24*time.Hour)) / max(stages, 1)
	c.StageTimeoutDays = p.integer("stage_timeout_days", min(int(config.DefaultStageTimeout/(24*time.Hour)), maxDays), 1, maxDays)
	c.UseS3AccessPoints = p.boolean("use_s3_access_points", false)
	c.CreateSESIdentity = p.boolean("create_ses_identity", true)
	c.IGWorkspacesAccount = p.account("ig_workspaces_account", false)
	c.Account = p.account("account", false)
	c.Region = p.str("region", "", `^([a-z]{2}(-gov)?-[a-z]+-\d)?$`, "an AWS region such as eu-west-2")
	c.GlobalWebACLARN = p.arn("global_web_acl_arn", `^(arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/[A-Za-z0-9_-]+/[a-f0-9-]+)?$`, "empty or a CLOUDFRONT-scope WAFv2 web ACL ARN (us-east-1, global/webacl/...)")
	c.RegionalWebACLARN = p.arn("regional_web_acl_arn", `^(arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[A-Za-z0-9_-]+/[a-f0-9-]+)?$`, "empty or a REGIONAL WAFv2 web ACL ARN (regional/webacl/...)")
	c.CustomDomain = p.customDomain("custom_domain")
	c.CustomIDP = p.customIDP("custom_idp")
	c.ResourceTags = p.tags("resource_tags")
	c.ReviewerEmails = p.reviewerEmails("reviewer_email_addresses", c.ReviewerRoles)
	// A Cognito group name, as egress_reviewer_roles; not a reviewer
	// group, or its members would be reviewers and researchers at once.
	c.ResearcherGroup = p.str("researcher_group", "", `^([^\s,]{1,128})?$`, "empty, or a Cognito group name without spaces or commas")
	if c.ResearcherGroup != "" && slices.Contains(c.ReviewerRoles, c.ResearcherGroup) {
		p.fail("researcher_group", "%q is one of egress_reviewer_roles; researchers need a group of their own", c.ResearcherGroup)
	}

	c.Checks = p.checks("checks")
	c.EventBusTargets = p.eventBusTargets("event_bus_targets")
	c.WebConsole = p.choice("web_console", ConsoleBeside, ConsoleBeside, ConsoleInstead, ConsoleOff)

	for _, w := range []string{"aws", "amazon", "cognito"} {
		if c.CognitoDomain != "" && strings.Contains(c.CognitoDomainPrefix(), w) {
			p.fail("cognito_userpool_domain", "Cognito refuses domain prefixes containing %q, got %q (with the stack name prefix)", w, c.CognitoDomainPrefix())
		}
	}
	if len(p.errs) > 0 {
		return Config{}, fmt.Errorf("cdk.json context %q: %w", env, errors.Join(p.errs...))
	}
	return c, nil
}

// CognitoDomainPrefix is the hosted UI domain prefix: the configured one
// behind the stack name prefix, so two deployments in one region differ.
func (c Config) CognitoDomainPrefix() string { return c.Prefix + "-" + c.CognitoDomain }

const keyARN = `^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`

var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// contextParser reads typed values from a context map, collecting errors that name
// their key.
type contextParser struct {
	values map[string]any
	errs   []error
}

func (p *contextParser) fail(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// scalar returns the value of key as text: strings as they are, numbers
// and booleans as JSON writes them. ok is false when key is absent or null.
func (p *contextParser) scalar(key string, v any) (s string, ok bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return strings.TrimSpace(v), true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	}
	p.fail(key, "want a single value, got %T", v)
	return "", false
}

func (p *contextParser) str(key, def, pattern, want string) string {
	s, ok := p.scalar(key, p.values[key])
	if !ok {
		s = def
	}
	if !regexp.MustCompile(pattern).MatchString(s) {
		p.fail(key, "want %s, got %q", want, s)
		return ""
	}
	return s
}

func (p *contextParser) arn(key, pattern, want string) string { return p.str(key, "", pattern, want) }

// bucketARN accepts arn:aws:s3:::<bucket> with a valid bucket name.
func (p *contextParser) bucketARN(key string) string {
	return p.str(key, "", `^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`, "an S3 bucket ARN (arn:aws:s3:::<bucket>)")
}

func (p *contextParser) integer(key string, def, min, max int) int {
	s, ok := p.scalar(key, p.values[key])
	if !ok || s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) {
		p.fail(key, "want a whole number, got %q", s)
		return 0
	}
	if f < float64(min) || f > float64(max) {
		p.fail(key, "want a whole number from %d to %d, got %s", min, max, s)
		return 0
	}
	return int(f)
}

// boolean accepts JSON true/false and the strings "true"/"True"/"false"/
// "False" in any case, as the original deployment files used all of them.
func (p *contextParser) boolean(key string, def bool) bool {
	s, ok := p.scalar(key, p.values[key])
	switch {
	case !ok || s == "":
		return def
	case strings.EqualFold(s, "true"):
		return true
	case strings.EqualFold(s, "false"):
		return false
	}
	p.fail(key, "want true or false, got %q", s)
	return false
}

// choice is one of choices, in any case; def when absent or empty.
func (p *contextParser) choice(key, def string, choices ...string) string {
	s, ok := p.scalar(key, p.values[key])
	if !ok || s == "" {
		return def
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	p.fail(key, "want %s, got %q", quotedOr(choices), s)
	return ""
}

// quotedOr lists choices as "a", "b" or "c".
func quotedOr(choices []string) string {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = strconv.Quote(c)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func (p *contextParser) email(key, def string) string {
	s, ok := p.scalar(key, p.values[key])
	if !ok || s == "" {
		return def
	}
	if !validEmail(s) {
		p.fail(key, "want an e-mail address, got %q", s)
		return ""
	}
	return s
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func (p *contextParser) account(key string, required bool) string {
	s, ok := p.scalar(key, p.values[key])
	if (!ok || s == "") && !required {
		return ""
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(s) {
		p.fail(key, "want a 12-digit AWS account id as a string, got %q", s)
		return ""
	}
	return s
}

// stages reads approval_stages: a list of {name, group, reviewers,
// reminder_after_hours, max_reminders} objects, validated as a chain.
func (p *contextParser) stages(key string) []egress.StageSpec {
	v, ok := p.values[key].([]any)
	if !ok {
		if p.values[key] != nil {
			p.fail(key, "want a list of {name, group, reviewers} objects, got %T", p.values[key])
		}
		return nil
	}
	fields := []string{"name", "group", "reviewers", "reminder_after_hours", "max_reminders"}
	var specs []egress.StageSpec
	for i, e := range v {
		m, ok := e.(map[string]any)
		if !ok {
			p.fail(key, "item %d: want an object, got %T", i, e)
			continue
		}
		sub := &contextParser{values: m}
		name := sub.str("name", "", `^[A-Za-z0-9][A-Za-z0-9 _-]{0,31}$`, "letters, digits, spaces, _ or -, at most 32")
		group := sub.str("group", "", `^[^\s,]{1,128}$`, "a Cognito group name without spaces or commas")
		specs = append(specs, egress.StageSpec{
			Name: name, Group: group,
			Reviewers:          sub.integer("reviewers", 1, 1, 2),
			ReminderAfterHours: sub.integer("reminder_after_hours", 0, 0, 24*30),
			MaxReminders:       sub.integer("max_reminders", 0, 0, 100),
		})
		p.nested(fmt.Sprintf("%s[%d]", key, i), sub, fields)
	}
	if _, err := egress.NewChainFromSpecs(specs); err != nil && len(p.errs) == 0 {
		p.errs = append(p.errs, errors.New(egress.ErrorMessage(err))) // names the key itself
	}
	return specs
}

// list accepts a JSON array of strings or one comma-separated string.
func (p *contextParser) list(key string) []string {
	switch v := p.values[key].(type) {
	case nil:
		return nil
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(s))
		}
		return out
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				p.fail(key, "item %d: want a string, got %T", i, e)
				continue
			}
			out = append(out, strings.TrimSpace(s))
		}
		return out
	default:
		p.fail(key, "want a list of strings, got %T", v)
		return nil
	}
}

// eventBusTargetPattern is an event bus ARN: the bus of another account
// (or region) that receives the stack's events.
var eventBusTargetPattern = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:event-bus/[A-Za-z0-9._/-]{1,256}$`)

// eventBusTargets is the list of event bus ARNs at key, each once.
func (p *contextParser) eventBusTargets(key string) []string {
	arns := p.list(key)
	for i, a := range arns {
		switch {
		case !eventBusTargetPattern.MatchString(a):
			p.fail(key, "item %d: want an EventBridge event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>), got %q", i, a)
		case slices.Contains(arns[:i], a):
			p.fail(key, "item %d: %s is listed twice", i, a)
		}
	}
	// EventBridge allows at most 5 targets per rule.
	if len(arns) > 5 {
		p.fail(key, "at most 5 buses, got %d", len(arns))
	}
	return arns
}

// object returns the JSON object at key as a parser whose errors carry the
// key as a prefix; nil when absent.
func (p *contextParser) object(key string) *contextParser {
	switch v := p.values[key].(type) {
	case nil:
		return nil
	case map[string]any:
		return &contextParser{values: v}
	default:
		p.fail(key, "want an object, got %T", v)
		return nil
	}
}

func (p *contextParser) nested(key string, sub *contextParser, fields []string) {
	for _, k := range slices.Sorted(maps.Keys(sub.values)) {
		if !slices.Contains(fields, k) {
			sub.fail(k, "unknown field; known: %s", strings.Join(fields, ", "))
		}
	}
	for _, err := range sub.errs {
		p.errs = append(p.errs, fmt.Errorf("%s.%w", key, err))
	}
}

// maxChecksJSON bounds checks as JSON: Lambda allows 4 KB of environment
// variables per function, shared with the others (the defaults take 0.5 KB).
const maxChecksJSON = 2048

// checks reads checks: an object of egress.CheckSettings fields, typed as
// JSON types them (numbers as numbers), validated, defaults filled in.
func (p *contextParser) checks(key string) egress.CheckSettings {
	v := p.values[key]
	if _, ok := v.(map[string]any); v != nil && !ok {
		p.fail(key, "want an object of check settings, got %T", v)
		return egress.CheckSettings{}
	}
	text := ""
	if v != nil {
		b, _ := json.Marshal(v) // decoded from JSON: cannot fail
		text = string(b)
	}
	cs, err := config.ParseChecks(text)
	switch {
	case err != nil && strings.HasPrefix(err.Error(), key+"."):
		p.errs = append(p.errs, err) // Validate names the field itself
		return egress.CheckSettings{}
	case err != nil:
		p.fail(key, "%v", err)
		return egress.CheckSettings{}
	}
	if b, _ := json.Marshal(cs); len(b) > maxChecksJSON {
		p.fail(key, "%d bytes as JSON with the defaults filled in, more than the %d a Lambda environment variable may take here; shorten the extension or count_columns lists",
			len(b), maxChecksJSON)
	}
	return cs
}

func (p *contextParser) customDomain(key string) CustomDomain {
	sub := p.object(key)
	if sub == nil {
		return CustomDomain{}
	}
	d := CustomDomain{Enabled: sub.boolean("is_enabled", false)}
	if d.Enabled {
		d.DomainName = sub.str("domain_name", "", `^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`, "a lower-case DNS name")
		d.HostedZoneName = strings.TrimSuffix(sub.str("hosted_zone_name", "", `^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$`, "a lower-case DNS zone name"), ".")
		d.HostedZoneID = sub.str("hosted_zone_id", "", `^Z[A-Z0-9]{1,31}$`, "a Route 53 hosted zone id")
		// Amplify Hosting and the Cognito hosted UI are served by
		// CloudFront, which takes certificates from us-east-1 only.
		d.CertARN = sub.str("cert_arn", "", `^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[a-f0-9-]+$`, "an ACM certificate ARN in us-east-1")
		if d.DomainName != "" && d.HostedZoneName != "" && !strings.HasSuffix(d.DomainName, "."+d.HostedZoneName) {
			sub.fail("domain_name", "%q is not a sub-domain of hosted_zone_name %q", d.DomainName, d.HostedZoneName)
		}
	}
	p.nested(key, sub, []string{"is_enabled", "domain_name", "cert_arn", "hosted_zone_id", "hosted_zone_name"})
	return d
}

func (p *contextParser) customIDP(key string) CustomIDP {
	sub := p.object(key)
	if sub == nil {
		return CustomIDP{}
	}
	idp := CustomIDP{Enabled: sub.boolean("is_enabled", false)}
	if idp.Enabled {
		idp.Name = sub.str("name", "", `^[A-Za-z0-9][A-Za-z0-9.-]{0,30}[A-Za-z0-9]$`, "2 to 32 letters, digits, dots or hyphens")
		if u := sub.str("metadata_url", "", `^https://\S+$`, "an https URL of the SAML metadata"); u != "" {
			if _, err := url.Parse(u); err != nil {
				sub.fail("metadata_url", "want an https URL: %v", err)
			}
			idp.MetadataURL = u
		}
		idp.GroupsAttribute = sub.str("groups_attribute", DefaultGroupsAttribute, `^\S{1,256}$`, "a SAML attribute name")
	}
	p.nested(key, sub, []string{"is_enabled", "name", "metadata_url", "groups_attribute"})
	return idp
}

func (p *contextParser) tags(key string) map[string]string {
	sub := p.object(key)
	if sub == nil {
		return nil
	}
	tags := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(sub.values)) {
		v, _ := sub.scalar(k, sub.values[k])
		switch {
		case k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:"):
			sub.fail(k, "want a tag key of 1 to 128 characters not starting with aws:")
		case len(v) > 256:
			sub.fail(k, "tag value longer than 256 characters")
		default:
			tags[k] = v
		}
	}
	for _, err := range sub.errs {
		p.errs = append(p.errs, fmt.Errorf("%s.%w", key, err))
	}
	return tags
}

func (p *contextParser) reviewerEmails(key string, groups []string) map[string][]string {
	sub := p.object(key)
	if sub == nil {
		return nil
	}
	out := map[string][]string{}
	for _, g := range slices.Sorted(maps.Keys(sub.values)) {
		if !slices.Contains(groups, g) {
			sub.fail(g, "not one of egress_reviewer_roles %v", groups)
			continue
		}
		for i, a := range sub.list(g) {
			if !validEmail(a) {
				sub.fail(g, "item %d: want an e-mail address, got %q", i, a)
				continue
			}
			out[g] = append(out[g], a)
		}
	}
	for _, err := range sub.errs {
		p.errs = append(p.errs, fmt.Errorf("%s.%w", key, err))
	}
	return out
}
