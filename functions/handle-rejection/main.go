// Command handle-rejection is the handle-rejection Lambda function (functions.Lookup("handle-rejection")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("handle-rejection", (*workflow.Handlers).HandleRejection, withdynamodb.Plugin, withs3.Plugin)
}
