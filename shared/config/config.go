// Package config reads a function's settings from its environment, the
// way the CDK app and the local stack set them, with errors that name the
// variable at fault.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/egress"
)

// Environment variable names shared by infra, the local stack and handlers.
const (
	EnvRequestsTable       = "REQUESTS_TABLE"
	EnvEventsTable         = "EVENTS_TABLE"
	EnvSWBStoreTable       = "SWB_EGRESS_STORE_TABLE"
	EnvStagingBucket       = "STAGING_BUCKET"
	EnvDatalakeBucket      = "DATALAKE_BUCKET"
	EnvStateMachineArn     = "STATE_MACHINE_ARN"
	EnvReviewerGroups      = "REVIEWER_GROUPS" // comma-separated, stage order (egress_reviewer_roles)
	EnvSingleApproval      = "SINGLE_APPROVAL" // enable_single_approval
	EnvApprovalStages      = "APPROVAL_STAGES" // JSON [egress.StageSpec, ...] (approval_stages); overrides the two above
	EnvStageTimeout        = "STAGE_TIMEOUT_SECONDS"
	EnvFromEmail           = "FROM_EMAIL"
	EnvAdminEmail          = "TRE_ADMIN_EMAIL" // tre_admin_email_address
	EnvReviewerEmails      = "REVIEWER_EMAILS" // JSON {"group": ["a@x", ...]}
	EnvReviewerTopics      = "REVIEWER_TOPICS" // JSON {"group": "SNS topic ARN"}: each stage's notice topic
	EnvUserPoolID          = "USER_POOL_ID"    // the reviewers' Cognito user pool: groups' members are e-mailed
	EnvWebAppURL           = "WEB_APP_URL"     // deep links in e-mails
	EnvMaxDownloads        = "MAX_DOWNLOADS"   // max_downloads_allowed
	EnvDownloadExpiry      = "DOWNLOAD_EXPIRY_SECONDS"
	EnvMaxRequestAgeDays   = "MAX_REQUEST_AGE_DAYS"
	EnvRevokeRetentionDays = "REVOKE_RETENTION_DAYS" // revoke_retention_days: keep a revoked zip's versions, hidden
	EnvNoticesTopic        = "NOTICES_TOPIC_ARN"     // the internal topic the notify function is subscribed to
	EnvEventBus            = "EVENT_BUS_NAME"        // the stack's EventBridge bus, where publish-events puts status changes
	EnvCopyConcurrency     = "COPY_CONCURRENCY"
	EnvMultipartThreshold  = "MULTIPART_THRESHOLD_BYTES"
	EnvSESConfigurationSet = "SES_CONFIGURATION_SET"
	EnvS3PathStyle         = "S3_PATH_STYLE"           // local S3-compatible servers
	EnvEFSMountPath        = "EFS_MOUNT_PATH"          // efs_mount_path: build zips there instead of streaming
	EnvSWBStoreBucket      = "SWB_EGRESS_STORE_BUCKET" // the only bucket a submission may name
	EnvSWBListBucket       = "SWB_NOTIFICATION_BUCKET" // the only bucket an object list may be in
	EnvResearcherGroup     = "RESEARCHER_GROUP"        // researcher_group: may read its members' own requests; "" for none
	EnvChecks              = "CHECKS"                  // JSON egress.CheckSettings (cdk.json checks): the automated checks
	EnvStackName           = "STACK_NAME"              // the metrics' Stack dimension
	EnvVerifyReleaseDays   = "VERIFY_RELEASE_DAYS"     // verify_release_days: verify-releases re-reads the releases of that many days
)

// Config is every setting a function may need; each function checks the
// ones it uses with Require.
type Config struct {
	RequestsTable       string
	EventsTable         string
	SWBStoreTable       string
	StagingBucket       string
	DatalakeBucket      string
	StateMachineArn     string
	ReviewerGroups      []string
	SingleApproval      bool
	ApprovalStages      []egress.StageSpec
	StageTimeout        time.Duration
	FromEmail           string
	AdminEmail          string
	ReviewerEmails      map[string][]string
	ReviewerTopics      map[string]string
	UserPoolID          string
	WebAppURL           string
	MaxDownloads        int
	DownloadExpiry      time.Duration
	MaxRequestAgeDays   int
	RevokeRetentionDays int
	NoticesTopic        string
	EventBus            string
	CopyConcurrency     int
	MultipartThreshold  int64
	SESConfigurationSet string
	S3PathStyle         bool
	EFSMountPath        string
	SWBStoreBucket      string
	SWBListBucket       string
	ResearcherGroup     string
	StackName           string
	VerifyReleaseDays   int
	// Checks are the automated checks' settings with every default
	// filled in; unset, the defaults (egress.CheckSettings.WithDefaults).
	Checks egress.CheckSettings
}

// Defaults as in the original deployment.
const (
	// ExecutionTimeout is the state machine's TimeoutSeconds (21 days, as
	// the original). An execution timeout cannot be caught, so every stage
	// must time out, and be cleaned up, well before it.
	ExecutionTimeout = 21 * 24 * time.Hour
	// DefaultStageTimeout lets two stages time out within ExecutionTimeout
	// with a day to spare for copying and release.
	DefaultStageTimeout   = 10 * 24 * time.Hour
	DefaultMaxDownloads   = 3
	DefaultDownloadExpiry = 5 * time.Minute
	// DefaultCopyConcurrency is how many copies run at a time: a small
	// copy is one call that waits on S3 for tens of milliseconds and
	// costs the function little else (the checks cap their own number,
	// workflow.MaxCheckConcurrency).
	DefaultCopyConcurrency    = 32
	DefaultMultipartThreshold = 5 << 30 // CopyObject's one-call limit
	DefaultVerifyReleaseDays  = 7
	// MaxDownloadExpiry bounds a download link's life: whoever holds a
	// link can download until it expires, past the download limit too.
	MaxDownloadExpiry = time.Hour
)

// FromEnv reads the configuration through getenv (os.Getenv in Lambda).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		RequestsTable:       getenv(EnvRequestsTable),
		EventsTable:         getenv(EnvEventsTable),
		SWBStoreTable:       getenv(EnvSWBStoreTable),
		StagingBucket:       getenv(EnvStagingBucket),
		DatalakeBucket:      getenv(EnvDatalakeBucket),
		StateMachineArn:     getenv(EnvStateMachineArn),
		FromEmail:           getenv(EnvFromEmail),
		AdminEmail:          getenv(EnvAdminEmail),
		WebAppURL:           strings.TrimRight(getenv(EnvWebAppURL), "/"),
		SESConfigurationSet: getenv(EnvSESConfigurationSet),
		StackName:           getenv(EnvStackName),
		EFSMountPath:        getenv(EnvEFSMountPath),
		SWBStoreBucket:      getenv(EnvSWBStoreBucket),
		SWBListBucket:       getenv(EnvSWBListBucket),
		UserPoolID:          getenv(EnvUserPoolID),
		NoticesTopic:        getenv(EnvNoticesTopic),
		EventBus:            getenv(EnvEventBus),
		ResearcherGroup:     strings.TrimSpace(getenv(EnvResearcherGroup)),
		ReviewerGroups:      []string{egress.GroupIG, egress.GroupRIT},
	}
	var errs []error
	if v := getenv(EnvReviewerGroups); v != "" {
		c.ReviewerGroups = nil
		for _, g := range strings.Split(v, ",") {
			c.ReviewerGroups = append(c.ReviewerGroups, strings.TrimSpace(g))
		}
	}
	if v := getenv(EnvApprovalStages); v != "" {
		if err := json.Unmarshal([]byte(v), &c.ApprovalStages); err != nil {
			errs = append(errs, fmt.Errorf("%s: want JSON [{\"name\", \"group\", \"reviewers\"}, ...]: %w", EnvApprovalStages, err))
		} else if len(c.ApprovalStages) > 0 {
			// Every stage's group reads requests and decides.
			c.ReviewerGroups = nil
			for _, st := range c.ApprovalStages {
				c.ReviewerGroups = append(c.ReviewerGroups, strings.TrimSpace(st.Group))
			}
		}
	}
	var err error
	if c.Checks, err = ParseChecks(getenv(EnvChecks)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvChecks, err))
	}
	if c.SingleApproval, err = Bool(getenv(EnvSingleApproval), false); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvSingleApproval, err))
	}
	if c.S3PathStyle, err = Bool(getenv(EnvS3PathStyle), false); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvS3PathStyle, err))
	}
	seconds := func(name string, def time.Duration) time.Duration {
		n, err := Int(getenv(name), int(def/time.Second), 1)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return time.Duration(n) * time.Second
	}
	c.StageTimeout = seconds(EnvStageTimeout, DefaultStageTimeout)
	c.DownloadExpiry = seconds(EnvDownloadExpiry, DefaultDownloadExpiry)
	if c.DownloadExpiry > MaxDownloadExpiry {
		errs = append(errs, fmt.Errorf("%s: download links live at most %d seconds, got %d",
			EnvDownloadExpiry, int(MaxDownloadExpiry/time.Second), int(c.DownloadExpiry/time.Second)))
	}
	integer := func(name string, def, min int) int {
		n, err := Int(getenv(name), def, min)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return n
	}
	c.MaxDownloads = integer(EnvMaxDownloads, DefaultMaxDownloads, 1)
	c.MaxRequestAgeDays = integer(EnvMaxRequestAgeDays, 0, 0)
	c.VerifyReleaseDays = integer(EnvVerifyReleaseDays, DefaultVerifyReleaseDays, 1)
	if c.RevokeRetentionDays = integer(EnvRevokeRetentionDays, 0, 0); c.RevokeRetentionDays > egress.MaxRetentionDays {
		errs = append(errs, fmt.Errorf("%s: at most %d days, got %d", EnvRevokeRetentionDays, egress.MaxRetentionDays, c.RevokeRetentionDays))
	}
	if c.NoticesTopic != "" && !isTopicARN(c.NoticesTopic) {
		errs = append(errs, fmt.Errorf("%s: %q is not an SNS topic ARN", EnvNoticesTopic, c.NoticesTopic))
	}
	c.CopyConcurrency = integer(EnvCopyConcurrency, DefaultCopyConcurrency, 1)
	c.MultipartThreshold = int64(integer(EnvMultipartThreshold, DefaultMultipartThreshold, 5<<20))
	if v := getenv(EnvReviewerEmails); v != "" {
		if err := json.Unmarshal([]byte(v), &c.ReviewerEmails); err != nil {
			errs = append(errs, fmt.Errorf("%s: want JSON {\"group\": [\"address\"]}: %w", EnvReviewerEmails, err))
		}
	}
	if v := getenv(EnvReviewerTopics); v != "" {
		if err := json.Unmarshal([]byte(v), &c.ReviewerTopics); err != nil {
			errs = append(errs, fmt.Errorf("%s: want JSON {\"group\": \"topic ARN\"}: %w", EnvReviewerTopics, err))
		}
		for _, g := range slices.Sorted(maps.Keys(c.ReviewerTopics)) {
			if arn := c.ReviewerTopics[g]; !isTopicARN(arn) {
				errs = append(errs, fmt.Errorf("%s: group %q: %q is not an SNS topic ARN", EnvReviewerTopics, g, arn))
			}
		}
	}
	if c.ResearcherGroup != "" && slices.Contains(c.ReviewerGroups, c.ResearcherGroup) {
		errs = append(errs, fmt.Errorf("%s: %q is a reviewer group; researchers need a group of their own", EnvResearcherGroup, c.ResearcherGroup))
	}
	if chain, err := c.Chain(); err == nil && getenv(EnvStageTimeout) == "" {
		// The default shrinks so that a long chain still times out cleanly.
		c.StageTimeout = min(DefaultStageTimeout, (ExecutionTimeout-24*time.Hour)/time.Duration(len(chain.Stages)))
	}
	if chain, err := c.Chain(); err != nil {
		name := EnvReviewerGroups
		if len(c.ApprovalStages) > 0 {
			name = EnvApprovalStages
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	} else if n := time.Duration(len(chain.Stages)); n*c.StageTimeout > ExecutionTimeout-24*time.Hour {
		errs = append(errs, fmt.Errorf("%s: %d stages of %s exceed the workflow's %s limit less a day for copying and release; a stage would never time out cleanly",
			EnvStageTimeout, n, c.StageTimeout, ExecutionTimeout))
	}
	return c, errors.Join(errs...)
}

// ParseChecks reads check settings as JSON (cdk.json's checks object, the
// CHECKS variable): unknown fields and values out of range are errors, and
// unset fields take their defaults. "" is all defaults.
func ParseChecks(s string) (egress.CheckSettings, error) {
	var cs egress.CheckSettings
	if strings.TrimSpace(s) != "" {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cs); err != nil {
			return egress.CheckSettings{}, fmt.Errorf("want a JSON object of check settings: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		if dec.More() {
			return egress.CheckSettings{}, errors.New("want one JSON object of check settings, got more")
		}
	}
	if err := cs.Validate(); err != nil {
		return egress.CheckSettings{}, errors.New(egress.ErrorMessage(err))
	}
	return cs.WithDefaults(), nil
}

// isTopicARN reports whether s looks like arn:<partition>:sns:<region>:<account>:<name>.
func isTopicARN(s string) bool {
	f := strings.Split(s, ":")
	return len(f) == 6 && f[0] == "arn" && f[1] != "" && f[2] == "sns" && f[3] != "" && f[4] != "" && f[5] != ""
}

// Chain is the approval chain the configuration describes.
//
// approval_stages, when set, is the chain; otherwise the reviewer groups
// with enable_single_approval as shorthand.
func (c Config) Chain() (egress.Chain, error) {
	if len(c.ApprovalStages) > 0 {
		return egress.NewChainFromSpecs(c.ApprovalStages)
	}
	return egress.NewChain(c.ReviewerGroups, c.SingleApproval)
}

// Require returns an error naming every listed variable that is empty.
func Require(getenv func(string) string, names ...string) error {
	var missing []string
	for _, n := range names {
		if strings.TrimSpace(getenv(n)) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	return nil
}

// Bool accepts true/"true"/"True"/"TRUE"/"1" and their false forms; empty
// means def. CDK context may hand any of these over.
func Bool(s string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", s)
}

// Int parses a whole number ≥ min; empty means def.
func Int(s string, def, min int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("want a whole number, got %q", s)
	}
	if n < min {
		return 0, fmt.Errorf("want at least %d, got %d", min, n)
	}
	return n, nil
}
