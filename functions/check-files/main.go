// Command check-files is the check-files Lambda function (functions.Lookup("check-files")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	// WithChecks is the S3 plug-in plus the checker over the same client
	// (GuardDuty's tags are read through it).
	app.Run("check-files", (*workflow.Handlers).CheckFiles, withdynamodb.Plugin, withs3.WithChecks)
}
