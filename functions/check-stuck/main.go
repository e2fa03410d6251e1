// Command check-stuck is the check-stuck Lambda function
// (functions.Lookup("check-stuck")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withstepfunctions"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("check-stuck", (*workflow.Handlers).CheckStuck, withdynamodb.Plugin, withstepfunctions.Plugin)
}
