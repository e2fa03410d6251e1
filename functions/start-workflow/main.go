// Command start-workflow is the start-workflow Lambda function (functions.Lookup("start-workflow")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() { app.Run("start-workflow", (*workflow.Handlers).Intake) }
