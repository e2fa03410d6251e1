// Package withdynamodb is the DynamoDB plug-in of app.Run: the requests
// and SWB store adapters. Importing it links the DynamoDB client; see
// package app.
package withdynamodb

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/requests"
	"github.com/tre-egress/egress/shared/swbstore"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the DynamoDB adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.DynamoDB,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, dynamodb.NewFromConfig(awsCfg))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, cfg config.Config, c *dynamodb.Client) {
	t := requests.NewTable(c, cfg.RequestsTable, cfg.EventsTable)
	// The handlers' metrics count every status change the table stores.
	if o, ok := h.Metrics.(requests.Observer); ok {
		t.Observer = o
	}
	h.Requests = t
	h.SWBStore = swbstore.New(c, cfg.SWBStoreTable)
}
