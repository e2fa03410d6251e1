package workflow

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
)

// NotifyInput is the Notify task's payload.
type NotifyInput struct {
	RequestID string `json:"egress_request_id"`
	Kind      string `json:"kind"` // approved | rejected | failed
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
	switch in.Kind {
	case "approved":
		e = egress.Email{To: []string{r.RequestedByEmail},
			Subject: fmt.Sprintf("Egress request %s approved", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was approved and released.\n\nThe data custodians can download it here:\n%s\n",
				r.ID, r.StoreName, r.WorkspaceID, h.link(r))}
	case "rejected":
		e = egress.Email{To: []string{r.RequestedByEmail},
			Subject: fmt.Sprintf("Egress request %s rejected", r.ID),
			Text: fmt.Sprintf("Your egress request %s (%s, workspace %s) was rejected.\n\n%s\nYour workspace's egress store is unlocked; you can change the files and submit again.\n",
				r.ID, r.StoreName, r.WorkspaceID, reasons(r))}
	case "failed":
		e = egress.Email{To: []string{h.Settings.AdminEmail},
			Subject: fmt.Sprintf("Egress request %s %s", r.ID, strings.ToLower(string(r.Status))),
			Text: fmt.Sprintf("The egress request %s (%s, workspace %s, requested by %s) ended as %s.\n\nCause: %s\n\n%s\n%s\n",
				r.ID, r.StoreName, r.WorkspaceID, r.RequestedByEmail, r.Status, r.FailureCause, failureOutcome(r), h.link(r))}
	default:
		return egress.Errorf(egress.EINVALID, "kind must be approved, rejected or failed, got %q", in.Kind)
	}
	if err := h.Mailer.Send(ctx, e); err != nil {
		return err
	}
	h.log(r.ID).Info("notified", "kind", in.Kind)
	return nil
}

// link is the deep link to the request in the web app.
func (h *Handlers) link(r egress.Request) string {
	base := h.Settings.WebAppURL
	if base == "" {
		base = "https://localhost"
	}
	return base + "/?egress_request_id=" + url.QueryEscape(r.ID)
}

func reasons(r egress.Request) string {
	var b strings.Builder
	for _, rv := range r.Reviews {
		if rv.Decision == egress.Rejected {
			fmt.Fprintf(&b, "Reason given at the %s stage: %s\n", rv.Stage, rv.Reason)
		}
	}
	return b.String()
}

// tellReviewers e-mails the stage's reviewers. A failure is logged, not
// returned: the request is already visible in the web app, and failing the
// stage over an e-mail would strand the decision.
func (h *Handlers) tellReviewers(ctx context.Context, r egress.Request, st egress.Stage) {
	to := h.Settings.ReviewerEmails[st.Group]
	if len(to) == 0 {
		h.log(r.ID).Warn("no reviewer e-mail addresses configured for group", "group", st.Group)
		return
	}
	e := egress.Email{To: to,
		Subject: fmt.Sprintf("Egress request %s awaits the %s decision", r.ID, st.Name),
		Text: fmt.Sprintf("A new egress request awaits a decision by the %s group.\n\nRequest: %s\nStore: %s\nWorkspace: %s\nProject: %s\nRequested by: %s\n\nReview it here:\n%s\n",
			st.Group, r.ID, r.StoreName, r.WorkspaceID, r.ProjectID, r.RequestedByEmail, h.link(r))}
	if err := h.Mailer.Send(ctx, e); err != nil {
		h.log(r.ID).Error("could not e-mail reviewers", "group", st.Group, "error", err)
	}
}

// tellAdmin e-mails the TRE admin; failures are logged.
func (h *Handlers) tellAdmin(ctx context.Context, id, subject, text string) {
	if h.Mailer == nil || h.Settings.AdminEmail == "" {
		h.log(id).Warn("no admin e-mail configured; not sent", "subject", subject)
		return
	}
	if err := h.Mailer.Send(ctx, egress.Email{To: []string{h.Settings.AdminEmail}, Subject: subject, Text: text}); err != nil {
		h.log(id).Error("could not e-mail the TRE admin", "error", err)
	}
}
