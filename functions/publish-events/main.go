// Command publish-events is the publish-events Lambda function (functions.Lookup("publish-events")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withevents"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("publish-events", (*workflow.Handlers).PublishEvents, withevents.Plugin)
}
