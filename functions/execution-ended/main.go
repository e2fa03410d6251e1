// Command execution-ended is the execution-ended Lambda function (functions.Lookup("execution-ended")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() { app.Run("execution-ended", (*workflow.Handlers).ExecutionEnded) }
