// Command execution-ended is the execution-ended Lambda function (functions.Lookup("execution-ended")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/app/withses"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("execution-ended", (*workflow.Handlers).ExecutionEnded, withdynamodb.Plugin, withs3.Plugin, withses.Plugin)
}
