package egress

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Default reviewer groups, as in egress_reviewer_roles.
const (
	GroupIG  = "InformationGovernance"
	GroupRIT = "TREAdmin"
)

// Stage is one step of the approval chain.
type Stage struct {
	Name  string // short name used in audit events and emails: "IG", "RIT"
	Group string // Cognito group whose members decide this stage
	// Reviewers is how many distinct members of Group must vote: 1, or 2
	// for a blinded stage, where no vote is shown until both are in.
	Reviewers      int
	AwaitingStatus Status // status of a request waiting for this stage's decision
	ApprovedStatus Status // status set when this stage approves
	// ReminderAfter is how long the stage waits before each reminder to
	// its reviewers, at most MaxReminders times; zero sends none.
	ReminderAfter time.Duration
	MaxReminders  int
}

// StageSpec is a stage as configured (cdk.json approval_stages) and as
// stored on each request, which keeps the chain it was created under so
// a configuration change does not strand requests in flight.
type StageSpec struct {
	Name               string `json:"name"`
	Group              string `json:"group"`
	Reviewers          int    `json:"reviewers,omitempty"` // 0 means 1
	ReminderAfterHours int    `json:"reminder_after_hours,omitempty"`
	MaxReminders       int    `json:"max_reminders,omitempty"`
}

// Chain is the ordered list of stages a request must pass to be released.
type Chain struct {
	Stages []Stage
}

// defaultStageNames name the first two stages as the frontend does.
var defaultStageNames = []string{"IG", "RIT"}

// awaitingStatus is the status of a request awaiting stage i: the first
// two are the frontend's.
func awaitingStatus(i int) Status {
	switch i {
	case 0:
		return StatusProcessing
	case 1:
		return StatusIGApproved
	}
	return stagePassed(i)
}

// approvedStatus is the status of a request that passed stage i of n:
// the next stage's awaiting status, or the frontend's final status
// (IGAPPROVED for one stage, RITAPPROVED otherwise).
func approvedStatus(i, n int) Status {
	switch {
	case i < n-1:
		return awaitingStatus(i + 1)
	case n == 1:
		return StatusIGApproved
	}
	return StatusRITApproved
}

// NewChain builds the chain from egress_reviewer_roles (group names in stage
// order). Single approval keeps only the first stage.
func NewChain(roles []string, singleApproval bool) (Chain, error) {
	if len(roles) == 0 {
		return Chain{}, Errorf(EINVALID, "egress_reviewer_roles: at least one reviewer group is required")
	}
	if len(roles) > len(defaultStageNames) {
		return Chain{}, Errorf(EINVALID, "egress_reviewer_roles: at most %d reviewer groups are supported, got %d; use approval_stages for longer chains", len(defaultStageNames), len(roles))
	}
	if singleApproval {
		roles = roles[:1]
	}
	specs := make([]StageSpec, len(roles))
	for i, g := range roles {
		if strings.TrimSpace(g) == "" {
			return Chain{}, Errorf(EINVALID, "egress_reviewer_roles[%d]: empty group name", i)
		}
		if slices.Contains(roles[:i], g) {
			return Chain{}, Errorf(EINVALID, "egress_reviewer_roles[%d]: group %q appears twice", i, g)
		}
		specs[i] = StageSpec{Name: defaultStageNames[i], Group: strings.TrimSpace(g), Reviewers: 1}
	}
	c, err := NewChainFromSpecs(specs)
	if err != nil {
		return Chain{}, Errorf(EINVALID, "egress_reviewer_roles: %s", ErrorMessage(err))
	}
	return c, nil
}

// NewChainFromSpecs builds the chain from approval_stages: 1 to MaxStages
// stages with distinct names and groups, 1 or 2 reviewers each.
func NewChainFromSpecs(specs []StageSpec) (Chain, error) {
	if len(specs) == 0 || len(specs) > MaxStages {
		return Chain{}, Errorf(EINVALID, "approval_stages: want 1 to %d stages, got %d", MaxStages, len(specs))
	}
	var c Chain
	names, groups := map[string]bool{}, map[string]bool{}
	for i, sp := range specs {
		name, g := strings.TrimSpace(sp.Name), strings.TrimSpace(sp.Group)
		switch {
		case name == "":
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: empty name", i)
		case g == "":
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: empty group name", i)
		case names[name]:
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: stage name %q appears twice", i, name)
		case groups[g]:
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: group %q appears twice", i, g)
		case sp.Reviewers < 0 || sp.Reviewers > 2:
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: reviewers must be 1 or 2, got %d", i, sp.Reviewers)
		case sp.ReminderAfterHours < 0 || sp.MaxReminders < 0:
			return Chain{}, Errorf(EINVALID, "approval_stages[%d]: reminder_after_hours and max_reminders cannot be negative", i)
		}
		names[name], groups[g] = true, true
		c.Stages = append(c.Stages, Stage{
			Name: name, Group: g, Reviewers: max(sp.Reviewers, 1),
			AwaitingStatus: awaitingStatus(i), ApprovedStatus: approvedStatus(i, len(specs)),
			ReminderAfter: time.Duration(sp.ReminderAfterHours) * time.Hour, MaxReminders: sp.MaxReminders,
		})
	}
	return c, nil
}

// Specs returns the chain as configured, for storing on a request.
func (c Chain) Specs() []StageSpec {
	specs := make([]StageSpec, len(c.Stages))
	for i, s := range c.Stages {
		specs[i] = StageSpec{Name: s.Name, Group: s.Group, Reviewers: s.Reviewers,
			ReminderAfterHours: int(s.ReminderAfter / time.Hour), MaxReminders: s.MaxReminders}
	}
	return specs
}

// DefaultReviewerGroups returns egress_reviewer_roles' default: IG, then
// RIT.
func DefaultReviewerGroups() []string { return []string{GroupIG, GroupRIT} }

// ReviewerGroups returns the configured reviewer groups, or the default ones
// when none are configured.
func ReviewerGroups(configured []string) []string {
	if len(configured) > 0 {
		return configured
	}
	return DefaultReviewerGroups()
}

// ChainFor returns the chain request r was created under: the reviewer
// groups (the defaults when none are configured) with r's own single
// approval flag, which is fixed when r is created so a configuration change
// does not strand requests in flight.
//
// A request stores its chain (Request.Stages) from creation; one without
// (created before approval_stages existed) gets the reviewer groups.
func ChainFor(reviewerGroups []string, r Request) (Chain, error) {
	if len(r.Stages) > 0 {
		return NewChainFromSpecs(r.Stages)
	}
	return NewChain(ReviewerGroups(reviewerGroups), r.SingleApproval)
}

// DefaultChain is the two-stage IG then RIT chain, or IG only.
func DefaultChain(singleApproval bool) Chain {
	c, err := NewChain(DefaultReviewerGroups(), singleApproval)
	if err != nil {
		panic(err) // constant input
	}
	return c
}

// SingleApproval reports whether the chain has one stage.
func (c Chain) SingleApproval() bool { return len(c.Stages) == 1 }

// StageAwaiting returns the index of the stage a request in status s waits
// for, or -1 when s awaits no decision.
func (c Chain) StageAwaiting(s Status) int {
	for i, st := range c.Stages {
		if st.AwaitingStatus == s {
			return i
		}
	}
	return -1
}

// Stage returns stage i or an error naming the bad index.
func (c Chain) Stage(i int) (Stage, error) {
	if i < 0 || i >= len(c.Stages) {
		return Stage{}, Errorf(EINVALID, "stage index %d out of range (chain has %d stages)", i, len(c.Stages))
	}
	return c.Stages[i], nil
}

// Groups returns every reviewer group of the chain in order.
func (c Chain) Groups() []string {
	g := make([]string, len(c.Stages))
	for i, s := range c.Stages {
		g[i] = s.Group
	}
	return g
}

func (c Chain) String() string {
	parts := make([]string, len(c.Stages))
	for i, s := range c.Stages {
		parts[i] = fmt.Sprintf("%s(%s)", s.Name, s.Group)
	}
	return strings.Join(parts, " -> ")
}

// AwaitingStatuses lists every status in which a request of some chain
// awaits a stage's decision, in stage order: PROCESSING, IGAPPROVED, then
// STAGE<k>APPROVED. IGAPPROVED is also a single-stage chain's final
// status, so a request's own chain says whether it awaits (StageAwaiting).
func AwaitingStatuses() []Status {
	out := make([]Status, MaxStages)
	for i := range out {
		out[i] = awaitingStatus(i)
	}
	return out
}

// NextReminder returns when the stage's next reminder is due, given when
// it started waiting and how many reminders it has had: the
// (sent+1)-th multiple of ReminderAfter after since. ok is false when no
// reminder is left: none configured, all sent, or not waiting.
func (s Stage) NextReminder(since time.Time, sent int) (at time.Time, ok bool) {
	if s.ReminderAfter <= 0 || sent >= s.MaxReminders || since.IsZero() || sent < 0 {
		return time.Time{}, false
	}
	return since.Add(time.Duration(sent+1) * s.ReminderAfter), true
}

// InFlight reports whether the workflow still owes r work under chain c:
// a stage awaits a decision, or the last stage approved and the release is
// not recorded yet. Its execution should be running.
func (c Chain) InFlight(r Request) bool {
	if !c.Final(r.Status) {
		return true
	}
	return len(c.Stages) > 0 && r.Status == c.Stages[len(c.Stages)-1].ApprovedStatus && !r.Released()
}

// Downloadable reports whether r's release can be downloaded under chain
// c: the last stage approved it and its zip is recorded. A REVOKED request
// is in no approved status, so never.
func (c Chain) Downloadable(r Request) bool {
	return len(c.Stages) > 0 && r.Status == c.Stages[len(c.Stages)-1].ApprovedStatus && r.Released()
}

// InFlightStatuses are the statuses a request in flight may have under
// some chain: every status but the terminal ones.
func InFlightStatuses() []Status {
	var out []Status
	for _, s := range Statuses {
		if !(Chain{}).Final(s) {
			out = append(out, s)
		}
	}
	return out
}
