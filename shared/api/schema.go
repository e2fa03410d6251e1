package api

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
)

// Schema is schema.graphql: what AppSync serves, and the local endpoint.
//
//go:embed schema.graphql
var Schema string

// The directive arguments of Schema that SchemaFor replaces.
var (
	reviewerGroupsArg   = groupsArg([]string{egress.GroupIG, egress.GroupRIT})
	downloadGroupsArg   = groupsArg([]string{egress.GroupIG})
	adminGroupsArg      = groupsArg([]string{egress.GroupRIT})
	readerGroupsArg     = groupsArg([]string{egress.GroupIG, egress.GroupRIT, SchemaResearcherGroup})
	researcherGroupsArg = groupsArg([]string{SchemaResearcherGroup})
	// The TRE admins, then the reviewers: admins first, so that it differs
	// from reviewerGroupsArg while the default admin group is a reviewer one.
	queueGroupsArg = groupsArg([]string{egress.GroupRIT, egress.GroupIG})
)

// SchemaResearcherGroup is the researcher group Schema names.
const SchemaResearcherGroup = "Researcher"

func groupsArg(groups []string) string {
	quoted := make([]string, len(groups))
	for i, g := range groups {
		quoted[i] = fmt.Sprintf("%q", g)
	}
	return "cognito_groups: [" + strings.Join(quoted, ", ") + "]"
}

// SchemaFor renders Schema for a deployment's reviewer groups
// (egress_reviewer_roles), download groups (default the first reviewer
// group) and researcher group (researcher_group; "" for none), so
// AppSync's group directives agree with the resolver's checks. Without a
// researcher group, the researchers' fields are left to reviewers, whom
// the resolver refuses there with a message saying why.
func SchemaFor(reviewerGroups, downloadGroups []string, researcherGroup string) string {
	return SchemaForGroups(reviewerGroups, downloadGroups, nil, researcherGroup)
}

// SchemaForGroups is SchemaFor with the TRE admins' groups too (default
// egress.GroupRIT, as Service.AdminGroups).
func SchemaForGroups(reviewerGroups, downloadGroups, adminGroups []string, researcherGroup string) string {
	if len(adminGroups) == 0 {
		adminGroups = []string{egress.GroupRIT}
	}
	if len(reviewerGroups) == 0 {
		reviewerGroups = []string{egress.GroupIG, egress.GroupRIT}
	}
	if len(downloadGroups) == 0 {
		downloadGroups = reviewerGroups[:1]
	}
	readers, researchers := reviewerGroups, reviewerGroups
	if researcherGroup != "" {
		readers = append(append([]string{}, reviewerGroups...), researcherGroup)
		researchers = []string{researcherGroup}
	}
	queue := slices.Clone(adminGroups)
	for _, g := range reviewerGroups {
		if !slices.Contains(queue, g) {
			queue = append(queue, g)
		}
	}
	// One pass, so a replacement is never itself replaced.
	return strings.NewReplacer(
		reviewerGroupsArg, groupsArg(reviewerGroups),
		downloadGroupsArg, groupsArg(downloadGroups),
		adminGroupsArg, groupsArg(adminGroups),
		readerGroupsArg, groupsArg(readers),
		researcherGroupsArg, groupsArg(researchers),
		queueGroupsArg, groupsArg(queue),
	).Replace(Schema)
}
