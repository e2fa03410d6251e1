package egress

import (
	"fmt"
	"strings"
)

// Default reviewer groups, as in egress_reviewer_roles.
const (
	GroupIG  = "InformationGovernance"
	GroupRIT = "TREAdmin"
)

// Stage is one step of the approval chain.
type Stage struct {
	Name           string // short name used in audit events and emails: "IG", "RIT"
	Group          string // Cognito group whose members decide this stage
	AwaitingStatus Status // status of a request waiting for this stage's decision
	ApprovedStatus Status // status set when this stage approves
}

// Chain is the ordered list of stages a request must pass to be released.
type Chain struct {
	Stages []Stage
}

// stageStatuses are the statuses the frontend knows, per stage position.
var stageStatuses = []struct {
	name               string
	awaiting, approved Status
}{
	{"IG", StatusProcessing, StatusIGApproved},
	{"RIT", StatusIGApproved, StatusRITApproved},
}

// NewChain builds the chain from egress_reviewer_roles (group names in stage
// order). Single approval keeps only the first stage.
func NewChain(roles []string, singleApproval bool) (Chain, error) {
	if len(roles) == 0 {
		return Chain{}, Errorf(EINVALID, "egress_reviewer_roles: at least one reviewer group is required")
	}
	if len(roles) > len(stageStatuses) {
		return Chain{}, Errorf(EINVALID, "egress_reviewer_roles: at most %d reviewer groups are supported, got %d", len(stageStatuses), len(roles))
	}
	if singleApproval {
		roles = roles[:1]
	}
	var c Chain
	seen := map[string]bool{}
	for i, g := range roles {
		g = strings.TrimSpace(g)
		if g == "" {
			return Chain{}, Errorf(EINVALID, "egress_reviewer_roles[%d]: empty group name", i)
		}
		if seen[g] {
			return Chain{}, Errorf(EINVALID, "egress_reviewer_roles[%d]: group %q appears twice", i, g)
		}
		seen[g] = true
		s := stageStatuses[i]
		c.Stages = append(c.Stages, Stage{Name: s.name, Group: g, AwaitingStatus: s.awaiting, ApprovedStatus: s.approved})
	}
	return c, nil
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
func ChainFor(reviewerGroups []string, r Request) (Chain, error) {
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
