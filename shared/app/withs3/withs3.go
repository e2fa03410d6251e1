// Package withs3 is the S3 plug-in of app.Run: the objects adapter.
// Importing it links the S3 client; see package app.
package withs3

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/workflow"
)

// Plugin adds the S3 adapters to a workflow function.
var Plugin = app.Plugin{
	Service: functions.S3,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		Adapters(h, cfg, objects.NewS3(awsCfg, cfg.S3PathStyle))
	},
}

// Adapters sets the adapters over c on h.
func Adapters(h *workflow.Handlers, cfg config.Config, c *s3.Client) {
	obj := objects.New(c)
	obj.MultipartThreshold = cfg.MultipartThreshold
	obj.ScratchDir = cfg.EFSMountPath
	h.Objects = obj
	h.Zips = obj
}
