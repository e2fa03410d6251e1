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
	"fmt"
	"log/slog"
	"time"

	"github.com/tre-egress/egress/shared/egress"
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
}

// Workflow resumes the task waiting for a decision (stepfunctions.Workflow).
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

// Service implements the API's operations.
type Service struct {
	Requests       Requests
	Workflow       Workflow
	Presigner      Presigner
	Manifests      Manifests
	ReviewerGroups []string // egress_reviewer_roles
	DownloadGroups []string // groups allowed to download; default the first stage's
	StagingBucket  string   // where manifests are
	DatalakeBucket string
	MaxDownloads   int
	DownloadExpiry time.Duration
	// MaxRequestAgeDays hides finished requests requested longer ago than
	// this from listRequests; 0 lists them all.
	MaxRequestAgeDays int
	Log               *slog.Logger
	Now               func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) log(id string) *slog.Logger {
	return s.logger().With("egress_request_id", id)
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

// GetRequest returns one request.
func (s *Service) GetRequest(ctx context.Context, who egress.Identity, id string) (egress.Request, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return egress.Request{}, err
	}
	if id == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	return s.Requests.Get(ctx, id)
}

// Files lists the files staged for r, from its staging manifest (kept after
// the staged copies are deleted). A request not staged yet has none.
func (s *Service) Files(ctx context.Context, who egress.Identity, r egress.Request) ([]egress.File, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return nil, err
	}
	if r.StagingObjectMetadataVersion == "" {
		return []egress.File{}, nil
	}
	if s.Manifests == nil {
		return nil, fmt.Errorf("files of %s: the service has no manifest reader", r.ID)
	}
	m, err := s.Manifests.ReadManifest(ctx, s.StagingBucket, r.StagingObjectMetadataVersion)
	if err != nil {
		return nil, err
	}
	if m.RequestID != "" && m.RequestID != r.ID {
		return nil, fmt.Errorf("manifest %s belongs to request %s, not %s", r.StagingObjectMetadataVersion, m.RequestID, r.ID)
	}
	return m.Files, nil
}

// History returns the audit trail of request id, oldest first.
func (s *Service) History(ctx context.Context, who egress.Identity, id string) ([]egress.Event, error) {
	if err := s.authorizeReviewer(who); err != nil {
		return nil, err
	}
	return s.Requests.Events(ctx, id)
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
	p, err := s.awaiting(r)
	if err != nil {
		return egress.Request{}, err
	}
	if clientToken != "" {
		if err := p.checkToken(clientToken); err != nil {
			return egress.Request{}, err
		}
	}
	return s.decide(ctx, who, p, d, reason)
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
	stored, err := s.decide(ctx, who, p, d, reason)
	if err != nil {
		return "", err
	}
	last := stored.Reviews[len(stored.Reviews)-1]
	return fmt.Sprintf("Request %s %s at the %s stage by %s; status is now %s.",
		stored.ID, d, last.Stage, actorOf(who), stored.Status), nil
}

// decide records who's decision on the stage p awaits, whose token the
// caller has checked, and resumes the workflow with the stored token.
func (s *Service) decide(ctx context.Context, who egress.Identity, p pending, d egress.Decision, reason string) (egress.Request, error) {
	r := p.r
	log := s.log(r.ID)
	token := r.TaskToken
	next, ev, err := p.chain.Decide(r, who, d, reason, s.now())
	if err != nil {
		log.Warn("decision refused", "actor", actorOf(who), "code", egress.ErrorCode(err), "error", egress.ErrorMessage(err))
		return egress.Request{}, err
	}
	stored, err := s.Requests.Update(ctx, next, ev)
	if err != nil {
		return egress.Request{}, err
	}
	log.Info("decision recorded", "stage", ev.Stage, "decision", d, "actor", ev.Actor)
	if err := s.Workflow.Resume(ctx, token, statemachine.DecisionOutput{Decision: d, Stage: p.stage}); err != nil {
		// The decision stands and is stored; record on the request that the
		// workflow did not take it, so it shows in the API and the audit
		// trail. The stage's timeout then ends the request.
		log.Error("decision recorded but the workflow could not be resumed", "error", egress.Redact(err.Error()))
		code, why := egress.ECONFLICT, egress.ErrorMessage(err)
		if egress.ErrorCode(err) != egress.ECONFLICT {
			code, why = egress.EINTERNAL, "the workflow could not be reached"
		}
		msg := "decision recorded, but the workflow did not accept it: " + why
		if noted, nerr := s.noteResumeFailure(ctx, stored, ev.Stage, msg); nerr != nil {
			log.Error("could not record the resume failure", "error", egress.Redact(nerr.Error()))
		} else {
			stored = noted
		}
		return stored, egress.Errorf(code, "%s", msg)
	}
	return stored, nil
}

// noteResumeFailure stores msg as the request's failure cause with an audit
// event, without changing its status.
func (s *Service) noteResumeFailure(ctx context.Context, r egress.Request, stage, msg string) (egress.Request, error) {
	r.FailureCause = msg
	r.UpdatedAt, r.UpdatedBy = s.now(), egress.ActorWorkflow
	return s.Requests.Update(ctx, r, egress.Event{
		RequestID: r.ID, At: s.now(), Kind: egress.EventTransition, Actor: egress.ActorWorkflow,
		From: r.Status, To: r.Status, Stage: stage, Reason: msg,
	})
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
	chain, err := s.chainFor(r)
	if err != nil {
		return "", err
	}
	if final := chain.Stages[len(chain.Stages)-1].ApprovedStatus; r.Status != final || !r.Released() {
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
	s.log(id).Info("download granted", "actor", actorOf(who), "download_count", n, "max", s.MaxDownloads)
	return url, nil
}

func actorOf(who egress.Identity) string {
	if who.Email != "" {
		return who.Email
	}
	return who.Subject
}
