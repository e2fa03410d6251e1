package api

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/tre-egress/egress/shared/egress"
)

// Schema is schema.graphql: what AppSync serves, and the local endpoint.
//
//go:embed schema.graphql
var Schema string

// The directive arguments of Schema that SchemaFor replaces.
var (
	reviewerGroupsArg = groupsArg([]string{egress.GroupIG, egress.GroupRIT})
	downloadGroupsArg = groupsArg([]string{egress.GroupIG})
	adminGroupsArg    = groupsArg([]string{egress.GroupRIT})
)

func groupsArg(groups []string) string {
	quoted := make([]string, len(groups))
	for i, g := range groups {
		quoted[i] = fmt.Sprintf("%q", g)
	}
	return "cognito_groups: [" + strings.Join(quoted, ", ") + "]"
}

// SchemaFor renders Schema for a deployment's reviewer groups
// (egress_reviewer_roles) and download groups (default the first reviewer
// group), so AppSync's group directives agree with the resolver's checks.
func SchemaFor(reviewerGroups, downloadGroups []string) string {
	return SchemaForGroups(reviewerGroups, downloadGroups, nil)
}

// SchemaForGroups is SchemaFor with the TRE admins' groups too (default
// egress.GroupRIT, as Service.AdminGroups).
func SchemaForGroups(reviewerGroups, downloadGroups, adminGroups []string) string {
	if len(adminGroups) == 0 {
		adminGroups = []string{egress.GroupRIT}
	}
	if len(reviewerGroups) == 0 {
		reviewerGroups = []string{egress.GroupIG, egress.GroupRIT}
	}
	if len(downloadGroups) == 0 {
		downloadGroups = reviewerGroups[:1]
	}
	// One pass, so a replacement is never itself replaced.
	return strings.NewReplacer(
		reviewerGroupsArg, groupsArg(reviewerGroups),
		downloadGroupsArg, groupsArg(downloadGroups),
		adminGroupsArg, groupsArg(adminGroups),
	).Replace(Schema)
}
