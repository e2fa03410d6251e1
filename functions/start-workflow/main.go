// Command start-workflow is the start-workflow Lambda function (functions.Lookup("start-workflow")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/app/withses"
	"github.com/tre-egress/egress/shared/app/withstepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("start-workflow", (*workflow.Handlers).Intake, withdynamodb.Plugin, withs3.Plugin, withstepfunctions.Plugin, withses.Plugin)
}
