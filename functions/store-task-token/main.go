// Command store-task-token is the store-task-token Lambda function (functions.Lookup("store-task-token")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withcognito"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withses"
	"github.com/tre-egress/egress/shared/app/withsns"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("store-task-token", (*workflow.Handlers).StoreTaskToken,
		withdynamodb.Plugin, withses.Plugin, withsns.Plugin, withcognito.Plugin)
}
