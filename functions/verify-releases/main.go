// Command verify-releases is the verify-releases Lambda function
// (functions.Lookup("verify-releases")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("verify-releases", (*workflow.Handlers).VerifyReleases, withdynamodb.Plugin, withs3.Plugin)
}
