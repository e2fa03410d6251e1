package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/local/devtoken"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// The local endpoint stands in for AppSync with Cognito: callers send a JWT
// with Cognito's claims, signed by a development key kept in the stack's
// folder, so `egress-local token` in another process can sign one too.
const (
	SigningKeyFile = devtoken.SigningKeyFile
	TokenIssuer    = devtoken.Issuer
	// maxBodyBytes bounds a request's body: the query (appsync's
	// MaxRequestBytes) and its variables, with room for JSON's escaping.
	maxBodyBytes = appsync.MaxRequestBytes + 64<<10
)

// SigningKeyPath is where the development signing key of the stack in dir
// is kept.
func SigningKeyPath(dir string) string { return devtoken.KeyPath(dir) }

// signingKey reads the key in dir, creating it on first use.
func signingKey(dir string) ([]byte, error) { return devtoken.Key(dir) }

// SignToken signs claims (HS256) with the development key of the stack in
// dir, creating the key if there is none yet.
func SignToken(dir string, claims map[string]any) (string, error) { return devtoken.Sign(dir, claims) }

// verifyToken checks a token against key and returns the identity AppSync
// would build from its claims. Only HS256 with this key, this issuer and
// an expiry in the future passes, and only an ID token for ClientID (aud)
// or an access token for it (client_id), as AppSync checks Cognito's.
func verifyToken(key []byte, raw string) (*api.Identity, error) {
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second))
	if err != nil {
		return nil, err
	}
	claims := tok.Claims.(jwt.MapClaims)
	switch use, _ := claims["token_use"].(string); use {
	case UseAccess:
		if id, _ := claims["client_id"].(string); id != ClientID {
			return nil, fmt.Errorf("access token for client %q, not %s", id, ClientID)
		}
	case UseID:
		aud, err := claims.GetAudience()
		if err != nil || !slices.Contains(aud, ClientID) {
			return nil, fmt.Errorf("ID token for audience %q, not %s", aud, ClientID)
		}
	default:
		return nil, fmt.Errorf("token_use %q: want %s or %s", use, UseAccess, UseID)
	}
	return api.NewIdentity(map[string]any(claims)), nil
}

// GraphQLHandler serves the API's schema at POST /graphql with the same
// resolver the Lambda runs. Identity comes from the Authorization header
// ("<JWT>" or "Bearer <JWT>") signed by the stack's development key.
func (s *Stack) GraphQLHandler() http.Handler {
	return s.meterGraphQL(s.responses.recordErrors(newGraphQLHandler(s.API, s.Dir, s.opts.Logger)))
}

type graphQLHandler struct {
	exec *appsync.Executor
	key  []byte
	err  error // setup failure, reported on every request
	log  *slog.Logger
	// deadline bounds one request as AppSync does (withAppSyncTimeout);
	// tests replace it to expire a request on cue.
	deadline func(context.Context) (context.Context, context.CancelFunc)
}

// AppSyncTimeout is how long AppSync lets one GraphQL request run before
// it answers with a timeout error, whatever its resolvers still do.
const AppSyncTimeout = 30 * time.Second

func withAppSyncTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, AppSyncTimeout)
}

// timeoutResponse is what AppSync answers for a request that ran out of
// time (errorType as in aws/aws-appsync-community#386).
func timeoutResponse() appsync.Response {
	return errorBody("Lambda:ExecutionTimeoutException", "Execution timed out.")
}

func newGraphQLHandler(svc *api.Service, dir string, log *slog.Logger) *graphQLHandler {
	h := &graphQLHandler{log: log, deadline: withAppSyncTimeout}
	if h.key, h.err = signingKey(dir); h.err == nil {
		h.exec, h.err = appsync.NewExecutor(api.SchemaForGroups(svc.ReviewerGroups, svc.DownloadGroups, svc.AdminGroups, svc.ResearcherGroup), api.Handler(svc))
	}
	return h
}

// writeJSON writes v with status; AppSync's errors are JSON too.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func errorBody(errorType, msg string) appsync.Response {
	return appsync.Response{Errors: []appsync.GraphQLError{{ErrorType: errorType, Message: msg}}}
}

func (h *graphQLHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.err != nil {
		h.log.Error("graphql endpoint unavailable", "error", h.err)
		writeJSON(w, http.StatusInternalServerError, errorBody("InternalFailure", "the local GraphQL endpoint failed to start"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody("MalformedHttpRequestException", "use POST"))
		return
	}
	raw := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(raw) > 7 && strings.EqualFold(raw[:7], "Bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		writeJSON(w, http.StatusUnauthorized, errorBody("UnauthorizedException", "Valid authorization header not provided."))
		return
	}
	id, err := verifyToken(h.key, raw)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, errorBody("UnauthorizedException", "Unable to verify the JWT: "+err.Error()))
		return
	}
	// A caller who may call nothing costs no reading of the body.
	if gerr := h.exec.Admit(id); gerr != nil {
		writeJSON(w, http.StatusOK, appsync.Response{Errors: []appsync.GraphQLError{*gerr}})
		return
	}
	if r.ContentLength > maxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, tooLarge(r.ContentLength))
		return
	}
	var req appsync.GraphQLRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(&req); err != nil || strings.TrimSpace(req.Query) == "" {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, tooLarge(-1))
			return
		}
		writeJSON(w, http.StatusBadRequest, errorBody("MalformedHttpRequestException", "the body must be JSON with a query"))
		return
	}
	writeJSON(w, http.StatusOK, h.execute(r.Context(), req, id))
}

// tooLarge refuses a body over maxBodyBytes (size -1: unknown, it was
// sent without a length).
func tooLarge(size int64) appsync.Response {
	msg := fmt.Sprintf("Request body exceeds the limit of %d bytes", maxBodyBytes)
	if size >= 0 {
		msg = fmt.Sprintf("Request body is %d bytes; the limit is %d", size, maxBodyBytes)
	}
	return errorBody("RequestEntityTooLargeException", msg)
}

// execute runs req within AppSync's time limit. Once the limit passes the
// caller gets AppSync's timeout error at once; resolvers still running see
// their context end, and what they return is dropped. A request whose
// client went away ends when its execution does.
func (h *graphQLHandler) execute(ctx context.Context, req appsync.GraphQLRequest, id *api.Identity) appsync.Response {
	ctx, cancel := h.deadline(ctx)
	defer cancel()
	done := make(chan appsync.Response, 1)
	go func() { done <- h.exec.Execute(ctx, req, id) }()
	var resp appsync.Response
	finished := false
	select {
	case resp = <-done:
		finished = true
	case <-ctx.Done():
	}
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		h.log.Warn("graphql request timed out", "after", AppSyncTimeout)
		return timeoutResponse()
	}
	if !finished {
		// The client went away: the executor calls no further resolver,
		// so this waits only for the one in flight, and the handler ends
		// with the work it started rather than leaving it running.
		resp = <-done
	}
	return resp
}

// GraphQLDecider decides and downloads the way the frontend does: through
// the GraphQL endpoint with a token signed for each reviewer, by default
// the access token the frontend sends. Scenarios use it so the API is
// exercised end to end.
type GraphQLDecider struct {
	Endpoint string       // the /graphql URL
	KeyDir   string       // the stack's folder, holding its signing key
	HTTP     *http.Client // default http.DefaultClient
	Use      string       // the token's kind: UseAccess (default) or UseID
}

// GraphQLDecider returns a decider for the stack's own endpoint.
func (s *Stack) GraphQLDecider() GraphQLDecider {
	return GraphQLDecider{Endpoint: s.URL + "/graphql", KeyDir: s.Dir}
}

// Do runs a GraphQL document as who and decodes its data into out (which
// may be nil). The first GraphQL error comes back as an *egress.Error whose
// code is the errorType.
func (d GraphQLDecider) Do(ctx context.Context, who egress.Identity, query string, vars map[string]any, out any) error {
	use := d.Use
	if use == "" {
		use = UseAccess
	}
	token, err := Token(d.KeyDir, who, use, 5*time.Minute)
	if err != nil {
		return err
	}
	body, err := json.Marshal(appsync.GraphQLRequest{Query: query, Variables: vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	var res struct {
		Data   json.RawMessage        `json:"data"`
		Errors []appsync.GraphQLError `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("graphql: HTTP %d: %w", resp.StatusCode, err)
	}
	if len(res.Errors) > 0 {
		return &egress.Error{Code: res.Errors[0].ErrorType, Message: res.Errors[0].Message}
	}
	if out != nil {
		return json.Unmarshal(res.Data, out)
	}
	return nil
}

const (
	getForDecision = `query GetRequest($id: String!) {
  getRequest(egress_request_id: $id) {
    egress_status task_token workspace_id download_count
    ig_reviewer_1_name ig_reviewer_1_email ig_reviewer_1_dt ig_reviewer_1_reason ig_reviewer_1_decision
  }
}`
	updateRequest = `mutation UpdateRequest($request: UpdateRequestInput!) {
  updateRequest(request: $request)
}`
	downloadData = `mutation DownloadData($request: DownloadDataInput!) {
  downloadData(request: $request) {
    presign_url
  }
}`
)

func (d GraphQLDecider) get(ctx context.Context, who egress.Identity, id string) (map[string]any, error) {
	var out struct {
		GetRequest map[string]any `json:"getRequest"`
	}
	if err := d.Do(ctx, who, getForDecision, map[string]any{"id": id}, &out); err != nil {
		return nil, err
	}
	return out.GetRequest, nil
}

// Decide implements Decider: it reads the request and sends updateRequest
// as the frontend does, with the reviewer's own name, e-mail and time, the
// listed task token, and at the RIT stage the IG decision resent.
func (d GraphQLDecider) Decide(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string) error {
	r, err := d.get(ctx, who, id)
	if err != nil {
		return err
	}
	in := map[string]any{"egress_request_id": id, "task_token": r["task_token"]}
	if in["task_token"] == nil {
		in["task_token"] = ""
	}
	prefix := "ig_reviewer_1_"
	if r["egress_status"] == string(egress.StatusIGApproved) {
		prefix = "rit_reviewer_2_"
		for _, f := range []string{"name", "email", "dt", "reason", "decision"} {
			in["ig_reviewer_1_"+f] = r["ig_reviewer_1_"+f]
		}
	}
	in[prefix+"name"], in[prefix+"email"] = who.Name, who.Email
	in[prefix+"dt"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	in[prefix+"reason"], in[prefix+"decision"] = reason, string(dec)
	return d.Do(ctx, who, updateRequest, map[string]any{"request": in}, nil)
}

// Download implements Decider with downloadData, sending the workspace and
// count as the frontend last saw them.
func (d GraphQLDecider) Download(ctx context.Context, who egress.Identity, id string) (string, error) {
	r, err := d.get(ctx, who, id)
	if err != nil {
		return "", err
	}
	var out struct {
		DownloadData struct {
			PresignURL string `json:"presign_url"`
		} `json:"downloadData"`
	}
	in := map[string]any{"egress_request_id": id, "workspace_id": r["workspace_id"], "download_count": r["download_count"]}
	if err := d.Do(ctx, who, downloadData, map[string]any{"request": in}, &out); err != nil {
		return "", err
	}
	return out.DownloadData.PresignURL, nil
}

const (
	reviewRequest = `mutation ReviewRequest($request: ReviewInput!) {
  reviewRequest(request: $request) { egress_status }
}`
	cancelRequest = `mutation CancelRequest($id: String!, $reason: String!) {
  cancelRequest(egress_request_id: $id, reason: $reason) { egress_status }
}`
)

// Review votes as who with reviewRequest: a decision (APPROVED, REJECTED
// or RETURNED), its reason, and decisions on single files.
func (d GraphQLDecider) Review(ctx context.Context, who egress.Identity, id string, dec egress.Decision, reason string, files []egress.FileDecision) error {
	r, err := d.get(ctx, who, id)
	if err != nil {
		return err
	}
	token, _ := r["task_token"].(string)
	in := map[string]any{"egress_request_id": id, "task_token": token, "decision": string(dec), "reason": reason}
	var fs []map[string]any
	for _, f := range files {
		fs = append(fs, map[string]any{"path": f.Path, "decision": string(f.Decision), "comment": f.Comment})
	}
	if fs != nil {
		in["files"] = fs
	}
	return d.Do(ctx, who, reviewRequest, map[string]any{"request": in}, nil)
}

// Cancel cancels request id as who with cancelRequest.
func (d GraphQLDecider) Cancel(ctx context.Context, who egress.Identity, id, reason string) error {
	return d.Do(ctx, who, cancelRequest, map[string]any{"id": id, "reason": reason}, nil)
}

const revokeReleaseMutation = `mutation RevokeRelease($id: String!, $reason: String!) {
  revokeRelease(egress_request_id: $id, reason: $reason) { egress_status }
}`

// Revoke revokes request id's release as who with revokeRelease.
func (d GraphQLDecider) Revoke(ctx context.Context, who egress.Identity, id, reason string) error {
	return d.Do(ctx, who, revokeReleaseMutation, map[string]any{"id": id, "reason": reason}, nil)
}
