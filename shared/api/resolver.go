package api

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// Event is what AppSync sends a direct Lambda resolver (and what the local
// GraphQL executor sends Resolve).
type Event struct {
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Identity  *Identity       `json:"identity"`
	Source    json.RawMessage `json:"source,omitempty"`
	Info      Info            `json:"info"`
}

// Info says which field is being resolved.
type Info struct {
	FieldName        string         `json:"fieldName"`
	ParentTypeName   string         `json:"parentTypeName"`
	Variables        map[string]any `json:"variables,omitempty"`
	SelectionSetList []string       `json:"selectionSetList,omitempty"`
}

// Identity is AppSync's identity of a Cognito user pools caller: the
// verified token's claims. The token is an ID token or, as the frontend
// sends, an access token.
type Identity struct {
	Sub                 string         `json:"sub"`
	Issuer              string         `json:"issuer,omitempty"`
	Username            string         `json:"username,omitempty"`
	Claims              map[string]any `json:"claims"`
	SourceIP            []string       `json:"sourceIp,omitempty"`
	DefaultAuthStrategy string         `json:"defaultAuthStrategy,omitempty"`
	Groups              []string       `json:"groups"`
}

// NewIdentity is the identity AppSync passes for a verified Cognito token
// with these claims: its sub, issuer, user name (username in an access
// token, cognito:username in an ID token) and groups.
func NewIdentity(claims map[string]any) *Identity {
	id := &Identity{Sub: claim(claims, "sub"), Issuer: claim(claims, "iss"), Claims: claims,
		DefaultAuthStrategy: "ALLOW", Groups: groupsClaim(claims)}
	if id.Username = claim(claims, "username"); id.Username == "" {
		id.Username = claim(claims, "cognito:username")
	}
	return id
}

// Caller turns the identity into the domain's: Cognito's sub, its groups
// (AppSync's groups, else cognito:groups), name, the SWB user id
// (cognito.UserIDAttribute) and the e-mail address, which counts only when
// verified: an ID token says so in email_verified; an access token carries
// email only when the pre-token trigger put it there, which it does only
// for a verified address. A user may change their address through the
// self-service API, so an unverified one must never identify them.
func (id *Identity) Caller() (egress.Identity, error) {
	if id == nil {
		return egress.Identity{}, egress.Errorf(egress.EFORBIDDEN, "the request carries no identity")
	}
	who := egress.Identity{
		Subject: id.Sub,
		Name:    claim(id.Claims, "name"),
		UserID:  strings.TrimSpace(claim(id.Claims, cognito.UserIDAttribute)),
		Groups:  id.Groups,
	}
	if who.Subject == "" {
		who.Subject = claim(id.Claims, "sub")
	}
	if claim(id.Claims, "token_use") == "access" || verified(id.Claims["email_verified"]) {
		who.Email = strings.TrimSpace(claim(id.Claims, "email"))
	}
	if who.Groups == nil {
		who.Groups = groupsClaim(id.Claims)
	}
	if who.Name == "" {
		who.Name = strings.TrimSpace(claim(id.Claims, "given_name") + " " + claim(id.Claims, "family_name"))
	}
	if who.Name == "" {
		who.Name = id.Username
	}
	if who.Subject == "" && who.Email == "" {
		return egress.Identity{}, egress.Errorf(egress.EFORBIDDEN, "the identity has neither a sub nor a verified email claim")
	}
	return who, nil
}

// verified reads email_verified: a boolean in Cognito's ID token, a string
// in some identity providers' claims.
func verified(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(strings.TrimSpace(b), "true")
	}
	return false
}

func groupsClaim(claims map[string]any) []string {
	switch g := claims["cognito:groups"].(type) {
	case []any:
		out := []string{}
		for _, v := range g {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return g
	}
	return nil
}

func claim(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// FieldResolvers are the fields Resolve answers, as "Type.field"; the
// infrastructure attaches the Lambda data source to each, and the local
// executor calls Resolve for each.
var FieldResolvers = []string{
	"Query.listRequests",
	"Query.getRequest",
	"Query.requests",
	"Query.reviewQueue",
	"Query.previewFile",
	"Query.myRequests",
	"Query.workspaceRequests",
	"Query.verifyRelease",
	"Query.auditTrail",
	"Mutation.updateRequest",
	"Mutation.downloadData",
	"Mutation.reviewRequest",
	"Mutation.cancelRequest",
	"Mutation.revokeRelease",
	"Mutation.retryRequest",
	"Request.files",
	"Request.filePage",
	"Request.history",
	"Request.reviews",
	"Request.previous_request",
	"Request.changes",
	"Request.checks",
}

// Resolve answers one field: the dispatch of the direct Lambda resolver.
// Identity comes from ev.Identity only; arguments never carry it.
func (s *Service) Resolve(ctx context.Context, ev Event) (any, error) {
	who, err := ev.Identity.Caller()
	if err != nil {
		return nil, err
	}
	if err := checkIDArgs(ev.Arguments); err != nil {
		return nil, err
	}
	switch field := ev.Info.ParentTypeName + "." + ev.Info.FieldName; field {
	case "Query.listRequests":
		rs, err := s.ListRequests(ctx, who)
		if err != nil {
			return nil, err
		}
		return s.requestViews(rs), nil

	case "Query.getRequest":
		var args struct {
			ID string `json:"egress_request_id"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		r, err := s.GetRequest(ctx, who, args.ID)
		if err != nil {
			return nil, err
		}
		return s.requestView(r), nil

	case "Query.requests":
		var args struct {
			Filter *RequestFilter `json:"filter"`
			pageArgs
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		var f RequestFilter
		if args.Filter != nil {
			f = *args.Filter
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		p, err := s.RequestsPage(ctx, who, f, limit, token)
		if err != nil {
			return nil, err
		}
		return PageView{Items: s.requestViews(p.Requests), NextToken: p.NextToken}, nil

	case "Query.previewFile":
		var args struct {
			ID   string `json:"egress_request_id"`
			Path string `json:"path"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		p, err := s.Preview(ctx, who, args.ID, args.Path)
		if err != nil {
			return nil, err
		}
		return NewFilePreviewView(p), nil

	case "Query.myRequests", "Query.reviewQueue":
		var args pageArgs
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		list := s.MyRequests
		if field == "Query.reviewQueue" {
			list = s.ReviewQueue
		}
		p, err := list(ctx, who, limit, token)
		if err != nil {
			return nil, err
		}
		return PageView{Items: s.requestViews(p.Requests), NextToken: p.NextToken}, nil

	case "Query.workspaceRequests":
		var args struct {
			WorkspaceID string `json:"workspace_id"`
			pageArgs
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		p, err := s.WorkspaceRequests(ctx, who, args.WorkspaceID, limit, token)
		if err != nil {
			return nil, err
		}
		return PageView{Items: s.requestViews(p.Requests), NextToken: p.NextToken}, nil

	case "Query.verifyRelease":
		var args struct {
			ID string `json:"egress_request_id"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		v, err := s.VerifyRelease(ctx, who, args.ID)
		if err != nil {
			return nil, err
		}
		return NewVerificationView(v), nil

	case "Query.auditTrail":
		var args struct {
			ID string `json:"egress_request_id"`
			pageArgs
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		p, err := s.AuditTrail(ctx, who, args.ID, limit, token)
		if err != nil {
			return nil, err
		}
		return NewAuditPageView(p), nil

	case "Mutation.updateRequest":
		var args struct {
			Request UpdateInput `json:"request"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		return s.UpdateRequest(ctx, who, args.Request)

	case "Mutation.downloadData":
		var args struct {
			Request DownloadInput `json:"request"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		url, err := s.DownloadData(ctx, who, args.Request)
		if err != nil {
			return nil, err
		}
		return PresignView{URL: url}, nil

	case "Mutation.reviewRequest":
		var args struct {
			Request ReviewInput `json:"request"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		r, err := s.Review(ctx, who, args.Request)
		if err != nil {
			return nil, err
		}
		return s.requestView(r), nil

	case "Mutation.cancelRequest", "Mutation.revokeRelease":
		var args struct {
			ID     string `json:"egress_request_id"`
			Reason string `json:"reason"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		end := s.Cancel
		if field == "Mutation.revokeRelease" {
			end = s.RevokeRelease
		}
		r, err := end(ctx, who, args.ID, args.Reason)
		if err != nil {
			return nil, err
		}
		return s.requestView(r), nil

	case "Mutation.retryRequest":
		var args struct {
			ID string `json:"egress_request_id"`
		}
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		r, err := s.RetryRequest(ctx, who, args.ID)
		if err != nil {
			return nil, err
		}
		return s.requestView(r), nil

	case "Request.reviews":
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		rs, err := s.Reviews(ctx, who, r.ID)
		if err != nil {
			return nil, err
		}
		return reviewViews(rs), nil

	case "Request.previous_request":
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		if r.PreviousRequestID == "" {
			return nil, nil
		}
		prev, err := s.GetRequest(ctx, who, r.PreviousRequestID)
		if err != nil {
			return nil, err
		}
		return PreviousAttemptView{ID: prev.ID, Status: string(prev.Status), RequestedAt: egress.FormatTime(prev.RequestedAt),
			UpdatedAt: egress.FormatTime(prev.UpdatedAt), Comments: commentViews(prev.ReviewsFor(who))}, nil

	case "Request.changes":
		var args pageArgs
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		p, err := s.Changes(ctx, who, r, limit, token)
		if err != nil {
			return nil, err
		}
		out := FileChangePageView{Items: make([]FileChangeView, len(p.Changes)), NextToken: p.NextToken, Added: p.Added, Removed: p.Removed, Changed: p.Changed}
		for i, c := range p.Changes {
			out.Items[i] = FileChangeView{Path: c.Path, Change: c.Change, SHA256: c.SHA256, PreviousSHA256: c.PreviousSHA256}
		}
		return out, nil

	case "Request.files":
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		files, err := s.Files(ctx, who, r)
		if err != nil {
			return nil, err
		}
		return fileViews(files), nil

	case "Request.filePage":
		var args pageArgs
		if err := decodeArgs(ev.Arguments, &args); err != nil {
			return nil, err
		}
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		limit, token, err := args.page()
		if err != nil {
			return nil, err
		}
		p, err := s.FilesPage(ctx, who, r, limit, token)
		if err != nil {
			return nil, err
		}
		return newFilePageView(p), nil

	case "Request.checks":
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		c, err := s.Checks(ctx, who, r.ID)
		if err != nil {
			return nil, err
		}
		return newCheckSummaryView(c), nil

	case "Request.history":
		r, err := sourceRequest(ev.Source)
		if err != nil {
			return nil, err
		}
		events, err := s.History(ctx, who, r.ID)
		if err != nil {
			return nil, err
		}
		out := make([]EventView, len(events))
		for i, e := range events {
			out[i] = EventView{At: egress.FormatTime(e.At), Kind: e.Kind, Actor: e.Actor, From: string(e.From),
				To: string(e.To), Stage: e.Stage, Reason: e.Reason}
		}
		return out, nil

	default:
		return nil, egress.Errorf(egress.EINVALID, "no resolver for %s", field)
	}
}

func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return egress.Errorf(egress.EINVALID, "arguments: %v", err)
	}
	return nil
}

// sourceRequest reads the parent Request of a nested field: what Resolve
// returned for it, passed back by AppSync (or the local executor).
func sourceRequest(raw json.RawMessage) (egress.Request, error) {
	var src struct {
		ID       string `json:"egress_request_id"`
		Manifest string `json:"s3_staging_object_metadata_version"`
		Previous string `json:"previous_request_id"`
	}
	if err := json.Unmarshal(raw, &src); err != nil || src.ID == "" {
		return egress.Request{}, egress.Errorf(egress.EINVALID, "nested field without its parent request")
	}
	return egress.Request{ID: src.ID, StagingObjectMetadataVersion: src.Manifest, PreviousRequestID: src.Previous}, nil
}

// Handler logs one line for every error it returns, with LogResolverError
// as its message and the error's code (egress.EINTERNAL, ForbiddenError,
// ...) under LogErrorCode. The deployment's metric filters count these
// lines (infra/stack/alarms.go) to tell internal errors from users'
// refusals, which Lambda counts alike as function errors.
const (
	LogResolverError = "resolver error"
	LogErrorCode     = "error_code"
)

// Handler is the function functions/egress-api runs: Resolve, with errors
// in the shape AppSync shows a direct Lambda resolver's: errorType is the
// error code (ConflictError, ForbiddenError, ...) and errorMessage a
// message safe to show. Internal errors are logged, redacted, and shown as
// "internal error".
func Handler(s *Service) func(context.Context, Event) (any, error) {
	return func(ctx context.Context, ev Event) (any, error) {
		out, err := s.Resolve(ctx, ev)
		if err == nil {
			return out, nil
		}
		code := egress.ErrorCode(err)
		field := ev.Info.ParentTypeName + "." + ev.Info.FieldName
		if code == egress.EINTERNAL {
			s.logger(ctx).Error(LogResolverError, "field", field, LogErrorCode, code, "error", egress.Redact(err.Error()))
		} else {
			// Warn, not Info: the line must survive a WARN log level, or
			// the alarm would take the refusal for a crash.
			s.logger(ctx).Warn(LogResolverError, "field", field, LogErrorCode, code)
		}
		return nil, messages.InvokeResponse_Error{Type: code, Message: egress.Redact(egress.ErrorMessage(err))}
	}
}

// pageArgs are a paged field's arguments.
type pageArgs struct {
	Limit     *int    `json:"limit"`
	NextToken *string `json:"nextToken"`
}

// page returns the limit (0: the default) and the token ("" for the first
// page); an explicit limit of 0 is refused.
func (a pageArgs) page() (limit int, token string, err error) {
	if a.Limit != nil {
		if limit = *a.Limit; limit == 0 {
			return 0, "", egress.Errorf(egress.EINVALID, "limit must be at least 1")
		}
	}
	if a.NextToken != nil {
		token = *a.NextToken
	}
	return limit, token, nil
}
