// Command notify is the Notify task and the subscriber of the notices
// topic: it tells people how a request ended.
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
	app.Run("notify", (*workflow.Handlers).Notify, withdynamodb.Plugin, withses.Plugin, withsns.Plugin, withcognito.Plugin)
}
