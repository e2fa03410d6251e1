// Command copy-to-staging is the copy-to-staging Lambda function (functions.Lookup("copy-to-staging")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("copy-to-staging", (*workflow.Handlers).CopyToStaging, withdynamodb.Plugin, withs3.Plugin)
}
