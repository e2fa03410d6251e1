// Package outputs names the egress stack's CloudFormation outputs that
// tools read after a deployment (egressctl, publish-console) and reads
// them: from a `cdk deploy --outputs-file` file or from CloudFormation.
// The stack (infra/stack) declares its outputs with these names.
package outputs

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Output names.
const (
	GraphQLEndpoint  = "GraphQLEndpoint"
	Region           = "Region"
	UserPoolID       = "UserPoolId"
	UserPoolClientID = "UserPoolClientId" // the web client, the console's and the original frontend's
	WebClientScopes  = "WebClientScopes"  // the web client's OAuth scopes, space-separated
	CognitoDomain    = "CognitoDomain"    // the hosted UI's host name, no scheme
	CLIClientID      = "CliClientId"
	CLICallbackURL   = "CliCallbackUrl"
	ReviewerGroups   = "ReviewerGroups" // comma-separated, in approval-stage order
	AdminGroup       = "AdminGroupName"
	ResearcherGroup  = "ResearcherGroupName" // absent without researcher_group
	MaxDownloads     = "MaxDownloads"
	WebAppURL        = "WebAppUrl"
	ConsoleURL       = "ConsoleUrl" // absent with web_console off
	AmplifyAppID     = "AmplifyAppId"
	AmplifyBranch    = "AmplifyBranch"
	ConsoleBranch    = "AmplifyConsoleBranch" // absent with web_console off
)

// Console are the outputs publish-console configures and deploys the
// reviewer console from; a stack with web_console beside or instead has
// them all.
var Console = []string{GraphQLEndpoint, Region, UserPoolID, UserPoolClientID, WebClientScopes, CognitoDomain,
	ReviewerGroups, AdminGroup, MaxDownloads, ConsoleURL, AmplifyAppID, ConsoleBranch}

// Stacks are the outputs of one or more stacks: stack name → output name
// → value, as `cdk deploy --outputs-file` writes them.
type Stacks map[string]map[string]string

// ReadFile reads a `cdk deploy --outputs-file` JSON file.
func ReadFile(file string) (Stacks, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var all Stacks
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s: not a cdk outputs file (stack name → outputs): %w", file, err)
	}
	return all, nil
}

// Pick returns the outputs of stack, or with stack "" of the only egress
// stack among all (the only one with a GraphQLEndpoint output). source
// names where all came from, for the errors.
func (all Stacks) Pick(source, stack string) (map[string]string, error) {
	if stack != "" {
		out, ok := all[stack]
		if !ok {
			return nil, fmt.Errorf("%s has no stack %q", source, stack)
		}
		return out, nil
	}
	var names []string
	for name, out := range all {
		if out[GraphQLEndpoint] != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("%s: no stack with a %s output", source, GraphQLEndpoint)
	case 1:
		return all[names[0]], nil
	}
	return nil, fmt.Errorf("%s holds stacks %s: pick one with --stack", source, strings.Join(names, ", "))
}
