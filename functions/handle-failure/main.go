// Command handle-failure is the handle-failure Lambda function (functions.Lookup("handle-failure")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("handle-failure", (*workflow.Handlers).HandleFailure, withdynamodb.Plugin, withs3.Plugin)
}
