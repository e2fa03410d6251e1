// Package local is the embedded stack: everything egress needs, running on
// one machine. MinIO and DynamoDB Local (installed by the Makefile) serve S3
// and DynamoDB; the local Step Functions engine runs
// statemachine/egress.asl.json with its Lambda tasks dispatched in-process
// to the real handlers; an SNS topic delivers SWB messages to the intake
// handler and one topic per reviewer group writes its notices to the
// outbox; an SES sink writes e-mails as .eml files; a small user directory
// answers Cognito's ListUsersInGroup. Handlers reach all of it through the
// ordinary AWS SDK with endpoint overrides.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/local/iam"
	"github.com/tre-egress/egress/local/servers"
	"github.com/tre-egress/egress/local/sfn"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/apiapp"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/allservices"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/lambdamain"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/stepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
	"github.com/tre-egress/egress/statemachine"
)

// Fixed names of the local resources.
const (
	Region             = "us-east-1"
	Account            = "000000000000"
	SWBStoreBucket     = "swb-egress-store"
	NotificationBucket = "swb-egress-notification"
	StagingBucket      = "egress-staging"
	DatalakeBucket     = "egress-datalake"
	RequestsTable      = "egress-requests"
	EventsTable        = "egress-request-events"
	SWBStoreTable      = "swb-egress-store"
	StateMachineName   = "egress"
	TopicArn           = "arn:aws:sns:" + Region + ":" + Account + ":swb-egress-notification"
	NoticesTopicArn    = "arn:aws:sns:" + Region + ":" + Account + ":egress-notices" // the API's notices to notify
	AdminEmail         = "tre-admin@example.org"
	FromEmail          = "tre-admin@example.org" // the Sample context's sender, which the roles may send as
	// ResearcherGroup is the local researcher_group, whose member
	// SampleResearcher reads their own requests.
	ResearcherGroup = "Researcher"
)

// Options configure a Stack.
type Options struct {
	Addr           string    // front endpoint (Step Functions, SNS, SES, Cognito, GraphQL); default a free port
	Dir            string    // data: MinIO files and the e-mail outbox; default a temp dir removed on Close
	Clock          sfn.Clock // default the real clock
	SingleApproval bool      // enable_single_approval
	// Stages, when set, is approval_stages: the chain, any length.
	Stages         []egress.StageSpec
	StageTimeout   time.Duration // default 21 days
	MaxDownloads   int           // default 3
	DownloadExpiry time.Duration // default 5 minutes
	// RevokeRetentionDays keeps a revoked zip's versions, hidden, that
	// many days (revoke_retention_days); 0 deletes them at once.
	RevokeRetentionDays int
	// Fail, when set, is asked before every Lambda task and every
	// execution-ended invocation; a non-nil error fails it (fault
	// injection for tests).
	Fail func(function string, payload json.RawMessage) error
	// FailCall, when set, is asked before every AWS call of a function
	// that its role allows; a non-nil error fails the call. It may also
	// act meanwhile as another party would, say delete the version the
	// call is about to copy (fault injection for tests, within a task).
	FailCall func(ctx context.Context, c Call) error
	// RetryBackoff, when set, is the functions' SDK retryers' wait
	// between attempts instead of the SDK's exponential jitter (up to
	// 20s), and the state machine's retries (FULL jitter) wait none, so
	// fault-injection tests run in seconds; the attempts and what is
	// retried stay the SDK's and the definition's.
	RetryBackoff time.Duration
	// MultipartThreshold is the size above which the functions copy an
	// object in parts (config.EnvMultipartThreshold, at least 5 MiB);
	// 0 means the default, 5 GiB.
	MultipartThreshold int64
	// SNSDeliveries is how many copies of each published message the
	// topic delivers at once (SNS delivers at least once); 0 means 1.
	SNSDeliveries int
	Logger        *slog.Logger
	// Authorizer checks every AWS call of the functions against their
	// roles; default SharedAuthorizer(), the golden template's.
	Authorizer *iam.Authorizer
	// Checks are the automated checks' settings (cdk.json "checks"); nil
	// takes the defaults. Unless they name another engine (or a clamd of
	// their own), files are scanned by a clamd the stack starts with the
	// machine's signature databases and its own EICAR signature; without
	// clamd installed, every file carries a "not scanned" warning saying
	// how to install it.
	Checks *egress.CheckSettings
	// ClamdOwnSignaturesOnly starts that clamd with the EICAR signature
	// alone: well under a second instead of tens (tests).
	ClamdOwnSignaturesOnly bool
	// WithoutClamd acts as if clamd were not installed (to see, or test,
	// what a machine without it reports).
	WithoutClamd bool
	// ReleaseBudget, when set, is how long one copy-to-datalake invocation
	// writes the zip before it saves its progress and the state machine
	// calls it again (workflow.Settings.ReleaseBudget): a nanosecond makes
	// every invocation write one block, one small file.
	ReleaseBudget time.Duration
	// CopyBudget, when set, is how long one copy-to-staging invocation
	// starts copies before it saves the files copied so far and the state
	// machine calls it again (workflow.Settings.CopyBudget); each
	// invocation then copies one file at a time, so a nanosecond makes
	// every invocation copy one file.
	CopyBudget time.Duration
	// Schedules runs the scheduled functions (send-reminders) every
	// Schedule of Clock, as the deployed stack's EventBridge rules do. Off
	// by default, so a test's FakeClock holds only the timers it expects;
	// tests call Stack.SendReminders instead.
	Schedules bool
	// WebDist is the built reviewer console served at / (make web);
	// default DefaultWebDist(). Without index.html there, / answers 503.
	WebDist string
	// PollEvents reads the audit events table's stream every half second
	// and publishes what it holds, as Lambda's event source does. Off by
	// default: tests read the events with Stack.Events, which publishes
	// what the stream holds first.
	PollEvents bool
}

// chain is the approval chain the options configure.
func (o Options) chain() (egress.Chain, error) {
	if len(o.Stages) > 0 {
		return egress.NewChainFromSpecs(o.Stages)
	}
	return egress.DefaultChain(o.SingleApproval), nil
}

// Stack is a running embedded stack.
type Stack struct {
	URL             string // front endpoint
	S3              *servers.S3Server
	DynamoDB        *servers.DynamoDBServer
	Engine          *sfn.Engine
	Outbox          *SESSink
	Bus             *EventBus         // the stack's EventBridge bus: its events also in Bus.Path(), one JSON line each
	Directory       *Directory        // the reviewers' user pool
	ReviewerTopics  map[string]string // each reviewer group's topic
	Clients         allservices.Clients
	Config          config.Config
	API             *api.Service
	Requests        *requests.Table
	Objects         *objects.Client
	StateMachineArn string
	Dir             string

	opts    Options
	server  *http.Server
	tempDir bool
	closers []func() error
	wg      sync.WaitGroup

	checks     egress.CheckSettings // the functions' CHECKS
	notScanned string               // why files are not scanned, when clamd is missing
	scanner    string               // the malware engine, for people

	tasks       map[string]task                // by function name: every workflow function
	eventSource *eventSource                   // publish-events' stream (stream.go)
	auth        *iam.Authorizer                // the functions' roles
	fnClients   map[string]allservices.Clients // by function name: its clients, acting as it (identity.go)

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced after every task, to wake waiters
	fail       func(function string, payload json.RawMessage) error
	failCall   func(ctx context.Context, c Call) error
	faults     *faultInjector // SetFaults (faults.go)
	deliveries int
	ended      map[string]chan struct{} // by execution ARN: closed once its final status is handled

	usage     ledger      // what the functions spent (usage.go)
	responses responseLog // the front endpoint's error answers (APIErrors)
}

// task is a workflow function as its Lambda main builds it: its row, and
// handlers over only the clients and the variables the row lists.
type task struct {
	fn       functions.Function
	handlers *workflow.Handlers
}

// SetFail replaces Options.Fail while the stack runs (tests inject faults
// into one stack instead of starting many).
func (s *Stack) SetFail(f func(function string, payload json.RawMessage) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// SetFailCall replaces Options.FailCall while the stack runs.
func (s *Stack) SetFailCall(f func(ctx context.Context, c Call) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCall = f
}

// SetSNSDeliveries replaces Options.SNSDeliveries while the stack runs.
func (s *Stack) SetSNSDeliveries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = n
}

// Start brings the whole stack up and creates its buckets and tables.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.Clock == nil {
		opts.Clock = sfn.RealClock{}
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	// The front endpoint has no authentication of its own (Step Functions
	// hands out task tokens, /local/endpoints the S3 keys): loopback only.
	if host, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--addr %q: the local stack listens on loopback addresses only", addr)
	}
	st := &Stack{opts: opts, Dir: opts.Dir, fail: opts.Fail, failCall: opts.FailCall, deliveries: opts.SNSDeliveries, ended: map[string]chan struct{}{}}
	s = st
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "egress-local-"); err != nil {
			return nil, err
		}
		s.tempDir = true
	}
	if s.S3, err = servers.StartS3(ctx, filepath.Join(s.Dir, "s3")); err != nil {
		return nil, fmt.Errorf("start S3: %w", err)
	}
	s.closers = append(s.closers, s.S3.Close)
	if s.DynamoDB, err = servers.StartDynamoDB(ctx); err != nil {
		return nil, fmt.Errorf("start DynamoDB: %w", err)
	}
	s.closers = append(s.closers, s.DynamoDB.Close)
	if s.Outbox, err = NewSESSink(filepath.Join(s.Dir, "outbox"), opts.Clock.Now); err != nil {
		return nil, err
	}

	if s.Bus, err = NewEventBus(EventBusName, filepath.Join(s.Dir, "events.jsonl"), opts.Clock.Now); err != nil {
		return nil, err
	}

	if err := s.startScanner(ctx); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s.URL = "http://" + ln.Addr().String()

	if err := s.identities(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	if err := s.wire(); err != nil {
		ln.Close()
		return nil, err
	}
	s.closers = append(s.closers, engines.track(s.Engine))
	s.server = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.server.Serve(ln)
	}()
	if err := s.provision(ctx); err != nil {
		return nil, err
	}
	if opts.PollEvents {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { defer close(done); s.pollEvents(stop) }()
		s.closers = append(s.closers, func() error { close(stop); <-done; return nil })
	}
	if opts.Schedules {
		// Stopped first on Close, while the servers still answer.
		stop := s.startSchedules()
		s.closers = append(s.closers, func() error { stop(); return nil })
	}
	return s, nil
}

func (s *Stack) awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "localsecret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// wire builds the clients, handlers, engine and API exactly as the Lambda
// functions do, with endpoints pointing here.
func (s *Stack) wire() error {
	s.Clients = allservices.Clients{
		S3:       s.S3.Client(),
		DynamoDB: s.DynamoDB.Client(),
		SFN:      awssfn.NewFromConfig(s.awsConfig(s.URL)),
		SES:      sesv2.NewFromConfig(s.awsConfig(s.URL)),
		SNS:      sns.NewFromConfig(s.awsConfig(s.URL)),
		Cognito:  cognitoidentityprovider.NewFromConfig(s.awsConfig(s.URL)),
	}
	s.StateMachineArn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", Region, Account, StateMachineName)
	// The original cdk.json's shape: no reviewer addresses configured, so
	// reviewers are told through their group's topic and the group's
	// members in the user pool.
	chain, err := s.opts.chain()
	if err != nil {
		return err
	}
	groups := egress.DefaultReviewerGroups()
	for _, g := range chain.Groups() {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	s.ReviewerTopics = map[string]string{}
	for _, g := range groups {
		s.ReviewerTopics[g] = ReviewerTopicArn(g)
	}
	topics, err := json.Marshal(s.ReviewerTopics)
	if err != nil {
		return err
	}
	s.Directory = &Directory{PoolID: UserPoolID, Groups: append(slices.Clone(groups), ResearcherGroup),
		Users: append(DirectoryUsers(chain, groups), DirectoryUser{User: PoolUser(SampleResearcher)}), Created: s.opts.Clock.Now()}
	env := map[string]string{
		config.EnvRequestsTable:       RequestsTable,
		config.EnvEventsTable:         EventsTable,
		config.EnvSWBStoreTable:       SWBStoreTable,
		config.EnvStagingBucket:       StagingBucket,
		config.EnvDatalakeBucket:      DatalakeBucket,
		config.EnvStateMachineArn:     s.StateMachineArn,
		config.EnvFromEmail:           FromEmail,
		config.EnvAdminEmail:          AdminEmail,
		config.EnvWebAppURL:           s.URL,
		config.EnvSingleApproval:      fmt.Sprint(s.opts.SingleApproval),
		config.EnvReviewerTopics:      string(topics),
		config.EnvUserPoolID:          UserPoolID,
		config.EnvSESConfigurationSet: ConfigurationSet,
		config.EnvS3PathStyle:         "true",
		config.EnvSWBStoreBucket:      SWBStoreBucket,
		config.EnvSWBListBucket:       NotificationBucket,
		config.EnvNoticesTopic:        NoticesTopicArn,
		config.EnvRevokeRetentionDays: fmt.Sprint(s.opts.RevokeRetentionDays),
		config.EnvResearcherGroup:     ResearcherGroup,
		config.EnvStackName:           StackName,
		config.EnvEventBus:            EventBusName,
	}
	checksJSON, err := json.Marshal(s.checks)
	if err != nil {
		return err
	}
	env[config.EnvChecks] = string(checksJSON)
	if len(s.opts.Stages) > 0 {
		stages, err := json.Marshal(s.opts.Stages)
		if err != nil {
			return err
		}
		env[config.EnvApprovalStages] = string(stages)
		env[config.EnvReviewerGroups] = strings.Join(chain.Groups(), ",")
	}
	if s.opts.StageTimeout > 0 {
		env[config.EnvStageTimeout] = fmt.Sprint(int(s.opts.StageTimeout.Seconds()))
	}
	if s.opts.MaxDownloads > 0 {
		env[config.EnvMaxDownloads] = fmt.Sprint(s.opts.MaxDownloads)
	}
	if s.opts.MultipartThreshold > 0 {
		env[config.EnvMultipartThreshold] = fmt.Sprint(s.opts.MultipartThreshold)
	}
	if s.opts.DownloadExpiry > 0 {
		env[config.EnvDownloadExpiry] = fmt.Sprint(int(s.opts.DownloadExpiry.Seconds()))
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	s.Config = cfg
	s.Requests = requests.NewTable(s.Clients.DynamoDB, RequestsTable, EventsTable)
	s.Objects = objects.New(s.Clients.S3)
	// Each function sees only the variables and clients its row lists, as
	// in Lambda, so a row that misses one fails here too.
	getenv := func(fn functions.Function) func(string) string {
		return func(k string) string {
			if fn.Reads(k) {
				return env[k]
			}
			return ""
		}
	}
	s.tasks = map[string]task{}
	for _, fn := range functions.All() {
		if fn.Handler == "" {
			continue
		}
		fnCfg, err := lambdamain.Config(fn, getenv(fn))
		if err != nil {
			return err
		}
		h, err := allservices.Handlers(fnCfg, s.clientsOf(fn), s.opts.Logger)
		if err != nil {
			return err
		}
		h.Now = s.opts.Clock.Now
		s.observeMetrics(fn, fnCfg.StackName, h)
		h.Settings.ReleaseBudget = s.opts.ReleaseBudget
		if s.opts.CopyBudget > 0 {
			h.Settings.CopyBudget, h.Settings.CopyChunkFiles = s.opts.CopyBudget, 1
		}
		if fn.Reads(config.EnvChecks) {
			// What withs3.WithChecks does in the function's main.
			ch, err := withs3.NewChecker(fnCfg.Checks, s.clientsOf(fn).S3)
			if err != nil {
				return err
			}
			if s.notScanned != "" {
				ch.NotScannedReason = s.notScanned
			}
			h.Checks = ch
		}
		if _, err := app.HandlerByName(h, fn); err != nil {
			return err
		}
		s.tasks[fn.Name] = task{fn: fn, handlers: h}
	}
	apiFn, _ := functions.Lookup("egress-api")
	apiCfg, err := lambdamain.Config(apiFn, getenv(apiFn))
	if err != nil {
		return err
	}
	c := s.clientsOf(apiFn)
	if s.API, err = apiapp.API(apiCfg, apiapp.Clients{S3: c.S3, DynamoDB: c.DynamoDB, SFN: c.SFN, SNS: c.SNS}, s.opts.Logger); err != nil {
		return err
	}
	s.API.Now = s.opts.Clock.Now
	// The API's metrics, and its table's status changes, to its local file.
	s.API.Metrics = nil
	if em := s.emitter(apiFn, apiCfg.StackName); em != nil {
		s.API.Metrics = em
		if t, ok := s.API.Requests.(*requests.Table); ok {
			t.Observer = em
		}
	}
	s.Engine = sfn.New(sfn.Options{
		Clock:          s.opts.Clock,
		Invoke:         s.invoke,
		Region:         Region,
		Account:        Account,
		Logger:         s.opts.Logger,
		OnStatusChange: s.statusChanged,
		// Each function's configured timeout, as Lambda enforces it.
		FunctionTimeout: functionTimeout,
		Rand:            s.retryJitter(),
	})
	s.closers = append(s.closers, func() error { s.Engine.Close(); return nil })
	subs := statemachine.FunctionSubstitutions(func(fn string) string {
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, Account, fn)
	})
	def, err := statemachine.Definition(subs)
	if err != nil {
		return err
	}
	arn, err := s.Engine.CreateStateMachine(StateMachineName, def)
	if err != nil {
		return fmt.Errorf("create state machine: %w", err)
	}
	s.StateMachineArn = arn
	return nil
}

// invoke dispatches a Lambda task to the handler its function runs.
func (s *Stack) invoke(ctx context.Context, function string, payload json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		if err := fail(function, payload); err != nil {
			var tf *sfn.TaskFailure
			if errors.As(err, &tf) {
				return nil, tf
			}
			return nil, taskFailure(workflow.TaskError(err))
		}
	}
	t, ok := s.tasks[function]
	if !ok || t.fn.Placeholder == "" {
		return nil, &sfn.TaskFailure{ErrorName: "Lambda.ResourceNotFoundException", Cause: "Function not found: " + function}
	}
	// A handler per invocation, as concurrent Lambda invocations run in
	// separate instances: a lambda.Handler reuses its output buffer once
	// Invoke returns.
	h, err := app.HandlerByName(t.handlers, t.fn)
	if err != nil {
		return nil, err
	}
	ctx, inv := withInvocation(ctx, function, payload)
	defer inv.cancel()
	var out []byte
	err = s.metered(function, func() (err error) { out, err = h.Invoke(ctx, payload); return err })
	s.broadcast()
	if _, crashed := inv.state(); crashed != "" {
		// What the engine sees of a sandbox that died mid-invocation.
		return nil, &sfn.TaskFailure{ErrorName: "Lambda.ServiceException", Cause: "local: " + function + " " + crashed}
	}
	return out, taskFailure(err)
}

// endedAttempts is how often an execution-ended invocation is tried: as
// EventBridge invokes a Lambda target asynchronously, once and twice more
// on error (without Lambda's minutes between tries).
const endedAttempts = 3

// statusChanged is the EventBridge rule of the deployed stack: execution
// status changes of the workflow that end FAILED, ABORTED or TIMED_OUT are
// delivered to the execution-ended function, through the handler path of
// every function.
func (s *Stack) statusChanged(ctx context.Context, event json.RawMessage) {
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			ExecutionArn    string              `json:"executionArn"`
			StateMachineArn string              `json:"stateMachineArn"`
			Status          sfn.ExecutionStatus `json:"status"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		s.opts.Logger.Error("execution status change not decoded", "error", err)
		return
	}
	d := ev.Detail
	if d.Status == sfn.StatusRunning {
		return
	}
	defer s.endHandled(d.ExecutionArn)
	switch {
	case ev.Source != sfn.StatusChangeSource || ev.DetailType != sfn.StatusChangeDetailType || d.StateMachineArn != s.StateMachineArn:
		return
	case d.Status != sfn.StatusFailed && d.Status != sfn.StatusAborted && d.Status != sfn.StatusTimedOut:
		return
	}
	const function = "execution-ended"
	t := s.tasks[function]
	var err error
	for range endedAttempts {
		s.mu.Lock()
		fail := s.fail
		s.mu.Unlock()
		if fail != nil {
			if err = fail(function, event); err != nil {
				continue
			}
		}
		var h lambda.Handler
		if h, err = app.HandlerByName(t.handlers, t.fn); err != nil {
			break
		}
		if err = s.metered(function, func() error { _, err := h.Invoke(ctx, event); return err }); err == nil {
			break
		}
	}
	if err != nil {
		// In AWS the event would wait in the rule's dead-letter queue.
		s.opts.Logger.Error("execution-ended failed", "execution_arn", d.ExecutionArn, "error", err)
	}
	s.broadcast()
}

// endHandled records that the final status of an execution was handled.
func (s *Stack) endHandled(executionArn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.endedLocked(executionArn))
}

func (s *Stack) endedLocked(executionArn string) chan struct{} {
	ch, ok := s.ended[executionArn]
	if !ok {
		ch = make(chan struct{})
		s.ended[executionArn] = ch
	}
	return ch
}

// WaitEnded blocks until the execution has ended and its final status has
// been handled (by execution-ended when the rule matches it), or until ctx
// ends.
func (s *Stack) WaitEnded(ctx context.Context, executionArn string) error {
	s.mu.Lock()
	ch := s.endedLocked(executionArn)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the end of %s: %w", executionArn, ctx.Err())
	}
}

// broadcast wakes everything waiting in WaitFor.
func (s *Stack) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

func (s *Stack) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// WaitFor blocks until request id satisfies cond, re-checking after every
// task the workflow runs (no polling), or until ctx ends.
func (s *Stack) WaitFor(ctx context.Context, id string, cond func(egress.Request) bool) (egress.Request, error) {
	for {
		ch := s.changes()
		r, err := s.Requests.Get(ctx, id)
		if err == nil && cond(r) {
			return r, nil
		}
		if err != nil && egress.ErrorCode(err) != egress.ENOTFOUND {
			return r, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return r, fmt.Errorf("wait for request %s: %w (status %s)", id, ctx.Err(), r.Status)
		}
	}
}

// taskFailure turns the Lambda runtime's error shape into the engine's.
func taskFailure(err error) error {
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		cause, _ := json.Marshal(map[string]string{"errorMessage": ie.Message, "errorType": ie.Type})
		return &sfn.TaskFailure{ErrorName: ie.Type, Cause: string(cause)}
	}
	return err
}

// routes serves every front-endpoint protocol on one address, told apart
// the way AWS endpoints tell them apart, to this machine's clients only
// (sameMachineOnly).
func (s *Stack) routes() http.Handler {
	sfnAPI := s.Engine.Handler()
	ses := s.Outbox
	// Built per request: the intake topic's duplicate deliveries may change
	// while the stack runs.
	sns := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := s.deliveries
		s.mu.Unlock()
		intake := func(ctx context.Context, ev events.SNSEvent) error {
			return s.metered("start-workflow", func() error { return s.tasks["start-workflow"].handlers.Intake(ctx, ev) })
		}
		topics := SNSTopics{{Arn: TopicArn, Deliver: intake, Now: s.opts.Clock.Now, Deliveries: n}}
		for _, g := range slices.Sorted(maps.Keys(s.ReviewerTopics)) {
			topics = append(topics, &SNSTopic{Arn: s.ReviewerTopics[g], Deliver: s.Outbox.Notify, Now: s.opts.Clock.Now})
		}
		topics = append(topics, &SNSTopic{Arn: NoticesTopicArn, Deliver: s.deliverNotice, Now: s.opts.Clock.Now})
		topics.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/v2/email/", s.responses.recordErrors(ses))
	mux.HandleFunc("/local/endpoints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Connection())
	})
	mux.Handle("/graphql", s.GraphQLHandler())
	mux.HandleFunc(DevUsersPath, s.serveDevUsers)
	mux.HandleFunc(DevTokenPath, s.serveDevToken)
	console := s.consoleHandler()
	aws := s.responses.recordErrors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions."):
			sfnAPI.ServeHTTP(w, r)
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService."):
			s.Directory.ServeHTTP(w, r)
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents."):
			s.Bus.ServeHTTP(w, r)
		case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
			sns.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	// The AWS protocols served here are all POSTs (JSON with X-Amz-Target,
	// or SNS's form query): any other GET or HEAD is the console's.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("X-Amz-Target") == "" {
			console.ServeHTTP(w, r)
			return
		}
		aws.ServeHTTP(w, r)
	}))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	return sameMachineOnly(port, mux)
}

// deliverNotice is the notices topic's subscription: the SNS event goes to
// the notify function through the handler path every function runs, as
// SNS invokes it.
func (s *Stack) deliverNotice(ctx context.Context, ev events.SNSEvent) error {
	t, ok := s.tasks["notify"]
	if !ok {
		return errors.New("no notify function")
	}
	h, err := app.HandlerByName(t.handlers, t.fn)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return s.metered(t.fn.Name, func() error { _, err := h.Invoke(ctx, payload); return err })
}

// provision creates the buckets and tables (SWB's too: locally we are SWB).
func (s *Stack) provision(ctx context.Context) error {
	for _, b := range []struct {
		name      string
		versioned bool
	}{{SWBStoreBucket, true}, {NotificationBucket, false}, {StagingBucket, true}, {DatalakeBucket, true}} {
		if _, err := s.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.name)}); err != nil {
			return fmt.Errorf("create bucket %s: %w", b.name, err)
		}
		if b.versioned {
			if _, err := s.Clients.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b.name),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
				return fmt.Errorf("enable versioning on %s: %w", b.name, err)
			}
		}
	}
	if err := requests.CreateTables(ctx, s.Clients.DynamoDB, RequestsTable, EventsTable); err != nil {
		return err
	}
	_, err := s.Clients.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(SWBStoreTable),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", SWBStoreTable, err)
	}
	return nil
}

// Endpoint is one service the stack serves.
type Endpoint struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Endpoints lists what the stack serves, for people and for egress-local
// commands run against it from another terminal.
func (s *Stack) Endpoints() []Endpoint {
	return []Endpoint{
		{"s3", s.S3.Endpoint},
		{"dynamodb", s.DynamoDB.Endpoint},
		{"stepfunctions", s.URL},
		{"sns", s.URL},
		{"ses", s.URL},
		{"cognito-idp", s.URL},
		{"graphql", s.URL + "/graphql"},
		{"outbox", "file://" + s.Outbox.dir},
		{"signing-key", "file://" + SigningKeyPath(s.Dir)},
	}
}

// Connection is what a process on this machine needs to act as SWB against
// the stack: its endpoints and the local S3 server's development
// credentials (loopback only; nothing secret).
type Connection struct {
	Endpoints   []Endpoint `json:"endpoints"`
	S3AccessKey string     `json:"s3_access_key"`
	S3SecretKey string     `json:"s3_secret_key"`
}

// Connection describes the running stack.
func (s *Stack) Connection() Connection {
	return Connection{Endpoints: s.Endpoints(), S3AccessKey: s.S3.AccessKey, S3SecretKey: s.S3.SecretKey}
}

// Close stops everything the stack started.
func (s *Stack) Close() error {
	var errs []error
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.server.Shutdown(ctx))
		cancel()
		s.wg.Wait()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	if s.tempDir {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// Publish publishes an SWB message on the stack's topic through the SNS
// API, as SWB does; it returns once the intake handler has run.
func (s *Stack) Publish(ctx context.Context, message string) error {
	_, err := sns.NewFromConfig(s.awsConfig(s.URL)).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(TopicArn), Message: aws.String(message)})
	return err
}

// ReviewerTopicArn is the local topic of a reviewer group's notices.
func ReviewerTopicArn(group string) string {
	name := strings.Map(func(c rune) rune {
		if c == '-' || c == '_' || c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			return c
		}
		return '-'
	}, group)
	return "arn:aws:sns:" + Region + ":" + Account + ":egress-reviewers-" + name
}

// ExecutionArn returns the execution of request id.
func (s *Stack) ExecutionArn(id string) string {
	return stepfunctions.ExecutionArn(s.StateMachineArn, id)
}

// retryJitter is the engine's source of FULL jitter: none with
// Options.RetryBackoff (retries at once), else the engine's default.
func (s *Stack) retryJitter() func() float64 {
	if s.opts.RetryBackoff <= 0 {
		return nil
	}
	return func() float64 { return 0 }
}

// functionTimeout is the configured timeout of a function of the table.
func functionTimeout(name string) time.Duration {
	fn, _ := functions.Lookup(name)
	return fn.Timeout
}
