// Command send-reminders is the send-reminders Lambda function (functions.Lookup("send-reminders")).
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
	app.Run("send-reminders", (*workflow.Handlers).SendReminders,
		withdynamodb.Plugin, withses.Plugin, withsns.Plugin, withcognito.Plugin)
}
