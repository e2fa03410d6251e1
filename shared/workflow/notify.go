package workflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tre-egress/egress/shared/egress"
)

// NotifyInput is the Notify task's payload, or the same fields published
// on the notices topic (UnmarshalJSON takes SNS's envelope).
type NotifyInput struct {
	RequestID string `json:"egress_request_id"`
	// approved | rejected | returned | cancelled | blocked | failed | revoked, in any case
	// (the definition passes the decision's APPROVED, RETURNED, ...).
	Kind string `json:"kind"`
}

// Notify tells the requester the outcome (approved, rejected) or the TRE
// admin that a request failed or expired.
func (h *Handlers) Notify(ctx context.Context, in NotifyInput) error {
	if err := (RequestInput{RequestID: in.RequestID}).validate(); err != nil {
		return err
	}
	r, err := h.Requests.Get(ctx, in.RequestID)
	if err != nil {
		return err
	}
	var e egress.Email
	switch kind := strings.ToLower(in.Kind); kind {
	case "approved":
		e = egress.Email{To: []string{r.RequestedByEmail}, Cc: h.firstReviewer(r),
			Subject: fmt.Sprintf("Egress request %s approved", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was approved and released.\n%s\nThe data custodians can download it here:\n%s\n",
				r.ID, r.StoreName, r.WorkspaceID, leftOutText(r), h.link(r))}
	case "returned":
		e = egress.Email{To: []string{r.RequestedByEmail}, Cc: h.firstReviewer(r),
			Subject: fmt.Sprintf("Egress request %s returned for changes", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was returned for changes. Nothing was released.\n\n%s%s\nYour workspace's egress store is unlocked: change the files and submit again; the reviewers will see what changed.\n",
				r.ID, r.StoreName, r.WorkspaceID, reasons(r, egress.Returned, "What to change (%s stage)"), leftOutText(r))}
	case "cancelled":
		if chain, err := h.chainFor(r); err == nil {
			if i := stageAtEnd(chain, r); i >= 0 {
				st := chain.Stages[i]
				h.tellGroup(ctx, r, st, bounded(fmt.Sprintf("Egress request %s was cancelled", r.ID), maxSubject),
					fmt.Sprintf("Egress request %s (%s, workspace %s), which awaited the %s decision, was cancelled by %s and needs no decision.\n\nReason: %s\n\n%s\n",
						r.ID, bounded(r.StoreName, maxField), r.WorkspaceID, st.Name, r.EndedBy, r.EndReason, h.link(r)))
			}
		}
		e = egress.Email{To: []string{r.RequestedByEmail},
			Subject: fmt.Sprintf("Egress request %s cancelled", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was cancelled by %s. Nothing was released.\n\nReason: %s\n\nYour workspace's egress store is unlocked; you can submit again.\n",
				r.ID, r.StoreName, r.WorkspaceID, r.EndedBy, r.EndReason)}
	case "rejected":
		e = egress.Email{To: []string{r.RequestedByEmail}, Cc: h.firstReviewer(r),
			Subject: fmt.Sprintf("Egress request %s rejected", r.ID),
			// The files rejected one by one too: when every file was, no
			// vote rejected the request and they are the only reason.
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was rejected.\n\n%s%s\nYour workspace's egress store is unlocked; you can change the files and submit again.\n",
				r.ID, r.StoreName, r.WorkspaceID, reasons(r, egress.Rejected, "Reason given at the %s stage"), leftOutText(r))}
	case "failed":
		// The requester first, without the cause (it is for the admin);
		// the admin's e-mail says if that failed.
		// A kept release is not the requester's failure: nothing to tell.
		var unsent string
		if !r.Released() {
			if err := h.sendToRequester(ctx, r, requesterEnded(r, r.Status)); err != nil {
				unsent = fmt.Sprintf("\nThe requester could not be e-mailed: %v\n", err)
			}
		}
		e = egress.Email{To: []string{h.Settings.AdminEmail},
			Subject: fmt.Sprintf("Egress request %s %s", r.ID, strings.ToLower(string(r.Status))),
			Text: fmt.Sprintf("The egress request %s (%s, workspace %s, requested by %s) ended as %s.\n\nCause: %s\n\n%s\n%s\n%s",
				r.ID, r.StoreName, r.WorkspaceID, r.RequestedByEmail, r.Status, r.FailureCause, failureOutcome(r), h.link(r), unsent)}
	case "revoked":
		return h.notifyRevoked(ctx, r)
	case "blocked":
		e = egress.Email{To: []string{r.RequestedByEmail},
			Subject: fmt.Sprintf("Egress request %s blocked by automated checks", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was blocked by the automated checks before review. Nothing was released and no reviewer saw it.\n\n%s\nYour workspace's egress store is unlocked: remove or fix these files and submit again.\n",
				r.ID, r.StoreName, r.WorkspaceID, cmp.Or(blockedText(r), blockedReason(r)))}
	default:
		return egress.Errorf(egress.EINVALID, "kind must be approved, rejected, returned, cancelled, blocked, failed or revoked, got %q", in.Kind)
	}
	if err := h.Mailer.Send(ctx, e); err != nil {
		return err
	}
	h.log(ctx, r.ID).Info("notified", "kind", in.Kind)
	return nil
}

// blockedReason is why a BLOCKED request without a stored summary ended:
// its end reason, which quotes the blocking findings.
func blockedReason(r egress.Request) string {
	if r.EndReason == "" {
		return ""
	}
	return "  the automated checks found blocking problems; each file and reason is shown with the request in the web app\n"
}

// link is the deep link to the request in the web app: the frontend opens
// the request its URL's fragment names. Path-escaped, not query-escaped, as
// a fragment is decoded with decodeURIComponent, which keeps a "+".
func (h *Handlers) link(r egress.Request) string {
	base := strings.TrimRight(h.Settings.WebAppURL, "/")
	if base == "" {
		base = "https://localhost"
	}
	return base + "/#" + url.PathEscape(r.ID)
}

// reasons lists the reasons of r's votes that were d, one line each:
// label, with the vote's stage name put in, then the reason.
func reasons(r egress.Request, d egress.Decision, label string) string {
	var b strings.Builder
	for _, rv := range r.Reviews {
		if rv.Decision == d {
			fmt.Fprintf(&b, label+": %s\n", rv.Stage, rv.Reason)
		}
	}
	return b.String()
}

// maxListedFiles bounds the files an e-mail names.
const maxListedFiles = 20

// leftOutText names the files the reviewers rejected, with their
// comments, or is empty.
func leftOutText(r egress.Request) string {
	out := r.LeftOut()
	if len(out) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d file(s) were rejected and are not released:\n", len(out))
	for k, f := range out {
		if k == maxListedFiles {
			fmt.Fprintf(&b, "  and %d more (see the request in the web app)\n", len(out)-k)
			break
		}
		fmt.Fprintf(&b, "  %s (%s stage): %s\n", bounded(f.Path, maxField), f.Stage, bounded(f.Comment, 4*maxField))
	}
	return b.String()
}

// stageAtEnd is the stage r awaited when it ended without a decision
// (cancelled): the first whose votes are not all in, or -1.
func stageAtEnd(c egress.Chain, r egress.Request) int {
	for i, st := range c.Stages {
		if len(r.Votes(i)) < st.Reviewers {
			return i
		}
	}
	return -1
}

// tellAdmin e-mails the TRE admin; failures are logged.
func (h *Handlers) tellAdmin(ctx context.Context, id, subject, text string) {
	if h.Mailer == nil || h.Settings.AdminEmail == "" {
		h.log(ctx, id).Warn("no admin e-mail configured; not sent", "subject", subject)
		return
	}
	if err := h.Mailer.Send(ctx, egress.Email{To: []string{h.Settings.AdminEmail}, Subject: subject, Text: text}); err != nil {
		h.log(ctx, id).Error("could not e-mail the TRE admin", "error", err)
	}
}

// firstReviewer is the first stage's (IG) reviewer, copied on the final
// decision as the original did.
func (h *Handlers) firstReviewer(r egress.Request) []string {
	if rv, ok := r.Review(0); ok && rv.Email != "" && !strings.EqualFold(rv.Email, r.RequestedByEmail) {
		return []string{rv.Email}
	}
	return nil
}

// sendToRequester e-mails the requester.
func (h *Handlers) sendToRequester(ctx context.Context, r egress.Request, e egress.Email) error {
	if h.Mailer == nil {
		return errors.New("no mailer configured")
	}
	if strings.TrimSpace(r.RequestedByEmail) == "" {
		return errors.New("the request has no requester e-mail")
	}
	e.To = []string{r.RequestedByEmail}
	return h.Mailer.Send(ctx, e)
}

// tellRequester e-mails the requester; a failure is logged and the admin
// told, never returned: the workflow goes on either way.
func (h *Handlers) tellRequester(ctx context.Context, r egress.Request, e egress.Email) {
	if err := h.sendToRequester(ctx, r, e); err != nil {
		h.log(ctx, r.ID).Error("could not e-mail the requester", "subject", e.Subject, "error", err)
		h.tellAdmin(ctx, r.ID, "Requester of egress request "+r.ID+" not told",
			fmt.Sprintf("The requester of egress request %s could not be e-mailed %q:\n\n%v\n", r.ID, e.Subject, err))
	}
}

// requesterSubmitted tells the requester the request is under review.
func (h *Handlers) requesterSubmitted(r egress.Request) egress.Email {
	awaits := "review"
	if chain, err := h.chainFor(r); err == nil {
		awaits = "the " + chain.Stages[0].Name + " decision"
	}
	return egress.Email{
		Subject: fmt.Sprintf("Egress request %s submitted", r.ID),
		Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was submitted and awaits %s.\n\nYour workspace's egress store is locked until the request is decided; you will be e-mailed the outcome.\n",
			r.ID, r.StoreName, r.WorkspaceID, awaits),
	}
}

// requesterEnded tells the requester the request failed or expired. The
// cause is the admin's to read: it names buckets and errors.
func requesterEnded(r egress.Request, status egress.Status) egress.Email {
	what := "could not be completed; the TRE admin has been told"
	if status == egress.StatusExpired {
		what = "was not decided in time and expired"
	}
	return egress.Email{
		Subject: fmt.Sprintf("Egress request %s %s", r.ID, strings.ToLower(string(status))),
		Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) %s. Nothing was released.\n\nYour workspace's egress store is unlocked; you can submit again.\n",
			r.ID, r.StoreName, r.WorkspaceID, what),
	}
}

// maxNoticeTime bounds the time telling a stage's reviewers may take, and
// noticeBudget gives it at most three quarters of what is left of the
// task's own time.
const maxNoticeTime = 40 * time.Second

func noticeBudget(ctx context.Context) time.Duration {
	b := maxNoticeTime
	if d, ok := ctx.Deadline(); ok {
		b = min(b, time.Until(d)*3/4)
	}
	return b
}

// Bounds of a reviewers' notice: SNS refuses a subject of 100 characters
// or more and a message over 256 KiB.
const (
	maxSubject = 99
	maxField   = 256 // characters of one value from the SWB message
	// FileTypes' longest summary: MaxFileTypes extensions with counts.
	maxFileTypesText = 40 * (egress.MaxFileTypes + 1)
)

// tellReviewers tells stage i's reviewers that the request awaits them,
// as the original did and more: the notice is published on the group's
// topic (whose subscribers admins manage) and e-mailed, one e-mail each,
// to the group's members in the user pool and the configured addresses.
// Failures are logged and the admin told, never returned: the request is
// already visible in the web app, and failing the stage over a notice
// would strand the decision.
func (h *Handlers) tellReviewers(ctx context.Context, r egress.Request, i int, st egress.Stage) {
	subject, text := h.reviewerNotice(r, i, st)
	h.tellGroup(ctx, r, st, subject, text)
}

// tellGroup publishes subject and text on stage st's group topic and
// e-mails them to the group's members and configured addresses, within
// noticeBudget; failures are logged and the admin told.
func (h *Handlers) tellGroup(ctx context.Context, r egress.Request, st egress.Stage, subject, text string) {
	log := h.log(ctx, r.ID).With("stage", st.Name, "group", st.Group)
	var problems []error
	told := 0
	// The task must still answer, and tell the admin what was not sent,
	// before its time limit: a timed-out task would fail the request.
	budget := noticeBudget(ctx)
	nctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if topic := h.Settings.ReviewerTopics[st.Group]; topic == "" || h.Publisher == nil {
		log.Warn("no topic configured for the group; no notice published")
	} else if err := h.Publisher.Publish(nctx, egress.Notice{Topic: topic, Subject: subject, Text: text}); err != nil {
		problems = append(problems, fmt.Errorf("publish the notice on %s: %w", topic, err))
	} else {
		told++
	}
	to, err := h.groupAddresses(nctx, st.Group, nil)
	if err != nil {
		problems = append(problems, err)
	}
	if len(to) > 0 && h.Mailer == nil {
		log.Warn("no mailer configured; reviewers not e-mailed")
		to = nil
	}
	for k, a := range to {
		if nctx.Err() != nil {
			problems = append(problems, fmt.Errorf("%d of %d addresses not e-mailed: telling the reviewers ran out of its %s", len(to)-k, len(to), budget.Round(time.Millisecond)))
			break
		}
		if err := h.Mailer.Send(nctx, egress.Email{To: []string{a}, Subject: subject, Text: text}); err != nil {
			problems = append(problems, fmt.Errorf("e-mail %s: %w", a, err))
		} else {
			told++
		}
	}
	if told == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Errorf("no one was told: group %s has no topic, no members with a verified e-mail and no configured addresses", st.Group))
	}
	if err := errors.Join(problems...); err != nil {
		log.Error("reviewers not all told", "told", told, "error", err)
		h.tellAdmin(ctx, r.ID, "Reviewers of egress request "+r.ID+" not all told",
			fmt.Sprintf("Telling the reviewers of the %s stage (group %s) of egress request %s %q failed (%d told):\n\n%v\n\nThe request is in the web app:\n%s\n",
				st.Name, st.Group, r.ID, subject, told, err, h.link(r)))
		return
	}
	log.Info("reviewers told", "told", told)
}

// groupAddresses is whom an e-mail to group reaches: first, then the
// group's configured addresses, then its members in the user pool (where
// the function has a directory), each once. A failed member lookup is
// returned with the addresses found without it.
func (h *Handlers) groupAddresses(ctx context.Context, group string, first []string) ([]string, error) {
	to := slices.Concat(first, h.Settings.ReviewerEmails[group])
	var err error
	if h.Directory != nil {
		var members []string
		if members, err = h.Directory.GroupEmails(ctx, group); err != nil {
			err = fmt.Errorf("look up the members of group %s: %w", group, err)
		}
		to = append(to, members...)
	}
	return uniqueAddresses(to), err
}

// reviewerNotice is the subject and text of stage i's notice: the
// original's content (file types, request id, project, researcher e-mail,
// the earlier stages' reviewers) and a link to the web app. It carries no
// task token and no link to the data.
func (h *Handlers) reviewerNotice(r egress.Request, i int, st egress.Stage) (subject, text string) {
	subject = bounded(fmt.Sprintf("Egress request %s awaits the %s decision", r.ID, st.Name), maxSubject)
	return subject, fmt.Sprintf("A new egress request awaits the %s decision by the %s group.\n\n", st.Name, st.Group) +
		h.noticeDetails(r, i)
}

// noticeDetails is the part of stage i's notice that describes the
// request, and the link to it.
func (h *Handlers) noticeDetails(r egress.Request, i int) string {
	var b strings.Builder
	line := func(name, value string) { fmt.Fprintf(&b, "%s: %s\n", name, bounded(value, maxField)) }
	line("Request", r.ID)
	line("Project", r.ProjectID)
	line("Researcher", r.RequestedByEmail)
	line("Workspace", r.WorkspaceID)
	line("Store", r.StoreName)
	fmt.Fprintf(&b, "File types: %s\n", bounded(cmp.Or(r.FileTypes, "unknown"), maxFileTypesText))
	b.WriteString(checksText(r.Checks))
	for j := range i {
		if rv, ok := r.Review(j); ok {
			line(cmp.Or(rv.Stage, "Earlier")+" reviewer", rv.Email)
		}
	}
	fmt.Fprintf(&b, "\nReview it in the web app:\n%s\n", h.link(r))
	return b.String()
}

// checksText is what the automated checks found, for the reviewers'
// notice: the counts and the notable findings (at most
// egress.MaxNotableFindings), file names and reasons only, each on one
// line: a message quotes header names from the researcher's files.
func checksText(s *egress.CheckSummary) string {
	if s == nil {
		return "Automated checks: not run\n"
	}
	engine := engineName(s.Engine)
	if s.Blocking == 0 && s.Warnings == 0 {
		if s.Info > 0 {
			return fmt.Sprintf("Automated checks: no warnings, %s for the reviewers in the web app (malware engine %s)\n", count(s.Info, "note"), engine)
		}
		return fmt.Sprintf("Automated checks: no findings (malware engine %s)\n", engine)
	}
	var counts []string
	if s.Blocking > 0 { // never at review: a blocking finding ends the request first
		counts = append(counts, fmt.Sprintf("%d blocking", s.Blocking))
	}
	if s.Warnings > 0 {
		counts = append(counts, count(s.Warnings, "warning"))
	}
	var b strings.Builder
	b.WriteString("Automated checks: " + strings.Join(counts, " and "))
	if s.Files > 0 {
		b.WriteString(", findings on " + count(s.Files, "file")) // any severity
	}
	fmt.Fprintf(&b, " (malware engine %s):\n", engine)
	for _, f := range s.Notable {
		where := cmp.Or(f.Path, "the request as a whole")
		fmt.Fprintf(&b, "  %s: %s: %s\n", bounded(where, maxField), bounded(f.Check, maxField), mailable(f.Finding))
	}
	if more := s.Blocking + s.Warnings - len(s.Notable); more > 0 {
		fmt.Fprintf(&b, "  and %d more in the web app\n", more)
	}
	return b.String()
}

// mailable is a finding's reason for e-mail, which leaves the TRE. Only
// the checks whose messages are our own words about a file's size, type
// or scan are given; the others (SDC, ACRO, archive listings) quote row
// labels, headers, entry names or the researcher's text, so a request
// could carry data out in them: their e-mail line names the check and
// sends the reader to the web app, which shows the whole finding.
func mailable(f egress.Finding) string {
	switch f.Check {
	case egress.CheckMalware, egress.CheckType, egress.CheckSize, egress.CheckCount, egress.CheckExtension:
		return bounded(f.Message, egress.MaxFindingMessage)
	case egress.CheckSDC:
		return "a possible disclosure risk in the table (row and column in the web app)"
	case egress.CheckACRO:
		return "what ACRO's results.json says of this output (in the web app)"
	case egress.CheckArchive:
		return "an archive inside the request (its entries in the web app)"
	}
	return "details in the web app"
}

// engineName is a malware engine as people know it.
func engineName(e string) string {
	switch n := egress.EngineName(e); n {
	case egress.EngineName(egress.EngineNone), "":
		return "none: files not scanned"
	default:
		return bounded(n, maxField)
	}
}

// count is n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// bounded is s on one line, without control characters, cut to n
// characters.
func bounded(s string, n int) string {
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || c == utf8.RuneError {
			return ' '
		}
		return c
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// uniqueAddresses drops empty and repeated addresses (case-insensitive),
// keeping the first spelling.
func uniqueAddresses(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range in {
		a = strings.TrimSpace(a)
		if k := strings.ToLower(a); a != "" && !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}
