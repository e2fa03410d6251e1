// Command purge-revoked is the purge-revoked Lambda function
// (functions.Lookup("purge-revoked")).
package main

import (
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/app/withdynamodb"
	"github.com/tre-egress/egress/shared/app/withs3"
	"github.com/tre-egress/egress/shared/workflow"
)

func main() {
	app.Run("purge-revoked", (*workflow.Handlers).PurgeRevoked, withdynamodb.Plugin, withs3.Plugin)
}
