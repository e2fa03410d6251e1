// Command copy-to-datalake is the copy-to-datalake Lambda function (functions.Lookup("copy-to-datalake")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("copy-to-datalake", (*workflow.Handlers).Release, withdynamodb.Plugin, withs3.Plugin)
}
