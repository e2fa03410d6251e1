package api

import (
	"context"

	"github.com/tre-egress/egress/shared/egress"
)

// AuditTrail returns one page of request id's hash-chained audit trail,
// for a TRE admin: limit events (0: egress.DefaultListLimit, at most
// egress.MaxListLimit) from token, in stored order, with the head and
// length the request records. Verify the collected pages with
// egress.VerifyChain and the last page's head and length. A missing
// request is ENOTFOUND.
func (s *Service) AuditTrail(ctx context.Context, who egress.Identity, id string, limit int, token string) (egress.AuditPage, error) {
	if !s.isAdmin(who) {
		return egress.AuditPage{}, egress.Errorf(egress.EFORBIDDEN, "only TRE admins (group(s) %v) may read an audit trail", s.adminGroups())
	}
	if id == "" {
		return egress.AuditPage{}, egress.Errorf(egress.EINVALID, "egress_request_id is required")
	}
	return s.Requests.AuditTrail(ctx, id, limit, token)
}

// AuditEventView is the GraphQL AuditEvent type: an event with its place
// in the chain.
type AuditEventView struct {
	Sequence     float64 `json:"sequence"`
	At           string  `json:"at"`
	Kind         string  `json:"kind"`
	Actor        string  `json:"actor,omitempty"`
	From         string  `json:"from_status,omitempty"`
	To           string  `json:"to_status,omitempty"`
	Stage        string  `json:"stage,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	Workspace    string  `json:"workspace_id,omitempty"`
	Project      string  `json:"project_id,omitempty"`
	PreviousHash string  `json:"previous_hash"`
	Hash         string  `json:"hash"`
}

// AuditPageView is the GraphQL AuditPage type.
type AuditPageView struct {
	Items     []AuditEventView `json:"items"`
	NextToken string           `json:"nextToken,omitempty"`
	Head      string           `json:"head"`
	Length    float64          `json:"length"`
}

// NewAuditPageView is the view of p.
func NewAuditPageView(p egress.AuditPage) AuditPageView {
	v := AuditPageView{Items: make([]AuditEventView, len(p.Events)), NextToken: p.NextToken, Head: p.Head, Length: float64(p.Length)}
	for i, e := range p.Events {
		v.Items[i] = AuditEventView{
			Sequence: float64(e.Sequence), At: egress.FormatTime(e.At), Kind: e.Kind, Actor: e.Actor,
			From: string(e.From), To: string(e.To), Stage: e.Stage, Reason: e.Reason,
			Workspace: e.Workspace, Project: e.Project, PreviousHash: e.PreviousHash, Hash: e.Hash,
		}
	}
	return v
}
