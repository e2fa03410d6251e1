// Command notify is the notify Lambda function (functions.Lookup("notify")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withses"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() { app.Run("notify", (*workflow.Handlers).Notify, withdynamodb.Plugin, withses.Plugin) }
