package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The --json shapes are documented in README ("Operating with egressctl");
// testdata/*.golden pin them. Add fields at the end; never rename one.

// listItem is one request of `list --json`.
type listItem struct {
	ID                   string  `json:"egress_request_id"`
	Status               string  `json:"egress_status"`
	WorkspaceID          string  `json:"workspace_id"`
	ProjectID            string  `json:"project_id"`
	RequestedBy          string  `json:"requested_by"`
	RequestedDT          string  `json:"requested_dt"`
	UpdatedDT            string  `json:"updated_dt"`
	CurrentReviewerGroup *string `json:"current_reviewer_group"`
	FileCount            *int    `json:"file_count"`
}

type listOutput struct {
	Items     []listItem `json:"items"`
	NextToken *string    `json:"nextToken"`
}

const listQuery = `query List($filter: RequestFilter, $limit: Int, $nextToken: String) {
  requests(filter: $filter, limit: $limit, nextToken: $nextToken) {
    items { egress_request_id egress_status workspace_id project_id requested_by requested_dt updated_dt current_reviewer_group file_count }
    nextToken
  }
}`

func listCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("list")
	status := fs.String("status", "", "only requests in this egress_status (PROCESSING, IGAPPROVED, RITAPPROVED, REJECTED, ...)")
	workspace := fs.String("workspace", "", "only this workspace_id")
	project := fs.String("project", "", "only this project_id")
	limit := fs.Int("limit", 50, "requests per page (1 to 100)")
	next := fs.String("next-token", "", "the page after the one that printed this token")
	all := fs.Bool("all", false, "every page")
	if _, err := a.parse(fs, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 100 {
		return usagef("list: --limit %d: want 1 to 100", *limit)
	}
	if *all && *next != "" {
		return usagef("list: --all and --next-token: give one")
	}
	filter := map[string]any{}
	for k, v := range map[string]string{"status": strings.ToUpper(*status), "workspace_id": *workspace, "project_id": *project} {
		if v != "" {
			filter[k] = v
		}
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	out := listOutput{Items: []listItem{}}
	token := *next
	for {
		vars := map[string]any{"limit": *limit}
		if len(filter) > 0 {
			vars["filter"] = filter
		}
		if token != "" {
			vars["nextToken"] = token
		}
		var res struct {
			Requests *listOutput `json:"requests"`
		}
		if err := c.Do(ctx, listQuery, vars, &res); err != nil {
			return err
		}
		if res.Requests == nil {
			break
		}
		out.Items = append(out.Items, res.Requests.Items...)
		out.NextToken = res.Requests.NextToken
		if !*all || out.NextToken == nil || *out.NextToken == "" {
			break
		}
		token = *out.NextToken
	}
	if *all {
		out.NextToken = nil
	}
	if a.opts.json {
		return a.writeJSON(out)
	}
	t := a.table("ID", "STATUS", "WORKSPACE", "PROJECT", "REQUESTED BY", "REQUESTED", "AWAITS", "FILES")
	for _, r := range out.Items {
		files := "-"
		if r.FileCount != nil {
			files = strconv.Itoa(*r.FileCount)
		}
		t.row(r.ID, r.Status, r.WorkspaceID, r.ProjectID, r.RequestedBy, r.RequestedDT, deref(r.CurrentReviewerGroup), files)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if out.NextToken != nil && *out.NextToken != "" {
		fmt.Fprintf(a.stderr, "more: egressctl list --next-token %s (or --all)\n", *out.NextToken)
	}
	return nil
}

// requestDetail is the request of `show --json`.
type requestDetail struct {
	ID                   string   `json:"egress_request_id"`
	Status               string   `json:"egress_status"`
	WorkspaceID          string   `json:"workspace_id"`
	ProjectID            string   `json:"project_id"`
	StoreName            string   `json:"egress_store_name"`
	RequestedBy          string   `json:"requested_by"`
	RequestedDT          string   `json:"requested_dt"`
	UpdatedBy            string   `json:"updated_by"`
	UpdatedDT            string   `json:"updated_dt"`
	CurrentReviewerGroup *string  `json:"current_reviewer_group"`
	AwaitingSince        *string  `json:"awaiting_since"`
	FileCount            *int     `json:"file_count"`
	DownloadCount        *string  `json:"download_count"`
	ReleasedDT           *string  `json:"released_dt"`
	RevokedDT            *string  `json:"revoked_dt"`
	RevokedBy            *string  `json:"revoked_by"`
	RevokeReason         *string  `json:"revoke_reason"`
	FailureCause         *string  `json:"failure_cause"`
	EndedBy              *string  `json:"ended_by"`
	EndReason            *string  `json:"end_reason"`
	PreviousRequestID    *string  `json:"previous_request_id"`
	Reviews              []review `json:"reviews"`
}

type review struct {
	Stage    string  `json:"stage"`
	Name     *string `json:"name"`
	Email    *string `json:"email"`
	DT       string  `json:"dt"`
	Decision string  `json:"decision"`
	Reason   *string `json:"reason"`
}

type finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

type file struct {
	Path     string    `json:"path"`
	Size     float64   `json:"size"`
	SHA256   string    `json:"sha256"`
	Findings []finding `json:"findings"`
}

type historyEvent struct {
	At         string  `json:"at"`
	Kind       string  `json:"kind"`
	Actor      *string `json:"actor"`
	FromStatus *string `json:"from_status"`
	ToStatus   *string `json:"to_status"`
	Stage      *string `json:"stage"`
	Reason     *string `json:"reason"`
}

type showOutput struct {
	Request requestDetail  `json:"request"`
	Files   []file         `json:"files"`
	History []historyEvent `json:"history"`
}

const showQuery = `query Show($id: String!) {
  getRequest(egress_request_id: $id) {
    egress_request_id egress_status workspace_id project_id egress_store_name
    requested_by requested_dt updated_by updated_dt current_reviewer_group awaiting_since
    file_count download_count released_dt revoked_dt revoked_by revoke_reason
    failure_cause ended_by end_reason previous_request_id
    reviews { stage name email dt decision reason }
    history { at kind actor from_status to_status stage reason }
  }
}`

// Files are read a page at a time: Request.files refuses requests with
// very many files or findings.
const filesQuery = `query Files($id: String!, $nextToken: String) {
  getRequest(egress_request_id: $id) {
    filePage(limit: 1000, nextToken: $nextToken) {
      items { path size sha256 }
      nextToken
      findings { path check severity message }
    }
  }
}`

func showCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("show")
	pos, err := a.parse(fs, args, "request id")
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	id := pos[0]
	var res struct {
		R *struct {
			requestDetail
			History []historyEvent `json:"history"`
		} `json:"getRequest"`
	}
	if err := c.Do(ctx, showQuery, map[string]any{"id": id}, &res); err != nil {
		return err
	}
	if res.R == nil {
		return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s (or not yours to see)", id)}
	}
	out := showOutput{Request: res.R.requestDetail, Files: []file{}, History: res.R.History}
	if out.Request.Reviews == nil {
		out.Request.Reviews = []review{}
	}
	if out.History == nil {
		out.History = []historyEvent{}
	}
	if out.Files, err = files(ctx, c, id); err != nil {
		return err
	}
	if a.opts.json {
		return a.writeJSON(out)
	}
	return a.printShow(out)
}

func files(ctx context.Context, c *Client, id string) ([]file, error) {
	list := []file{}
	token := ""
	for {
		vars := map[string]any{"id": id}
		if token != "" {
			vars["nextToken"] = token
		}
		var res struct {
			R *struct {
				Page *struct {
					Items     []file  `json:"items"`
					NextToken *string `json:"nextToken"`
					Findings  []struct {
						Path *string `json:"path"`
						finding
					} `json:"findings"`
				} `json:"filePage"`
			} `json:"getRequest"`
		}
		if err := c.Do(ctx, filesQuery, vars, &res); err != nil {
			return nil, err
		}
		if res.R == nil || res.R.Page == nil {
			return list, nil
		}
		p := res.R.Page
		start := len(list)
		for _, f := range p.Items {
			f.Findings = []finding{}
			list = append(list, f)
		}
		for _, fd := range p.Findings {
			for i := start; i < len(list); i++ {
				if fd.Path != nil && list[i].Path == *fd.Path {
					list[i].Findings = append(list[i].Findings, fd.finding)
					break
				}
			}
		}
		if p.NextToken == nil || *p.NextToken == "" {
			return list, nil
		}
		token = *p.NextToken
	}
}

func (a *app) printShow(o showOutput) error {
	r := o.Request
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	kv := func(k string, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s\t%s\n", k, v)
		}
	}
	kv("request", r.ID)
	kv("status", r.Status)
	kv("workspace", r.WorkspaceID)
	kv("project", r.ProjectID)
	kv("store", r.StoreName)
	kv("requested", r.RequestedDT+" by "+r.RequestedBy)
	kv("updated", r.UpdatedDT+" by "+r.UpdatedBy)
	kv("awaits", deref(r.CurrentReviewerGroup))
	kv("awaiting since", deref(r.AwaitingSince))
	kv("downloads", deref(r.DownloadCount))
	kv("released", deref(r.ReleasedDT))
	if r.RevokedDT != nil {
		kv("revoked", *r.RevokedDT+" by "+deref(r.RevokedBy)+": "+deref(r.RevokeReason))
	}
	kv("failure", deref(r.FailureCause))
	if r.EndedBy != nil {
		kv("ended", deref(r.EndedBy)+": "+deref(r.EndReason))
	}
	kv("previous request", deref(r.PreviousRequestID))
	if err := w.Flush(); err != nil {
		return err
	}
	if len(r.Reviews) > 0 {
		fmt.Fprintln(a.stdout, "\nreviews:")
		t := a.table("STAGE", "DECISION", "BY", "AT", "REASON")
		for _, v := range r.Reviews {
			t.row(v.Stage, v.Decision, first(deref(v.Email), deref(v.Name)), v.DT, deref(v.Reason))
		}
		t.flush()
	}
	fmt.Fprintf(a.stdout, "\nfiles (%d):\n", len(o.Files))
	t := a.table("PATH", "SIZE", "SHA-256", "FINDINGS")
	for _, f := range o.Files {
		var fnd []string
		for _, x := range f.Findings {
			fnd = append(fnd, x.Severity+" "+x.Check+": "+x.Message)
		}
		t.row(f.Path, strconv.FormatFloat(f.Size, 'f', 0, 64), short(f.SHA256), strings.Join(fnd, "; "))
	}
	t.flush()
	fmt.Fprintln(a.stdout, "\nhistory:")
	t = a.table("AT", "EVENT", "ACTOR", "FROM", "TO", "STAGE", "REASON")
	for _, e := range o.History {
		t.row(e.At, e.Kind, deref(e.Actor), deref(e.FromStatus), deref(e.ToStatus), deref(e.Stage), deref(e.Reason))
	}
	return t.flush()
}

// actionOutput is what approve, reject, return, cancel, revoke and retry
// print with --json.
type actionOutput struct {
	ID     string `json:"egress_request_id"`
	Action string `json:"action"`
	Status string `json:"egress_status"`
}

const (
	taskTokenQuery = `query Token($id: String!) { getRequest(egress_request_id: $id) { egress_status task_token } }`
	reviewMutation = `mutation Review($request: ReviewInput!) { reviewRequest(request: $request) { egress_request_id egress_status } }`
	cancelMutation = `mutation Cancel($id: String!, $reason: String!) { cancelRequest(egress_request_id: $id, reason: $reason) { egress_request_id egress_status } }`
	revokeMutation = `mutation Revoke($id: String!, $reason: String!) { revokeRelease(egress_request_id: $id, reason: $reason) { egress_request_id egress_status } }`
	retryMutation  = `mutation Retry($id: String!) { retryRequest(egress_request_id: $id) { egress_request_id egress_status } }`
)

type statusOnly struct {
	ID     string `json:"egress_request_id"`
	Status string `json:"egress_status"`
}

// decideCmd votes decision on the stage the request awaits, with the
// task_token read just before, so the vote cannot land on a later stage.
func decideCmd(decision string) func(context.Context, *app, []string) error {
	verb := map[string]string{"APPROVED": "approve", "REJECTED": "reject", "RETURNED": "return"}[decision]
	return func(ctx context.Context, a *app, args []string) error {
		fs := a.flags(verb)
		reason := fs.String("reason", "", "why (required to reject or return)")
		pos, err := a.parse(fs, args, "request id")
		if err != nil {
			return err
		}
		if decision != "APPROVED" && strings.TrimSpace(*reason) == "" {
			return usagef("%s: --reason is required", verb)
		}
		c, err := a.client(ctx)
		if err != nil {
			return err
		}
		id := pos[0]
		var got struct {
			R *struct {
				Status    string  `json:"egress_status"`
				TaskToken *string `json:"task_token"`
			} `json:"getRequest"`
		}
		if err := c.Do(ctx, taskTokenQuery, map[string]any{"id": id}, &got); err != nil {
			return err
		}
		if got.R == nil {
			return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s", id)}
		}
		if got.R.TaskToken == nil || *got.R.TaskToken == "" {
			return &APIError{Type: "ConflictError", Message: fmt.Sprintf("request %s is %s and awaits no decision", id, got.R.Status)}
		}
		in := map[string]any{"egress_request_id": id, "task_token": *got.R.TaskToken, "decision": decision}
		if *reason != "" {
			in["reason"] = *reason
		}
		var res struct {
			R statusOnly `json:"reviewRequest"`
		}
		if err := c.Do(ctx, reviewMutation, map[string]any{"request": in}, &res); err != nil {
			return err
		}
		return a.printAction(verb, id, res.R.Status)
	}
}

func reasonCmd(name, mutation, field string) func(context.Context, *app, []string) error {
	return func(ctx context.Context, a *app, args []string) error {
		fs := a.flags(name)
		reason := fs.String("reason", "", "why (required)")
		pos, err := a.parse(fs, args, "request id")
		if err != nil {
			return err
		}
		if strings.TrimSpace(*reason) == "" {
			return usagef("%s: --reason is required", name)
		}
		c, err := a.client(ctx)
		if err != nil {
			return err
		}
		res := map[string]statusOnly{}
		if err := c.Do(ctx, mutation, map[string]any{"id": pos[0], "reason": *reason}, &res); err != nil {
			return err
		}
		return a.printAction(name, pos[0], res[field].Status)
	}
}

var (
	cancelCmd = reasonCmd("cancel", cancelMutation, "cancelRequest")
	revokeCmd = reasonCmd("revoke", revokeMutation, "revokeRelease")
)

func retryCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("retry")
	pos, err := a.parse(fs, args, "request id")
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	var res struct {
		R *statusOnly `json:"retryRequest"`
	}
	if err := c.Do(ctx, retryMutation, map[string]any{"id": pos[0]}, &res); err != nil {
		return err
	}
	if res.R == nil {
		return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s", pos[0])}
	}
	return a.printAction("retry", pos[0], res.R.Status)
}

func (a *app) printAction(action, id, status string) error {
	if a.opts.json {
		return a.writeJSON(actionOutput{ID: id, Action: action, Status: status})
	}
	_, err := fmt.Fprintf(a.stdout, "%s %s: %s\n", id, action, status)
	return err
}

// verifyOutput is `verify --json`: verifyRelease's answer.
type verifyOutput struct {
	ID             string           `json:"egress_request_id"`
	OK             bool             `json:"ok"`
	CheckedAt      string           `json:"checked_at"`
	EntriesChecked int              `json:"entries_checked"`
	ProblemCount   int              `json:"problem_count"`
	Problems       []releaseProblem `json:"problems"`
}

type releaseProblem struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

const verifyQuery = `query Verify($id: String!) {
  verifyRelease(egress_request_id: $id) { egress_request_id ok checked_at entries_checked problem_count problems { path problem } }
}`

func verifyCmd(ctx context.Context, a *app, args []string) error {
	fs := a.flags("verify")
	pos, err := a.parse(fs, args, "request id")
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	var res struct {
		V *verifyOutput `json:"verifyRelease"`
	}
	if err := c.Do(ctx, verifyQuery, map[string]any{"id": pos[0]}, &res); err != nil {
		return err
	}
	if res.V == nil {
		return &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s", pos[0])}
	}
	v := res.V
	if v.Problems == nil {
		v.Problems = []releaseProblem{}
	}
	if a.opts.json {
		if err := a.writeJSON(v); err != nil {
			return err
		}
	} else {
		verdict := "ok"
		if !v.OK {
			verdict = fmt.Sprintf("DRIFT: %d problem(s)", v.ProblemCount)
		}
		fmt.Fprintf(a.stdout, "%s: %s (%d entries checked at %s)\n", v.ID, verdict, v.EntriesChecked, v.CheckedAt)
		if len(v.Problems) > 0 {
			t := a.table("PATH", "PROBLEM")
			for _, p := range v.Problems {
				t.row(p.Path, p.Problem)
			}
			t.flush()
		}
	}
	if !v.OK {
		return &checkFailed{fmt.Errorf("release %s drifted", v.ID)}
	}
	return nil
}

func logoutCmd(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("logout"), args); err != nil {
		return err
	}
	n, err := removeCachedTokens()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "removed %d cached access token(s)\n", n)
	return nil
}

// writeJSON writes v as indented JSON and a newline.
func (a *app) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}

type table struct{ w *tabwriter.Writer }

func (a *app) table(headers ...string) *table {
	t := &table{tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		if cells[i] == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.w.Flush() }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// short is a SHA-256 cut for a table; --json has it whole.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
