// Command egress-api is the AppSync direct Lambda resolver of the
// reviewers' GraphQL API (functions.Lookup("egress-api")).
package main

import "github.com/tre-egress/egress/shared/apiapp"

func main() { apiapp.Run("egress-api") }
