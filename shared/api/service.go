// Package api is the reviewers' API: listing, decisions and counted
// downloads, with identity taken from the identity provider, never from
// arguments. The AppSync resolver (functions/egress-api) and the local
// GraphQL endpoint both call it through Resolve.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
	"github.com/tre-egress/egress/shared/verify"
	"github.com/tre-egress/egress/statemachine"
)

// The ports below speak the domain's types only; the adapters named in
// their comments implement them without this package linking them.

// Requests stores egress requests (requests.Table).
type Requests interface {
	Get(ctx context.Context, id string) (egress.Request, error)
	Update(ctx context.Context, r egress.Request, ev egress.Event) (egress.Request, error)
	IncrementDownloads(ctx context.Context, id string, limit int, actor string) (int, error)
	List(ctx context.Context, q egress.ListQuery) (egress.Page, error)
	Events(ctx context.Context, id string) ([]egress.Event, error)
	AddEvent(ctx context.Context, ev egress.Event, after int64) error
	AuditTrail(ctx context.Context, id string, limit int, token string) (egress.AuditPage, error)
}

// Workflow resumes the task waiting for a decision (stepfunctions.Workflow).
// Resume returns an ECONFLICT error when the task no longer waits (its
// token was used, timed out or is invalid, or the execution ended): the
// stage is over and sending again cannot help. Any other error may be
// transient, and the same token may be sent again.
type Workflow interface {
	Resume(ctx context.Context, token string, out statemachine.DecisionOutput) error
}

// Presigner makes short-lived download links (objects.Client).
type Presigner interface {
	Presign(ctx context.Context, bucket, key string, expiry time.Duration) (string, error)
}

// Manifests reads staging manifests (objects.Client).
type Manifests interface {
	ReadManifest(ctx context.Context, bucket, key string) (egress.Manifest, error)
}

// Metrics records the API's metrics (metrics.Emitter). Requests by status
// are not here: the requests table's observer counts every status change.
type Metrics interface {
	Decided(ctx context.Context, id, stage string, waited time.Duration)
	Downloaded(ctx context.Context, id string)
}

type noMetrics struct{}

func (noMetrics) Decided(context.Context, string, string, time.Duration) {}
func (noMetrics) Downloaded(context.Context, string)                     {}

// Service implements the API's operations.
type Service struct {
	Requests  Requests
	Workflow  Workflow
	Presigner Presigner
	Manifests Manifests
	// VersionPresigner and HeadReader serve previews of staged files.
	VersionPresigner VersionPresigner
	HeadReader       HeadReader
	ReviewerGroups   []string // egress_reviewer_roles
	DownloadGroups   []string // groups allowed to download; default the first stage's
	// AdminGroups are the TRE admins' groups (cancel any request, revoke,
	// preview any awaiting request); default egress.GroupRIT (TREAdmin).
	AdminGroups []string
	// Chain is the configured approval chain (config.Config.Chain), whose
	// stages reviewQueue reads; zero: one stage per reviewer group.
	Chain egress.Chain
	// Zips removes revoked zips; RevokeRetention keeps a revoked zip's
	// versions, hidden, that long (revoke_retention_days; 0 deletes them).
	Zips            Zips
	RevokeRetention time.Duration
	// ZipReader reads released zips back for verifyRelease.
	ZipReader ZipReader
	// Executions, SWBStore and Deleter serve retryRequest: an execution's
	// status, and the failure path's clean-up of a stuck request.
	Executions ExecutionReader
	SWBStore   SWBStore
	Deleter    PrefixDeleter
	// Notices publishes on NoticesTopic, the stack's internal topic the
	// notify function is subscribed to.
	Notices        Publisher
	NoticesTopic   string
	StagingBucket  string // where manifests are
	DatalakeBucket string
	MaxDownloads   int
	DownloadExpiry time.Duration
	// MaxRequestAgeDays hides finished requests requested longer ago than
	// this from listRequests; 0 lists them all.
	MaxRequestAgeDays int
	Log               *slog.Logger
	Now               func() time.Time
	Metrics           Metrics // nil records none

	// ResearcherGroup may read its members' own requests (researcher_group);
	// "" gives researchers no access.
	ResearcherGroup string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) metrics() Metrics {
	if s.Metrics == nil {
		return noMetrics{}
	}
	return s.Metrics
}

// logger is the per-call logger: the invocation's ids from ctx bound.
func (s *Service) logger(ctx context.Context) *slog.Logger {
	return logctx.With(ctx, s.Log)
}

func (s *Service) log(ctx context.Context, id string) *slog.Logger {
	return s.logger(ctx).With("egress_request_id", id)
}

func (s *Service) chainFor(r egress.Request) (egress.Chain, error) {
	return egress.ChainFor(s.ReviewerGroups, r)
}

// reviewerGroups returns the groups that may read requests and decide.
func (s *Service) reviewerGroups() []string {
	return egress.ReviewerGroups(s.ReviewerGroups)
}

// downloadGroups returns the groups allowed to download.
func (s *Service) downloadGroups() []string {
	if len(s.DownloadGroups) > 0 {
		return s.DownloadGroups
	}
	return s.reviewerGroups()[:1]
}

func inAny(who egress.Identity, groups []string) bool {
	for _, g := range groups {
		if who.InGroup(g) {
			return true
		}
	}
	return false
}

// adminGroups returns the TRE admins' groups.
func (s *Service) adminGroups() []string {
	if len(s.AdminGroups) > 0 {
		return s.AdminGroups
	}
	return []string{egress.GroupRIT}
}

// isAdmin reports whether who is a TRE admin.
func (s *Service) isAdmin(who egress.Identity) bool { return inAny(who, s.adminGroups()) }

// authorizeReviewer refuses callers in no reviewer group before anything
// about a request is read, so they learn nothing about it.
func (s *Service) authorizeReviewer(who egress.Identity) error {
	if !inAny(who, s.reviewerGroups()) {
		return egress.Errorf(egress.EFORBIDDEN, "only members of %v may use the egress API", s.reviewerGroups())
	}
	return nil
}

// TokenRef is what the API shows in place of a task token: a digest that
// lets a client say which decision it is answering without holding the
// token, which is a credential for the workflow.
func TokenRef(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return "ref-" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// tokenMatches accepts the stored token itself or its TokenRef.
func tokenMatches(client, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(client), []byte(stored)) == 1 ||
		subtle.ConstantTimeCompare([]byte(client), []byte(TokenRef(stored))) == 1
}

func errStaleToken(r egress.Request) error {
	return egress.Errorf(egress.ECONFLICT, "task_token is not the one request %s awaits (now %s): it was decided or moved on since it was loaded; reload it", r.ID, r.Status)
}

// GetRequest returns one request: any to a reviewer, a researcher's own
// (as readerOf and reader.show say) to a researcher.
func (s *Service) GetRequest(ctx context.Context, who egress.Identity, id string) (egress.Request, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return egress.Request{}, err
	}
	if id == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	return s.readable(ctx, rd, id)
}

// Files lists the files staged for r, from its staging manifest (kept after
// the staged copies are deleted). A request not staged yet has none. More
// than MaxFilesListed files is a LimitError: FilesPage pages them.
func (s *Service) Files(ctx context.Context, who egress.Identity, r egress.Request) ([]egress.File, error) {
	files, err := s.manifestFiles(ctx, who, r)
	if err != nil {
		return nil, err
	}
	if len(files) > MaxFilesListed {
		return nil, egress.Errorf(egress.ELIMIT, "request %s has %d files, more than files lists (%d): page them with filePage", r.ID, len(files), MaxFilesListed)
	}
	if n := jsonBytes(fileViews(files)); n > MaxFilesBytes {
		return nil, egress.Errorf(egress.ELIMIT, "request %s's %d files with their findings take %d bytes, more than files returns (%d): page them with filePage", r.ID, len(files), n, MaxFilesBytes)
	}
	return files, nil
}

// jsonBytes is the size of v's JSON, as the resolver returns it.
func jsonBytes(v any) int {
	b, err := json.Marshal(v)
	if err != nil { // views of strings and numbers: cannot fail
		panic(err)
	}
	return len(b)
}

// Checks is what the automated checks found in request id, as stored on
// it; nil until they ran.
func (s *Service) Checks(ctx context.Context, who egress.Identity, id string) (*egress.CheckSummary, error) {
	r, err := s.GetRequest(ctx, who, id)
	if err != nil {
		return nil, err
	}
	return r.Checks, nil
}

// Sizes of file listings.
const (
	// MaxFilesListed is the most files Request.files returns in one
	// response: 4,000 files at the longest S3 key (1,024 bytes) with a
	// SHA-256, a version id and a size take under 5 MB of the resolver's
	// 6 MB.
	MaxFilesListed = 4000
	// MaxFilesBytes bounds the JSON of Request.files and of one filePage
	// with the files' findings (each file up to egress.MaxFindingsPerFile
	// of egress.MaxFindingMessage bytes), within the resolver's 6 MB.
	MaxFilesBytes = 5_000_000
	// DefaultFilePageLimit is Request.filePage's page size when no limit
	// is sent; at most egress.MaxListLimit files are returned a page.
	DefaultFilePageLimit = 100
)

// FilePage is one page of a request's staged files. NextToken is empty on
// the last page.
type FilePage struct {
	Files     []egress.File
	NextToken string
}

// FilesPage returns limit files staged for r (DefaultFilePageLimit when 0,
// at most egress.MaxListLimit) from where nextToken says, in manifest
// order.
func (s *Service) FilesPage(ctx context.Context, who egress.Identity, r egress.Request, limit int, nextToken string) (FilePage, error) {
	if _, err := s.readerOf(who); err != nil {
		return FilePage{}, err
	}
	limit, err := egress.ListLimit(limit, DefaultFilePageLimit)
	if err != nil {
		return FilePage{}, err
	}
	files, err := s.manifestFiles(ctx, who, r)
	if err != nil {
		return FilePage{}, err
	}
	from := 0
	if nextToken != "" {
		if from, err = decodeFileToken(nextToken, r.ID, len(files)); err != nil {
			return FilePage{}, err
		}
	}
	to := min(from+limit, len(files))
	// Findings can make files large: the page ends early, never empty,
	// rather than exceed what one response holds.
	used := filePageOverhead
	for i := from; i < to; i++ {
		if used += pagedFileBytes(files[i]); i > from && used > MaxFilesBytes {
			to = i
			break
		}
	}
	page := FilePage{Files: files[from:to]}
	if to < len(files) {
		page.NextToken = encodeFileToken(fileToken{Request: r.ID, Offset: to})
	}
	return page, nil
}

// filePageOverhead is a generous size of a page's JSON without its files:
// braces, names and the next token.
const filePageOverhead = 1024

// pagedFileBytes is the size f takes in a page's JSON: its item and its
// findings, each with a comma.
func pagedFileBytes(f egress.File) int {
	n := jsonBytes(pagedFileView(f)) + 1
	for _, x := range f.Findings {
		n += jsonBytes(FileFindingView{Path: f.Path, FindingView: newFindingView(x)}) + 1
	}
	return n
}

// manifestFiles reads every file of r's staging manifest.
func (s *Service) manifestFiles(ctx context.Context, who egress.Identity, r egress.Request) ([]egress.File, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return nil, err
	}
	if r, err = s.readableSource(ctx, rd, r); err != nil {
		return nil, err
	}
	if r.StagingObjectMetadataVersion == "" {
		return []egress.File{}, nil
	}
	return s.readManifest(ctx, r)
}

// readManifest reads the files of r's staging manifest, which r must have.
func (s *Service) readManifest(ctx context.Context, r egress.Request) ([]egress.File, error) {
	if s.Manifests == nil {
		return nil, fmt.Errorf("files of %s: the service has no manifest reader", r.ID)
	}
	return verify.Manifest(ctx, s.Manifests, s.StagingBucket, r)
}

// fileToken is where a file listing stopped: the request and the index of
// the next file in its manifest, which never changes once written.
type fileToken struct {
	Request string `json:"r"`
	Offset  int    `json:"o"`
}

func encodeFileToken(t fileToken) string {
	b, _ := json.Marshal(t) // a string and an int cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeFileToken refuses anything encodeFileToken did not make for a page
// of request id's n files.
func decodeFileToken(s, id string, n int) (int, error) {
	invalid := egress.Errorf(egress.EINVALID, "invalid next token")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, invalid
	}
	var t fileToken
	if err := json.Unmarshal(b, &t); err != nil || t.Offset <= 0 || t.Offset >= n {
		return 0, invalid
	}
	if t.Request != id {
		return 0, egress.Errorf(egress.EINVALID, "next token belongs to the files of another request")
	}
	return t.Offset, nil
}

// History returns the audit trail of request id, oldest first: any to a
// reviewer, a researcher's own to a researcher.
func (s *Service) History(ctx context.Context, who egress.Identity, id string) ([]egress.Event, error) {
	rd, err := s.readerOf(who)
	if err != nil {
		return nil, err
	}
	return s.readableEvents(ctx, rd, id)
}

// Decide records who's decision on the stage request id awaits and then
// resumes the workflow with the stored task token. The write is conditional
// on the version read, so of two concurrent decisions exactly one stands and
// the other gets a ConflictError. clientToken, when sent, must match the
// stored token (or its TokenRef), else the caller decided on a stale read
// and gets a ConflictError; the stored token is what is used.
func (s *Service) Decide(ctx context.Context, who egress.Identity, id string, d egress.Decision, reason, clientToken string) (egress.Request, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return egress.Request{}, err
	}
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return egress.Request{}, err
	}
	if resending(clientToken, r) {
		return s.retryDecision(ctx, who, r, string(d))
	}
	p, err := s.awaiting(r)
	if err != nil {
		return egress.Request{}, err
	}
	if clientToken != "" {
		if err := p.checkToken(clientToken); err != nil {
			return egress.Request{}, err
		}
	}
	stored, _, err := s.decide(ctx, who, p, egress.Ballot{Decision: d, Reason: reason})
	return stored, err
}

// pending is a request awaiting a decision: its chain and the index of the
// stage it awaits, computed once from the stored request the conditional
// write is based on.
type pending struct {
	r     egress.Request
	chain egress.Chain
	stage int
}

// awaiting refuses a request that awaits no decision.
func (s *Service) awaiting(r egress.Request) (pending, error) {
	chain, err := s.chainFor(r)
	if err != nil {
		return pending{}, err
	}
	stage := chain.StageAwaiting(r.Status)
	if stage < 0 || r.TaskToken == "" {
		return pending{}, egress.Errorf(egress.ECONFLICT, "request %s is %s and awaits no decision", r.ID, r.Status)
	}
	return pending{r: r, chain: chain, stage: stage}, nil
}

// checkToken refuses a client token that is neither the stored one nor its
// TokenRef: the caller decided on a stale read.
func (p pending) checkToken(client string) error {
	if !tokenMatches(client, p.r.TaskToken) {
		return errStaleToken(p.r)
	}
	return nil
}

// UpdateInput is updateRequest's argument as the frontend sends it. Only the
// decision and reason of the stage the request awaits are read; names,
// e-mails and times come from the identity and the server clock, and the IG
// decision resent at the RIT stage is ignored (the stored one counts).
type UpdateInput struct {
	RequestID   string `json:"egress_request_id"`
	TaskToken   string `json:"task_token"`
	IGName      string `json:"ig_reviewer_1_name"`
	IGEmail     string `json:"ig_reviewer_1_email"`
	IGDate      string `json:"ig_reviewer_1_dt"`
	IGReason    string `json:"ig_reviewer_1_reason"`
	IGDecision  string `json:"ig_reviewer_1_decision"`
	RITName     string `json:"rit_reviewer_2_name"`
	RITEmail    string `json:"rit_reviewer_2_email"`
	RITDate     string `json:"rit_reviewer_2_dt"`
	RITReason   string `json:"rit_reviewer_2_reason"`
	RITDecision string `json:"rit_reviewer_2_decision"`
}

// UpdateRequest is the frontend's updateRequest: it decides the stage the
// request awaits and returns a short message for people.
func (s *Service) UpdateRequest(ctx context.Context, who egress.Identity, in UpdateInput) (string, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return "", err
	}
	if in.RequestID == "" {
		return "", egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	r, err := s.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return "", err
	}
	// The token of a decided stage whose decision the workflow has not
	// acknowledged: the same decision sent again is delivered again.
	if resending(in.TaskToken, r) {
		decision := in.IGDecision
		if n := len(r.Reviews); n > 0 && r.Reviews[n-1].StageIndex == 1 {
			decision = in.RITDecision
		}
		stored, err := s.retryDecision(ctx, who, r, decision)
		if err != nil {
			return "", err
		}
		return decidedMessage(stored, who, egress.Decision(decision), true), nil
	}
	// The fields read are chosen from the stored status, the same read the
	// conditional write is based on, so a decision meant for one stage can
	// never land on the next.
	p, err := s.awaiting(r)
	if err != nil {
		return "", err
	}
	// The frontend always sends the token it listed; without it a decision
	// could land on a request that moved on since the caller looked.
	if in.TaskToken == "" {
		return "", egress.Errorf(egress.EINVALID, "task_token is required")
	}
	// A token from an earlier read means the request moved on since the
	// caller loaded it; say so before reading fields meant for another stage.
	if err := p.checkToken(in.TaskToken); err != nil {
		return "", err
	}
	decision, reason := in.IGDecision, in.IGReason
	if p.stage == 1 {
		decision, reason = in.RITDecision, in.RITReason
	}
	d, err := egress.ParseDecision(decision)
	if err != nil {
		return "", err
	}
	stored, decided, err := s.decide(ctx, who, p, egress.Ballot{Decision: d, Reason: reason})
	if err != nil {
		return "", err
	}
	return decidedMessage(stored, who, d, decided), nil
}

// decidedMessage tells the reviewer what their vote did. Whether it decided
// the stage comes from the vote, not from the stored request: by the time
// that is read the workflow may await the next stage, with a token again.
func decidedMessage(stored egress.Request, who egress.Identity, d egress.Decision, decided bool) string {
	last := stored.Reviews[len(stored.Reviews)-1]
	if !decided {
		return fmt.Sprintf("Vote recorded on request %s at the %s stage by %s; the stage awaits another reviewer's vote.",
			stored.ID, last.Stage, actorOf(who))
	}
	return fmt.Sprintf("Request %s %s at the %s stage by %s; status is now %s.",
		stored.ID, d, last.Stage, actorOf(who), stored.Status)
}

// decide records who's vote on the stage p awaits, whose token the
// caller has checked, and, when the vote decides the stage, resumes the
// workflow with the stored token; it reports whether the vote decided the
// stage. Per-file decisions must name the request's staged files.
func (s *Service) decide(ctx context.Context, who egress.Identity, p pending, b egress.Ballot) (egress.Request, bool, error) {
	log := s.log(ctx, p.r.ID)
	if len(b.Files) > 0 {
		if err := s.checkPaths(ctx, who, p.r, b.Files); err != nil {
			return egress.Request{}, false, err
		}
	}
	next, ev, decided, err := p.chain.Vote(p.r, who, b, s.now())
	if err != nil {
		log.Warn("decision refused", "actor", actorOf(who), "code", egress.ErrorCode(err), "error", egress.ErrorMessage(err))
		return egress.Request{}, false, err
	}
	// The stored decision keeps the stage's token (ResumeToken) until the
	// workflow acknowledges it, so a resume that fails can be sent again.
	stored, err := s.Requests.Update(ctx, next, ev)
	if err != nil {
		return egress.Request{}, false, err
	}
	if !decided {
		log.Info("vote recorded", "stage", ev.Stage, "actor", ev.Actor, "files_decided", len(b.Files))
		return stored, false, nil
	}
	log.Info("decision recorded", "stage", ev.Stage, "outcome", stored.Status, "actor", ev.Actor, "files_decided", len(b.Files))
	if !p.r.AwaitingSince.IsZero() {
		s.metrics().Decided(ctx, p.r.ID, ev.Stage, ev.At.Sub(p.r.AwaitingSince))
	}
	stored, err = s.resume(ctx, stored, p.stage, ev.Stage)
	return stored, true, err
}

// checkPaths refuses per-file decisions on paths that are not among r's
// staged files.
func (s *Service) checkPaths(ctx context.Context, who egress.Identity, r egress.Request, decided []egress.FileDecision) error {
	files, err := s.manifestFiles(ctx, who, r)
	if err != nil {
		return err
	}
	staged := make(map[string]bool, len(files))
	for _, f := range files {
		staged[f.Path] = true
	}
	var unknown []string
	for _, f := range decided {
		if !staged[f.Path] {
			unknown = append(unknown, fmt.Sprintf("%q", f.Path))
		}
	}
	if len(unknown) > 0 {
		if len(unknown) > 5 {
			unknown = append(unknown[:5], fmt.Sprintf("and %d more", len(unknown)-5))
		}
		return egress.Errorf(egress.EINVALID, "files: %s not among the %d files of request %s", strings.Join(unknown, ", "), len(files), r.ID)
	}
	return nil
}

// Prefixes of the failure causes resume notes on a request whose decision
// did not reach the workflow.
const (
	causeUndelivered = "decision recorded, but the workflow could not be reached"
	causeNotTaken    = "decision recorded, but the workflow did not accept it"
)

// resume sends the outcome stored for stage (egress.Outcome) to the
// workflow with the token kept for it (r.ResumeToken) and settles the
// request by the answer:
//
//   - acknowledged: the token is forgotten, with a DECISION_DELIVERED event;
//   - the task no longer waits (ECONFLICT from Workflow: the token was used,
//     timed out or is invalid, or the execution ended): the stage is over,
//     so the token is forgotten too, the request notes why and the caller
//     gets a ConflictError;
//   - anything else may be transient: the token is kept, the request notes
//     it, and the caller gets an error; the same decision sent again
//     (retryDecision) resumes with the kept token.
func (s *Service) resume(ctx context.Context, r egress.Request, stage int, stageName string) (egress.Request, error) {
	log := s.log(ctx, r.ID)
	token := r.ResumeToken
	err := s.Workflow.Resume(ctx, token, statemachine.DecisionOutput{Decision: egress.Outcome(r), Stage: stage})
	if err == nil {
		settled, serr := s.settleResume(ctx, r, token, func(cur *egress.Request) egress.Event {
			if strings.HasPrefix(cur.FailureCause, causeUndelivered) {
				cur.FailureCause = "" // the note of an earlier attempt no longer holds
			}
			return egress.Event{Kind: egress.EventDelivered, Actor: egress.ActorWorkflow, From: cur.Status, To: cur.Status, Stage: stageName}
		})
		if errors.Is(serr, errSettled) {
			return settled, nil
		}
		if serr != nil {
			// The workflow has the decision; a token left behind only makes a
			// later retry of it a ConflictError.
			log.Error("decision delivered, but the kept task token could not be cleared", "error", egress.Redact(serr.Error()))
			return r, nil
		}
		log.Info("decision delivered", "stage", stageName)
		return settled, nil
	}
	log.Error("decision recorded but the workflow could not be resumed", "error", egress.Redact(err.Error()))
	if egress.ErrorCode(err) == egress.ECONFLICT {
		msg := causeNotTaken + ": " + egress.ErrorMessage(err) +
			"; either an earlier attempt delivered it or the stage ended, which the request's status shows"
		settled, serr := s.settleResume(ctx, r, token, func(cur *egress.Request) egress.Event {
			return s.noteResume(cur, stageName, msg)
		})
		if errors.Is(serr, errSettled) {
			return settledElsewhere(settled)
		}
		if serr != nil {
			log.Error("could not record the resume failure", "error", egress.Redact(serr.Error()))
		} else {
			r = settled
		}
		return r, egress.Errorf(egress.ECONFLICT, "%s", msg)
	}
	msg := causeUndelivered + "; send the same decision again to deliver it"
	noted, nerr := s.settleResume(ctx, r, token, func(cur *egress.Request) egress.Event {
		ev := s.noteResume(cur, stageName, msg)
		cur.ResumeToken = token // kept for the retry
		return ev
	})
	switch {
	case errors.Is(nerr, errSettled):
		return settledElsewhere(noted)
	case nerr != nil:
		log.Error("could not record the resume failure", "error", egress.Redact(nerr.Error()))
	default:
		r = noted
	}
	return r, egress.Errorf(egress.EINTERNAL, "%s", msg)
}

// noteResume records msg as cur's failure cause, without changing its
// status, and returns the audit event saying so.
func (s *Service) noteResume(cur *egress.Request, stage, msg string) egress.Event {
	cur.FailureCause = msg
	cur.UpdatedAt, cur.UpdatedBy = s.now(), egress.ActorWorkflow
	return egress.Event{Kind: egress.EventTransition, Actor: egress.ActorWorkflow, From: cur.Status, To: cur.Status, Stage: stage, Reason: msg}
}

// errSettled: the token resume was settling is no longer kept on the
// request; another attempt acknowledged it, or the workflow ended the
// request.
var errSettled = errors.New("the kept task token was settled by someone else")

// settleResume stores the request with token forgotten and change
// applied (change may keep the token by setting it back), re-reading and
// re-applying when the workflow (the next stage's token, the release)
// changed the request in between. Once the request no longer keeps token
// it returns errSettled with the stored request.
func (s *Service) settleResume(ctx context.Context, r egress.Request, token string, change func(*egress.Request) egress.Event) (egress.Request, error) {
	const attempts = 5
	var err error
	for range attempts {
		if r.ResumeToken != token {
			return r, errSettled
		}
		r.ResumeToken = ""
		ev := change(&r)
		ev.RequestID, ev.At = r.ID, s.now()
		var stored egress.Request
		if stored, err = s.Requests.Update(ctx, r, ev); err == nil {
			return stored, nil
		}
		// A conflict, or a write that may or may not have landed (throttled
		// past the SDK's attempts, a lost response): read the request again;
		// a landed write shows as the token gone (errSettled). Only an error
		// of the domain's own (a refusal) is final.
		if code := egress.ErrorCode(err); code != egress.ECONFLICT && code != egress.EINTERNAL {
			return r, err
		}
		if r, err = s.Requests.Get(ctx, r.ID); err != nil {
			return r, err
		}
	}
	return r, fmt.Errorf("settle resume of %s: %w", r.ID, err)
}

// settledElsewhere is the outcome of a resume whose token another writer
// settled first: a concurrent attempt that delivered the decision, or the
// workflow ending the request.
func settledElsewhere(r egress.Request) (egress.Request, error) {
	if r.Status == egress.StatusFailed || r.Status == egress.StatusExpired {
		return r, egress.Errorf(egress.ECONFLICT, "%s: the request is %s (%s)", causeNotTaken, r.Status, r.FailureCause)
	}
	return r, nil
}

// retryDecision handles a decision sent again with the token of a stage
// that is already decided but whose decision the workflow has not
// acknowledged (r.ResumeToken): when it is the same reviewer's same
// decision, the stored decision is sent again with the kept token; anything
// else is a ConflictError, as for any decided stage.
func (s *Service) retryDecision(ctx context.Context, who egress.Identity, r egress.Request, decision string) (egress.Request, error) {
	if len(r.Reviews) == 0 {
		return egress.Request{}, errStaleToken(r)
	}
	rv := r.Reviews[len(r.Reviews)-1]
	sameReviewer := who.InGroup(rv.Group) &&
		((rv.Subject != "" && rv.Subject == who.Subject) || (rv.Subject == "" && who.Email != "" && strings.EqualFold(rv.Email, who.Email)))
	if !sameReviewer {
		return egress.Request{}, errStaleToken(r)
	}
	d, err := egress.ParseDecision(decision)
	if err != nil {
		return egress.Request{}, err
	}
	if d != rv.Decision {
		return egress.Request{}, egress.Errorf(egress.ECONFLICT, "the %s stage of request %s is already decided (%s); reload it", rv.Stage, r.ID, rv.Decision)
	}
	s.log(ctx, r.ID).Info("decision sent again", "stage", rv.Stage, "actor", actorOf(who))
	return s.resume(ctx, r, rv.StageIndex, rv.Stage)
}

// resending reports whether client is the token of a decided stage whose
// decision awaits the workflow's acknowledgement.
func resending(client string, r egress.Request) bool {
	return client != "" && r.ResumeToken != "" && tokenMatches(client, r.ResumeToken)
}

// Download counts one download of a released request against the limit,
// atomically, and returns a presigned GET valid for DownloadExpiry. The
// client's idea of the count is never used.
func (s *Service) Download(ctx context.Context, who egress.Identity, id string) (string, error) {
	return s.download(ctx, who, id, "")
}

// DownloadInput is downloadData's argument. download_count is the
// frontend's idea of the count and is ignored.
type DownloadInput struct {
	RequestID     string `json:"egress_request_id"`
	WorkspaceID   string `json:"workspace_id"`
	DownloadCount string `json:"download_count"`
}

// DownloadData is the frontend's downloadData: Download, checking that the
// workspace sent is the request's.
func (s *Service) DownloadData(ctx context.Context, who egress.Identity, in DownloadInput) (string, error) {
	if in.RequestID == "" {
		return "", egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	return s.download(ctx, who, in.RequestID, in.WorkspaceID)
}

func (s *Service) download(ctx context.Context, who egress.Identity, id, workspaceID string) (string, error) {
	if !inAny(who, s.downloadGroups()) {
		return "", egress.Errorf(egress.EFORBIDDEN, "downloads are limited to group(s) %v", s.downloadGroups())
	}
	r, err := s.Requests.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if workspaceID != "" && workspaceID != r.WorkspaceID {
		return "", egress.Errorf(egress.EINVALID, "request %s is not from workspace %s", r.ID, workspaceID)
	}
	if r.Status == egress.StatusRevoked {
		return "", egress.Errorf(egress.ECONFLICT, "request %s was revoked; it can no longer be downloaded", r.ID)
	}
	chain, err := s.chainFor(r)
	if err != nil {
		return "", err
	}
	if !chain.Downloadable(r) {
		return "", egress.Errorf(egress.ECONFLICT, "request %s is %s and not released; nothing to download", r.ID, r.Status)
	}
	n, err := s.Requests.IncrementDownloads(ctx, id, s.MaxDownloads, actorOf(who))
	if err != nil {
		return "", err
	}
	url, err := s.Presigner.Presign(ctx, s.DatalakeBucket, r.ZipKey, s.DownloadExpiry)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", r.ZipKey, err)
	}
	s.log(ctx, id).Info("download granted", "actor", actorOf(who), "download_count", n, "max", s.MaxDownloads)
	s.metrics().Downloaded(ctx, id)
	return url, nil
}

func actorOf(who egress.Identity) string {
	if who.Email != "" {
		return who.Email
	}
	return who.Subject
}
